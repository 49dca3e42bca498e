// A bounded multi-producer multi-consumer queue for the pipeline's stages.
//
// Storage is a ring of `capacity` slots allocated once, so pushing and popping never allocate.
// Two ways to push when the queue is full:
//   push()             blocks until there is room (backpressure: offline sources never lose a frame);
//   push_drop_oldest() evicts the oldest item and hands it back (live sources keep the newest frame).
// close() ends the stream: pushes are refused, pops drain what is left and then return nothing.
// Every blocking call also returns when the given stop_token is stopped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>
#include <vector>

namespace app {

template <typename T>
class BoundedQueue {
  public:
    explicit BoundedQueue(size_t capacity) : slots_(capacity > 0 ? capacity : 1) {}
    BoundedQueue(const BoundedQueue&) = delete;
    BoundedQueue& operator=(const BoundedQueue&) = delete;

    size_t capacity() const { return slots_.size(); }

    size_t size() const {
        std::lock_guard lock(mutex_);
        return count_;
    }

    bool closed() const {
        std::lock_guard lock(mutex_);
        return closed_;
    }

    // Blocks while full. False when the queue is closed or `stop` was requested (the item is not
    // queued and stays with the caller).
    bool push(T& item, std::stop_token stop = {}) {
        std::unique_lock lock(mutex_);
        not_full_.wait(lock, stop, [&] { return closed_ || count_ < slots_.size(); });
        if (closed_ || count_ == slots_.size()) return false;
        put(item);
        lock.unlock();
        not_empty_.notify_one();
        return true;
    }

    // Never blocks. When full, the oldest item is removed and returned so the caller can recycle it.
    // When the queue is closed nothing is queued and `item` itself is returned.
    std::optional<T> push_drop_oldest(T& item) {
        std::optional<T> evicted;
        {
            std::lock_guard lock(mutex_);
            if (closed_) return std::optional<T>(std::move(item));
            if (count_ == slots_.size()) evicted = take();
            put(item);
        }
        not_empty_.notify_one();
        return evicted;
    }

    // Blocks until an item is available. Empty when the queue is closed and drained, or on stop.
    std::optional<T> pop(std::stop_token stop = {}) {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, stop, [&] { return closed_ || count_ > 0; });
        return pop_locked(lock);
    }

    // As pop(), but gives up after `timeout` (empty result; check closed() to tell the cases apart).
    template <typename Rep, typename Period>
    std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout, std::stop_token stop = {}) {
        std::unique_lock lock(mutex_);
        not_empty_.wait_for(lock, stop, timeout, [&] { return closed_ || count_ > 0; });
        return pop_locked(lock);
    }

    // Never blocks.
    std::optional<T> try_pop() {
        std::unique_lock lock(mutex_);
        return pop_locked(lock);
    }

    // No more pushes; consumers drain the rest.
    void close() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        not_empty_.notify_all();
        not_full_.notify_all();
    }

  private:
    void put(T& item) {
        slots_[(head_ + count_) % slots_.size()] = std::move(item);
        ++count_;
    }
    T take() {
        T item = std::move(slots_[head_]);
        head_ = (head_ + 1) % slots_.size();
        --count_;
        return item;
    }
    std::optional<T> pop_locked(std::unique_lock<std::mutex>& lock) {
        if (count_ == 0) return std::nullopt;
        std::optional<T> item(take());
        lock.unlock();
        not_full_.notify_one();
        return item;
    }

    mutable std::mutex mutex_;
    std::condition_variable_any not_empty_, not_full_;
    std::vector<T> slots_;
    size_t head_ = 0, count_ = 0;
    bool closed_ = false;
};

}  // namespace app
