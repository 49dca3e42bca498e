// The INT8 conv pair kernels (conv_pair_int8.cuh): YOLO's stem in one pass (conv_pair_int8_kernel,
// below), and its residual block in one pass (conv_res_pair_int8_kernel, further down: its own notes).
//
// The stem: a CTA of 4 or 8 warps is persistent over the tiles (8 x 16 outputs of the second conv,
// batch-major). Per tile:
//   A. the image window (19 x 35 pixels, 2 rows and columns around the 17 x 33 middle window) quantized
//      into shared memory, one 4-byte word a pixel (its channels, zero padded to 4; zeros outside the
//      image: the first conv's padding). Its global loads were issued into registers during the previous
//      tile's second conv.
//   B. the first conv over the middle window's 561 pixels (36 m16 tiles, 9 a warp of 4): the packed taps
//      as conv_int8.cu's packed direct tiles (9 taps x 4 channels in one 64-deep k block, 2 MMA steps,
//      the 32 x 64 weights in registers), A fragments from the window in shared memory at the rows'
//      places the CTA worked out once (row_entry); each thread's 8 adjacent channels of a pixel through
//      the folded epilogue into one 8-byte store of the middle tile. Pixels outside the first conv's
//      output are stored as zeros (the second conv's padding).
//   C. the second conv: each warp computes 8 / W output rows (m16 tiles of 16 pixels) x 64 channels over
//      9 taps of 32 channels (A fragments by ldmatrix from the middle tile, B fragments from shared memory
//      where the CTA put the whole 64 x 288 weights once), then the folded epilogue of 16 channels a
//      thread into one 16-byte store.
// The middle tile keeps each row's even columns, then (after one pixel of padding) its odd ones: the
// stride-2 reads of 8 adjacent outputs are then 8 adjacent pixels, whose 16-byte halves (ldmatrix's
// rows) are swapped every 4 pixels so that the 8 rows fall in 8 different bank groups (mid_half).
#include <algorithm>

#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/conv_int8.cuh"
#include "engine/backends/cuda/kernels/conv_int8_walk.h"
#include "engine/backends/cuda/kernels/conv_pair_int8.cuh"
#include "engine/backends/cuda/kernels/device_util.cuh"
#include "engine/backends/cuda/kernels/mma_int8.cuh"
#include "engine/backends/cuda/kernels/requant_core.h"

