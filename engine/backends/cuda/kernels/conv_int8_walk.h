// The order in which the CUDA INT8 implicit-GEMM kernels (conv_int8.cu) load their k blocks, written once
// for the device and the host so that the CPU build's tests check it without a GPU: a CTA takes
// `count` adjacent M tiles from `first` and loads, tile after tile, every kernel tap (r, s) in row-major
// order and within a tap every block of channels. The walk is stepped after each load (no divisions in
// the kernel's main loop); the tile's rows are worked out again only when it moves to the next tile.
// FastDiv: the kernel's divisions of a pixel index by the output's size and width, as a multiply-high,
// an add and a shift.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define RTDET_WALK_HD __host__ __device__ __forceinline__
#else
#define RTDET_WALK_HD inline
#endif

namespace engine::cuda {

// n / d for n in [0, 2^31) and a divisor d in [1, 2^31) fixed at launch, without a division instruction
// (a 32-bit division by a register is about 20 instructions on the GPU, and the kernels did several a
// tile and one an epilogue run): q = (mulhi(n, mul) + n) >> shift, with shift = ceil(log2 d) and
// mul = floor(2^32 (2^shift - d) / d) + 1 (< 2^32 since 2^shift - d < d; the add cannot overflow since
// mulhi(n, mul) <= n < 2^31). The round-up method: exact for every such n and d (the tests check it
// against /, at every multiple of d and around it).
struct FastDiv {
    uint32_t mul = 1, shift = 0;

    FastDiv() = default;
    explicit FastDiv(uint32_t d) {
        while (shift < 31 && (uint32_t{1} << shift) < d) ++shift;
        mul = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << shift) - d)) / d + 1);
    }
    RTDET_WALK_HD int div(int n) const {
        const auto u = static_cast<uint32_t>(n);
#if defined(__CUDA_ARCH__)
        const uint32_t hi = __umulhi(u, mul);
#else
        const auto hi = static_cast<uint32_t>((static_cast<uint64_t>(u) * mul) >> 32);
#endif
        return static_cast<int>((hi + u) >> shift);
    }
};

struct KBlockWalk {
    int tile = 0;  // the M tile of the next block to load
    int cb = 0;    // its block of channels (c0 = cb * BK)
    int rs = 0;    // its tap, r * S + s (the weights' tap index)
    int r = 0, s = 0;

    // After a load: the next block. True when that block is the next tile's first (its rows change).
    RTDET_WALK_HD bool step(int cblocks, int R, int S) {
        if (++cb < cblocks) return false;
        cb = 0;
        ++rs;
        if (++s < S) return false;
        s = 0;
        if (++r < R) return false;
        r = 0;
        rs = 0;
        ++tile;
        return true;
    }
};

// The warp-specialized kernel's order within a tile: every tap of a block of channels, then the next
// block (so that a block's pixel rows overlap the previous block's, L1 hits). rs = r * S + s.
struct TapInnerWalk {
    int cb = 0, rs = 0, r = 0, s = 0;

    RTDET_WALK_HD void step(int R, int S) {
        ++rs;
        if (++s < S) return;
        s = 0;
        if (++r < R) return;
        r = 0;
        rs = 0;
        ++cb;
    }
};

// Tiles of several taps a k block (Tile::TAPS > 1: TAPS adjacent taps of BK / TAPS channels each): a
// thread's 16-byte chunk of a row lies in one of the block's taps, its `slot`, the same in every block.
// The thread's own tap walks slot, slot + TAPS, slot + 2 TAPS, ... (row-major, with its row r and column
// s), stepped after each load; a tap at or past the kernel's R S (the last block of an odd count) is
// loaded as zeros. reset at each tile's first block.
struct TapWalk {
    int t = 0;  // the tap, r * S + s
    int r = 0, s = 0;

    RTDET_WALK_HD void reset(int slot, int S) {
        t = slot;
        r = 0;
        s = slot;
        while (s >= S) {
            s -= S;
            ++r;
        }
    }
    RTDET_WALK_HD void step(int taps, int S) {
        t += taps;
        for (int i = 0; i < taps; ++i)
            if (++s == S) {
                s = 0;
                ++r;
            }
    }
};

}  // namespace engine::cuda
