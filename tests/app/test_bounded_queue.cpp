#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "app/bounded_queue.h"

namespace {

using app::BoundedQueue;
using namespace std::chrono_literals;

TEST(BoundedQueue, FifoOrderAndCapacity) {
    BoundedQueue<int> q(3);
    EXPECT_EQ(q.capacity(), 3u);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.push(i));
    EXPECT_EQ(q.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(q.try_pop(), i);
    EXPECT_FALSE(q.try_pop().has_value());
}

TEST(BoundedQueue, WrapsAroundTheRing) {
    BoundedQueue<int> q(2);
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 7; ++round) {
        int a = next_in++, b = next_in++;
        ASSERT_TRUE(q.push(a));
        ASSERT_TRUE(q.push(b));
        EXPECT_EQ(q.try_pop(), next_out++);
        EXPECT_EQ(q.try_pop(), next_out++);
    }
}

TEST(BoundedQueue, DropOldestKeepsTheNewest) {
    BoundedQueue<int> q(2);
    int v1 = 1, v2 = 2, v3 = 3, v4 = 4;
    EXPECT_FALSE(q.push_drop_oldest(v1).has_value());
    EXPECT_FALSE(q.push_drop_oldest(v2).has_value());
    EXPECT_EQ(q.push_drop_oldest(v3), 1);  // evicted, handed back
    EXPECT_EQ(q.push_drop_oldest(v4), 2);
    EXPECT_EQ(q.try_pop(), 3);
    EXPECT_EQ(q.try_pop(), 4);
}

TEST(BoundedQueue, PushBlocksUntilRoom) {
    BoundedQueue<int> q(1);
    int a = 1;
    ASSERT_TRUE(q.push(a));
    std::atomic<bool> pushed{false};
    std::thread producer([&] {
        int b = 2;
        q.push(b);
        pushed = true;
    });
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(pushed.load()) << "push must wait while the queue is full (backpressure)";
    EXPECT_EQ(q.pop(), 1);
    producer.join();
    EXPECT_TRUE(pushed.load());
    EXPECT_EQ(q.pop(), 2);
}

TEST(BoundedQueue, CloseDrainsThenEnds) {
    BoundedQueue<int> q(4);
    int a = 7, b = 8, c = 9;
    q.push(a);
    q.push(b);
    q.close();
    EXPECT_TRUE(q.closed());
    EXPECT_FALSE(q.push(c)) << "closed queues refuse pushes";
    EXPECT_EQ(q.pop(), 7);
    EXPECT_EQ(q.pop(), 8);
    EXPECT_FALSE(q.pop().has_value());
}

TEST(BoundedQueue, CloseWakesBlockedConsumer) {
    BoundedQueue<int> q(1);
    std::thread closer([&] {
        std::this_thread::sleep_for(50ms);
        q.close();
    });
    EXPECT_FALSE(q.pop().has_value());
    closer.join();
}

TEST(BoundedQueue, StopTokenWakesBlockedCalls) {
    BoundedQueue<int> q(1);
    std::stop_source stop;
    std::thread stopper([&] {
        std::this_thread::sleep_for(50ms);
        stop.request_stop();
    });
    EXPECT_FALSE(q.pop(stop.get_token()).has_value());
    stopper.join();
    int a = 1, b = 2;
    q.push(a);
    EXPECT_FALSE(q.push(b, stop.get_token())) << "stopped: a full queue does not block";
    EXPECT_EQ(b, 2) << "the refused item stays with the caller";
}

TEST(BoundedQueue, PopForTimesOut) {
    BoundedQueue<int> q(1);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(q.pop_for(30ms).has_value());
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 25ms);
}

TEST(BoundedQueue, ManyProducersOneConsumerLoseNothing) {
    BoundedQueue<int> q(3);
    constexpr int kPerProducer = 2000;
    std::vector<std::thread> producers;
    for (int p = 0; p < 3; ++p)
        producers.emplace_back([&, p] {
            for (int i = 0; i < kPerProducer; ++i) {
                int v = p * kPerProducer + i;
                q.push(v);
            }
        });
    std::vector<int> seen(3 * kPerProducer, 0);
    std::vector<int> last(3, -1);
    for (int n = 0; n < 3 * kPerProducer; ++n) {
        const auto v = q.pop();
        ASSERT_TRUE(v.has_value());
        ++seen[static_cast<size_t>(*v)];
        const int p = *v / kPerProducer;
        EXPECT_GT(*v, last[static_cast<size_t>(p)]) << "per-producer order kept";
        last[static_cast<size_t>(p)] = *v;
    }
    for (auto& t : producers) t.join();
    for (int c : seen) ASSERT_EQ(c, 1);
}

}  // namespace