namespace engine::cuda {
namespace {

constexpr int kTileH = 8, kTileW = 16;                         // second conv's outputs a tile
constexpr int kMidH = 2 * kTileH + 1, kMidW = 2 * kTileW + 1;  // 17 x 33 middle pixels
constexpr int kMidPixels = kMidH * kMidW;                      // 561
constexpr int kMidEven = (kMidW + 1) / 2;                      // 17 even columns, then a pad pixel
constexpr int kMidRow = 40;  // pixel slots a middle row (34 used): a multiple of 8 (mid_half)
static_assert(kMidRow % 8 == 0 && kMidRow >= kMidEven + 1 + kMidW / 2, "whole swizzle groups a row");
static_assert(kMidH * kMidRow <= 1024, "a middle slot in row_entry's 10 bits");
constexpr int kMidBytes = kMidH * kMidRow * kConvPairMid;  // 21,760
constexpr int kImgH = kMidH + 2, kImgW = kMidW + 2;        // 19 x 35 image pixels
constexpr int kImgRow = 48;  // words a window row: 48 % 32 = 16 keeps the taps' loads conflict-free
constexpr int kImgPixels = kImgH * kImgW;                           // 665
constexpr int kMidTiles = (kMidPixels + 15) / 16;                   // 36 m16 tiles
constexpr int kB1Bytes = 9 * (kConvPairOut / 8) * 32 * 8;           // 18,432
constexpr int kConstBytes = 2 * (kConvPairMid + kConvPairOut) * 4;  // alpha0, bias0, alpha1, bias1
constexpr int kImgBytes = kImgH * kImgRow * 4;                      // 3,648
// The first conv's rows (middle pixels, 16 a m16 tile) as the CTA finds them once (row_entry): 2,304 bytes.
constexpr int kRowBytes = kMidTiles * 16 * 4;
constexpr int kSmem = kB1Bytes + kConstBytes + kMidBytes + kImgBytes + kRowBytes;  // 46,912
static_assert(kSmem <= 48 * 1024, "the stem kernel asks for no more than the default dynamic shared memory");
constexpr int kRun0 = kConvPairMid / 4, kRun1 = kConvPairOut / 4;  // a thread's channels of a pixel

// The CTA: W warps (4 or 8; conv_pair_int8_cta_name). Phase C gives each warp kTileH / W output rows (m16
// tiles of 16 pixels);
// MINB: the CTAs an SM holds (the register budget: 65536 / (32 W MINB) a thread).
template <int W_, int MINB_>
struct PairCta {
    static constexpr int W = W_, THREADS = 32 * W, MINB = MINB_, ROWS = kTileH / W;
    static constexpr int LOADS = (kImgPixels + THREADS - 1) / THREADS;  // window pixels a thread
    static_assert(W * ROWS == kTileH, "whole output rows a warp");
};

// The slot of middle pixel (row, column) in its row: even columns first.
__device__ __forceinline__ int mid_slot(int row, int col) {
    return row * kMidRow + ((col & 1) ? kMidEven + 1 + (col >> 1) : (col >> 1));
}
// The byte offset of 16-byte half `half` (channels 16 half ..) of the pixel in `slot`: the halves of
// every other 4 slots swapped, so that ldmatrix's 8 rows (8 adjacent slots) read 8 different bank groups.
// Rows of kMidRow slots, a multiple of 8: the swizzle is that of the slot in its row, and a row's offset
// is a constant.
__device__ __forceinline__ int mid_half(int slot, int half) {
    return slot * kConvPairMid + 16 * (half ^ ((slot >> 2) & 1));
}

// Middle row r's (r < kMidTiles * 16; rows past the window repeat its last pixel) window word, slot,
// row and column, one word: window word (10 bits), slot (10), row (5), column (6).
__device__ __forceinline__ uint32_t row_entry(int r) {
    r = min(r, kMidPixels - 1);
    const int rr = r / kMidW, rc = r - rr * kMidW;
    return static_cast<uint32_t>(rr * kImgRow + rc) | static_cast<uint32_t>(mid_slot(rr, rc)) << 10 |
           static_cast<uint32_t>(rr) << 20 | static_cast<uint32_t>(rc) << 25;
}

__device__ __forceinline__ uint32_t lds32(uint32_t addr) {
    uint32_t v;
    asm volatile("ld.shared.u32 %0, [%1];\n" : "=r"(v) : "r"(addr));
    return v;
}

// The folded epilogue of RUN accumulators (biased) of one pixel: acc * alpha + bias in one fused
// multiply-add, leaky ReLU max(v, slope v) (slope 1: none), with RES the residual's RUN s8 (`res`, 4 a
// word) times res_fold added by a fused multiply-add and with POST post_act's leaky ReLU, clamped and
// rounded through kRoundMagic, as conv_int8.cu's epilogue_run_folded; the s8 packed 4 a word.
template <int RUN, bool SMALL, bool RES = false, bool POST = false>
__device__ __forceinline__ void folded_run(const int32_t (&acc)[RUN], const float* alpha, const float* bias,
                                           float slope, uint32_t (&out)[RUN / 4],
                                           const uint32_t* res = nullptr, float res_fold = 0.f,
                                           float post = 1.f) {
    uint32_t w[RUN];
#pragma unroll
    for (int j = 0; j < RUN / 4; ++j) {
        float r[4] = {};
        if constexpr (RES) s8x4_to_f32(res[j], r);
#pragma unroll
        for (int b = 0; b < 4; ++b) {
            const int e = 4 * j + b;
            float v = __fmaf_rn(biased_acc_to_f32(acc[e], SMALL), alpha[e], bias[e]);
            v = fmaxf(v, __fmul_rn(slope, v));
            if constexpr (RES) v = __fmaf_rn(r[b], res_fold, v);
            if constexpr (POST) v = fmaxf(v, __fmul_rn(post, v));
            w[e] = f32_bits(add_rn(clamp_keep_nan(v, -128.f, 127.f), kRoundMagic));
        }
    }
#pragma unroll
    for (int e = 0; e < RUN; e += 4)
        out[e / 4] =
            __byte_perm(__byte_perm(w[e], w[e + 1], 0x0040), __byte_perm(w[e + 2], w[e + 3], 0x0040), 0x5410);
}

// The first conv's B fragments in registers (2 k32 steps x 4 n8 blocks of its 64-byte k rows, `row`
// bytes apart in w0): column g of block j is channel kRun0 (g / 2) + 2 j + g % 2.
__device__ __forceinline__ void load_first_conv_weights(const int8_t* w0, int row, int g, int t,
                                                        uint32_t (&b0)[2][4][2]) {
#pragma unroll
    for (int s = 0; s < 2; ++s)
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int8_t* r = w0 + (kRun0 * (g >> 1) + 2 * j + (g & 1)) * row + 32 * s;
            b0[s][j][0] = __ldg(reinterpret_cast<const uint32_t*>(r + 4 * t));
            b0[s][j][1] = __ldg(reinterpret_cast<const uint32_t*>(r + 16 + 4 * t));
        }
}

// The first conv's m16 tile: its 4 n8 blocks over its two k32 steps, the accumulators biased by
// kRoundMagicBits.
__device__ __forceinline__ void first_conv_mma(const uint32_t (&af)[2][4], const uint32_t (&b0)[2][4][2],
                                               int32_t (&acc)[4][4]) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        mma_s8_from(acc[j], af[0], b0[0][j][0], b0[0][j][1], static_cast<int32_t>(kRoundMagicBits));
        mma_s8(acc[j], af[1], b0[1][j][0], b0[1][j][1]);
    }
}

// The 3x3 conv's B fragments (64 x 288 weights [64][3][3][32]) into shared memory, once a CTA: column n
// of n8 block j is channel kRun1 (n / 2) + 2 j + n % 2, its k bytes 4t.. / 16 + 4t.. the tap's channels
// 4t.. / 16 + 4t.. (ldmatrix's natural order); [tap][n8 block pair][lane] 16 bytes.
template <int THREADS>
__device__ __forceinline__ void load_mid_conv_weights(const int8_t* w1, uint4* b1s, int tid) {
    for (int i = tid; i < 9 * (kConvPairOut / 8) * 32; i += THREADS) {
        const int ln = i & 31, j = (i >> 5) % (kConvPairOut / 8), s = (i >> 5) / (kConvPairOut / 8);
        const int ch = kRun1 * ((ln >> 2) >> 1) + 2 * j + ((ln >> 2) & 1);
        const int8_t* row = w1 + (ch * 9 + s) * kConvPairMid + 4 * (ln & 3);
        const uint2 v = make_uint2(__ldg(reinterpret_cast<const uint32_t*>(row)),
                                   __ldg(reinterpret_cast<const uint32_t*>(row + 16)));
        reinterpret_cast<uint2*>(b1s)[((s * (kConvPairOut / 16) + (j >> 1)) * 32 + ln) * 2 + (j & 1)] = v;
    }
}

