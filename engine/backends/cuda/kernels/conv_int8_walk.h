// The order in which the CUDA INT8 implicit-GEMM kernel (conv_int8.cu) loads its k blocks, written once
// for the device and the host so that the CPU build's tests check it without a GPU: a CTA takes
// `count` adjacent M tiles from `first` and loads, tile after tile, every kernel tap (r, s) in row-major
// order and within a tap every block of channels. The walk is stepped after each load (no divisions in
// the kernel's main loop); the tile's rows are worked out again only when it moves to the next tile.
#pragma once

#if defined(__CUDACC__)
#define RTDET_WALK_HD __host__ __device__ __forceinline__
#else
#define RTDET_WALK_HD inline
#endif

namespace engine::cuda {

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

}  // namespace engine::cuda
