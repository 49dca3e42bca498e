// The INT8 conv pair kernel (conv_pair_int8.cuh): YOLO's stem in one pass.
//
// A CTA of 4 warps is persistent over the tiles (8 x 16 outputs of the second conv, batch-major). Per tile:
//   A. the image window (19 x 35 pixels, 2 rows and columns around the 17 x 33 middle window) quantized
//      into shared memory, one 4-byte word a pixel (its channels, zero padded to 4; zeros outside the
//      image: the first conv's padding). Its global loads were issued into registers during the previous
//      tile's second conv.
//   B. the first conv over the middle window's 561 pixels (36 m16 tiles, 9 a warp): the packed taps as
//      conv_int8.cu's packed direct tiles (9 taps x 4 channels in one 64-deep k block, 2 MMA steps, the
//      32 x 64 weights in registers), A fragments from the window in shared memory; each thread's 8
//      adjacent channels of a pixel through the folded epilogue into one 8-byte store of the middle
//      tile. Pixels outside the first conv's output are stored as zeros (the second conv's padding).
//   C. the second conv: warp w computes output rows 2w and 2w + 1 (two m16 tiles of 16 pixels) x 64
//      channels over 9 taps of 32 channels (8-byte A fragment loads from the middle tile, B fragments
//      from shared memory where the CTA put the whole 64 x 288 weights once), then the folded epilogue
//      of 16 channels a thread into one 16-byte store.
// The middle tile keeps each row's even columns, then (after one pixel of padding) its odd ones: the
// stride-2 reads of 8 adjacent outputs are then 8 adjacent pixels (conflict-free), and the epilogue's
// stores of adjacent pixels fall in different bank groups.
#include <algorithm>

#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/conv_int8.cuh"
#include "engine/backends/cuda/kernels/conv_pair_int8.cuh"
#include "engine/backends/cuda/kernels/device_util.cuh"
#include "engine/backends/cuda/kernels/mma_int8.cuh"
#include "engine/backends/cuda/kernels/requant_core.h"