// The 3x3 conv from the middle tile in shared memory: R m16 tiles of 16 output pixels x 64 channels over
// 9 taps of 32 channels (A fragments by ldmatrix at the lane's address mid_at(m, tap), B fragments from
// load_mid_conv_weights' layout), the accumulators biased by kRoundMagicBits.
template <int R, class MidAt>
__device__ __forceinline__ void mid_conv(int32_t (&acc)[R][8][4], const uint4* b1s, int lane, MidAt mid_at) {
#pragma unroll
    for (int s = 0; s < 9; ++s) {
        uint32_t af[R][4];
#pragma unroll
        for (int m = 0; m < R; ++m) ldmatrix_x4(af[m], mid_at(m, s));
        const uint4* bs = b1s + s * (kConvPairOut / 16) * 32 + lane;
#pragma unroll
        for (int jp = 0; jp < kConvPairOut / 16; ++jp) {
            const uint4 bv = bs[jp * 32];
#pragma unroll
            for (int m = 0; m < R; ++m) {
                if (s == 0) {
                    mma_s8_from(acc[m][2 * jp], af[m], bv.x, bv.y, static_cast<int32_t>(kRoundMagicBits));
                    mma_s8_from(acc[m][2 * jp + 1], af[m], bv.z, bv.w, static_cast<int32_t>(kRoundMagicBits));
                } else {
                    mma_s8(acc[m][2 * jp], af[m], bv.x, bv.y);
                    mma_s8(acc[m][2 * jp + 1], af[m], bv.z, bv.w);
                }
            }
        }
    }
}

// Accumulators acc[j][2 h], acc[j][2 h + 1] of the n8 blocks as one pixel's run (row h of the m16 tile).
template <int J>
__device__ __forceinline__ void pixel_run(const int32_t (&acc)[J][4], int h, int32_t (&run)[2 * J]) {
#pragma unroll
    for (int j = 0; j < J; ++j) {
        run[2 * j] = acc[j][2 * h];
        run[2 * j + 1] = acc[j][2 * h + 1];
    }
}

struct PairTile {
    int n, oy0, ox0;  // sample, the tile's first output row and column
};

// The tiles: a sample's tiles_y x tiles_x (div_per, div_x: divisions by tiles_y tiles_x and by tiles_x).
struct PairTiles {
    int tiles_y, tiles_x;
    FastDiv div_per, div_x;
};

__device__ __forceinline__ PairTile pair_tile(int tile, const PairTiles& d) {
    const int n = d.div_per.div(tile), q = tile - n * d.tiles_y * d.tiles_x, ty = d.div_x.div(q);
    return {n, ty * kTileH, (q - ty * d.tiles_x) * kTileW};
}

// The image window of tile `t`: this thread's pixels (tid + i * threads), each its C channels as F32
// (zeros outside the image).
template <class K, int C>
__device__ __forceinline__ void load_window(const ConvPairInt8Args& a, const PairTile& t, int tid,
                                            float (&v)[K::LOADS][C]) {
    const float* xs = a.x + static_cast<int64_t>(t.n) * a.x_batch_stride;
    const int64_t plane = static_cast<int64_t>(a.h) * a.w;
#pragma unroll
    for (int i = 0; i < K::LOADS; ++i) {
        const int px = tid + i * K::THREADS, r = px / kImgW, col = px - r * kImgW;
        const int iy = 2 * t.oy0 - 2 + r, ix = 2 * t.ox0 - 2 + col;
        const bool in = px < kImgPixels && static_cast<unsigned>(iy) < static_cast<unsigned>(a.h) &&
                        static_cast<unsigned>(ix) < static_cast<unsigned>(a.w);
#pragma unroll
        for (int c = 0; c < C; ++c) v[i][c] = in ? __ldg(xs + c * plane + iy * a.w + ix) : 0.f;
    }
}

// Those pixels quantized (quantize_s8_dev with 1 / x_scale: the Reorder's rounding) into the window.
template <class K, int C>
__device__ __forceinline__ void store_window(const ConvPairInt8Args& a, float inv, int tid,
                                             const float (&v)[K::LOADS][C], uint32_t* img) {
    // Every value by multiplication and adds, one test for them all; the division only where one lies
    // next to a half step (quantize_s8_fast's rule, value by value the same bytes).
    bool ok = true;
    uint32_t q[K::LOADS][4] = {};
#pragma unroll
    for (int i = 0; i < K::LOADS; ++i)
#pragma unroll
        for (int c = 0; c < C; ++c) q[i][c] = quantize_s8_word_try(v[i][c], inv, ok);
    if (!ok) {
#pragma unroll
        for (int i = 0; i < K::LOADS; ++i)
#pragma unroll
            for (int c = 0; c < C; ++c)
                q[i][c] = static_cast<uint8_t>(quantize_s8_dev(v[i][c], a.x_scale, inv));
    }
#pragma unroll
    for (int i = 0; i < K::LOADS; ++i) {
        const int px = tid + i * K::THREADS, r = px / kImgW, col = px - r * kImgW;
        if (px >= kImgPixels) continue;
        // The low bytes of the C words (zeros past C).
        img[r * kImgRow + col] =
            __byte_perm(__byte_perm(q[i][0], q[i][1], 0x0040), __byte_perm(q[i][2], q[i][3], 0x0040), 0x5410);
    }
}

