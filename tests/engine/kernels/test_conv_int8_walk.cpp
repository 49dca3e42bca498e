// The k-block walk of the CUDA INT8 implicit-GEMM kernel (engine/backends/cuda/kernels/conv_int8_walk.h),
// compiled here as plain C++: the same source the device kernel steps after each load. A CTA with
// several M tiles streams their k blocks back to back, so the walk must visit, tile after tile, every
// tap in row-major order and within it every channel block, and say when a tile ends (the kernel then
// works out the next tile's rows). Checked against nested loops written out here, and by hand.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "engine/backends/cuda/kernels/conv_int8_walk.h"

namespace {

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

}  // namespace
