// The real-time pipeline of `rtdet run`, in four stages:
//
//   sources (source_stage.h)  one capture thread per stream, frame pool per stream
//        │  lanes (one per stream)
//   batcher (batcher.h)       round-robin across streams, up to max_batch, batch_timeout_ms
//        │  batches, numbered
//   inference (inference_stage.h)  workers, each with its own detector context
//        │  batches, put back in order
//   output (this file, the calling thread)  annotate, sinks (sinks.h, stream_sinks.h), stats
//        └──► frames back to their stream's pool, batches back to the inference stage's pool
//
// Threads and buffers are created once per run; in steady state no frame buffer is allocated. The
// output stage runs on the calling thread because OpenCV's highgui (Qt) wants the main thread.
//
// Stopping: every source ends (files), a sink asks to quit (window q/Esc), max_frames frames have been
// admitted, or an interrupt arrives (SIGINT/SIGTERM): the sources stop and the frames in flight drain
// through the outputs. A second interrupt stops at once. A source that fails ends its stream only (it
// is reported in the summary); an exception in the inference or output stage stops the run: it is
// stored (the first one wins), the outputs are still finalized (a video stays playable), and run()
// hands it back with the summary.
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "app/inference_stage.h"
#include "app/sinks.h"
#include "app/stats.h"
#include "app/streams.h"

namespace app {

struct PipelineOptions {
    int queue_depth = 4;  // frames queued per stream before the batcher (files: at least max_batch / streams)
    int max_batch = 1;    // frames per batch (capped by the detector's)
    int batch_timeout_ms = 0;
    int64_t max_frames = 0;  // 0: all
    bool progress = true;    // progress bar on a terminal for sources with a known length
    ReconnectPolicy reconnect;
    // Interrupt counter (SIGINT/SIGTERM): 1 drains, 2 stops at once. May be null.
    const std::atomic<int>* interrupt = nullptr;
};

struct PipelineResult {
    RunSummary summary;
    std::exception_ptr error;  // the first exception of the inference or output stage (null: none)
};

class Pipeline {
  public:
    // `detectors`: one per inference worker (at least one), outliving the pipeline. `window` (may be
    // null) is one of `sinks`; it gets the live overlay.
    Pipeline(std::vector<StreamPlan> streams, std::vector<FrameDetector*> detectors,
             std::vector<std::unique_ptr<Sink>> sinks, Window* window, PipelineOptions options);
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // Runs to the end (see the file comment). Never throws for a stage's failure: it comes back in
    // PipelineResult::error.
    PipelineResult run();

  private:
    struct State;
    std::unique_ptr<State> s_;
};

// `rtdet run`: builds the streams, detectors and sinks from `cfg`, handles SIGINT/SIGTERM, runs the
// pipeline, prints the summary on stdout (and writes outputs.summary_json). Returns the exit code:
// 0 done; 2 done but some inputs were skipped (named in the log and the summary); 3 some stream failed
// (could not be opened, or was lost and did not come back; named in the log and the summary); 4 done but
// MQTT messages were lost (--publish: the spool overflowed; counted in the summary; checked first). Throws
// engine::Error for configuration problems and the first stage failure.
int run_app(const AppConfig& cfg);

}  // namespace app
