#include "app/source_stage.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "engine/core/error.h"

namespace app {

const char* stream_state_name(StreamState s) {
    switch (s) {
        case StreamState::Opening:
            return "opening";
        case StreamState::Running:
            return "running";
        case StreamState::Ended:
            return "ended";
        case StreamState::Stopped:
            return "stopped";
        case StreamState::Failed:
            return "failed";
    }
    return "?";
}

namespace {

double wall_clock_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

size_t lane_capacity(bool live, int queue_depth, int max_batch, size_t streams) {
    const size_t depth = static_cast<size_t>(std::max(1, queue_depth));
    if (live) return depth;
    const size_t share =
        (static_cast<size_t>(std::max(1, max_batch)) + streams - 1) / std::max<size_t>(1, streams);
    return std::max(depth, share);
}

size_t frame_pool_size(size_t lane_capacity, int max_batch, int workers, size_t streams) {
    const size_t in_flight =
        static_cast<size_t>(std::max(1, max_batch)) * static_cast<size_t>(std::max(1, workers) + 1);
    return lane_capacity + (in_flight + streams - 1) / std::max<size_t>(1, streams) + 2;
}

SourceStage::SourceStage(std::vector<StreamPlan> streams, Batcher& batcher, SourceStageOptions options)
    : batcher_(batcher), opt_(options) {
    if (opt_.max_frames > 0) budget_ = opt_.max_frames;
    const size_t n = streams.size();
    for (StreamPlan& p : streams) {
        const size_t lane = lane_capacity(p.live(), opt_.queue_depth, opt_.max_batch, n);
        auto s = std::make_unique<Stream>(frame_pool_size(lane, opt_.max_batch, opt_.workers, n));
        s->lane_capacity = lane;
        s->plan = std::move(p);
        s->plan.spec.pinned_frames = opt_.pinned_frames;
        for (Frame& f : s->pool) {
            f.detections.reserve(256);
            use_pinned_memory(f.image, opt_.pinned_frames);
            f.stream = s->plan.index;
            f.stream_name = &s->plan.name;
            Frame* fp = &f;
            s->free_q.push(fp);
        }
        s->lane = batcher_.add_lane(lane, s->plan.live());
        if (position_.size() <= static_cast<size_t>(s->plan.index)) position_.resize(s->plan.index + 1, -1);
        position_[static_cast<size_t>(s->plan.index)] = static_cast<int>(streams_.size());
        streams_.push_back(std::move(s));
    }
}

SourceStage::~SourceStage() {
    request_stop();
    join();
}

void SourceStage::start() {
    // spdlog's registry is made on first use: make it here, before the capture threads log at once
    // (libspdlog is not built with TSan, which then cannot see its one-time initialization's guard).
    (void)spdlog::default_logger_raw();
    for (auto& s : streams_) {
        Stream* sp = s.get();
        if (!sp->plan.error.empty()) {
            sp->error = sp->plan.error;
            sp->description = sp->plan.uri;
            sp->state = StreamState::Failed;
            spdlog::error("stream {} ({}): {}", sp->plan.index, sp->plan.name, sp->error);
            batcher_.end(sp->lane);
            continue;
        }
        thread_stream_.push_back(sp);
    }
    // Counted before any thread runs (a fast one could otherwise release the start line early).
    start_pending_ = static_cast<int>(std::count_if(thread_stream_.begin(), thread_stream_.end(),
                                                    [](const Stream* sp) { return !sp->plan.spec.live(); }));
    for (Stream* sp : thread_stream_)
        threads_.emplace_back([this, sp](std::stop_token stop) { capture(*sp, stop); });
}

void SourceStage::request_stop() {
    for (std::jthread& t : threads_) t.request_stop();
}

void SourceStage::stop_live() {
    for (size_t i = 0; i < threads_.size(); ++i)
        if (thread_stream_[i]->plan.live()) threads_[i].request_stop();
}

void SourceStage::join() {
    for (std::jthread& t : threads_)
        if (t.joinable()) t.join();
}

size_t SourceStage::position(int stream) const {
    return static_cast<size_t>(position_[static_cast<size_t>(stream)]);
}

void SourceStage::recycle(Frame* f) { streams_[position(f->stream)]->free_q.push(f); }

int SourceStage::reconnects(size_t i) const {
    std::lock_guard lock(streams_[i]->source_m);
    return streams_[i]->source ? streams_[i]->source->reconnects() : 0;
}

bool SourceStage::connecting(size_t i) const {
    std::lock_guard lock(streams_[i]->source_m);
    return streams_[i]->source && streams_[i]->source->connecting();
}

int64_t SourceStage::total_frames() const {
    int64_t total = 0;
    for (const auto& s : streams_) {
        if (!s->plan.error.empty()) continue;
        const int64_t n = s->known_frames.load();
        if (n < 0 || s->plan.live() || s->plan.spec.loop) return -1;
        total += n;
    }
    return total;
}

int64_t SourceStage::dropped_total() const {
    int64_t n = 0;
    for (const auto& s : streams_) n += s->dropped.load();
    return n;
}

std::string SourceStage::describe(size_t i) const {
    const Stream& s = *streams_[i];
    std::lock_guard lock(s.source_m);
    if (s.source) return s.source->describe();
    return s.description.empty() ? s.plan.uri : s.description;
}

void SourceStage::arrive() {
    std::lock_guard lock(start_m_);
    if (--start_pending_ == 0) start_cv_.notify_all();
}

bool SourceStage::wait_for_start(std::stop_token stop) {
    std::unique_lock lock(start_m_);
    start_cv_.wait_for(lock, stop, kStartWait, [&] { return start_pending_ <= 0; });
    return !stop.stop_requested();
}

void SourceStage::capture(Stream& s, std::stop_token stop) {
    const std::string who = engine::concat("stream ", s.plan.index, " (", s.plan.name, ")");
    // File streams (paced or not) count at the start line (wait_for_start) once: at their first frame,
    // else on leaving. Live sources never hold it up.
    struct Arrival {
        SourceStage* stage;  // null: not counted (live streams), or arrived
        void arrive() {
            if (stage != nullptr) std::exchange(stage, nullptr)->arrive();
        }
        ~Arrival() { arrive(); }
    } arrival{s.plan.spec.live() ? nullptr : this};
    try {
        std::unique_ptr<Source> src = open_source(s.plan.spec, opt_.reconnect);
        Source* source = src.get();
        {
            std::lock_guard lock(s.source_m);
            s.source = std::move(src);
        }
        s.known_frames = source->frame_count();
        s.fps = source->fps();
        s.state = StreamState::Running;
        spdlog::info("{}: {}", who, source->describe());
        int64_t next = 0;
        Clock::time_point t0{};
        Clock::duration interval{};
        while (!stop.stop_requested()) {
            std::optional<Frame*> slot = s.free_q.pop(stop);
            if (!slot) break;
            Frame* f = *slot;
            const ReadStatus st = source->read(*f, stop);
            if (st == ReadStatus::End) {
                s.free_q.push(f);
                break;
            }
            if (st == ReadStatus::Skipped) {
                spdlog::warn("{}: skipped {}", who, source->skip_message());
                s.skipped_items.push_back(source->skip_message());
                s.skipped.fetch_add(1);
                s.free_q.push(f);
                continue;
            }
            f->index = next++;
            if (f->index == 0) {
                // Page-locked buffers take long to allocate (a driver call each, serialized across
                // threads): the whole pool is allocated now, at the first frame's size, not on timed
                // frames. Then this stream has arrived at the start line.
                if (opt_.pinned_frames)
                    for (Frame& g : s.pool)
                        if (&g != f) reserve_image(g.image, f->image.cols, f->image.rows);
                arrival.arrive();
            }
            s.frames_in.fetch_add(1);
            if (s.plan.paced) {
                // A camera made of a file: frame k is produced at t0 + k / fps.
                if (f->index == 0) {
                    const double fps = s.plan.fps > 0 ? s.plan.fps : source->fps() > 0 ? source->fps() : 25.0;
                    interval =
                        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / fps));
                    if (!wait_for_start(stop)) {
                        s.free_q.push(f);
                        s.frames_in.fetch_sub(1);
                        break;
                    }
                    // Real cameras are not in phase: stream i's frames come i/n of an interval after
                    // stream 0's, so n streams' decodes spread over the interval instead of all
                    // landing on the same instant.
                    t0 = Clock::now() + interval * static_cast<int64_t>(position(s.plan.index)) /
                                            static_cast<int64_t>(std::max<size_t>(1, streams_.size()));
                }
                const Clock::time_point due = t0 + interval * f->index;
                const Clock::time_point now = Clock::now();
                if (now < due) {
                    if (!sleep_until(due, stop)) {
                        s.free_q.push(f);
                        break;
                    }
                } else if (now - due > interval * static_cast<int64_t>(s.lane_capacity)) {
                    // Later than a camera's buffer of lane-capacity frames (queue_depth; V4L2 keeps 4)
                    // would hold it: the camera would have overwritten it.
                    s.drop(*f, /*late=*/true);
                    s.free_q.push(f);
                    continue;
                }
                f->captured = due;
            } else {
                f->captured = Clock::now();
            }
            f->wall_clock_ms = wall_clock_ms();
            f->stream_fps = s.plan.paced && s.plan.fps > 0 ? s.plan.fps : source->fps();
            // max_frames: every stream draws from one budget.
            if (budget_.load() >= 0 && budget_.fetch_sub(1) <= 0) {
                budget_.store(0);
                s.free_q.push(f);
                s.frames_in.fetch_sub(1);
                break;
            }
            Frame* evicted = nullptr;
            if (!batcher_.push(s.lane, f, stop, &evicted)) {
                s.free_q.push(f);  // stopped while waiting for room: never queued, not counted
                s.frames_in.fetch_sub(1);
                break;
            }
            if (evicted) {
                s.drop(*evicted, /*late=*/false);
                s.free_q.push(evicted);
            }
        }
        s.state = stop.stop_requested() || budget_.load() == 0 ? StreamState::Stopped : StreamState::Ended;
        spdlog::debug("{}: {} after {} frame(s)", who, stream_state_name(s.state.load()), s.frames_in.load());
    } catch (const std::exception& e) {
        s.error = e.what();
        s.state = StreamState::Failed;
        spdlog::error("{}: {}", who, s.error);
    }
    batcher_.end(s.lane);
}

}  // namespace app