namespace engine::cuda {
namespace {

constexpr int kWarps = 4, kThreadsPair = 32 * kWarps;
constexpr int kTileH = 8, kTileW = 16;                         // second conv's outputs a tile
constexpr int kMidH = 2 * kTileH + 1, kMidW = 2 * kTileW + 1;  // 17 x 33 middle pixels
constexpr int kMidPixels = kMidH * kMidW;                      // 561
constexpr int kMidEven = (kMidW + 1) / 2;                      // 17 even columns, then a pad pixel
constexpr int kMidRow = kMidEven + 1 + kMidW / 2;              // 34 pixel slots a middle row
constexpr int kMidBytes = kMidH * kMidRow * kConvPairMid;      // 18,496
constexpr int kImgH = kMidH + 2, kImgW = kMidW + 2;            // 19 x 35 image pixels
constexpr int kImgRow = 48;  // words a window row: 48 % 32 = 16 keeps the taps' loads conflict-free
constexpr int kImgPixels = kImgH * kImgW;                                  // 665
constexpr int kImgLoads = (kImgPixels + kThreadsPair - 1) / kThreadsPair;  // 6 a thread
constexpr int kMidTiles = (kMidPixels + 15) / 16;                          // 36 m16 tiles
constexpr int kB1Bytes = 9 * (kConvPairOut / 8) * 32 * 8;                  // 18,432
constexpr int kConstBytes = 2 * (kConvPairMid + kConvPairOut) * 4;         // alpha0, bias0, alpha1, bias1
constexpr int kSmem = kB1Bytes + kConstBytes + kMidBytes + kImgH * kImgRow * 4;  // 41,344
constexpr int kRun0 = kConvPairMid / 4, kRun1 = kConvPairOut / 4;  // a thread's channels of a pixel

// The slot of middle pixel (row, column) in its row: even columns first.
__device__ __forceinline__ int mid_slot(int row, int col) {
    return row * kMidRow + ((col & 1) ? kMidEven + 1 + (col >> 1) : (col >> 1));
}

// The folded epilogue of RUN accumulators (biased) of one pixel: acc * alpha + bias in one fused
// multiply-add, leaky ReLU max(v, slope v) (slope 1: none), clamped and rounded through kRoundMagic, as
// conv_int8.cu's epilogue_run_folded; the s8 packed 4 a word.
template <int RUN, bool SMALL>
__device__ __forceinline__ void folded_run(const int32_t (&acc)[RUN], const float* alpha, const float* bias,
                                           float slope, uint32_t (&out)[RUN / 4]) {
    uint32_t w[RUN];
#pragma unroll
    for (int e = 0; e < RUN; ++e) {
        float v = __fmaf_rn(biased_acc_to_f32(acc[e], SMALL), alpha[e], bias[e]);
        v = fmaxf(v, __fmul_rn(slope, v));
        w[e] = f32_bits(add_rn(clamp_keep_nan(v, -128.f, 127.f), kRoundMagic));
    }
#pragma unroll
    for (int e = 0; e < RUN; e += 4)
        out[e / 4] =
            __byte_perm(__byte_perm(w[e], w[e + 1], 0x0040), __byte_perm(w[e + 2], w[e + 3], 0x0040), 0x5410);
}

struct PairTile {
    int n, oy0, ox0;  // sample, the tile's first output row and column
};

__device__ __forceinline__ PairTile pair_tile(int tile, int tiles_y, int tiles_x) {
    const int per = tiles_y * tiles_x, n = tile / per, q = tile - n * per, ty = q / tiles_x;
    return {n, ty * kTileH, (q - ty * tiles_x) * kTileW};
}

// The image window of tile `t`: this thread's pixels (tid + i * threads), each its C channels as F32
// (zeros outside the image).
template <int C>
__device__ __forceinline__ void load_window(const ConvPairInt8Args& a, const PairTile& t, int tid,
                                            float (&v)[kImgLoads][C]) {
    const float* xs = a.x + static_cast<int64_t>(t.n) * a.x_batch_stride;
    const int64_t plane = static_cast<int64_t>(a.h) * a.w;
#pragma unroll
    for (int i = 0; i < kImgLoads; ++i) {
        const int px = tid + i * kThreadsPair, r = px / kImgW, col = px - r * kImgW;
        const int iy = 2 * t.oy0 - 2 + r, ix = 2 * t.ox0 - 2 + col;
        const bool in = px < kImgPixels && static_cast<unsigned>(iy) < static_cast<unsigned>(a.h) &&
                        static_cast<unsigned>(ix) < static_cast<unsigned>(a.w);
#pragma unroll
        for (int c = 0; c < C; ++c) v[i][c] = in ? __ldg(xs + c * plane + iy * a.w + ix) : 0.f;
    }
}

// Those pixels quantized (quantize_s8_dev with 1 / x_scale: the Reorder's rounding) into the window.
template <int C>
__device__ __forceinline__ void store_window(const ConvPairInt8Args& a, float inv, int tid,
                                             const float (&v)[kImgLoads][C], uint32_t* img) {
#pragma unroll
    for (int i = 0; i < kImgLoads; ++i) {
        const int px = tid + i * kThreadsPair, r = px / kImgW, col = px - r * kImgW;
        if (px >= kImgPixels) continue;
        uint32_t word = 0;
#pragma unroll
        for (int c = 0; c < C; ++c)
            word |= static_cast<uint32_t>(static_cast<uint8_t>(quantize_s8_dev(v[i][c], a.x_scale, inv)))
                    << (8 * c);
        img[r * kImgRow + col] = word;
    }
}

template <int C, bool SMALL0, bool SMALL1>
__global__ void __launch_bounds__(kThreadsPair, 3) conv_pair_int8_kernel(const ConvPairInt8Args a) {
    extern __shared__ __align__(16) uint8_t smem[];
    auto* b1s = reinterpret_cast<uint4*>(smem);  // [tap][n8 block pair][lane] 16 bytes
    // The folded channel constants (read in the epilogues rather than held in registers across them).
    auto* consts = reinterpret_cast<float*>(smem + kB1Bytes);
    float* al0 = consts;
    float* bi0 = al0 + kConvPairMid;
    float* al1 = bi0 + kConvPairMid;
    float* bi1 = al1 + kConvPairOut;
    uint8_t* mid = smem + kB1Bytes + kConstBytes;              // [17][34 slots][32] s8
    auto* img = reinterpret_cast<uint32_t*>(mid + kMidBytes);  // [19][48] words
    const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5, g = lane >> 2,
              t = lane & 3;

    // The second conv's B fragments, once: column n of n8 block j is channel kRun1 (n / 2) + 2 j + n % 2,
    // its k bytes 4t.. / 16 + 4t.. the tap's channels 8t .. 8t + 7 (one 8-byte load).
    for (int i = tid; i < 9 * (kConvPairOut / 8) * 32; i += kThreadsPair) {
        const int ln = i & 31, j = (i >> 5) % (kConvPairOut / 8), s = (i >> 5) / (kConvPairOut / 8);
        const int ch = kRun1 * ((ln >> 2) >> 1) + 2 * j + ((ln >> 2) & 1);
        const uint2 v =
            __ldg(reinterpret_cast<const uint2*>(a.w1 + (ch * 9 + s) * kConvPairMid + 8 * (ln & 3)));
        reinterpret_cast<uint2*>(b1s)[((s * (kConvPairOut / 16) + (j >> 1)) * 32 + ln) * 2 + (j & 1)] = v;
    }
    // The first conv's B fragments in registers (2 k32 steps x 4 n8 blocks): column g of block j is
    // channel kRun0 (g / 2) + 2 j + g % 2.
    uint32_t b0[2][4][2];
#pragma unroll
    for (int s = 0; s < 2; ++s)
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int8_t* row = a.w0 + (kRun0 * (g >> 1) + 2 * j + (g & 1)) * kPackedDepth + 32 * s;
            b0[s][j][0] = __ldg(reinterpret_cast<const uint32_t*>(row + 4 * t));
            b0[s][j][1] = __ldg(reinterpret_cast<const uint32_t*>(row + 16 + 4 * t));
        }
    for (int i = tid; i < kConvPairMid; i += kThreadsPair) {
        al0[i] = __ldg(a.alpha0 + i);
        bi0[i] = __ldg(a.bias0 + i);
    }
    for (int i = tid; i < kConvPairOut; i += kThreadsPair) {
        al1[i] = __ldg(a.alpha1 + i);
        bi1[i] = __ldg(a.bias1 + i);
    }
    // This thread's packed tap slots 4 i + t (i = 2 s + hi): word offsets in the window, and whether real.
    int toff[4];
    bool tin[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int slot = 4 * i + t;
        tin[i] = slot < 9;
        toff[i] = tin[i] ? (slot / 3) * kImgRow + slot % 3 : 0;
    }

