// The inference stage: workers that take batches from the batcher, run the detector on them and hand
// them to the output stage in the order the batcher formed them.
//
// Each worker has its own FrameDetector (its own execution context and buffers; on a GPU its own CUDA
// stream), so with two workers the upload, preprocessing, inference and download of one batch overlap
// another's. Batches come from a fixed pool (workers + 2), so a slow output stage holds the workers
// back instead of growing a queue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "app/batcher.h"
#include "app/bounded_queue.h"
#include "app/config.h"
#include "detector/detector.h"

namespace app {

// What the inference stage runs: rtdet's Detector, or the OpenCV DNN peer (same decode and NMS).
class FrameDetector {
  public:
    virtual ~FrameDetector() = default;
    // Detections in image pixels, one vector per image; images.size() <= max_batch().
    virtual const std::vector<std::vector<detector::Detection>>& detect(
        std::span<const detector::ImageView> images) = 0;
    virtual const detector::StageTimes& last_times() const = 0;
    virtual const std::vector<std::string>& class_names() const = 0;
    virtual int max_batch() const = 0;
    virtual int input_width() const = 0;
    virtual int input_height() const = 0;
    // "rtdet cpu bf16, yolo-fastest-1.1-xl 320x320 (plan: cache hit)"
    virtual std::string describe() const = 0;
    // Whether it runs the Detector's GPU path: frames in page-locked memory then save a copy, and
    // engine.gpu_wait applies.
    virtual bool gpu_path() const { return false; }
};

// The DetectorConfig `rtdet run` uses for `cfg` (models converted and plans cached by the detector's
// plan cache: detector/plan_cache.h).
detector::DetectorConfig detector_config(const AppConfig& cfg);
// Whether detector_config() reads config key `key` (model.*, detector.*, engine.device, precision,
// threads, plan_cache_dir, pipeline.max_batch): the keys the Python API's Detector takes.
bool is_detector_key(std::string_view key);
// Runs `det` untimed once at every batch size from 1 to `max_batch` (grey images). A plan sets up
// each batch size on its first run (cuDNN plans, a recorded CUDA graph, oneDNN primitives: up to tens
// of ms): done here, it costs no camera frames later. Returns the seconds it took.
double warm_up(FrameDetector& det, int max_batch);
// Builds the detector (or the OpenCV peer) for `cfg` and warms it up at every batch size the run
// forms (warm_up); checks the input size against model.input_*.
std::unique_ptr<FrameDetector> make_frame_detector(const AppConfig& cfg);
// pipeline.inference_workers, resolved (0: 1 on the CPU, 2 on a GPU).
int inference_workers(const AppConfig& cfg);

struct Batch {
    uint64_t seq = 0;
    std::vector<Frame*> frames;
};

class InferenceStage {
  public:
    // `detectors`: one per worker (at least one); they must outlive the stage.
    InferenceStage(std::vector<FrameDetector*> detectors, Batcher& batcher);
    ~InferenceStage();
    InferenceStage(const InferenceStage&) = delete;
    InferenceStage& operator=(const InferenceStage&) = delete;

    void start();
    // Stops the workers at once (abort); batches in flight are dropped.
    void abort();
    void join();

    // The next batch in order, waiting up to `wait`. Null on timeout or when done() (check it).
    Batch* next(std::chrono::milliseconds wait);
    bool done() const;
    // The output stage is done with `b` (its frames already recycled).
    void release(Batch* b);
    // The first exception of a worker (null: none).
    std::exception_ptr error() const;

  private:
    void work(FrameDetector& det, std::stop_token stop);

    std::vector<FrameDetector*> detectors_;
    Batcher& batcher_;
    std::vector<Batch> pool_;
    BoundedQueue<Batch*> free_;
    mutable std::mutex m_;
    std::condition_variable cv_;
    std::vector<Batch*> completed_;  // by seq % pool size (a ring: no allocation per batch)
    uint64_t next_seq_ = 0;
    int running_ = 0;
    std::exception_ptr error_;
    std::stop_source abort_;
    std::vector<std::jthread> threads_;
};

}  // namespace app