template <class K, int C, bool SMALL0, bool SMALL1>
__global__ void __launch_bounds__(K::THREADS, K::MINB)
    conv_pair_int8_kernel(const ConvPairInt8Args a, const PairTiles pt_div) {
    extern __shared__ __align__(16) uint8_t smem[];
    auto* b1s = reinterpret_cast<uint4*>(smem);  // [tap][n8 block pair][lane] 16 bytes
    // The folded channel constants (read in the epilogues rather than held in registers across them).
    auto* consts = reinterpret_cast<float*>(smem + kB1Bytes);
    float* al0 = consts;
    float* bi0 = al0 + kConvPairMid;
    float* al1 = bi0 + kConvPairMid;
    float* bi1 = al1 + kConvPairOut;
    uint8_t* mid = smem + kB1Bytes + kConstBytes;  // [17][kMidRow slots][32] s8
    const auto mid_addr = static_cast<uint32_t>(__cvta_generic_to_shared(mid));
    auto* img = reinterpret_cast<uint32_t*>(mid + kMidBytes);  // [19][48] words
    const auto img_addr = static_cast<uint32_t>(__cvta_generic_to_shared(img));
    auto* rows = reinterpret_cast<uint32_t*>(mid + kMidBytes + kImgBytes);  // row_entry of each middle row
    for (int r = static_cast<int>(threadIdx.x); r < kMidTiles * 16; r += K::THREADS) rows[r] = row_entry(r);
    const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5, g = lane >> 2,
              t = lane & 3;

    load_mid_conv_weights<K::THREADS>(a.w1, b1s, tid);
    uint32_t b0[2][4][2];
    load_first_conv_weights(a.w0, kPackedDepth, g, t, b0);
    for (int i = tid; i < kConvPairMid; i += K::THREADS) {
        al0[i] = __ldg(a.alpha0 + i);
        bi0[i] = __ldg(a.bias0 + i);
    }
    for (int i = tid; i < kConvPairOut; i += K::THREADS) {
        al1[i] = __ldg(a.alpha1 + i);
        bi1[i] = __ldg(a.bias1 + i);
    }
    // This thread's packed tap slots 4 i + t (i = 2 s + hi): byte offsets in the window, and whether real.
    uint32_t toff[4];
    bool tin[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int slot = 4 * i + t;
        tin[i] = slot < 9;
        toff[i] = tin[i] ? 4 * ((slot / 3) * kImgRow + slot % 3) : 0;
    }

    const float inv = 1.0f / a.x_scale;
    const int tiles = a.batch * pt_div.tiles_y * pt_div.tiles_x;
    int tile = static_cast<int>(blockIdx.x);
    float win[K::LOADS][C];
    if (tile < tiles) load_window<K, C>(a, pair_tile(tile, pt_div), tid, win);
    __syncthreads();  // the weights, constants and row entries in shared memory
    for (; tile < tiles; tile += static_cast<int>(gridDim.x)) {
        const PairTile pt = pair_tile(tile, pt_div);
        // A. The window (the previous tile's first conv is done with it: the barrier after B).
        store_window<K, C>(a, inv, tid, win, img);
        __syncthreads();  // the window written; the previous tile's second conv done with `mid`

        // B. The first conv over the middle window, m16 tiles warp, warp + 4, ...
        const int my0 = 2 * pt.oy0 - 1, mx0 = 2 * pt.ox0 - 1;  // the middle window's origin
        // This thread's channels' folded constants, in registers for the phase.
        float c_al[kRun0], c_bi[kRun0];
#pragma unroll
        for (int e = 0; e < kRun0; ++e) {
            c_al[e] = al0[kRun0 * t + e];
            c_bi[e] = bi0[kRun0 * t + e];
        }
#pragma unroll 3
        for (int mt = warp; mt < kMidTiles; mt += K::W) {
            uint32_t af[2][4], e[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                e[h] = rows[mt * 16 + h * 8 + g];
                const uint32_t base = img_addr + 4 * (e[h] & 1023u);
#pragma unroll
                for (int s = 0; s < 2; ++s)
#pragma unroll
                    for (int hi = 0; hi < 2; ++hi) {
                        const int i = 2 * s + hi;
                        af[s][2 * hi + h] = tin[i] ? lds32(base + toff[i]) : 0u;
                    }
            }
            int32_t acc[4][4];
            first_conv_mma(af, b0, acc);
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                if (mt * 16 + h * 8 + g >= kMidPixels) continue;
                int32_t run[kRun0];
                pixel_run(acc, h, run);
                uint32_t q[kRun0 / 4];
                folded_run<kRun0, SMALL0>(run, c_al, c_bi, a.slope0, q);
                const int slot = static_cast<int>((e[h] >> 10) & 1023u);
                const int my = my0 + static_cast<int>((e[h] >> 20) & 31u),
                          mx = mx0 + static_cast<int>(e[h] >> 25);
                const bool inside = static_cast<unsigned>(my) < static_cast<unsigned>(a.h) &&
                                    static_cast<unsigned>(mx) < static_cast<unsigned>(a.w);
                // Channels 8t .. 8t + 7: half t / 2 of the pixel.
                *reinterpret_cast<uint2*>(mid + mid_half(slot, t >> 1) + 8 * (t & 1)) =
                    inside ? make_uint2(q[0], q[1]) : make_uint2(0u, 0u);
            }
        }
        __syncthreads();  // the middle tile written; the window free

        // The next tile's window loads, in flight during the second conv.
        const int next = tile + static_cast<int>(gridDim.x);
        if (next < tiles) load_window<K, C>(a, pair_tile(next, pt_div), tid, win);

        // C. The second conv: this warp's output rows ROWS warp + m (m16 tile m), columns g and 8 + g.
        constexpr int R = K::ROWS;
        int32_t acc[R][8][4];
        // A fragments by ldmatrix: lane l gives row l % 16 (output column l % 16) at channels 16 (l / 16) ..
        // (each tap's and m16 tile's row an immediate offset from the lane's column in row 0).
        const uint32_t m_base = mid_addr + 2 * R * warp * kMidRow * kConvPairMid;
        const uint32_t m_col[3] = {m_base + mid_half(mid_slot(0, 2 * (lane & 15)), lane >> 4),
                                   m_base + mid_half(mid_slot(0, 2 * (lane & 15) + 1), lane >> 4),
                                   m_base + mid_half(mid_slot(0, 2 * (lane & 15) + 2), lane >> 4)};
        mid_conv<R>(acc, b1s, lane,
                    [&](int m, int s) { return m_col[s % 3] + (2 * m + s / 3) * kMidRow * kConvPairMid; });
        int8_t* ys = a.y + static_cast<int64_t>(pt.n) * a.y_batch_stride;
#pragma unroll
        for (int m = 0; m < R; ++m)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int oy = pt.oy0 + R * warp + m, ox = pt.ox0 + h * 8 + g;
                if (oy >= a.oh || ox >= a.ow) continue;
                int32_t run[kRun1];
                pixel_run(acc[m], h, run);
                uint32_t q[kRun1 / 4];
                folded_run<kRun1, SMALL1>(run, al1 + kRun1 * t, bi1 + kRun1 * t, a.slope1, q);
                *reinterpret_cast<uint4*>(ys + (static_cast<int64_t>(oy) * a.ow + ox) * kConvPairOut +
                                          kRun1 * t) = make_uint4(q[0], q[1], q[2], q[3]);
            }
    }
}