    const float inv = 1.0f / a.x_scale;
    const int tiles_y = (a.oh + kTileH - 1) / kTileH, tiles_x = (a.ow + kTileW - 1) / kTileW;
    const int tiles = a.batch * tiles_y * tiles_x;
    int tile = static_cast<int>(blockIdx.x);
    float win[kImgLoads][C];
    if (tile < tiles) load_window<C>(a, pair_tile(tile, tiles_y, tiles_x), tid, win);
    __syncthreads();  // the weights in shared memory
    for (; tile < tiles; tile += static_cast<int>(gridDim.x)) {
        const PairTile pt = pair_tile(tile, tiles_y, tiles_x);
        // A. The window (the previous tile's first conv is done with it: the barrier after B).
        store_window<C>(a, inv, tid, win, img);
        __syncthreads();  // the window written; the previous tile's second conv done with `mid`

        // B. The first conv over the middle window, m16 tiles warp, warp + 4, ...
        const int my0 = 2 * pt.oy0 - 1, mx0 = 2 * pt.ox0 - 1;  // the middle window's origin
        for (int mt = warp; mt < kMidTiles; mt += kWarps) {
            uint32_t af[2][4];
            int rr[2], rc[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int r = min(mt * 16 + h * 8 + g, kMidPixels - 1);
                rr[h] = r / kMidW;
                rc[h] = r - rr[h] * kMidW;
                const uint32_t* base = img + rr[h] * kImgRow + rc[h];
#pragma unroll
                for (int s = 0; s < 2; ++s)
#pragma unroll
                    for (int hi = 0; hi < 2; ++hi) {
                        const int i = 2 * s + hi;
                        af[s][2 * hi + h] = tin[i] ? base[toff[i]] : 0u;
                    }
            }
            int32_t acc[4][4];
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                mma_s8_from(acc[j], af[0], b0[0][j][0], b0[0][j][1], static_cast<int32_t>(kRoundMagicBits));
                mma_s8(acc[j], af[1], b0[1][j][0], b0[1][j][1]);
            }
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                if (mt * 16 + h * 8 + g >= kMidPixels) continue;
                int32_t run[kRun0];
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    run[2 * j] = acc[j][2 * h];
                    run[2 * j + 1] = acc[j][2 * h + 1];
                }
                uint32_t q[kRun0 / 4];
                folded_run<kRun0, SMALL0>(run, al0 + kRun0 * t, bi0 + kRun0 * t, a.slope0, q);
                const int my = my0 + rr[h], mx = mx0 + rc[h];
                const bool inside = static_cast<unsigned>(my) < static_cast<unsigned>(a.h) &&
                                    static_cast<unsigned>(mx) < static_cast<unsigned>(a.w);
                *reinterpret_cast<uint2*>(mid + mid_slot(rr[h], rc[h]) * kConvPairMid + kRun0 * t) =
                    inside ? make_uint2(q[0], q[1]) : make_uint2(0u, 0u);
            }
        }
        __syncthreads();  // the middle tile written; the window free

        // The next tile's window loads, in flight during the second conv.
        const int next = tile + static_cast<int>(gridDim.x);
        if (next < tiles) load_window<C>(a, pair_tile(next, tiles_y, tiles_x), tid, win);

        // C. The second conv: this warp's output rows 2 warp + m (m16 tile m), columns g and 8 + g.
        int32_t acc[2][8][4];
