// The k-block walk of the CUDA INT8 implicit-GEMM kernel (engine/backends/cuda/kernels/conv_int8_walk.h),
// compiled here as plain C++: the same source the device kernel steps after each load. A CTA with
// several M tiles streams their k blocks back to back, so the walk must visit, tile after tile, every
// tap in row-major order and within it every channel block, and say when a tile ends (the kernel then
// works out the next tile's rows). Checked against nested loops written out here, and by hand.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "engine/backends/cuda/kernels/conv_int8_walk.h"

namespace {

using engine::cuda::FastDiv;
using engine::cuda::KBlockWalk;
using Block = std::tuple<int, int, int, int, int>;  // tile, r, s, cb, rs

TEST(ConvInt8Walk, VisitsTilesThenTapsThenChannelBlocks) {
    for (int R : {1, 2, 3})
        for (int S : {1, 3, 5})
            for (int cblocks : {1, 2, 4})
                for (int tiles : {1, 2, 8}) {
                    const std::string what = "R " + std::to_string(R) + " S " + std::to_string(S) +
                                             " cblocks " + std::to_string(cblocks) + " tiles " +
                                             std::to_string(tiles);
                    std::vector<Block> want;
                    std::vector<bool> want_wrap;
                    for (int t = 5; t < 5 + tiles; ++t)
                        for (int r = 0; r < R; ++r)
                            for (int s = 0; s < S; ++s)
                                for (int cb = 0; cb < cblocks; ++cb) {
                                    want.emplace_back(t, r, s, cb, r * S + s);
                                    want_wrap.push_back(r == R - 1 && s == S - 1 && cb == cblocks - 1);
                                }
                    KBlockWalk w;
                    w.tile = 5;  // a CTA's first tile
                    for (size_t i = 0; i < want.size(); ++i) {
                        ASSERT_EQ(Block(w.tile, w.r, w.s, w.cb, w.rs), want[i]) << what << ", block " << i;
                        ASSERT_EQ(w.step(cblocks, R, S), want_wrap[i]) << what << ", block " << i;
                    }
                    EXPECT_EQ(w.tile, 5 + tiles) << what;
                    EXPECT_EQ(Block(w.tile, w.r, w.s, w.cb, w.rs), Block(5 + tiles, 0, 0, 0, 0)) << what;
                }
}

// A 3x3 conv over 64 channels in 32-deep blocks (YOLOv3's layer_3 shape), by hand: 18 blocks a tile.
TEST(ConvInt8Walk, ThreeByThreeTwoChannelBlocksByHand) {
    KBlockWalk w;
    const std::vector<Block> want = {{0, 0, 0, 0, 0}, {0, 0, 0, 1, 0}, {0, 0, 1, 0, 1}, {0, 0, 1, 1, 1},
                                     {0, 0, 2, 0, 2}, {0, 0, 2, 1, 2}, {0, 1, 0, 0, 3}, {0, 1, 0, 1, 3}};
    for (const Block& b : want) {
        EXPECT_EQ(Block(w.tile, w.r, w.s, w.cb, w.rs), b);
        EXPECT_FALSE(w.step(2, 3, 3));
    }
    for (int i = 8; i < 17; ++i) EXPECT_FALSE(w.step(2, 3, 3)) << "block " << i;
    EXPECT_EQ(Block(w.tile, w.r, w.s, w.cb, w.rs), Block(0, 2, 2, 1, 8));
    EXPECT_TRUE(w.step(2, 3, 3));  // the 18th block was the tile's last
    EXPECT_EQ(Block(w.tile, w.r, w.s, w.cb, w.rs), Block(1, 0, 0, 0, 0));
}

// The warp-specialized kernel's walk (TapInnerWalk): within a tile every tap of a channel block, then
// the next block; against nested loops.
TEST(ConvInt8TapInnerWalk, VisitsChannelBlocksThenTaps) {
    for (int R : {1, 2, 3})
        for (int S : {1, 3, 5})
            for (int cblocks : {1, 2, 8}) {
                const std::string what = "R " + std::to_string(R) + " S " + std::to_string(S) + " cblocks " +
                                         std::to_string(cblocks);
                engine::cuda::TapInnerWalk w;
                int i = 0;
                for (int cb = 0; cb < cblocks; ++cb)
                    for (int r = 0; r < R; ++r)
                        for (int s = 0; s < S; ++s, ++i) {
                            ASSERT_EQ(Block(0, w.r, w.s, w.cb, w.rs), Block(0, r, s, cb, r * S + s))
                                << what << ", block " << i;
                            w.step(R, S);
                        }
                EXPECT_EQ(Block(0, w.r, w.s, w.cb, w.rs), Block(0, 0, 0, cblocks, 0)) << what;
            }
}

// 3x3 over two channel blocks, by hand: the first block's nine taps, then the second's.
TEST(ConvInt8TapInnerWalk, ThreeByThreeByHand) {
    engine::cuda::TapInnerWalk w;
    for (int i = 0; i < 8; ++i) w.step(3, 3);
    EXPECT_EQ(Block(0, w.r, w.s, w.cb, w.rs), Block(0, 2, 2, 0, 8));
    w.step(3, 3);
    EXPECT_EQ(Block(0, w.r, w.s, w.cb, w.rs), Block(0, 0, 0, 1, 0));
    w.step(3, 3);
    EXPECT_EQ(Block(0, w.r, w.s, w.cb, w.rs), Block(0, 0, 1, 1, 1));
}

// A thread's tap in the tiles of several taps a block (TapWalk): slot, slot + taps, ... with its row and
// column, against r = t / S, s = t % S, for every slot, kernel width and count of taps a block; the
// walk does not stop at R S (the kernel loads taps past it as zeros).
TEST(ConvInt8TapWalk, StepsByTheTapsOfABlock) {
    for (int taps : {2, 4})
        for (int S : {1, 2, 3, 5, 7})
            for (int slot = 0; slot < taps; ++slot) {
                engine::cuda::TapWalk w;
                w.reset(slot, S);
                for (int b = 0; b < 12; ++b) {
                    const int t = slot + b * taps;
                    ASSERT_EQ(std::make_tuple(w.t, w.r, w.s), std::make_tuple(t, t / S, t % S))
                        << "taps " << taps << " S " << S << " slot " << slot << " block " << b;
                    w.step(taps, S);
                }
            }
}

// YOLOv3's 3x3 convs of 32 channels in blocks of two taps, by hand: the second slot's taps (0, 1),
// (1, 0), (1, 2), (2, 1), then tap 9, past the kernel (the fifth block's zeros).
TEST(ConvInt8TapWalk, ThreeByThreeSecondSlotByHand) {
    engine::cuda::TapWalk w;
    w.reset(1, 3);
    const std::vector<std::tuple<int, int, int>> want = {
        {1, 0, 1}, {3, 1, 0}, {5, 1, 2}, {7, 2, 1}, {9, 3, 0}};
    for (const auto& b : want) {
        EXPECT_EQ(std::make_tuple(w.t, w.r, w.s), b);
        w.step(2, 3);
    }
}

// n / d as the kernels compute it, against C++'s division: every n near the multiples of d (where a
// wrong multiplier shows first), the ends of the range, and random n, for divisors of every size
// (powers of two and their neighbours, YOLO's pixel counts, primes, the largest).
TEST(ConvInt8FastDiv, IsTheDivisionEverywhere) {
    std::vector<uint32_t> divisors = {1,     2,     3,      5,       7,           13,          26,
                                      52,    104,   169,    208,     416,         676,         2704,
                                      10816, 43264, 173056, 1000003, 2147483647u, 2147483646u, 1073741825u};
    for (int b = 1; b < 31; ++b)
        for (int64_t e : {-1, 0, 1}) divisors.push_back(static_cast<uint32_t>((int64_t{1} << b) + e));
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> any(0, INT32_MAX);
    for (uint32_t d : divisors) {
        const FastDiv f(d);
        auto check = [&](int64_t n) {
            if (n < 0 || n > INT32_MAX) return;
            ASSERT_EQ(f.div(static_cast<int>(n)), static_cast<int>(n / d)) << n << " / " << d;
        };
        for (int64_t k = 0; k <= 64; ++k)
            for (int64_t e : {-1, 0, 1}) check(k * d + e);
        for (int64_t k = INT32_MAX / d - 2; k <= INT32_MAX / d + 1; ++k)
            for (int64_t e : {-1, 0, 1}) check(k * d + e);
        check(INT32_MAX);
        check(INT32_MAX - 1);
        for (int i = 0; i < 2000; ++i) check(any(rng));
    }
}

// By hand: 416 * 416 = 173056 pixels an image, so pixel 11075583 (the last of batch 64) is image 63.
TEST(ConvInt8FastDiv, ByHand) {
    EXPECT_EQ(FastDiv(173056).div(11075583), 63);
    EXPECT_EQ(FastDiv(173056).div(173055), 0);
    EXPECT_EQ(FastDiv(173056).div(173056), 1);
    EXPECT_EQ(FastDiv(416).div(415), 0);
    EXPECT_EQ(FastDiv(416).div(832), 2);
    EXPECT_EQ(FastDiv(1).div(12345), 12345);
}

}  // namespace