// --- The residual block (ConvResPairInt8Args) ---

namespace blk {
constexpr int kWinH = kTileH + 2, kWinW = kTileW + 2;  // 10 x 18: the 1x1 conv's outputs a tile reads
constexpr int kWinPixels = kWinH * kWinW;              // 180
constexpr int kWinTiles = (kWinPixels + 15) / 16;      // 12 m16 tiles
// A window buffer: its m16 tiles' 192 pixels (the last 12 never loaded: the 1x1 conv computes them, the
// results are not stored).
constexpr int kXBytes = kWinTiles * 16 * kResPairX;  // 12,288
constexpr int kMidRow = 24;  // pixel slots a middle row (18 used; blk_mid's swizzle is the column's alone)
constexpr int kMidRowBytes = kMidRow * kConvPairMid;                     // 768
constexpr int kMidBytes = kWinH * kMidRowBytes;                          // 7,680
constexpr int kSmem = kB1Bytes + kConstBytes + kMidBytes + 2 * kXBytes;  // 51,456
static_assert(kConvPairOut == kResPairX, "the 3x3 conv's weights as the stem's second conv's");
}  // namespace blk

// The byte offset of 16-byte half `half` (channels 16 half ..) of middle pixel (row, col): the halves of
// every other 4 columns swapped, so that ldmatrix's 8 rows (8 adjacent columns) read 8 different bank
// groups; rows kMidRowBytes apart (the same swizzle in every row: a tap's row offset is a constant).
__device__ __forceinline__ int blk_mid(int row, int col, int half) {
    return row * blk::kMidRowBytes + col * kConvPairMid + 16 * (half ^ ((col >> 2) & 1));
}

// The byte offset of window pixel p's 16-byte chunk c (channels 16 c ..): the chunks of each pixel pair
// rotated by (p / 2) % 4, so that ldmatrix's 8 rows (8 adjacent pixels, 64 bytes apart) read 8 different
// bank groups.
__device__ __forceinline__ int win_chunk(int p, int c) { return p * kResPairX + ((c ^ ((p >> 1) & 3)) << 4); }

// This thread's part of a window's loads: chunk c = tid % 4 (channels 16 c ..) of pixels p0 + P i (p0 =
// tid / 4, P = THREADS / 4, i < LOADS); the first pixel's window row and column, and its chunk's offset in
// a window buffer (the others' are P * 64 bytes apart: P is even, so their swizzle is the same).
template <class K>
struct WinPart {
    static constexpr int P = K::THREADS / 4, LOADS = (blk::kWinPixels + P - 1) / P;
    int p0, c, wy0, wx0, soff0;
    __device__ __forceinline__ explicit WinPart(int tid)
        : p0(tid >> 2),
          c(tid & 3),
          wy0(p0 / blk::kWinW),
          wx0(p0 - wy0 * blk::kWinW),
          soff0(win_chunk(p0, c)) {}
};