#pragma unroll
        for (int s = 0; s < 9; ++s) {
            const int dh = s / 3, dw = s % 3;
            uint32_t af[2][4];
#pragma unroll
            for (int m = 0; m < 2; ++m)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const int orow = 2 * warp + m, ocol = h * 8 + g;
                    const uint2 v = *reinterpret_cast<const uint2*>(
                        mid + mid_slot(2 * orow + dh, 2 * ocol + dw) * kConvPairMid + 8 * t);
                    af[m][h] = v.x;
                    af[m][2 + h] = v.y;
                }
            const uint4* bs = b1s + s * (kConvPairOut / 16) * 32 + lane;
#pragma unroll
            for (int jp = 0; jp < kConvPairOut / 16; ++jp) {
                const uint4 bv = bs[jp * 32];
#pragma unroll
                for (int m = 0; m < 2; ++m) {
                    if (s == 0) {
                        mma_s8_from(acc[m][2 * jp], af[m], bv.x, bv.y, static_cast<int32_t>(kRoundMagicBits));
                        mma_s8_from(acc[m][2 * jp + 1], af[m], bv.z, bv.w,
                                    static_cast<int32_t>(kRoundMagicBits));
                    } else {
                        mma_s8(acc[m][2 * jp], af[m], bv.x, bv.y);
                        mma_s8(acc[m][2 * jp + 1], af[m], bv.z, bv.w);
                    }
                }
            }
        }
        int8_t* ys = a.y + static_cast<int64_t>(pt.n) * a.y_batch_stride;
#pragma unroll
        for (int m = 0; m < 2; ++m)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int oy = pt.oy0 + 2 * warp + m, ox = pt.ox0 + h * 8 + g;
                if (oy >= a.oh || ox >= a.ow) continue;
                int32_t run[kRun1];
