#include "app/batcher.h"

#include <algorithm>

namespace app {

Batcher::Batcher(int max_batch, std::chrono::milliseconds timeout)
    : max_batch_(std::max(1, max_batch)), timeout_(timeout) {}

int Batcher::add_lane(size_t capacity, bool live) {
    std::lock_guard lock(m_);
    Lane l;
    l.ring.resize(std::max<size_t>(1, capacity));
    l.since.resize(l.ring.size());
    l.live = live;
    l.room = std::make_unique<std::condition_variable_any>();
    lanes_.push_back(std::move(l));
    ++open_lanes_;
    return static_cast<int>(lanes_.size() - 1);
}

bool Batcher::push(int lane, Frame* f, std::stop_token stop, Frame** evicted) {
    *evicted = nullptr;
    std::unique_lock lock(m_);
    Lane& l = lanes_[static_cast<size_t>(lane)];
    if (l.live) {
        if (shut_down_) return false;
        if (l.count == l.ring.size()) {
            *evicted = take(l);
        }
    } else {
        l.room->wait(lock, stop, [&] { return shut_down_ || l.count < l.ring.size(); });
        if (shut_down_ || l.count == l.ring.size()) return false;
    }
    const size_t slot = (l.head + l.count) % l.ring.size();
    l.ring[slot] = f;
    l.since[slot] = Clock::now();
    ++l.count;
    ++queued_;
    lock.unlock();
    ready_.notify_one();
    return true;
}

void Batcher::end(int lane) {
    {
        std::lock_guard lock(m_);
        Lane& l = lanes_[static_cast<size_t>(lane)];
        if (l.ended) return;
        l.ended = true;
        --open_lanes_;
    }
    ready_.notify_all();
}

void Batcher::shut_down() {
    {
        std::lock_guard lock(m_);
        shut_down_ = true;
    }
    ready_.notify_all();
    for (Lane& l : lanes_) l.room->notify_all();
}

size_t Batcher::queued() const {
    std::lock_guard lock(m_);
    return queued_;
}

Frame* Batcher::take(Lane& l) {
    Frame* f = l.ring[l.head];
    l.head = (l.head + 1) % l.ring.size();
    --l.count;
    --queued_;
    return f;
}

void Batcher::take_round_robin(std::vector<Frame*>& out) {
    const size_t n = lanes_.size();
    while (out.size() < static_cast<size_t>(max_batch_) && queued_ > 0) {
        Lane& l = lanes_[rr_];
        if (l.count > 0) {
            out.push_back(take(l));
            if (!l.live) l.room->notify_one();
        }
        rr_ = (rr_ + 1) % n;
    }
}

bool Batcher::next(std::vector<Frame*>& out, std::stop_token stop, uint64_t* seq) {
    out.clear();
    // One batch is formed at a time: frames taken before a wait belong to the batch numbered first.
    std::lock_guard forming(forming_);
    std::unique_lock lock(m_);
    ready_.wait(lock, stop, [&] { return shut_down_ || queued_ > 0 || open_lanes_ == 0; });
    if (shut_down_ || stop.stop_requested() || queued_ == 0) return false;
    // The batch's clock starts with the oldest frame queued.
    Clock::time_point first = Clock::time_point::max();
    for (const Lane& l : lanes_)
        if (l.count > 0) first = std::min(first, l.since[l.head]);
    const Clock::time_point deadline = first + timeout_;
    while (true) {
        take_round_robin(out);
        if (out.size() >= static_cast<size_t>(max_batch_) || open_lanes_ == 0 || timeout_.count() == 0) break;
        if (!ready_.wait_until(lock, stop, deadline,
                               [&] { return shut_down_ || queued_ > 0 || open_lanes_ == 0; }))
            break;  // deadline (or stop) with nothing new
        if (shut_down_) break;
    }
    if (out.empty()) return false;
    *seq = seq_++;
    return true;
}

}  // namespace app