// Tile t's input window (10 x 18 pixels around its 8 x 16 outputs, zeros outside the image) into the
// window buffer at `win` by cp.async (this thread's WinPart); an interior tile's without bounds tests.
template <class K>
__device__ __forceinline__ void load_block_window(const ConvResPairInt8Args& a, const PairTile& t,
                                                  const WinPart<K>& part, uint32_t win) {
    using W = WinPart<K>;
    const int8_t* xs = a.x + static_cast<int64_t>(t.n) * a.x_batch_stride + 16 * part.c;
    auto loads = [&]<bool CHECK>() {
        int wy = part.wy0, wx = part.wx0;
#pragma unroll
        for (int i = 0; i < W::LOADS; ++i) {
            if (i + 1 < W::LOADS || part.p0 + W::P * i < blk::kWinPixels) {
                const int iy = t.oy0 - 1 + wy, ix = t.ox0 - 1 + wx;
                const bool in = !CHECK || (static_cast<unsigned>(iy) < static_cast<unsigned>(a.h) &&
                                           static_cast<unsigned>(ix) < static_cast<unsigned>(a.w));
                cp_async16(win + part.soff0 + W::P * kResPairX * i,
                           in ? xs + (iy * a.w + ix) * kResPairX : a.x, in);
            }
            wx += W::P % blk::kWinW;
            wy += W::P / blk::kWinW;
            if (wx >= blk::kWinW) {
                wx -= blk::kWinW;
                ++wy;
            }
        }
    };
    if (t.oy0 >= 1 && t.ox0 >= 1 && t.oy0 + kTileH < a.h && t.ox0 + kTileW < a.w)
        loads.template operator()<false>();
    else
        loads.template operator()<true>();
}

template <class K, bool SMALL0, bool SMALL1, bool POST>
__global__ void __launch_bounds__(K::THREADS, K::MINB)
    conv_res_pair_int8_kernel(const ConvResPairInt8Args a, const PairTiles pt_div) {
    extern __shared__ __align__(16) uint8_t smem[];
    auto* b1s = reinterpret_cast<uint4*>(smem);
    // The 3x3 conv's folded constants (the 1x1's stay in registers; the stem's layout, their slots unused).
    float* al1 = reinterpret_cast<float*>(smem + kB1Bytes) + 2 * kConvPairMid;
    float* bi1 = al1 + kResPairX;
    uint8_t* mid = smem + kB1Bytes + kConstBytes;  // [10][24 slots][32] s8 (blk_mid)
    const auto mid_addr = static_cast<uint32_t>(__cvta_generic_to_shared(mid));
    const uint8_t* win = mid + blk::kMidBytes;  // two window buffers [192][64] s8 (win_chunk)
    const auto win_addr = static_cast<uint32_t>(__cvta_generic_to_shared(win));
    const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5, g = lane >> 2,
              t = lane & 3;

    const int tiles = a.batch * pt_div.tiles_y * pt_div.tiles_x;
    int tile = static_cast<int>(blockIdx.x);
    const WinPart<K> part(tid);
    if (tile < tiles) load_block_window<K>(a, pair_tile(tile, pt_div), part, win_addr);
    cp_async_commit();
    load_mid_conv_weights<K::THREADS>(a.w1, b1s, tid);
    uint32_t b0[2][4][2];
    load_first_conv_weights(a.w0, kResPairX, g, t, b0);
    for (int i = tid; i < kResPairX; i += K::THREADS) {
        al1[i] = __ldg(a.alpha1 + i);
        bi1[i] = __ldg(a.bias1 + i);
    }

    // This thread's 1x1 conv channels' folded constants, in registers for the kernel.
    float c_al[kRun0], c_bi[kRun0];
#pragma unroll
    for (int e = 0; e < kRun0; ++e) {
        c_al[e] = __ldg(a.alpha0 + kRun0 * t + e);
        c_bi[e] = __ldg(a.bias0 + kRun0 * t + e);
    }
    for (int buf = 0; tile < tiles; tile += static_cast<int>(gridDim.x), buf ^= 1) {
        const PairTile pt = pair_tile(tile, pt_div);
        cp_async_wait<0>();
        __syncthreads();  // this tile's window in; the previous tile done with `mid` and the other buffer
        const int next = tile + static_cast<int>(gridDim.x);
        if (next < tiles)
            load_block_window<K>(a, pair_tile(next, pt_div), part, win_addr + (buf ^ 1) * blk::kXBytes);
        cp_async_commit();
        const uint32_t xw = win_addr + buf * blk::kXBytes;
        const int a_off[2] = {win_chunk(lane & 15, lane >> 4), win_chunk(lane & 15, 2 + (lane >> 4))};

        // B. The 1x1 conv over the window's pixels, m16 tiles warp, warp + W, ... (rows past the window
        // repeat its last pixel and are not stored).
#pragma unroll 3
        for (int mt = warp; mt < blk::kWinTiles; mt += K::W) {
            // Row lane % 16 of m16 tile mt: pixel 16 mt + lane % 16, whose swizzle is lane % 16's.
            uint32_t af[2][4];
#pragma unroll
            for (int s = 0; s < 2; ++s) ldmatrix_x4(af[s], xw + mt * 16 * kResPairX + a_off[s]);
            int32_t acc[4][4];
            first_conv_mma(af, b0, acc);
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int p = mt * 16 + h * 8 + g;
                if (p >= blk::kWinPixels) continue;
                int32_t run[kRun0];
                pixel_run(acc, h, run);
                uint32_t q[kRun0 / 4];
                folded_run<kRun0, SMALL0>(run, c_al, c_bi, a.slope0, q);
                const int wy = p / blk::kWinW, wx = p - wy * blk::kWinW;
                const int my = pt.oy0 - 1 + wy, mx = pt.ox0 - 1 + wx;
                const bool inside = static_cast<unsigned>(my) < static_cast<unsigned>(a.h) &&
                                    static_cast<unsigned>(mx) < static_cast<unsigned>(a.w);
                // Channels 8t .. 8t + 7: half t / 2 of the pixel.
                *reinterpret_cast<uint2*>(mid + blk_mid(wy, wx, t >> 1) + 8 * (t & 1)) =
                    inside ? make_uint2(q[0], q[1]) : make_uint2(0u, 0u);
            }
        }
        __syncthreads();  // the middle tile written

        // C. The 3x3 conv: this warp's output rows ROWS warp + m (m16 tile m), columns g and 8 + g; the
        // residual from the window (the output pixel's own 16 channels 16t .., chunk t).
        constexpr int R = K::ROWS;
        int32_t acc[R][8][4];
        // Lane l's ldmatrix row: output column l % 16 (middle column l % 16 + dw), channels 16 (l / 16) ..;
        // the tap's and m16 tile's rows an immediate offset.
        const uint32_t m_base = mid_addr + R * warp * blk::kMidRowBytes;
        const uint32_t m_col[3] = {m_base + blk_mid(0, (lane & 15), lane >> 4),
                                   m_base + blk_mid(0, (lane & 15) + 1, lane >> 4),
                                   m_base + blk_mid(0, (lane & 15) + 2, lane >> 4)};
        mid_conv<R>(acc, b1s, lane,
                    [&](int m, int s) { return m_col[s % 3] + (m + s / 3) * blk::kMidRowBytes; });
        int8_t* ys = a.y + static_cast<int64_t>(pt.n) * a.y_batch_stride;
        const uint8_t* xwin = win + buf * blk::kXBytes;
#pragma unroll
        for (int m = 0; m < R; ++m)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int oy = pt.oy0 + R * warp + m, ox = pt.ox0 + h * 8 + g;
                if (oy >= a.h || ox >= a.w) continue;
                int32_t run[kRun1];
                pixel_run(acc[m], h, run);
                const uint4 rv = *reinterpret_cast<const uint4*>(
                    xwin + win_chunk((R * warp + m + 1) * blk::kWinW + h * 8 + g + 1, t));
                const uint32_t res[4] = {rv.x, rv.y, rv.z, rv.w};
                uint32_t q[kRun1 / 4];
                folded_run<kRun1, SMALL1, true, POST>(run, al1 + kRun1 * t, bi1 + kRun1 * t, a.slope1, q, res,
                                                      a.res_fold, a.post_slope);
                *reinterpret_cast<uint4*>(ys + (static_cast<int64_t>(oy) * a.w + ox) * kResPairX +
                                          kRun1 * t) = make_uint4(q[0], q[1], q[2], q[3]);
            }
    }
}