#pragma unroll
                for (int j = 0; j < 8; ++j) {
                    run[2 * j] = acc[m][j][2 * h];
                    run[2 * j + 1] = acc[m][j][2 * h + 1];
                }
                uint32_t q[kRun1 / 4];
                folded_run<kRun1, SMALL1>(run, al1 + kRun1 * t, bi1 + kRun1 * t, a.slope1, q);
                *reinterpret_cast<uint4*>(ys + (static_cast<int64_t>(oy) * a.ow + ox) * kConvPairOut +
                                          kRun1 * t) = make_uint4(q[0], q[1], q[2], q[3]);
            }
    }
}

template <int C, bool S0, bool S1>
void launch_typed(const ConvPairInt8Args& a, cudaStream_t stream) {
    auto* kernel = conv_pair_int8_kernel<C, S0, S1>;
    static const int resident = [kernel] {
        int n = 0;
        CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, kThreadsPair, kSmem));
        return std::max(n, 1);
    }();
    const int64_t tiles =
        static_cast<int64_t>(a.batch) * ((a.oh + kTileH - 1) / kTileH) * ((a.ow + kTileW - 1) / kTileW);
    const auto grid = static_cast<unsigned>(std::min<int64_t>(tiles, conv_int8_persistent_grid(resident)));
    kernel<<<grid, kThreadsPair, kSmem, stream>>>(a);
    CUDA_CHECK(cudaGetLastError());
}

template <int C>
void launch_c(const ConvPairInt8Args& a, cudaStream_t stream) {
    if (a.small0)
        a.small1 ? launch_typed<C, true, true>(a, stream) : launch_typed<C, true, false>(a, stream);
    else
        a.small1 ? launch_typed<C, false, true>(a, stream) : launch_typed<C, false, false>(a, stream);
}

}  // namespace

bool conv_pair_int8_fits(const ConvPairInt8Args& a, const char** why) {
    const char* no = nullptr;
    if (a.c < 1 || a.c > kConvPairMaxC)
        no = "the image has 1 to 4 channels";
    else if (a.batch < 0 || a.h < 1 || a.w < 1 || a.oh != (a.h + 1) / 2 || a.ow != (a.w + 1) / 2)
        no = "the second conv's output is the image's size halved (stride 2, padding 1)";
    else if (a.x_batch_stride < static_cast<int64_t>(a.c) * a.h * a.w ||
             a.y_batch_stride < static_cast<int64_t>(a.oh) * a.ow * kConvPairOut ||
             a.y_batch_stride % 16 != 0)
        no = "the batch strides hold a sample (the output's a multiple of 16)";
    else if (static_cast<int64_t>(a.c) * a.h * a.w >= INT32_MAX / 4 ||
             static_cast<int64_t>(a.batch) * ((a.oh + kTileH - 1) / kTileH) *
                     ((a.ow + kTileW - 1) / kTileW) >=
                 INT32_MAX)
        no = "32-bit indexing";
    else if (!aligned_to(a.x, 4) || !aligned_to(a.y, 16) || !aligned_to(a.w0, 16) || !aligned_to(a.w1, 16))
        no = "x 4-byte, y and the weights 16-byte aligned";
    else if (!(a.slope0 > 0.f && a.slope0 <= 1.f && a.slope1 > 0.f && a.slope1 <= 1.f) || !(a.x_scale > 0.f))
        no = "slopes in (0, 1] and a positive input scale";
    if (why != nullptr) *why = no;
    return no == nullptr;
}

void launch_conv_pair_int8(const ConvPairInt8Args& a, cudaStream_t stream) {
    const char* why = nullptr;
    ENGINE_CHECK(conv_pair_int8_fits(a, &why), "cuda int8 conv pair: ", why);
    if (a.batch == 0) return;
    switch (a.c) {
        case 1:
            return launch_c<1>(a, stream);
        case 2:
            return launch_c<2>(a, stream);
        case 3:
            return launch_c<3>(a, stream);
        default:
            return launch_c<4>(a, stream);
    }
}

}  // namespace engine::cuda
