// The source stage: one capture thread per stream, each with its own frame pool, policy, reconnect
// and counters, feeding the batcher's lane of that stream.
//
// A stream opens its source on its own thread, so a camera that does not answer, a file that is
// missing or a stream that stalls holds up only itself: it is reported by name (stream index and
// name), retried by its reconnect policy (live sources), and when it gives up it ends as "failed"
// while the others go on. Policies (StreamPlan::live): live streams and files played as cameras keep
// the newest frame (the lane evicts the oldest; drops counted; a paced file also drops a frame read
// later than its lane's capacity in frame intervals after it was due, as a camera whose driver buffers
// that many frames would have overwritten it); files and folders never drop
// (the capture thread waits for room). Paced frames carry their due time as capture time, so latency
// is measured from when the "camera" produced the frame.
//
// Memory: each stream owns `pool_size` frames, allocated once (the buffers grow to the stream's frame
// size on first use and are reused); a stream never holds more.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/batcher.h"
#include "app/bounded_queue.h"
#include "app/capture.h"
#include "app/streams.h"

namespace app {

enum class StreamState { Opening, Running, Ended, Stopped, Failed };
const char* stream_state_name(StreamState s);

struct SourceStageOptions {
    int queue_depth = 4;     // frames queued per stream in the batcher
    int max_batch = 1;       // the batcher's
    int workers = 1;         // inference workers (batches in flight)
    int64_t max_frames = 0;  // frames admitted, all streams together (0: no limit)
    ReconnectPolicy reconnect;
    // Frames decoded into page-locked memory, which the Detector's GPU path uploads without a staging
    // copy (FrameDetector::gpu_path; the build without OpenCV only: app/frame.h).
    bool pinned_frames = false;
};

// Frames queued per stream in its batcher lane: queue_depth, and for files at least their share of a
// batch (so one file alone fills a batch).
size_t lane_capacity(bool live, int queue_depth, int max_batch, size_t streams);
// Frames per stream: its lane, plus its share of the batches in flight (workers + 1), plus 2 (one being
// read, one being written out). Memory per stream = this x the frame's bytes (width x height x 3).
size_t frame_pool_size(size_t lane_capacity, int max_batch, int workers, size_t streams);

class SourceStage {
  public:
    SourceStage(std::vector<StreamPlan> streams, Batcher& batcher, SourceStageOptions options);
    ~SourceStage();
    SourceStage(const SourceStage&) = delete;
    SourceStage& operator=(const SourceStage&) = delete;

    void start();
    // Stops reading (drain: what is queued still flows), and wakes blocked captures.
    void request_stop();
    // Stops the live streams only. When max_frames is reached the file streams end by themselves (each
    // finds the budget spent at its next frame) and frames already admitted still reach their lanes.
    void stop_live();
    void join();

    size_t size() const { return streams_.size(); }
    const StreamPlan& plan(size_t i) const { return streams_[i]->plan; }
    const std::string& name(size_t i) const { return streams_[i]->plan.name; }
    // The position (0 .. size()-1) of the stream with index `stream` (a shard's list skips indexes).
    size_t position(int stream) const;
    // A frame the output stage is done with goes back to its stream's pool.
    void recycle(Frame* f);

    // Counters, safe to read while running.
    StreamState state(size_t i) const { return streams_[i]->state.load(); }
    int64_t frames_in(size_t i) const { return streams_[i]->frames_in.load(); }
    int64_t dropped(size_t i) const { return streams_[i]->dropped.load(); }
    // Of those, frames the capture was too late for (the source or its decode fell behind); the others
    // were pushed out of a full queue (inference or outputs fell behind).
    int64_t dropped_late(size_t i) const { return streams_[i]->dropped_late.load(); }
    // The frame number of the first frame dropped (-1: none): a start-up stall or a steady shortfall.
    int64_t first_dropped_frame(size_t i) const { return streams_[i]->first_dropped.load(); }
    int64_t skipped(size_t i) const { return streams_[i]->skipped.load(); }
    int reconnects(size_t i) const;
    // Whether the stream's source is (re)connecting now.
    bool connecting(size_t i) const;
    // Known total frames of file sources (-1: unknown, live or endless), summed; -1 if any is unknown.
    int64_t total_frames() const;
    // After join(): the source's description, why it failed, the items it skipped.
    std::string describe(size_t i) const;
    const std::string& error(size_t i) const { return streams_[i]->error; }
    const std::vector<std::string>& skipped_items(size_t i) const { return streams_[i]->skipped_items; }
    // The source's frame rate (0: unknown or not open yet).
    double fps(size_t i) const { return streams_[i]->fps.load(); }
    int64_t dropped_total() const;
    // Frames admitted so far reached max_frames.
    bool budget_spent() const { return budget_.load() == 0; }

  private:
    struct Stream {
        StreamPlan plan;
        int lane = 0;
        std::unique_ptr<Source> source;
        std::vector<Frame> pool;
        BoundedQueue<Frame*> free_q;
        std::atomic<StreamState> state{StreamState::Opening};
        std::atomic<int64_t> frames_in{0}, dropped{0}, dropped_late{0}, skipped{0}, known_frames{-1};
        std::atomic<int64_t> first_dropped{-1};
        void drop(const Frame& f, bool late) {
            dropped.fetch_add(1);
            if (late) dropped_late.fetch_add(1);
            int64_t none = -1;
            first_dropped.compare_exchange_strong(none, f.index);
        }
        std::atomic<double> fps{0};
        size_t lane_capacity = 1;
        std::string error, description;  // written by the capture thread, read after join
        std::vector<std::string> skipped_items;
        mutable std::mutex source_m;  // guards `source` (created on the capture thread)
        explicit Stream(size_t pool_size) : pool(pool_size), free_q(pool_size) {}
    };
    void capture(Stream& s, std::stop_token stop);
    // The start line of paced streams: their clocks start once every file stream has read its first
    // frame (and allocated its pool) or ended, or after kStartWait, so that one stream's slow start
    // (pinned allocations, a slow disk) is not counted as another's lateness. Live streams never wait.
    // Stream i of n then starts i/n of a frame interval later (cameras are not in phase).
    void arrive();
    bool wait_for_start(std::stop_token stop);  // false: stopped while waiting
    static constexpr std::chrono::seconds kStartWait{5};

    std::vector<std::unique_ptr<Stream>> streams_;
    std::vector<int> position_;  // stream index -> position in streams_ (sharded lists skip indexes)
    Batcher& batcher_;
    SourceStageOptions opt_;
    std::vector<std::jthread> threads_;
    std::vector<Stream*> thread_stream_;  // the stream of each thread
    std::atomic<int64_t> budget_{-1};     // frames still admitted (max_frames), -1: no limit
    std::mutex start_m_;
    std::condition_variable_any start_cv_;
    int start_pending_ = 0;  // file streams not yet at the start line (guarded by start_m_)
};

}  // namespace app