// The tiles of an oh x ow output (kTileH x kTileW each) and the persistent grid over `batch` samples'
// tiles: `resident` CTAs an SM at most (conv_int8_persistent_grid).
PairTiles pair_tiles(int oh, int ow) {
    PairTiles d;
    d.tiles_y = (oh + kTileH - 1) / kTileH;
    d.tiles_x = (ow + kTileW - 1) / kTileW;
    d.div_per = FastDiv(static_cast<uint32_t>(d.tiles_y * d.tiles_x));
    d.div_x = FastDiv(static_cast<uint32_t>(d.tiles_x));
    return d;
}
unsigned pair_grid(const PairTiles& d, int batch, int resident) {
    const int64_t tiles = static_cast<int64_t>(batch) * d.tiles_y * d.tiles_x;
    return static_cast<unsigned>(std::min<int64_t>(tiles, conv_int8_persistent_grid(resident)));
}
// The CTAs of `kernel` an SM (at least 1).
template <class Kernel>
int resident_ctas(Kernel* kernel, int threads, int smem) {
    int n = 0;
    CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, threads, smem));
    return std::max(n, 1);
}

template <class K, int C, bool S0, bool S1>
void launch_typed(const ConvPairInt8Args& a, cudaStream_t stream) {
    auto* kernel = conv_pair_int8_kernel<K, C, S0, S1>;
    static const int resident = resident_ctas(kernel, K::THREADS, kSmem);
    const PairTiles d = pair_tiles(a.oh, a.ow);
    kernel<<<pair_grid(d, a.batch, resident), K::THREADS, kSmem, stream>>>(a, d);
    CUDA_CHECK(cudaGetLastError());
}

template <class K, int C>
void launch_c(const ConvPairInt8Args& a, cudaStream_t stream) {
    if (a.small0)
        a.small1 ? launch_typed<K, C, true, true>(a, stream) : launch_typed<K, C, true, false>(a, stream);
    else
        a.small1 ? launch_typed<K, C, false, true>(a, stream) : launch_typed<K, C, false, false>(a, stream);
}

// One CTA shape (conv_pair_int8_cta_name).
template <class K>
void launch_cta(const ConvPairInt8Args& a, cudaStream_t stream) {
    switch (a.c) {
        case 1:
            return launch_c<K, 1>(a, stream);
        case 2:
            return launch_c<K, 2>(a, stream);
        case 3:
            return launch_c<K, 3>(a, stream);
        default:
            return launch_c<K, 4>(a, stream);
    }
}

