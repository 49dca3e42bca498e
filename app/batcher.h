// The batcher, in the manner of DeepStream's nvstreammux: frames ready across streams become one
// inference batch.
//
// Each stream has a lane, a ring of `capacity` frames allocated once. A live lane (camera, stream, a
// file played as a camera) never blocks its capture thread: when full, its oldest frame is evicted and
// handed back (the newest frame wins; the caller counts the drop). A file lane blocks its capture
// thread while full (backpressure: nothing lost).
//
// next() forms a batch: it waits for a first frame, then takes frames round-robin across the lanes
// (one per lane per pass, starting after the lane served last, so no stream starves another), up to
// max_batch. It returns the batch when it is full, when `timeout` has passed since the first of its
// frames was queued, or when every lane has ended; timeout 0 takes what is ready at that moment. Each
// frame is taken exactly once, and a stream's frames leave in their order. Batches are numbered in
// the order they are formed (several inference workers may call next(); the output stage restores
// that order).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stop_token>
#include <vector>

#include "app/frame.h"

namespace app {

class Batcher {
  public:
    Batcher(int max_batch, std::chrono::milliseconds timeout);
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    // Adds a lane (before any push or next); returns its index. Lanes are the streams, in order.
    int add_lane(size_t capacity, bool live);

    // Queues `f` on `lane`. Live lanes: never blocks; a full lane evicts its oldest frame into
    // *evicted (else *evicted = nullptr). File lanes: blocks while full; false when `stop` is requested
    // or the batcher is shut down (the frame is not queued and stays with the caller).
    bool push(int lane, Frame* f, std::stop_token stop, Frame** evicted);
    // No more frames on `lane` (its source ended or failed). Queued frames are still delivered.
    void end(int lane);
    // Wakes every waiting call and refuses further pushes (abort).
    void shut_down();

    // Fills `out` (cleared first) with the next batch; *seq is its number (0, 1, 2, ...). False when
    // every lane has ended and nothing is queued, on `stop`, or after shut_down().
    bool next(std::vector<Frame*>& out, std::stop_token stop, uint64_t* seq);

    int max_batch() const { return max_batch_; }
    size_t queued() const;

  private:
    struct Lane {
        std::vector<Frame*> ring;
        std::vector<Clock::time_point> since;  // when each queued frame was queued
        size_t head = 0, count = 0;
        bool live = false, ended = false;
        std::unique_ptr<std::condition_variable_any> room;  // a file lane's capture waits here
    };
    Frame* take(Lane& l);
    void take_round_robin(std::vector<Frame*>& out);

    const int max_batch_;
    const std::chrono::milliseconds timeout_;
    std::mutex forming_;  // held by the next() call forming a batch
    mutable std::mutex m_;
    std::condition_variable_any ready_;
    std::vector<Lane> lanes_;
    size_t queued_ = 0, open_lanes_ = 0, rr_ = 0;
    uint64_t seq_ = 0;
    bool shut_down_ = false;
};

}  // namespace app