template <class K, bool S0, bool S1, bool POST>
void launch_res_typed(const ConvResPairInt8Args& a, cudaStream_t stream) {
    auto* kernel = conv_res_pair_int8_kernel<K, S0, S1, POST>;
    static const int resident = [kernel] {
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, blk::kSmem));
        return resident_ctas(kernel, K::THREADS, blk::kSmem);
    }();
    const PairTiles d = pair_tiles(a.h, a.w);
    kernel<<<pair_grid(d, a.batch, resident), K::THREADS, blk::kSmem, stream>>>(a, d);
    CUDA_CHECK(cudaGetLastError());
}

template <class K, bool POST>
void launch_res_post(const ConvResPairInt8Args& a, cudaStream_t stream) {
    if (a.small0)
        a.small1 ? launch_res_typed<K, true, true, POST>(a, stream)
                 : launch_res_typed<K, true, false, POST>(a, stream);
    else
        a.small1 ? launch_res_typed<K, false, true, POST>(a, stream)
                 : launch_res_typed<K, false, false, POST>(a, stream);
}

template <class K>
void launch_res_cta(const ConvResPairInt8Args& a, cudaStream_t stream) {
    a.post_slope != 1.f ? launch_res_post<K, true>(a, stream) : launch_res_post<K, false>(a, stream);
}

// Whether a kernel's arguments fit: its own refusal `no` (null: none), then what both kernels need of
// ConvPairConvs (the weights 16-byte aligned, slopes in (0, 1], a CTA shape of the list). Sets *why.
bool convs_fit(const ConvPairConvs& a, const char* no, const char** why) {
    if (no == nullptr) {
        if (!aligned_to(a.w0, 16) || !aligned_to(a.w1, 16))
            no = "the weights 16-byte aligned";
        else if (!(a.slope0 > 0.f && a.slope0 <= 1.f && a.slope1 > 0.f && a.slope1 <= 1.f))
            no = "slopes in (0, 1]";
        else if (a.cta < 0 || a.cta >= kConvPairCtas)
            no = "a CTA shape of the list (kConvPairCtas)";
    }
    if (why != nullptr) *why = no;
    return no == nullptr;
}

// Enqueues launch(PairCta<...>{}) for a's CTA shape once fits(a) holds (it throws engine::Error naming
// `what` and the refusal otherwise).
template <class Args, class Launch>
void launch_checked(const Args& a, bool (*fits)(const Args&, const char**), const char* what, Launch launch) {
    const char* why = nullptr;
    ENGINE_CHECK(fits(a, &why), what, why);
    if (a.batch == 0) return;
    if (a.cta == 1)
        launch(PairCta<8, 2>{});
    else
        launch(PairCta<4, 3>{});
}

}  // namespace

const char* conv_pair_int8_cta_name(int cta) {
    static constexpr const char* kNames[kConvPairCtas] = {"4 warps x 3", "8 warps x 2"};
    return cta >= 0 && cta < kConvPairCtas ? kNames[cta] : "?";
}

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
    else if (!aligned_to(a.x, 4) || !aligned_to(a.y, 16))
        no = "x 4-byte and y 16-byte aligned";
    else if (!(a.x_scale > 0.f))
        no = "a positive input scale";
    return convs_fit(a, no, why);
}

void launch_conv_pair_int8(const ConvPairInt8Args& a, cudaStream_t stream) {
    launch_checked(a, conv_pair_int8_fits,
                   "cuda int8 conv pair: ", [&](auto k) { launch_cta<decltype(k)>(a, stream); });
}

bool conv_res_pair_int8_fits(const ConvResPairInt8Args& a, const char** why) {
    const char* no = nullptr;
    const int64_t sample = static_cast<int64_t>(a.h) * a.w * kResPairX;
    const auto x0 = reinterpret_cast<uintptr_t>(a.x), y0 = reinterpret_cast<uintptr_t>(a.y);
    if (a.batch < 0 || a.h < 1 || a.w < 1)
        no = "a positive image size";
    else if (a.x_batch_stride < sample || a.y_batch_stride < sample || a.x_batch_stride % 16 != 0 ||
             a.y_batch_stride % 16 != 0)
        no = "the batch strides hold a sample (multiples of 16)";
    else if (sample >= INT32_MAX ||
             static_cast<int64_t>(a.batch) * ((a.h + kTileH - 1) / kTileH) * ((a.w + kTileW - 1) / kTileW) >=
                 INT32_MAX)
        no = "32-bit indexing";
    else if (!aligned_to(a.x, 16) || !aligned_to(a.y, 16))
        no = "x and y 16-byte aligned";
    else if (a.batch > 0 && x0 < y0 + static_cast<uintptr_t>((a.batch - 1) * a.y_batch_stride + sample) &&
             y0 < x0 + static_cast<uintptr_t>((a.batch - 1) * a.x_batch_stride + sample))
        no = "y apart from x (other tiles read x around theirs)";
    else if (!(a.post_slope > 0.f && a.post_slope <= 1.f))
        no = "slopes in (0, 1]";
    else if (!(a.res_fold > 0.f && a.res_fold < INFINITY))
        no = "a finite positive residual scale";
    return convs_fit(a, no, why);
}

void launch_conv_res_pair_int8(const ConvResPairInt8Args& a, cudaStream_t stream) {
    launch_checked(a, conv_res_pair_int8_fits, "cuda int8 residual block pair: ", [&](auto k) {
        launch_res_cta<decltype(k)>(a, stream);
    });
}

}  // namespace engine::cuda
