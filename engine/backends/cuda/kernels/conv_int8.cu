// The INT8 implicit-GEMM convolution (conv_int8.cuh). GEMM view: M = batch * OH * OW output pixels,
// N = K output channels, the reduction over (r, s, c) in blocks of BK channels at one kernel tap. A CTA
// of 4 warps (2 x 2) computes a BM x BN tile; each warp a (BM/2) x (BN/2) tile of m16n8k32 MMAs. The A
// tile (BM pixels x BK input channels at tap (r, s): the implicit im2col, zero-filled where the tap
// falls in the padding) and the B tile (BN output channels x BK channels of the same tap) stream
// through a STAGES-deep ring in shared memory with cp.async; fragments come out with ldmatrix from
// XOR-swizzled rows (conflict-free). The epilogue stages the accumulators through shared memory and
// writes runs of 8 channels along the NHWC rows (an NCHW F32 output, a graph output the conv writes
// itself: runs of 8 pixels of a channel); its activation is a template argument (leaky ReLU and
// none inline, others out of line), which keeps each kernel at 28-63 KB of SASS (the epilogue unrolled
// per accumulator with every activation inline made 0.26-1.09 MB kernels, slower the larger the tile).
// It has no conversion instruction on its usual path (the accumulators start at a magic bias, the s8
// rounding is an add: requant_core.h), since a conversion issues at an eighth of an add's rate.
// The depthwise kernel (dw_int8_core.h) shares the epilogue.
#include <cuda.h>  // CUtensorMap (TMA descriptors; the encoders come through cudaGetDriverEntryPointByVersion)
#include <cudaTypedefs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>

#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/conv_int8.cuh"
#include "engine/backends/cuda/kernels/conv_int8_walk.h"
#include "engine/backends/cuda/kernels/device_util.cuh"
#include "engine/backends/cuda/kernels/dw_int8_core.h"
#include "engine/backends/cuda/kernels/mma_int8.cuh"

namespace engine::cuda {
namespace {

constexpr int kCtaThreads = 128;

// PACKED_: the taps packed into one k block (kPackedC input channels a tap, at most BK / kPackedC taps),
// for the image's 3 channels: 9 taps x 4 bytes in one 64-deep block instead of nine 32-deep blocks of
// zero-padded channels.
// WG_: Hopper's warpgroup MMA (wgmma, sm_90a) instead of mma.sync (0): the CTA's 4 warps are one
// warpgroup that multiplies m64 x BN x k32 per instruction with A and B read from the pipeline's shared
// memory (the swizzle below is wgmma's 64- or 32-byte one), the accumulators of each m64 half in
// registers. 1: each k block's multiplies waited for before the next block; 2: one block's in flight
// while the next is issued (the loads then run STAGES - 2 blocks ahead, not STAGES - 1, so that the
// stage refilled is two blocks old).
// TAPS_: taps a k block (> 1: TAPS adjacent taps of TC = BK / TAPS channels, the input's channel count;
// YOLOv3's 32-channel 3x3 convs in 5 blocks of 64 bytes rather than 9 of 32, the last one's second tap
// zeros): fewer blocks, so fewer waits, barriers and per-block address work a tile (conv_int8_walk.h's
// TapWalk: each thread's chunks lie in one tap of the block).
template <int BM_, int BN_, int BK_, int STAGES_, bool PACKED_ = false, int WG_ = 0, int TAPS_ = 1>
struct Tile {
    static constexpr int BM = BM_, BN = BN_, BK = BK_, STAGES = STAGES_;
    static constexpr bool PACKED = PACKED_;
    static constexpr int WG = WG_;
    static constexpr int TAPS = TAPS_, TC = BK / TAPS, TCH = TC / 16;  // TCH: 16-byte chunks a tap
    static_assert(TAPS == 1 || (!PACKED && TC % 16 == 0 && TC * TAPS == BK), "whole chunks a tap");
    static constexpr int AHEAD = WG == 2 ? STAGES - 2 : STAGES - 1;  // k blocks loaded ahead
    static_assert(WG >= 0 && WG <= 2 && AHEAD >= 1, "wgmma mode 0, 1 or 2; a block loaded ahead");
    static constexpr int WM = BM / 2, WN = BN / 2;  // warp tile (mma.sync); the rows of an epilogue pass
    // mma.sync: MMAs per warp per k step (16-row x 8-column ones); wgmma: m64 halves x n8 column blocks.
    static constexpr int MT = WG ? BM / 64 : WM / 16, NT = WG ? BN / 8 : WN / 8;
    static_assert(!WG || (BM == 128 && !PACKED && (BN == 64 || BN == 128)),
                  "wgmma tiles: 128 rows (an epilogue pass is one m64 half), n64 or n128");
    // CTAs an SM should hold (the register budget: 128, 168 or 255 a thread): 4 for the tiles of 32
    // accumulators a thread, 3 for 64, 2 for 128. Left to itself ptxas took 160-230 registers for the
    // small tiles (3 or 2 CTAs: 12 or 8 warps an SM), too few to hide the loads' and the epilogue's
    // latencies (Nsight Compute, 2026-12-05: 2.24 instructions a cycle on the packed first conv).
    static constexpr int MIN_BLOCKS = BM * BN / kCtaThreads <= 32 ? 4 : (BM * BN / kCtaThreads <= 64 ? 3 : 2);
    static constexpr int CH = BK / 16;            // 16-byte chunks per row
    static constexpr int ROWS_PER_LINE = 8 / CH;  // rows per 128-byte line
    static constexpr int A_LOADS = BM * CH / kCtaThreads, B_LOADS = BN * CH / kCtaThreads;
    static constexpr int A_BYTES = BM * BK, B_BYTES = BN * BK;
    static constexpr int STAGE_BYTES = A_BYTES + B_BYTES;
    // The epilogue stages WM rows of int32 accumulators at a time, rows padded by 8 words (conflict-free
    // 8-byte fragment stores), in the pipeline's shared memory (or more, where that is smaller).
    static constexpr int EPI_LD = BN + 8;
    static constexpr int EPI_BYTES = WM * EPI_LD * 4;
    // The CTA's channel constants (alpha, bias: BN floats each) follow, read from shared memory in the
    // epilogue rather than held in registers across it.
    static constexpr int CONST_BYTES = 2 * BN * 4;
    static constexpr int SMEM =
        (STAGE_BYTES * STAGES > EPI_BYTES ? STAGE_BYTES * STAGES : EPI_BYTES) + CONST_BYTES;
    // Several M tiles a CTA (Params::tpc > 1): the epilogue stages after the pipeline's ring instead of
    // in it, since the next tile's first k blocks are in flight there while it runs.
    static constexpr int SMEM_SEPARATE = STAGE_BYTES * STAGES + EPI_BYTES + CONST_BYTES;
    static_assert(BK == 32 || BK == 64, "k depth 32 or 64");
    static_assert(MT >= 1 && NT % 2 == 0, "warp tile");
    static_assert((BM * CH) % kCtaThreads == 0 && (BN * CH) % kCtaThreads == 0, "loads per thread");
    static_assert(kCtaThreads % CH == 0, "a thread's chunks all at chunk tid % CH (TAPS > 1 relies on it)");
    // Packed: a row (pixel) has SLOTS 4-byte tap slots; ROW_THREADS threads share a row, each loading
    // ROW_SLOTS adjacent slots (one pixel's position worked out once per thread, not once per slot).
    static constexpr int SLOTS = BK / 4, ROW_THREADS = kCtaThreads / BM,
                         ROW_SLOTS = SLOTS / (ROW_THREADS > 0 ? ROW_THREADS : 1);
    static_assert(!PACKED || (BK == 64 && STAGES >= 2 && ROW_THREADS >= 1 &&
                              ROW_THREADS * BM == kCtaThreads && ROW_SLOTS * ROW_THREADS == SLOTS),
                  "packed tiles: 64 or 128 rows, one k block");
};

// Byte offset of 16-byte chunk `ch` of tile row `row`: rows of BK bytes, the chunk index XORed with
// the row's position so that the 8 rows ldmatrix reads at one chunk column land in 8 different bank
// groups.
template <class T>
__device__ __forceinline__ int swz(int row, int ch) {
    return row * T::BK + ((ch ^ ((row / T::ROWS_PER_LINE) % T::CH)) << 4);
}

__device__ __forceinline__ void cp_async4(uint32_t smem, const void* gmem, bool ok) {
    const int n = ok ? 4 : 0;
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem), "l"(gmem), "r"(n));
}
__device__ __forceinline__ void cp_async8(uint32_t smem, const void* gmem, bool ok) {
    const int n = ok ? 8 : 0;
    asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(smem), "l"(gmem), "r"(n));
}

// wgmma (conv_int8_wgmma_built): sm_90a only; elsewhere the bodies trap, and the host never launches
// the WG tiles (conv_int8_tile_fits).
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define RTDET_WGMMA_BODY(...) __VA_ARGS__
#else
#define RTDET_WGMMA_BODY(...) __trap();
#endif
// The shared-memory matrix descriptor of a K-major tile of BK-byte rows as swz lays them out, which is
// wgmma's BK-byte swizzle (128: address bits 4-6 XOR bits 7-9, mode 1; 64: bits 4-5 XOR bits 7-8, mode 2;
// 32: bit 4 XOR bit 7, mode 3): the start address, the leading byte offset unused (1) for a swizzled
// K-major layout, 8 rows of BK bytes between 8-row groups. The start may step by 32 bytes (a row's next
// k32) or by whole 8-row groups; the tile's base is aligned to them.
template <int BK>
__device__ __forceinline__ uint64_t wgmma_desc(uint32_t smem_addr) {
    static_assert(BK == 32 || BK == 64 || BK == 128, "the 32-, 64- and 128-byte swizzles");
    constexpr uint64_t mode = BK == 128 ? 1 : (BK == 64 ? 2 : 3);
    return static_cast<uint64_t>((smem_addr >> 4) & 0x3FFF) | (1ull << 16) |
           (static_cast<uint64_t>(8 * BK >> 4) << 32) | (mode << 62);
}
// Orders the warpgroup's register and shared-memory accesses before the wgmmas that follow.
__device__ __forceinline__ void wgmma_fence() {
    RTDET_WGMMA_BODY(asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");)
}
__device__ __forceinline__ void wgmma_commit() {
    RTDET_WGMMA_BODY(asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");)
}
// Waits until at most N of this warp's committed wgmma groups are pending.
template <int N>
__device__ __forceinline__ void wgmma_wait() {
    RTDET_WGMMA_BODY(asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");)
}
// cp.async's writes (the generic proxy) made visible to wgmma's reads (the async proxy).
__device__ __forceinline__ void fence_proxy_async() {
    RTDET_WGMMA_BODY(asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");)
}
// D (m64 x N, s32) += A (m64 x k32 s8, descriptor a) x B (N x k32 s8, descriptor b), issued
// asynchronously: d must not be touched until wgmma_wait. d[j][e]: row 16 warp + lane / 4 (+8 for
// e >= 2), column 8 j + 2 (lane % 4) + e % 2, as mma.sync's m16n8 fragments.
__device__ __forceinline__ void wgmma_m64n64k32_s8(int32_t (&d)[8][4], uint64_t a, uint64_t b) {
    RTDET_WGMMA_BODY(
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n64k32.s32.s8.s8 {"
                     "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                     "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
                     "}, %32, %33, p;\n}\n"
                     : "+r"(d[0][0]), "+r"(d[0][1]), "+r"(d[0][2]), "+r"(d[0][3]), "+r"(d[1][0]),
                       "+r"(d[1][1]), "+r"(d[1][2]), "+r"(d[1][3]), "+r"(d[2][0]), "+r"(d[2][1]),
                       "+r"(d[2][2]), "+r"(d[2][3]), "+r"(d[3][0]), "+r"(d[3][1]), "+r"(d[3][2]),
                       "+r"(d[3][3]), "+r"(d[4][0]), "+r"(d[4][1]), "+r"(d[4][2]), "+r"(d[4][3]),
                       "+r"(d[5][0]), "+r"(d[5][1]), "+r"(d[5][2]), "+r"(d[5][3]), "+r"(d[6][0]),
                       "+r"(d[6][1]), "+r"(d[6][2]), "+r"(d[6][3]), "+r"(d[7][0]), "+r"(d[7][1]),
                       "+r"(d[7][2]), "+r"(d[7][3])
                     : "l"(a), "l"(b), "n"(1));)
}

// m64nNk32's accumulator operands (d[j][e], the fragments' order): 16 n8 blocks from block i.
#define RTDET_ACC4(i) "+r"(d[i][0]), "+r"(d[i][1]), "+r"(d[i][2]), "+r"(d[i][3])
#define RTDET_ACC16(i) RTDET_ACC4(i), RTDET_ACC4((i) + 1), RTDET_ACC4((i) + 2), RTDET_ACC4((i) + 3)
#define RTDET_ACC64(i) RTDET_ACC16(i), RTDET_ACC16((i) + 4), RTDET_ACC16((i) + 8), RTDET_ACC16((i) + 12)
// Their register lists in the instruction's text: %0 .. %63, %64 .. %127.
#define RTDET_REGS_0_63                                                                     \
    "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, " \
    "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, " \
    "%36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, " \
    "%53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define RTDET_REGS_64_127                                                                   \
    "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, " \
    "%81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, " \
    "%98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, "    \
    "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, "  \
    "%126, %127"

__device__ __forceinline__ void wgmma_m64n128k32_s8(int32_t (&d)[16][4], uint64_t a, uint64_t b) {
    RTDET_WGMMA_BODY(asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                                  "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {" RTDET_REGS_0_63
                                  "}, %64, %65, p;\n}\n"
                                  : RTDET_ACC64(0)
                                  : "l"(a), "l"(b), "n"(1));)
}

__device__ __forceinline__ void wgmma_m64n256k32_s8(int32_t (&d)[32][4], uint64_t a, uint64_t b) {
    RTDET_WGMMA_BODY(asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                                  "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 {" RTDET_REGS_0_63
                                  ", " RTDET_REGS_64_127 "}, %128, %129, p;\n}\n"
                                  : RTDET_ACC64(0), RTDET_ACC64(16)
                                  : "l"(a), "l"(b), "n"(1));)
}

// f(v) for every accumulator register of a thread's tile.
template <int MT, int NT, typename F>
__device__ __forceinline__ void for_each_acc(int32_t (&acc)[MT][NT][4], F&& f) {
#pragma unroll
    for (int a = 0; a < MT; ++a)
#pragma unroll
        for (int b = 0; b < NT; ++b)
#pragma unroll
            for (int e = 0; e < 4; ++e) f(acc[a][b][e]);
}

// Pins the accumulators' registers in program order around the asynchronous wgmmas: an empty asm that
// reads and writes each (the compiler cannot move their other uses across it).
template <int MT, int NT>
__device__ __forceinline__ void pin_acc(int32_t (&acc)[MT][NT][4]) {
    for_each_acc(acc, [](int32_t& v) { asm volatile("" : "+r"(v)::"memory"); });
}

// The accumulators' start: kRoundMagicBits rather than 0 (biased_acc_to_f32, requant_core.h).
template <int MT, int NT>
__device__ __forceinline__ void reset_acc(int32_t (&acc)[MT][NT][4]) {
    for_each_acc(acc, [](int32_t& v) { v = static_cast<int32_t>(kRoundMagicBits); });
}

struct Params {
    const int8_t* x;
    const int8_t* w;
    const float* alpha;
    const float* bias;
    const void* res;
    void* y;
    I8Elem res_type;
    float res_scale, y_scale, y_inv;  // y_inv = 1 / y_scale
    int H, W, C, K, R, S, OH, OW, sh, sw, ph, pw, dh, dw;
    int xc;    // packed tiles: the input's channels (kPackedC)
    int taps;  // packed and TAPS > 1 tiles: the kernel's taps
    // Packed tiles: tap t's byte offset from the window's origin pixel ((r dh W + s dw) xc), its rows
    // and columns from it (r dh, s dw), and the window's height and width ((R - 1) dh + 1, ...).
    int tap_off[kPackedDepth / kPackedC], tap_dh[kPackedDepth / kPackedC], tap_dw[kPackedDepth / kPackedC];
    int span_h, span_w;
    FastDiv div_ohw, div_ow;  // m / OHW, q / OW without a division instruction
    int M, OHW, cblocks, KB;
    int tpc;  // M tiles a CTA takes in turn (adjacent ones), the next tile's loads overlapping this one's
              // epilogue
    int64_t xbs, ybs, rbs;
    Act act, post;
    bool vec;   // K and the output's batch stride multiples of 16 bytes of output, y aligned: 16-byte stores
    bool nchw;  // y NCHW F32, no residual (ConvInt8Args::y_nchw)
    // S8 output with scales folded (fold_scales): alpha and bias times y_inv, an s8 residual's scale
    // res_fold = res_scale * y_inv.
    bool fold;
    float res_fold;
    bool small_acc;  // every accumulator within +-2^22 (ConvInt8Args::small_acc)
};

// The residual element at `at` as a real value (s8 times its scale).
__device__ __forceinline__ float load_res(const Params& p, int64_t at) {
    switch (p.res_type) {
        case I8Elem::S8:
            return to_real(static_cast<const int8_t*>(p.res)[at], p.res_scale);
        case I8Elem::F16:
            return to_real(static_cast<const __half*>(p.res)[at], 1.f);
        case I8Elem::F32:
            return static_cast<const float*>(p.res)[at];
        default:
            return 0.f;
    }
}

// Activations other than the ones compiled in (EpiAct): one out-of-line copy of every formula. The
// epilogue is unrolled over each thread's 32 to 128 outputs; inlining act_dev_any's every formula into
// each of them made kernels of 0.26 to 1.09 MB of SASS, far past the instruction cache (and the larger
// the tile, the slower the kernel: 128x128 ran at a fifth of 64x64's rate on the H200).
__device__ __noinline__ float act_out_of_line(Act a, float x) { return act_dev_any(a, x); }

// The activation a kernel instance has inline: none, leaky ReLU with a slope in (0, 1] (YOLO's two), or
// any other through act_out_of_line.
enum class EpiAct : uint8_t { None, Leaky, Other };

inline EpiAct epi_act(const Act& a) {
    if (a.kind == ActKind::None) return EpiAct::None;
    return a.kind == ActKind::LeakyRelu && a.alpha > 0.f && a.alpha <= 1.f ? EpiAct::Leaky : EpiAct::Other;
}

// The epilogue of one output element before its storage conversion, in the reference's order and
// rounding: acc * alpha + bias (no fused multiply-add; acc the int32 sum as a float), act, then with a
// residual (RES; `res` its real value) post_act(v + res). Leaky ReLU with a slope a in (0, 1] is
// max(v, a v): the reference's v >= 0 ? v : a v for every v, infinities, zeros' signs and NaN included.
template <EpiAct A, bool RES>
__device__ __forceinline__ float epilogue_with(const Params& p, float acc, float alpha, float bias,
                                               float res) {
    float v = __fadd_rn(__fmul_rn(acc, alpha), bias);
    if constexpr (A == EpiAct::Leaky)
        v = fmaxf(v, __fmul_rn(p.act.alpha, v));
    else if constexpr (A == EpiAct::Other)
        v = act_out_of_line(p.act, v);
    if constexpr (RES) {
        v = __fadd_rn(v, res);
        if (p.post.kind != ActKind::None) v = act_out_of_line(p.post, v);
    }
    return v;
}

// The same with the residual, if any, read at r_at.
template <EpiAct A>
__device__ __forceinline__ float epilogue(const Params& p, float acc, float alpha, float bias, int64_t r_at) {
    if (p.res_type == I8Elem::None) return epilogue_with<A, false>(p, acc, alpha, bias, 0.f);
    return epilogue_with<A, true>(p, acc, alpha, bias, load_res(p, r_at));
}

// N elements of T from p as 16-byte (or N-element) loads, as real values (s8 times `scale`).
template <typename T, int N>
__device__ __forceinline__ void load_real_run(const T* src, float scale, float (&out)[N]) {
    constexpr int C = N < 16 / static_cast<int>(sizeof(T)) ? N : 16 / static_cast<int>(sizeof(T));
#pragma unroll
    for (int j = 0; j < N; j += C) {
        const Vec<T, C> t = load_vec<T, C>(src + j);
#pragma unroll
        for (int e = 0; e < C; ++e) out[j + e] = to_real(t.v[e], scale);
    }
}

// N s8 from src (16-byte aligned runs; N a multiple of 4) as real values q * scale: the floats made
// without conversion instructions (s8x4_to_f32), the product as dequantize_s8_dev's.
template <int N>
__device__ __forceinline__ void load_real_run_s8(const int8_t* src, float scale, float (&out)[N]) {
    static_assert(N % 4 == 0, "whole words");
    constexpr int W = N / 4 < 4 ? N / 4 : 4;  // words per load: at most 16 bytes
#pragma unroll
    for (int j = 0; j < N / 4; j += W) {
        const Vec<uint32_t, W> t = load_vec<uint32_t, W>(reinterpret_cast<const uint32_t*>(src) + j);
#pragma unroll
        for (int e = 0; e < W; ++e) {
            float q[4];
            s8x4_to_f32(t.v[e], q);
#pragma unroll
            for (int b = 0; b < 4; ++b) out[(j + e) * 4 + b] = __fmul_rn(q[b], scale);
        }
    }
}

// The residual of V adjacent channels at r_at: vector loads when `vec` (r_at and the pointer aligned
// for V elements and 16 bytes), else one element at a time; zeros without a residual.
template <int V>
__device__ __forceinline__ void load_res_run(const Params& p, int64_t r_at, bool vec, float (&r)[V]) {
    if (p.res_type == I8Elem::None) {
#pragma unroll
        for (int e = 0; e < V; ++e) r[e] = 0.f;
    } else if (vec && p.res_type == I8Elem::S8) {
        if constexpr (V % 4 == 0)
            load_real_run_s8<V>(static_cast<const int8_t*>(p.res) + r_at, p.res_scale, r);
        else
            load_real_run<int8_t, V>(static_cast<const int8_t*>(p.res) + r_at, p.res_scale, r);
    } else if (vec && p.res_type == I8Elem::F16) {
        load_real_run<__half, V>(static_cast<const __half*>(p.res) + r_at, 1.f, r);
    } else if (vec && p.res_type == I8Elem::F32) {
        load_real_run<float, V>(static_cast<const float*>(p.res) + r_at, 1.f, r);
    } else {
#pragma unroll
        for (int e = 0; e < V; ++e) r[e] = load_res(p, r_at + e);
    }
}

// Whether V-element residual runs can be loaded as vectors (K and the residual's batch stride multiples
// of V, the pointer 16-byte aligned).
template <int V>
__device__ __forceinline__ bool res_runs_vectorized(const Params& p) {
    return p.res_type != I8Elem::None && V > 1 && p.K % V == 0 && p.rbs % V == 0 &&
           reinterpret_cast<uintptr_t>(p.res) % 16 == 0;
}

template <I8Elem OT>
__device__ __forceinline__ void store_one(const Params& p, int64_t at, float v) {
    if constexpr (OT == I8Elem::S8)
        static_cast<int8_t*>(p.y)[at] = quantize_s8_dev(v, p.y_scale, p.y_inv);
    else if constexpr (OT == I8Elem::F16)
        static_cast<__half*>(p.y)[at] = __float2half_rn(v);
    else
        static_cast<float*>(p.y)[at] = v;
}

// V s8 outputs of adjacent channels, the low bytes of w, stored as one access (at and y aligned to V).
template <int V>
__device__ __forceinline__ void store_s8_words(const Params& p, int64_t at, const uint32_t (&w)[V]) {
    static_assert(V % 4 == 0, "s8 runs of whole words");
    Vec<uint32_t, V / 4> q;
#pragma unroll
    for (int e = 0; e < V; e += 4)
        q.v[e / 4] =
            __byte_perm(__byte_perm(w[e], w[e + 1], 0x0040), __byte_perm(w[e + 2], w[e + 3], 0x0040), 0x5410);
    store_vec<uint32_t, V / 4>(reinterpret_cast<uint32_t*>(static_cast<int8_t*>(p.y) + at), q);
}

// V outputs of adjacent channels stored as one access (y_at and y aligned to V elements), after
// their storage conversion.
template <I8Elem OT, int V>
__device__ __forceinline__ void store_n(const Params& p, int64_t at, const float (&v)[V]) {
    if constexpr (V == 1) {
        store_one<OT>(p, at, v[0]);
    } else if constexpr (OT == I8Elem::S8) {  // V a multiple of 4: the words' low bytes packed by 4
        bool ok = true;  // one test for the run; the division only where a product is near a half step
        uint32_t w[V];
#pragma unroll
        for (int e = 0; e < V; ++e) w[e] = quantize_s8_word_try(v[e], p.y_inv, ok);
        if (!ok) {  // unrolled: v stays in registers
#pragma unroll
            for (int e = 0; e < V; ++e) w[e] = quantize_s8_word(v[e], p.y_scale, p.y_inv);
        }
        store_s8_words<V>(p, at, w);
    } else if constexpr (OT == I8Elem::F16) {
        Vec<__half, V> h;
#pragma unroll
        for (int e = 0; e < V; ++e) h.v[e] = __float2half_rn(v[e]);
        store_vec<__half, V>(static_cast<__half*>(p.y) + at, h);
    } else {
#pragma unroll
        for (int e = 0; e < V; e += 4)
            store_vec<float, 4>(static_cast<float*>(p.y) + at + e,
                                Vec<float, 4>{{v[e], v[e + 1], v[e + 2], v[e + 3]}});
    }
}

// The alpha and bias of V adjacent channels k0.. (zeros past K).
template <int V>
__device__ __forceinline__ void load_channel_consts(const Params& p, int k0, float (&alpha)[V],
                                                    float (&bias)[V]) {
#pragma unroll
    for (int e = 0; e < V; ++e) {
        const bool in = k0 + e < p.K;
        alpha[e] = in ? __ldg(p.alpha + k0 + e) : 0.f;
        bias[e] = in && p.bias != nullptr ? __ldg(p.bias + k0 + e) : 0.f;
    }
}

// V adjacent channels of one output pixel through the epilogue (their alpha and bias given), stored as
// one access.
// RES: with the residual (the caller tests p.res_type once for many runs).
template <EpiAct A, I8Elem OT, int V, bool RES>
__device__ __forceinline__ void epilogue_run(const Params& p, const float (&acc)[V], const float (&alpha)[V],
                                             const float (&bias)[V], int64_t y_at, int64_t r_at,
                                             bool res_vec) {
    float r[V], v[V];
    if constexpr (RES) load_res_run<V>(p, r_at, res_vec, r);
#pragma unroll
    for (int e = 0; e < V; ++e) v[e] = epilogue_with<A, RES>(p, acc[e], alpha[e], bias[e], RES ? r[e] : 0.f);
    store_n<OT, V>(p, y_at, v);
}

// epilogue_run with the scales folded (Params::fold: S8 output, act none or leaky, post_act none or leaky,
// a residual s8 if any): alpha and bias come multiplied by y_inv, so each output is one fused
// multiply-add, the activations (positively homogeneous: act(v) y_inv = act(v y_inv)), the residual's
// q * res_fold added, then rounded and saturated through kRoundMagic, without the near-half-step test
// and division of the exact path. TensorRT's form; it may differ from the reference by one step where
// a value lies within a rounding error of a half step.
// The s8 residual run at r_at as words (fold_scales: 16-byte aligned runs).
template <int V>
__device__ __forceinline__ Vec<uint32_t, V / 4> load_res_words(const Params& p, int64_t r_at) {
    return load_vec<uint32_t, V / 4>(
        reinterpret_cast<const uint32_t*>(static_cast<const int8_t*>(p.res) + r_at));
}

// `t`: the residual run's words (RES), loaded beforehand (load_res_words).
template <EpiAct A, int V, bool RES>
__device__ __forceinline__ void epilogue_run_folded(const Params& p, const float (&acc)[V],
                                                    const float (&alpha)[V], const float (&bias)[V],
                                                    int64_t y_at, const Vec<uint32_t, V / 4>& t) {
    static_assert(A != EpiAct::Other && V % 4 == 0, "folded runs: none or leaky, whole words");
    float v[V];
#pragma unroll
    for (int e = 0; e < V; ++e) {
        v[e] = __fmaf_rn(acc[e], alpha[e], bias[e]);
        if constexpr (A == EpiAct::Leaky) v[e] = fmaxf(v[e], __fmul_rn(p.act.alpha, v[e]));
    }
    if constexpr (RES) {  // s8, 16-byte aligned runs (fold_scales and res_runs_vectorized)
        // post_act's test once for the run (as a test per output, ptxas predicated the slope's load and
        // the leaky ReLU of each output, issued whether they applied or not: 169 instructions a run of 8
        // on the H100, against 92 without a residual).
        auto add = [&]<bool POST>() {
#pragma unroll
            for (int j = 0; j < V / 4; ++j) {
                float q[4];
                s8x4_to_f32(t.v[j], q);
#pragma unroll
                for (int b = 0; b < 4; ++b) {
                    float& x = v[j * 4 + b];
                    x = __fmaf_rn(q[b], p.res_fold, x);
                    if constexpr (POST) x = fmaxf(x, __fmul_rn(p.post.alpha, x));
                }
            }
        };
        if (p.post.kind == ActKind::None)
            add.template operator()<false>();
        else
            add.template operator()<true>();
    }
    uint32_t w[V];
#pragma unroll
    for (int e = 0; e < V; ++e) w[e] = f32_bits(add_rn(clamp_keep_nan(v[e], -128.f, 127.f), kRoundMagic));
    store_s8_words<V>(p, y_at, w);
}

// Channel k's alpha and bias (zeros past K), multiplied by 1 / y_scale where the kernel folds the scales
// (p.fold).
__device__ __forceinline__ void channel_consts(const Params& p, int k, float& alpha, float& bias) {
    const bool in = k < p.K;
    const float al = in ? __ldg(p.alpha + k) : 0.f, bi = in && p.bias != nullptr ? __ldg(p.bias + k) : 0.f;
    alpha = p.fold ? __fmul_rn(al, p.y_inv) : al;
    bias = p.fold ? __fmul_rn(bi, p.y_inv) : bi;
}

// alpha and the bias of channels n0 .. n0 + bn - 1 into consts[0, bn) and consts[bn, 2 bn) (zeros past
// K), times y_inv where the epilogue folds the scales (p.fold); thread `tid` of `threads`.
__device__ __forceinline__ void stage_channel_consts(const Params& p, int n0, int bn, float* consts, int tid,
                                                     int threads) {
    for (int i = tid; i < bn; i += threads) channel_consts(p, n0 + i, consts[i], consts[bn + i]);
}

// Accumulator fragments into staged int32 rows of `ld` words: NT m16 x n8 blocks in mma.sync's (and
// wgmma's) layout, element e of block nt at row r0 + lane / 4 (+ 8 for e >= 2), column c0 + 8 nt +
// 2 (lane % 4) + e % 2; a pair of columns a store.
template <int NT>
__device__ __forceinline__ void stage_fragments(const int32_t (&acc)[NT][4], int32_t* staged, int ld, int r0,
                                                int c0, int lane) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int row = r0 + (lane >> 2) + half * 8, col = c0 + nt * 8 + 2 * (lane & 3);
            *reinterpret_cast<int2*>(staged + row * ld + col) =
                make_int2(acc[nt][half * 2], acc[nt][half * 2 + 1]);
        }
}

// V staged accumulators from `at` (16-byte aligned) as floats (biased_acc_to_f32).
template <int V>
__device__ __forceinline__ void staged_run(const int32_t* at, bool small, float (&a)[V]) {
#pragma unroll
    for (int j = 0; j < V; j += 4) {
        const int4 t = *reinterpret_cast<const int4*>(at + j);
        a[j] = biased_acc_to_f32(t.x, small);
        a[j + 1] = biased_acc_to_f32(t.y, small);
        a[j + 2] = biased_acc_to_f32(t.z, small);
        a[j + 3] = biased_acc_to_f32(t.w, small);
    }
}

// The weight rows (output channels n0 + row, [k][r][s][c]) a thread loads a 16-byte chunk of, thread
// `tid` of `threads` taking chunks tid, tid + threads, ...: each chunk's swizzled offset in the B tile,
// whether its channel exists (else zeros) and its pointer at the first tap.
template <class T, int LOADS>
struct WeightRows {
    const int8_t* ptr[LOADS];
    bool ok[LOADS];
    int so[LOADS];
    __device__ __forceinline__ WeightRows(const Params& p, int n0, int tid, int threads) {
        const int64_t w_row = static_cast<int64_t>(p.R) * p.S * p.C;
#pragma unroll
        for (int j = 0; j < LOADS; ++j) {
            const int i = tid + j * threads, row = i / T::CH, ch = i % T::CH, k = n0 + row;
            so[j] = swz<T>(row, ch);
            ok[j] = k < p.K;
            ptr[j] = p.w + (ok[j] ? k : 0) * w_row + ch * 16;
        }
    }
    // The rows' chunks at the block's offset `b_off` into the B tile at `sb` (zeros past K, or for every
    // row when !tap_in).
    __device__ __forceinline__ void load(const Params& p, uint32_t sb, int b_off, bool tap_in) const {
#pragma unroll
        for (int j = 0; j < LOADS; ++j) {
            const bool in = tap_in && ok[j];
            cp_async16(sb + so[j], in ? ptr[j] + b_off : p.w, in);
        }
    }
};

// The pixel rows (output pixels of an M tile, implicit im2col) a thread loads a 16-byte chunk of, thread
// `tid` of `threads` taking chunks tid, tid + threads, ...: each chunk's swizzled offset in the A tile,
// its window's origin row and column (which may lie outside the image: only in-range taps are read; past
// M every tap is out of range) and address (T::TCH chunks a tap: the chunk's place in its tap).
template <class T, int LOADS>
struct PixelRows {
    const int8_t* ptr[LOADS];
    int ih[LOADS], iw[LOADS], so[LOADS];
    __device__ __forceinline__ void set(const Params& p, int tile, int tid, int threads) {
#pragma unroll
        for (int j = 0; j < LOADS; ++j) {
            const int i = tid + j * threads, row = i / T::CH, ch = i % T::CH, m = tile * T::BM + row;
            so[j] = swz<T>(row, ch);
            if (m < p.M) {
                const int n = p.div_ohw.div(m), q = m - n * p.OHW, oh = p.div_ow.div(q), ow = q - oh * p.OW;
                ih[j] = oh * p.sh - p.ph;
                iw[j] = ow * p.sw - p.pw;
                ptr[j] =
                    p.x + n * p.xbs + static_cast<int64_t>(ih[j] * p.W + iw[j]) * p.C + (ch % T::TCH) * 16;
            } else {
                ih[j] = -(1 << 30);  // every tap out of range: zeros
                iw[j] = 0;
                ptr[j] = p.x;
            }
        }
    }
    // The rows' chunks at tap offset (rdh, sdw) from their windows' origins, `a_off` bytes from them,
    // into the A tile at `sa` (zeros where the tap falls outside the image, or for every row when
    // !tap_in); through L1 with L1 (cp_async16).
    template <bool L1 = false>
    __device__ __forceinline__ void load(const Params& p, uint32_t sa, int a_off, int rdh, int sdw,
                                         bool tap_in) const {
#pragma unroll
        for (int j = 0; j < LOADS; ++j) {
            const bool ok = tap_in && static_cast<unsigned>(ih[j] + rdh) < static_cast<unsigned>(p.H) &&
                            static_cast<unsigned>(iw[j] + sdw) < static_cast<unsigned>(p.W);
            cp_async16<L1>(sa + so[j], ok ? ptr[j] + a_off : p.x, ok);
        }
    }
};

template <class T, I8Elem OT, EpiAct A>
__global__ void __launch_bounds__(kCtaThreads, T::MIN_BLOCKS) conv_int8_kernel(const Params p) {
    extern __shared__ __align__(1024) uint8_t smem[];  // wgmma: 512-byte swizzle atoms
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp >> 1, wn = warp & 1;
    const int n0 = blockIdx.y * T::BN;
    const auto sbase = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
    // This CTA's M tiles: tpc adjacent ones from blockIdx.x * tpc (fewer in the last CTA), run as one
    // stream of k blocks, so that the pipeline does not drain between tiles.
    const int m_tiles = (p.M + T::BM - 1) / T::BM, t_first = blockIdx.x * p.tpc;
    const int t_count = min(p.tpc, m_tiles - t_first), total = t_count * p.KB;

    // The rows this thread loads: A (pixels, of the tile being loaded) and B (output channels), one
    // 16-byte chunk each.
    PixelRows<T, T::A_LOADS> ar;
    auto set_rows = [&](int tile) { ar.set(p, tile, tid, kCtaThreads); };
    if constexpr (!T::PACKED) set_rows(t_first);
    const WeightRows<T, T::B_LOADS> wr(p, n0, tid, kCtaThreads);

    // Packed tiles (one k block): this thread's row (pixel) and its slots (taps); adjacent threads take
    // adjacent pixels, so a warp's 4-byte reads of one tap are contiguous. Slots past the kernel's taps
    // are not loaded: their weights are zero, so whatever the A tile holds there adds nothing. A pixel
    // whose whole window lies in the image (nearly all) reads each tap at its offset from the window's
    // origin (Params::tap_off) without tests; one at the border tests each tap.
    auto load_packed = [&](uint32_t sa, int m0) {
        const int row = tid % T::BM, slot0 = T::ROW_THREADS == 1 ? 0 : (tid / T::BM) * T::ROW_SLOTS;
        const int m = m0 + row;
        const int n = p.div_ohw.div(m), q = m - n * p.OHW, oh = p.div_ow.div(q), ow = q - oh * p.OW;
        const int ih0 = oh * p.sh - p.ph, iw0 = ow * p.sw - p.pw;
        const int8_t* origin = p.x + n * p.xbs + static_cast<int64_t>(ih0 * p.W + iw0) * p.xc;
        const bool inside = m < p.M && ih0 >= 0 && iw0 >= 0 && ih0 + p.span_h <= p.H && iw0 + p.span_w <= p.W;
        if (inside) {
#pragma unroll
            for (int j = 0; j < T::ROW_SLOTS; ++j) {
                const int slot = slot0 + j;
                if (slot >= p.taps) break;
                cp_async4(sa + swz<T>(row, slot / 4) + (slot % 4) * 4, origin + p.tap_off[slot], true);
            }
        } else {
#pragma unroll
            for (int j = 0; j < T::ROW_SLOTS; ++j) {
                const int slot = slot0 + j;
                if (slot >= p.taps) break;
                const bool ok = m < p.M &&
                                static_cast<unsigned>(ih0 + p.tap_dh[slot]) < static_cast<unsigned>(p.H) &&
                                static_cast<unsigned>(iw0 + p.tap_dw[slot]) < static_cast<unsigned>(p.W);
                cp_async4(sa + swz<T>(row, slot / 4) + (slot % 4) * 4, ok ? origin + p.tap_off[slot] : p.x,
                          ok);
            }
        }
    };

    // The next k block to load (conv_int8_walk.h: tile after tile, tap after tap, channel block after
    // channel block; with TAPS > 1, tile after tile, block after block, and this thread's own tap).
    KBlockWalk ld;
    ld.tile = t_first;
    TapWalk my_tap;
    const int tap_slot = (tid % T::CH) / T::TCH;  // every chunk this thread loads is at chunk tid % CH
    if constexpr (T::TAPS > 1) my_tap.reset(tap_slot, p.S);
    auto load_stage = [&](int stage) {
        if constexpr (T::PACKED) {  // one k block a tile
            const uint32_t sa = sbase + stage * T::STAGE_BYTES;
            load_packed(sa, ld.tile * T::BM);
            ++ld.tile;
            wr.load(p, sa + T::A_BYTES, 0, true);
            return;
        }
        // The block's offsets: the tap's rows and columns from the window's origin, its byte offset there
        // (channel block included), and the weights' offset; the same for every thread, but with
        // TAPS > 1, where the tap is this thread's (the weights' taps are adjacent: the block's offset).
        const int c0 = ld.cb * T::BK, rdh = (T::TAPS > 1 ? my_tap.r : ld.r) * p.dh,
                  sdw = (T::TAPS > 1 ? my_tap.s : ld.s) * p.dw;
        const int a_off = (rdh * p.W + sdw) * p.C + (T::TAPS > 1 ? 0 : c0), b_off = ld.rs * p.C + c0;
        const bool tap_in = T::TAPS == 1 || my_tap.t < p.taps;  // past the last tap: zeros
        const uint32_t sa = sbase + stage * T::STAGE_BYTES, sb = sa + T::A_BYTES;
        ar.load(p, sa, a_off, rdh, sdw, tap_in);
        wr.load(p, sb, b_off, tap_in);
        if constexpr (T::TAPS > 1) {  // blocks (ld.cb) of a tile, R = S = 1 to the walk; taps per thread
            my_tap.step(T::TAPS, p.S);
            if (ld.step(p.cblocks, 1, 1)) {
                my_tap.reset(tap_slot, p.S);
                if (ld.tile < t_first + t_count) set_rows(ld.tile);
            }
        } else {
            if (ld.step(p.cblocks, p.R, p.S) && ld.tile < t_first + t_count) set_rows(ld.tile);
        }
    };

    // The accumulators start at kRoundMagicBits rather than 0 (biased_acc_to_f32, requant_core.h).
    int32_t acc[T::MT][T::NT][4];
    auto zero_acc = [&] { reset_acc(acc); };
    zero_acc();

    // Epilogue through shared memory, in two passes of WM rows: the warps of row wm == pass write their
    // int32 accumulators (rows of EPI_LD words), then every thread takes runs of V adjacent channels of a
    // row (V below) in a plain loop, so that the epilogue's code is there once rather than once per
    // accumulator, and the stores are 8- or 16-byte ones along NHWC rows (stage_fragments lays the
    // accumulators out). With one tile a CTA the rows are
    // staged in the pipeline's ring (drained first); with several, after it (SMEM_SEPARATE).
    const bool separate = p.tpc > 1;
    auto* staged = reinterpret_cast<int32_t*>(smem + (separate ? T::STAGES * T::STAGE_BYTES : 0));
    // alpha and bias of the CTA's BN channels (zeros past K), written here, read after the first
    // epilogue's __syncthreads.
    auto* consts = reinterpret_cast<float*>(smem + (separate ? T::SMEM_SEPARATE : T::SMEM) - T::CONST_BYTES);
    stage_channel_consts(p, n0, T::BN, consts, tid, kCtaThreads);
    // Runs of 8 channels (8 or 16 bytes), 4 for F32: with 16 s8 a run, the epilogue's arrays took the
    // registers the small tiles need to fit 4 CTAs an SM (ptxas spilled 150-700 bytes under the bound).
    constexpr int V = OT == I8Elem::S8 ? 8 : (OT == I8Elem::F16 ? 8 : 4);
    constexpr int RUNS = T::BN / V;  // runs per row
    static_assert(kCtaThreads % RUNS == 0, "a thread keeps one run of channels");
    // This thread's run of channels (the same in every row it takes).
    const int c0 = (tid % RUNS) * V, k0 = n0 + c0;
    const bool res_vec = res_runs_vectorized<V>(p);
    // A thread's rows in an epilogue pass: tid / RUNS, then every kRowStep-th.
    constexpr int kRowStep = kCtaThreads / RUNS, kPreRows = (T::WM + kRowStep - 1) / kRowStep;
    constexpr bool kPrefetchRes = OT == I8Elem::S8 && A != EpiAct::Other;  // the folded path exists
    Vec<uint32_t, V / 4> res_pre[kPrefetchRes ? kPreRows : 1];
    auto epilogue_tile = [&](int m0) {
        if (!separate) {
            cp_async_wait<0>();
            __syncthreads();  // every warp is done with the pipeline's shared memory
        }
        const int kc = n0 + tid % T::BN;  // without vector stores: this thread's channel
#pragma unroll 1
        for (int pass = 0; pass < 2; ++pass) {
            // Folded runs with an s8 residual: the rows' residual words this thread will add, loaded
            // before the staging and its barrier (in the runs' loop, each row waited on its own load:
            // YOLOv3's layer_3 took half as long again as layer_1, the same multiplies without a residual).
            if constexpr (kPrefetchRes) {
                if (p.fold && p.res_type != I8Elem::None) {
#pragma unroll
                    for (int i = 0; i < kPreRows; ++i) {
                        const int row = tid / RUNS + i * kRowStep, m = m0 + pass * T::WM + row;
                        if (row < T::WM && m < p.M && k0 < p.K) {
                            const int n = p.div_ohw.div(m), q = m - n * p.OHW;
                            res_pre[i] = load_res_words<V>(p, n * p.rbs + static_cast<int64_t>(q) * p.K + k0);
                        }
                    }
                }
            }
            if constexpr (T::WG) {  // every warp: 16 rows of m64 half `pass`, all BN columns
#pragma unroll
                for (int mh = 0; mh < T::MT; ++mh) {
                    if (mh != pass) continue;
                    stage_fragments(acc[mh], staged, T::EPI_LD, warp * 16, 0, lane);
                }
            } else if (wm == pass) {
#pragma unroll
                for (int mt = 0; mt < T::MT; ++mt)
                    stage_fragments(acc[mt], staged, T::EPI_LD, mt * 16, wn * T::WN, lane);
            }
            __syncthreads();
            // The rows' runs, with the accumulators' conversion (SMALL) and the residual (RES) known
            // for the whole loop.
            auto runs = [&]<bool SMALL, bool RES, bool FOLD>() {
                // This thread's channels are the same in every row: their constants read once.
                float run_alpha[V], run_bias[V];
#pragma unroll
                for (int j = 0; j < V; j += 4) {
                    const float4 al = *reinterpret_cast<const float4*>(consts + c0 + j);
                    const float4 bi = *reinterpret_cast<const float4*>(consts + T::BN + c0 + j);
                    run_alpha[j] = al.x;
                    run_alpha[j + 1] = al.y;
                    run_alpha[j + 2] = al.z;
                    run_alpha[j + 3] = al.w;
                    run_bias[j] = bi.x;
                    run_bias[j + 1] = bi.y;
                    run_bias[j + 2] = bi.z;
                    run_bias[j + 3] = bi.w;
                }
                auto one_row = [&](int row, const Vec<uint32_t, V / 4>& words) {
                    const int m = m0 + pass * T::WM + row;
                    if (m >= p.M || k0 >= p.K) return;
                    const int n = p.div_ohw.div(m), q = m - n * p.OHW;
                    const int64_t y_at = n * p.ybs + static_cast<int64_t>(q) * p.K + k0;
                    const int64_t r_at = n * p.rbs + static_cast<int64_t>(q) * p.K + k0;
                    float a[V];
                    staged_run(staged + row * T::EPI_LD + c0, SMALL, a);
                    if constexpr (FOLD)
                        epilogue_run_folded<A, V, RES>(p, a, run_alpha, run_bias, y_at, words);
                    else
                        epilogue_run<A, OT, V, RES>(p, a, run_alpha, run_bias, y_at, r_at, res_vec);
                };
                if constexpr (FOLD && RES) {  // the residual's words loaded at the pass's start (res_pre)
#pragma unroll
                    for (int i = 0; i < kPreRows; ++i) {
                        const int row = tid / RUNS + i * kRowStep;
                        if (row < T::WM) one_row(row, res_pre[i]);
                    }
                } else {
                    const Vec<uint32_t, V / 4> none{};
                    for (int row = tid / RUNS; row < T::WM; row += kRowStep) one_row(row, none);
                }
            };
            // The runs with the scales folded where the launch says so (S8 output, none or leaky).
            auto go = [&]<bool SMALL, bool RES>() {
                if constexpr (OT == I8Elem::S8 && A != EpiAct::Other) {
                    if (p.fold) {
                        runs.template operator()<SMALL, RES, true>();
                        return;
                    }
                }
                runs.template operator()<SMALL, RES, false>();
            };
            const bool res = p.res_type != I8Elem::None;
            if (OT == I8Elem::F32 && p.nchw) {
                // NCHW (no residual): a warp takes 8 rows (pixels) x 4 channels at a time, lane (pr, pc)
                // = (lane % 8, lane / 8), so that each channel's 8 adjacent pixels are 32 adjacent bytes
                // of y (whole sectors where aligned; the NHWC rows of YOLO's 255-channel heads start at
                // any 4-byte offset), and a thread works out its pixel once for BN / 16 channels.
                const int pr = lane & 7, pc = lane >> 3;
                for (int rb = 0; rb < T::WM / 8; ++rb) {
                    const int row = rb * 8 + pr, m = m0 + pass * T::WM + row;
                    if (m >= p.M) break;  // the later rows are past M too
                    const int n = p.div_ohw.div(m), q = m - n * p.OHW;
                    float* y_px = static_cast<float*>(p.y) + n * p.ybs + q;
#pragma unroll
                    for (int cb = warp; cb < T::BN / 4; cb += kCtaThreads / 32) {
                        const int col = cb * 4 + pc;
                        if (n0 + col < p.K)
                            y_px[static_cast<int64_t>(n0 + col) * p.OHW] = epilogue_with<A, false>(
                                p, biased_acc_to_f32(staged[row * T::EPI_LD + col], p.small_acc), consts[col],
                                consts[T::BN + col], 0.f);
                    }
                }
            } else if (p.vec) {  // K a multiple of V: every run whole
                if (p.small_acc) {
                    if (res)
                        go.template operator()<true, true>();
                    else
                        go.template operator()<true, false>();
                } else {
                    if (res)
                        go.template operator()<false, true>();
                    else
                        go.template operator()<false, false>();
                }
            } else if (kc < p.K) {  // one element at a time (YOLO's 255-channel heads): a thread keeps
                // channel kc, adjacent threads adjacent channels, so that each store is coalesced
                static_assert(kCtaThreads % T::BN == 0, "a thread keeps one channel");
                const float kc_alpha[1] = {consts[tid % T::BN]}, kc_bias[1] = {consts[T::BN + tid % T::BN]};
                for (int row = tid / T::BN; row < T::WM; row += kCtaThreads / T::BN) {
                    const int m = m0 + pass * T::WM + row;
                    if (m >= p.M) break;
                    const int n = p.div_ohw.div(m), q = m - n * p.OHW;
                    const int64_t y_at = n * p.ybs + static_cast<int64_t>(q) * p.K + kc;
                    const int64_t r_at = n * p.rbs + static_cast<int64_t>(q) * p.K + kc;
                    store_one<OT>(
                        p, y_at,
                        epilogue<A>(p, biased_acc_to_f32(staged[row * T::EPI_LD + tid % T::BN], p.small_acc),
                                    kc_alpha[0], kc_bias[0], r_at));
                }
            }
            __syncthreads();  // the next pass (or tile) rewrites the staged rows
        }
    };

#pragma unroll
    for (int st = 0; st < T::AHEAD; ++st) {
        if (st < total) load_stage(st);
        cp_async_commit();
    }
    int tile = t_first, kb = 0;
    for (int it = 0; it < total; ++it) {
        cp_async_wait<T::AHEAD - 1>();
        if constexpr (T::WG) fence_proxy_async();  // this thread's copies, visible to wgmma
        __syncthreads();  // stage it landed for all; everyone is done with the stage refilled next
        const int next = it + T::AHEAD;
        if (next < total) load_stage(next % T::STAGES);
        cp_async_commit();
        const uint32_t sa = sbase + (it % T::STAGES) * T::STAGE_BYTES, sb = sa + T::A_BYTES;
        if constexpr (T::WG) {
            // The block's k32 steps for each m64 half, then the wait for them (WG 1: the next iteration
            // refills this stage after its barrier) or for the block before (WG 2: the one refilled next
            // iteration, after every warp has waited for it and passed the barrier).
            if (T::WG == 1 || kb == 0) pin_acc(acc);  // the reset before the first block's fence
            wgmma_fence();
#pragma unroll
            for (int ks = 0; ks < T::BK / 32; ++ks)
#pragma unroll
                for (int mh = 0; mh < T::MT; ++mh) {
                    const uint64_t da = wgmma_desc<T::BK>(sa + mh * 64 * T::BK + ks * 32),
                                   db = wgmma_desc<T::BK>(sb + ks * 32);
                    if constexpr (T::BN == 128)
                        wgmma_m64n128k32_s8(acc[mh], da, db);
                    else
                        wgmma_m64n64k32_s8(acc[mh], da, db);
                }
            wgmma_commit();
            if constexpr (T::WG == 1) {
                wgmma_wait<0>();
                pin_acc(acc);
            } else {
                wgmma_wait<1>();
                if (kb + 1 == p.KB) {  // the epilogue reads the accumulators
                    wgmma_wait<0>();
                    pin_acc(acc);
                }
            }
        }
#pragma unroll
        for (int ks = 0; ks < (T::WG ? 0 : T::BK / 32); ++ks) {
            uint32_t af[T::MT][4], bf[T::NT][2];
#pragma unroll
            for (int mt = 0; mt < T::MT; ++mt) {
                const int row = wm * T::WM + mt * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
                ldmatrix_x4(af[mt], sa + swz<T>(row, ks * 2 + (lane >> 4)));
            }
#pragma unroll
            for (int nt = 0; nt < T::NT; nt += 2) {
                const int row = wn * T::WN + nt * 8 + (lane & 7) + (lane >> 4) * 8;
                uint32_t t[4];
                ldmatrix_x4(t, sb + swz<T>(row, ks * 2 + ((lane >> 3) & 1)));
                bf[nt][0] = t[0];
                bf[nt][1] = t[1];
                bf[nt + 1][0] = t[2];
                bf[nt + 1][1] = t[3];
            }
#pragma unroll
            for (int mt = 0; mt < T::MT; ++mt)
#pragma unroll
                for (int nt = 0; nt < T::NT; ++nt) mma_s8(acc[mt][nt], af[mt], bf[nt][0], bf[nt][1]);
        }
        if (++kb == p.KB) {  // the tile's last k block: its epilogue, while the next tile's loads fly
            epilogue_tile(tile * T::BM);
            zero_acc();
            kb = 0;
            ++tile;
        }
    }
}

template <class T, I8Elem OT, EpiAct A>
void launch_typed(const Params& p, cudaStream_t stream) {
    static std::once_flag once;
    std::call_once(once, [] {
        CUDA_CHECK(cudaFuncSetAttribute(conv_int8_kernel<T, OT, A>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        std::max(T::SMEM, T::SMEM_SEPARATE)));
    });
    const int m_tiles = (p.M + T::BM - 1) / T::BM;
    const dim3 grid(static_cast<unsigned>((m_tiles + p.tpc - 1) / p.tpc),
                    static_cast<unsigned>((p.K + T::BN - 1) / T::BN));
    const int smem = p.tpc > 1 ? T::SMEM_SEPARATE : T::SMEM;
    conv_int8_kernel<T, OT, A><<<grid, kCtaThreads, smem, stream>>>(p);
}

// --- The warp-specialized wgmma kernel (sm_90a; experimental) -------------------------------------------
// For the deep convs, where cuDNN's engines beat the kernel above (docs/int8.md). A persistent CTA of
// three warpgroups (one an SM; the grid the SM count, at most the tiles) takes tiles BM x BN in turn,
// tile j = blockIdx.x + i gridDim.x, the N tiles of one M tile adjacent (CTAs running together share
// their pixel rows in L2). The producer warpgroup (0) walks every tile's k blocks with cp.async into a
// STAGES-deep ring and marks each block full on an mbarrier once its copies have landed (waiting on them
// DEPTH blocks later, so that DEPTH blocks stay in flight); the two consumer warpgroups (1, 2: rows
// 0 .. BM/2 - 1 and BM/2 ..) wait for a block, multiply it with wgmma (m64 x nBN x k32) and mark it empty
// once their multiplies have read it. No CTA-wide barrier in the main loop; the producer runs on into the
// next tile's blocks while the consumers run the epilogue (the folded S8 one only: fold_scales' cases,
// which YOLO's deep convs are), 128 columns at a time through each consumer's staging rows. The k blocks
// go channel block by channel block and within one every tap (TapInnerWalk order), and the pixel rows
// are read through L1 (cp.async.ca): a block's rows overlap the previous tap's but for a row or a column
// of the window, so most of them are L1 hits rather than L2 reads. The accumulators start at
// kRoundMagicBits as above.
// PINGPONG: the two consumers take whole tiles by turns (the CTA's tiles 0, 2, 4, ... the first, 1, 3, ...
// the second), so that one's epilogue runs while the other multiplies; otherwise they split each tile's
// rows and run their epilogues at the same time, the tensor cores idle meanwhile (Nsight Compute, H100,
// YOLOv3's layer_14: 45 % of the consumers' samples in the epilogue, docs/int8.md thirteenth session).
// TMA: the producer is one thread issuing the tensor memory accelerator's bulk copies (an im2col one for
// the pixel rows, a tiled one for the weights; tensor maps made on the host at each launch), each stage's
// `full` barrier completing when their bytes have landed; otherwise 128 threads copy 16 bytes each with
// cp.async (Nsight Compute, thirteenth session: the copies in flight, not the ring's depth, held the
// consumers back).
// CLUSTER 2 (TMA only): CTAs in pairs (a thread-block cluster) taking adjacent M tiles of the same N tile
// at the same time; each producer loads half of the pair's weight rows and multicasts them into both
// CTAs' stages, so that a CTA reads 16 KB a k block from L2 instead of 24 (128x256). A stage is refilled
// once the consumers of both CTAs have released it (each consumer warp arrives on both CTAs' `empty`).
// BK 32 (TMA only): blocks of one tap of 32 channels in wgmma's 32-byte swizzle, for the 32-channel convs
// (YOLOv3's layer_1 and layer_3, 64 outputs: BN 64), whose cp.async tiles spend their instructions on the
// loads' addresses. BK 128 (TMA only): 128 channels a block in the 128-byte swizzle, so that each of
// TMA's row requests moves 128 bytes rather than 64 (Nsight Compute's stall samples, H100, 2026-12-06:
// with 64-byte rows the consumers waited on `full` for 23 % of their samples and the producer on
// `empty`, with L2 at 42 %; the 128-deep tiles measured 5-20 % faster, and the epilogue, 47 % of the
// consumers' samples, is the larger part).
template <int STAGES_, int BM_, int BN_, bool PINGPONG_ = false, bool TMA_ = false, int CLUSTER_ = 1,
          int BK_ = 64>
struct WsTile {
    static constexpr int BM = BM_, BN = BN_, BK = BK_, STAGES = STAGES_, CLUSTER = CLUSTER_;
    static constexpr bool PINGPONG = PINGPONG_, TMA = TMA_;
    static constexpr int FULL_ARRIVALS = TMA ? 1 : 128;  // the TMA thread's arrive (with its bytes)
    static constexpr int THREADS = 384, CONSUMER_ROWS = PINGPONG ? BM : BM / 2;
    // Lane 0 of each warp that reads a block, in each CTA of the cluster.
    static constexpr int EMPTY_ARRIVALS = (PINGPONG ? 4 : 8) * CLUSTER;
    static constexpr int DEPTH = STAGES - 2;  // k blocks whose copies are in flight (see the producer)
    static constexpr int CH = BK / 16, ROWS_PER_LINE = 8 / CH, TCH = CH;  // swz's; one tap a block
    static constexpr int A_BYTES = BM * BK, B_BYTES = BN * BK, STAGE_BYTES = A_BYTES + B_BYTES;
    static constexpr int A_LOADS = BM * CH / 128, B_LOADS = BN * CH / 128;  // per producer thread
    static constexpr int MT = CONSUMER_ROWS / 64, NT = BN / 8;              // m64 halves, n8 blocks
    static constexpr int CHUNK = BN < 128 ? BN : 128, CHUNKS = BN / CHUNK;  // epilogue column chunks
    static constexpr int EPI_LD = CHUNK + 8, EPI_BYTES = 64 * EPI_LD * 4;   // one m64 x chunk, per consumer
    static constexpr int RING = STAGE_BYTES * STAGES, STAGED_AT = RING, BARS_AT = RING + 2 * EPI_BYTES;
    static constexpr int SMEM = BARS_AT + 2 * STAGES * 8 + 2 * 8;  // full, empty; PINGPONG's done
    static_assert(DEPTH >= 1 && SMEM <= 227 * 1024, "a block in flight; the SM's shared memory");
    static_assert(MT >= 1 && (BN == 64 || BN == 128 || BN == 256), "m64 halves; wgmma n64, n128 or n256");
    static_assert(BK == 64 || ((BK == 32 || BK == 128) && TMA), "64-deep blocks, or 32/128 loaded by TMA");
    static_assert(!TMA || (BM <= 256 && BN <= 256 && STAGE_BYTES % 1024 == 0 && A_BYTES % 1024 == 0),
                  "a TMA box holds at most 256 rows; its swizzle starts at 1024-byte boundaries");
    static_assert(CLUSTER == 1 || (CLUSTER == 2 && TMA && BN / 2 * BK % 512 == 0), "pairs, TMA multicast");
    // Units of work: groups of CLUSTER adjacent M tiles by the N tiles (CLUSTER 1: the tiles); unit u's M
    // tile group u / n_tiles(K), N tile u % n_tiles(K).
    __host__ __device__ static int n_tiles(int K) { return (K + BN - 1) / BN; }
    __host__ __device__ static int units(int M, int K) {
        return ((M + BM - 1) / BM + CLUSTER - 1) / CLUSTER * n_tiles(K);
    }
};

// D (m64 x BN) += A x B (k32), m64n64k32, m64n128k32 or m64n256k32.
template <int BN>
__device__ __forceinline__ void wgmma_k32_s8(int32_t (&d)[BN / 8][4], uint64_t a, uint64_t b) {
    if constexpr (BN == 64)
        wgmma_m64n64k32_s8(d, a, b);
    else if constexpr (BN == 128)
        wgmma_m64n128k32_s8(d, a, b);
    else
        wgmma_m64n256k32_s8(d, a, b);
}

__device__ __forceinline__ void mbar_init(uint32_t bar, int count) {
    RTDET_WGMMA_BODY(asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count)
                                  : "memory");)
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
    RTDET_WGMMA_BODY(
        asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}\n" ::"r"(bar)
                     : "memory");)
}
// Waits until the barrier's phase `parity` has completed. A wait past 2^34 cycles (about 9 s; a block's
// copies take microseconds) traps: a pipeline that never fills fails its launch instead of hanging the
// process.
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
    RTDET_WGMMA_BODY(const long long start = clock64(); uint32_t done = 0; while (!done) {
        asm volatile(
            "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, "
            "p;\n}\n"
            : "=r"(done)
            : "r"(bar), "r"(parity)
            : "memory");
        if (!done && clock64() - start > (1ll << 34)) __trap();
    })
}
// Arrives on the barrier (the phase's one arrival, TMA's producer) and adds `bytes` to the bytes the
// phase waits for: the phase completes when the copies signalling it have written them.
__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes) {
    RTDET_WGMMA_BODY(
        asm volatile(
            "{\n.reg .b64 st;\nmbarrier.arrive.expect_tx.shared::cta.b64 st, [%0], %1;\n}\n" ::"r"(bar),
            "r"(bytes)
            : "memory");)
}
// TMA, im2col mode: the box's pixels (the map's pixelsPerColumn, from pixel (w, h, n) on, in the
// traversal order W, H, N with the conv's strides, within the map's bounding box) at tap offset
// (off_w, off_h), channels c .. c + channelsPerPixel - 1, to `smem`; out-of-range pixels (the padding,
// past the batch) are zeros. Completes its bytes on `bar`.
__device__ __forceinline__ void tma_im2col_4d(uint32_t smem, const CUtensorMap* map, int c, int w, int h,
                                              int n, uint16_t off_w, uint16_t off_h, uint32_t bar) {
    RTDET_WGMMA_BODY(
        asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.im2col.mbarrier::complete_tx::"
                     "bytes [%0], [%1, {%2, %3, %4, %5}], [%6], {%7, %8};\n" ::"r"(smem),
                     "l"(reinterpret_cast<uint64_t>(map)), "r"(c), "r"(w), "r"(h), "r"(n), "r"(bar),
                     "h"(off_w), "h"(off_h)
                     : "memory");)
}
// TMA, tiled mode: the map's box at (x0, x1) (rows past the tensor zeros) to `smem`, completing on `bar`.
__device__ __forceinline__ void tma_tile_2d(uint32_t smem, const CUtensorMap* map, int x0, int x1,
                                            uint32_t bar) {
    RTDET_WGMMA_BODY(
        asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::"
                     "bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(smem),
                     "l"(reinterpret_cast<uint64_t>(map)), "r"(x0), "r"(x1), "r"(bar)
                     : "memory");)
}
// tma_tile_2d, the box written at the same offset into the shared memory of every CTA of the cluster in
// `mask`, completing bytes on each one's barrier at `bar`'s offset.
__device__ __forceinline__ void tma_tile_2d_multicast(uint32_t smem, const CUtensorMap* map, int x0, int x1,
                                                      uint32_t bar, uint16_t mask) {
    RTDET_WGMMA_BODY(
        asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::"
                     "bytes.multicast::cluster [%0], [%1, {%2, %3}], [%4], %5;\n" ::"r"(smem),
                     "l"(reinterpret_cast<uint64_t>(map)), "r"(x0), "r"(x1), "r"(bar), "h"(mask)
                     : "memory");)
}
// Arrives on the barrier at offset `bar` in the shared memory of cluster CTA `rank` (this one included),
// with a local arrive's CTA-scope release: what it orders are the consumer's wgmma reads, already done.
// (A cluster-scope release is a memory barrier an arrival: Nsight Compute, H100, 2026-12-06, the pairs'
// warps stalled on it half their cycles, 2.4x the time of the tile without a cluster.)
__device__ __forceinline__ void mbar_arrive_cluster(uint32_t bar, uint32_t rank) {
    RTDET_WGMMA_BODY(asm volatile("{\n.reg .b32 ra;\nmapa.shared::cluster.u32 ra, %0, %1;\n"
                                  "mbarrier.arrive.shared::cluster.b64 _, [ra];\n}\n" ::"r"(bar),
                                  "r"(rank)
                                  : "memory");)
}
// Every thread of the cluster (those not exited) here before any goes on.
__device__ __forceinline__ void cluster_sync() {
    RTDET_WGMMA_BODY(asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;\n" ::
                                      : "memory");)
}
// A barrier of `count` threads (a multiple of 32) on hardware barrier `id` (1-15; 0 is __syncthreads').
__device__ __forceinline__ void named_barrier(int id, int count) {
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}

template <class W, EpiAct A>
__global__ void __launch_bounds__(W::THREADS, 1)
    conv_int8_ws_kernel(const Params p, const __grid_constant__ CUtensorMap map_x,
                        const __grid_constant__ CUtensorMap map_w) {
    extern __shared__ __align__(1024) uint8_t smem[];
    const int wg = threadIdx.x / 128, t = threadIdx.x % 128, lane = t & 31, warp = t >> 5;
    const auto sbase = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
    const uint32_t full = sbase + W::BARS_AT, empty = full + W::STAGES * 8;  // barrier s at + 8 s
    // PINGPONG: done + 8 c completes a phase each time consumer c has multiplied one of its tiles. A
    // consumer starts a tile's multiplies only once the other has finished the CTA's tile before it, so
    // that it never waits on a `full` barrier two phases ahead of the blocks still in use (a parity
    // wait cannot tell phase k from phase k - 2).
    const uint32_t done = empty + W::STAGES * 8;
    // The CTA's tiles: units u = first, first + step, ... of M tile groups (CLUSTER adjacent M tiles) by
    // N tiles; this CTA takes M tile `rank` of each group (past M in a last, partial group: zeros loaded,
    // nothing stored).
    constexpr int CL = W::CLUSTER;
    const int n_tiles = W::n_tiles(p.K), units = W::units(p.M, p.K);
    const int first = blockIdx.x / CL, step = gridDim.x / CL, rank = blockIdx.x % CL;
    auto m_tile = [&](int j) { return j / n_tiles * CL + rank; };
    auto n_start = [&](int j) { return j % n_tiles * W::BN; };
    if (threadIdx.x == 0) {
        for (int s = 0; s < W::STAGES; ++s) {
            mbar_init(full + 8 * s, W::FULL_ARRIVALS);  // every producer thread once a phase (TMA: one)
            mbar_init(empty + 8 * s, W::EMPTY_ARRIVALS);
        }
        mbar_init(done, 4);  // lane 0 of each warp of the consumer
        mbar_init(done + 8, 4);
        RTDET_WGMMA_BODY(asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");)
    }
    if constexpr (CL > 1)
        cluster_sync();  // both CTAs' barriers initialized before either's copies or arrivals reach them
    else
        __syncthreads();

    if (W::TMA && wg == 0) {  // the producer: one thread issuing bulk copies
        if (t != 0) return;
        int g = 0;
        for (int j = first; j < units; j += step) {
            const int mt = m_tile(j), n0 = n_start(j);
            // The tile's first pixel, as the im2col box's first window origin.
            const int m0 = mt * W::BM, n = p.div_ohw.div(m0), q = m0 - n * p.OHW, oh = p.div_ow.div(q),
                      ow = q - oh * p.OW;
            const int h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
            TapInnerWalk ld;
            for (int kb = 0; kb < p.KB; ++kb, ++g) {
                const int s = g % W::STAGES;
                if (g >= W::STAGES) mbar_wait(empty + 8 * s, ((g / W::STAGES) - 1) & 1);
                const uint32_t sa = sbase + s * W::STAGE_BYTES, sb = sa + W::A_BYTES, bar = full + 8 * s;
                mbar_arrive_expect_tx(bar, W::STAGE_BYTES);
                tma_im2col_4d(sa, &map_x, ld.cb * W::BK, w0, h0, n, static_cast<uint16_t>(ld.s * p.dw),
                              static_cast<uint16_t>(ld.r * p.dh), bar);
                if constexpr (CL > 1)  // this CTA's share of the pair's weight rows, into both
                    tma_tile_2d_multicast(sb + rank * (W::BN / CL) * W::BK, &map_w,
                                          ld.rs * p.C + ld.cb * W::BK, n0 + rank * (W::BN / CL), bar,
                                          static_cast<uint16_t>((1 << CL) - 1));
                else
                    tma_tile_2d(sb, &map_w, ld.rs * p.C + ld.cb * W::BK, n0, bar);
                ld.step(p.R, p.S);
            }
        }
        return;
    }
    if (wg == 0) {                                   // the producer
        int g = 0;                                   // blocks loaded so far
        for (int j = first; j < units; j += step) {  // CL 1
            PixelRows<W, W::A_LOADS> ar;
            ar.set(p, m_tile(j), t, 128);
            const WeightRows<W, W::B_LOADS> wr(p, n_start(j), t, 128);
            TapInnerWalk ld;
            for (int kb = 0; kb < p.KB; ++kb, ++g) {
                const int s = g % W::STAGES;
                if (g >= W::STAGES) mbar_wait(empty + 8 * s, ((g / W::STAGES) - 1) & 1);
                const uint32_t sa = sbase + s * W::STAGE_BYTES, sb = sa + W::A_BYTES;
                const int rdh = ld.r * p.dh, sdw = ld.s * p.dw;
                ar.template load<true>(p, sa, (rdh * p.W + sdw) * p.C + ld.cb * W::BK, rdh, sdw, true);
                wr.load(p, sb, ld.rs * p.C + ld.cb * W::BK, true);
                cp_async_commit();
                ld.step(p.R, p.S);
                // Block g - DEPTH's copies (this thread's) have landed: visible to wgmma, then marked full.
                if (g >= W::DEPTH) {
                    cp_async_wait<W::DEPTH>();
                    fence_proxy_async();
                    mbar_arrive(full + 8 * ((g - W::DEPTH) % W::STAGES));
                }
            }
        }
        cp_async_wait<0>();
        fence_proxy_async();
        for (int b = max(g - W::DEPTH, 0); b < g; ++b) mbar_arrive(full + 8 * (b % W::STAGES));
        return;
    }

    // A consumer: rows c * CONSUMER_ROWS .. + CONSUMER_ROWS - 1 of each tile (PINGPONG: every row of
    // every other tile).
    const int c = wg - 1;
    int32_t acc[W::MT][W::NT][4];
    auto* staged = reinterpret_cast<int32_t*>(smem + W::STAGED_AT + c * W::EPI_BYTES);
    constexpr int V = 8, RUNS = W::CHUNK / V, ROW_STEP = 128 / RUNS, PRE = 64 / ROW_STEP;
    const int c0 = (t % RUNS) * V;
    const bool res = p.res_type != I8Elem::None;
    // Stage s read: each warp's lane 0 releases it in every CTA of the cluster (their producers refill it).
    auto release = [&](int s) {
        if (lane != 0) return;
        if constexpr (CL > 1) {
#pragma unroll
            for (int r = 0; r < CL; ++r) mbar_arrive_cluster(empty + 8 * s, static_cast<uint32_t>(r));
        } else {
            mbar_arrive(empty + 8 * s);
        }
    };
    int g = 0, i = 0;  // the CTA's blocks and tiles so far
    for (int j = first; j < units; j += step, ++i) {
        if (W::PINGPONG && (i & 1) != c) {  // the other consumer's tile: its blocks are skipped
            g += p.KB;
            continue;
        }
        const int mt = m_tile(j), n0 = n_start(j);
        if (W::PINGPONG && i > 0) mbar_wait(done + 8 * (1 - c), ((i - 1) / 2) & 1);
        reset_acc(acc);
        pin_acc(acc);
        for (int kb = 0; kb < p.KB; ++kb, ++g) {
            const int s = g % W::STAGES;
            mbar_wait(full + 8 * s, (g / W::STAGES) & 1);
            const uint32_t sa = sbase + s * W::STAGE_BYTES + (W::PINGPONG ? 0 : c * W::CONSUMER_ROWS * W::BK),
                           sb = sbase + s * W::STAGE_BYTES + W::A_BYTES;
            wgmma_fence();
#pragma unroll
            for (int ks = 0; ks < W::BK / 32; ++ks)
#pragma unroll
                for (int mh = 0; mh < W::MT; ++mh)
                    wgmma_k32_s8<W::BN>(acc[mh], wgmma_desc<W::BK>(sa + mh * 64 * W::BK + ks * 32),
                                        wgmma_desc<W::BK>(sb + ks * 32));
            wgmma_commit();
            wgmma_wait<1>();  // the block before this one has been read: its stage may be refilled
            if (kb > 0) release((g - 1) % W::STAGES);
        }
        wgmma_wait<0>();
        pin_acc(acc);
        if (p.KB > 0) release((g - 1) % W::STAGES);
        if (W::PINGPONG && lane == 0) mbar_arrive(done + 8 * c);

        // The epilogue, one m64 half and 128 columns at a time through this consumer's staging rows.
        const int m_base = mt * W::BM + (W::PINGPONG ? 0 : c * W::CONSUMER_ROWS);
#pragma unroll
        for (int mh = 0; mh < W::MT; ++mh)
#pragma unroll
            for (int ck = 0; ck < W::CHUNKS; ++ck) {
                const int k0 = n0 + ck * W::CHUNK + c0;
                stage_fragments(*reinterpret_cast<int32_t(*)[W::CHUNK / 8][4]>(&acc[mh][ck * (W::CHUNK / 8)]),
                                staged, W::EPI_LD, warp * 16, 0, lane);
                float run_alpha[V], run_bias[V];
#pragma unroll
                for (int e = 0; e < V; ++e) channel_consts(p, k0 + e, run_alpha[e], run_bias[e]);  // folded
                Vec<uint32_t, V / 4> words[PRE];
#pragma unroll
                for (int i = 0; i < PRE; ++i) {
                    const int m = m_base + mh * 64 + t / RUNS + i * ROW_STEP;
                    words[i] = Vec<uint32_t, V / 4>{};
                    if (res && m < p.M && k0 < p.K) {
                        const int n = p.div_ohw.div(m), q = m - n * p.OHW;
                        words[i] = load_res_words<V>(p, n * p.rbs + static_cast<int64_t>(q) * p.K + k0);
                    }
                }
                named_barrier(1 + c, 128);
#pragma unroll
                for (int i = 0; i < PRE; ++i) {
                    const int row = t / RUNS + i * ROW_STEP, m = m_base + mh * 64 + row;
                    if (m >= p.M || k0 >= p.K) continue;
                    const int n = p.div_ohw.div(m), q = m - n * p.OHW;
                    float a[V];
                    staged_run(staged + row * W::EPI_LD + c0, p.small_acc, a);
                    const int64_t y_at = n * p.ybs + static_cast<int64_t>(q) * p.K + k0;
                    if (res)
                        epilogue_run_folded<A, V, true>(p, a, run_alpha, run_bias, y_at, words[i]);
                    else
                        epilogue_run_folded<A, V, false>(p, a, run_alpha, run_bias, y_at, words[i]);
                }
                named_barrier(1 + c, 128);  // the staging rows are rewritten next
            }
    }
    // The other CTA's consumers may still arrive on this one's barriers: neither leaves before both are
    // done (every copy into this CTA's stages was for a block its consumers have read).
    if constexpr (CL > 1) cluster_sync();
}

// The SMs of the current device (the persistent grid), looked up once a device.
int sm_count() {
    static std::array<std::atomic<int>, 64> counts{};
    int dev = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    if (dev < 0 || dev >= static_cast<int>(counts.size())) dev = 0;
    int n = counts[static_cast<size_t>(dev)].load(std::memory_order_relaxed);
    if (n == 0) {
        CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
        counts[static_cast<size_t>(dev)].store(n, std::memory_order_relaxed);
    }
    return n;
}

std::atomic<int> g_ws_grid_cap{0};  // conv_int8_ws_grid_cap

// The driver's tensor-map encoders (CUDA 12.0's), looked up once through the runtime: no link to libcuda.
template <typename Fn>
Fn driver_entry(const char* name) {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult found{};
    CUDA_CHECK(cudaGetDriverEntryPointByVersion(name, &f, 12000, cudaEnableDefault, &found));
    ENGINE_CHECK(found == cudaDriverEntryPointSuccess && f != nullptr, "cuda: the driver has no ", name);
    return reinterpret_cast<Fn>(f);
}

// The warp-specialized TMA tiles' bounds (tma_fits): the im2col map's bounding-box corners are 8-bit
// signed for a 4-D tensor, its traversal strides at most 8; the instruction's tap offsets 16-bit.
bool tma_fits(const ConvInt8Args& a) {
    auto corner = [](int v) { return v >= -128 && v <= 127; };
    const int up_w = (a.ow - 1) * a.stride_w - a.pad_w - (a.w_in - 1),
              up_h = (a.oh - 1) * a.stride_h - a.pad_h - (a.h - 1);
    return corner(-a.pad_w) && corner(-a.pad_h) && corner(up_w) && corner(up_h) && a.stride_w <= 8 &&
           a.stride_h <= 8 && (a.s - 1) * a.dil_w < 65536 && (a.r - 1) * a.dil_h < 65536 &&
           a.x_batch_stride % 16 == 0 && a.x_batch_stride >= static_cast<int64_t>(a.h) * a.w_in * a.c;
}

// The TMA tiles' maps: x as an NHWC im2col tensor (dims C, W, H, N; boxes of BM pixels by BK channels,
// the window origins' box from (-pw, -ph) to the last output pixel's origin, the conv's strides), the
// weights as a [K][R S C] matrix (boxes of BN rows by BK bytes); both with wgmma's BK-byte swizzle, and
// zeros outside the tensors (the padding, a last tile's rows past M or K).
void encode_ws_maps(const Params& p, int bm, int bn, int bk, CUtensorMap* map_x, CUtensorMap* map_w) {
    static const auto im2col = driver_entry<PFN_cuTensorMapEncodeIm2col_v12000>("cuTensorMapEncodeIm2col");
    static const auto tiled = driver_entry<PFN_cuTensorMapEncodeTiled_v12000>("cuTensorMapEncodeTiled");
    const int batch = p.M / p.OHW;
    const cuuint64_t x_dims[4] = {static_cast<cuuint64_t>(p.C), static_cast<cuuint64_t>(p.W),
                                  static_cast<cuuint64_t>(p.H), static_cast<cuuint64_t>(batch)};
    const cuuint64_t x_strides[3] = {static_cast<cuuint64_t>(p.C), static_cast<cuuint64_t>(p.W) * p.C,
                                     static_cast<cuuint64_t>(p.xbs)};
    const int lower[2] = {-p.pw, -p.ph};  // W, H
    const int upper[2] = {(p.OW - 1) * p.sw - p.pw - (p.W - 1), (p.OH - 1) * p.sh - p.ph - (p.H - 1)};
    const cuuint32_t x_steps[4] = {1, static_cast<cuuint32_t>(p.sw), static_cast<cuuint32_t>(p.sh), 1};
    const CUtensorMapSwizzle swizzle = bk == 128  ? CU_TENSOR_MAP_SWIZZLE_128B
                                       : bk == 64 ? CU_TENSOR_MAP_SWIZZLE_64B
                                                  : CU_TENSOR_MAP_SWIZZLE_32B;
    CUresult r = im2col(map_x, CU_TENSOR_MAP_DATA_TYPE_UINT8, 4, const_cast<int8_t*>(p.x), x_dims, x_strides,
                        lower, upper, static_cast<cuuint32_t>(bk), static_cast<cuuint32_t>(bm), x_steps,
                        CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                        CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    ENGINE_CHECK(r == CUDA_SUCCESS, "cuda int8 conv: the input's TMA map (", p.H, "x", p.W, "x", p.C,
                 ", batch ", batch, "): error ", static_cast<int>(r));
    const int64_t row = static_cast<int64_t>(p.R) * p.S * p.C;
    const cuuint64_t w_dims[2] = {static_cast<cuuint64_t>(row), static_cast<cuuint64_t>(p.K)};
    const cuuint64_t w_strides[1] = {static_cast<cuuint64_t>(row)};
    const cuuint32_t box[2] = {static_cast<cuuint32_t>(bk), static_cast<cuuint32_t>(bn)}, w_steps[2] = {1, 1};
    r = tiled(map_w, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<int8_t*>(p.w), w_dims, w_strides, box,
              w_steps, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
              CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    ENGINE_CHECK(r == CUDA_SUCCESS, "cuda int8 conv: the weights' TMA map (", p.K, " x ", row, "): error ",
                 static_cast<int>(r));
}

template <class W, EpiAct A>
void launch_ws_typed(const Params& p, cudaStream_t stream) {
    static std::once_flag once;
    std::call_once(once, [] {
        CUDA_CHECK(cudaFuncSetAttribute(conv_int8_ws_kernel<W, A>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, W::SMEM));
    });
    const int64_t units = W::units(p.M, p.K);
    const int cap = g_ws_grid_cap.load(std::memory_order_relaxed);
    CUtensorMap map_x{}, map_w{};  // unused by the cp.async tiles
    if constexpr (W::TMA) encode_ws_maps(p, W::BM, W::BN / W::CLUSTER, W::BK, &map_x, &map_w);
    if constexpr (W::CLUSTER == 1) {
        const auto grid = static_cast<unsigned>(std::min<int64_t>(units, cap > 0 ? cap : sm_count()));
        conv_int8_ws_kernel<W, A><<<grid, W::THREADS, W::SMEM, stream>>>(p, map_x, map_w);
    } else {
        // Clusters of CLUSTER CTAs: a grid of as many clusters as run at once (at most the units).
        cudaLaunchConfig_t cfg{};
        cudaLaunchAttribute attr[1]{};
        attr[0].id = cudaLaunchAttributeClusterDimension;
        attr[0].val.clusterDim.x = W::CLUSTER;
        attr[0].val.clusterDim.y = attr[0].val.clusterDim.z = 1;
        cfg.blockDim = dim3(W::THREADS);
        cfg.dynamicSmemBytes = W::SMEM;
        cfg.stream = stream;
        cfg.attrs = attr;
        cfg.numAttrs = 1;
        static const int resident = [&] {  // clusters that fit on the device at once
            int n = 0;
            cfg.gridDim = dim3(static_cast<unsigned>(sm_count() / W::CLUSTER * W::CLUSTER));
            CUDA_CHECK(cudaOccupancyMaxActiveClusters(&n, conv_int8_ws_kernel<W, A>, &cfg));
            return std::max(n, 1);
        }();
        const int64_t clusters = std::min<int64_t>(units, cap > 0 ? std::max(cap / W::CLUSTER, 1) : resident);
        cfg.gridDim = dim3(static_cast<unsigned>(clusters * W::CLUSTER));
        CUDA_CHECK(cudaLaunchKernelEx(&cfg, conv_int8_ws_kernel<W, A>, p, map_x, map_w));
    }
}

template <class W>
void launch_ws(const Params& p, I8Elem out, cudaStream_t stream) {
    ENGINE_CHECK(out == I8Elem::S8 && p.fold && epi_act(p.act) != EpiAct::Other,
                 "cuda int8 conv: the warp-specialized tile runs folded s8 outputs only");
    if (epi_act(p.act) == EpiAct::Leaky)
        launch_ws_typed<W, EpiAct::Leaky>(p, stream);
    else
        launch_ws_typed<W, EpiAct::None>(p, stream);
}

// --- The direct kernel: fragments from global memory, the epilogue in registers ------------------------
// For YOLO's first convs (the image's 3 channels packed, and the 32-channel 3x3 convs to 32 or 64
// outputs at 208x208), whose time in the kernels above went to instructions rather than to memory or the
// multiplies (docs/int8.md: 25-44 a thread per output, most of them the shared-memory ring's loads and
// addresses and the epilogue's staging). Here each warp owns whole tiles of ROWS pixels x every output
// channel (N = 8 NT, the conv's K) and never waits on another warp: no shared-memory ring, no barrier past
// the start. A thread's A fragments come straight from global memory (through L1): mma.sync m16n8k32's
// A registers a0/a2 of row g are k bytes 4t.. and 16 + 4t.., so with each tap's 32 input channels taken
// in the order 8t .. 8t + 7 (the weights' k order permuted to match) they are one 8-byte load of the
// pixel's tap; packed taps (4 channels each) are one 4-byte load a slot. The output channels are
// permuted likewise (column 8 j + 2 t + e of the MMA is channel RUN t + 2 j + e), so that each thread's
// accumulators of a row are RUN adjacent channels: the folded epilogue (epilogue_run_folded) runs on
// them in registers and stores 8 or 16 bytes, with no staging through shared memory. The B fragments
// (the whole conv's weights) are loaded once: into registers (packed: 2 k steps) or into shared memory in
// fragment order (one 16-byte load a thread per two n8 blocks of a tap). Persistent: warp tiles
// blockIdx.x * WARPS + warp, then every gridDim.x * WARPS-th. K = N, or (TileInfo::k_parts) any multiple:
// each CTA then computes one part of N channels (its weights alone in shared memory), the CTAs of a group
// (blockIdx.x / parts) the same pixels. Folded S8 outputs only (fold_scales), 3x3 or 1x1 kernels (any
// stride, padding, dilation).
// TAPS: 9 (3x3) or 1 (1x1); CS: 32-channel blocks a tap (the input's C = 32 CS: 1x1 convs of 64 or 128,
// 3x3 convs of 64).
// PF: the next tile's A fragments prefetched (kernel below). LATE: the next tile's A fragments loaded
// into the same registers as soon as this tile's multiplies are issued, so that its epilogue runs while
// they are in flight (no extra registers, unlike PF). ASYNC (stages): the fragments of the warp's next
// ASYNC - 1 tiles copied into its own ring in shared memory (cp.async, zeros for the taps outside the
// image), each thread reading back only what it copied (so no barrier but its own wait): loads in flight
// hold no registers.
// NCHW: the F32 NCHW output of a graph output the conv writes itself (YOLO's 255-channel heads: act none
// or leaky, no residual, the reference's unfolded epilogue), K any count: its last part ragged (the
// channels past K computed from zero weights and not stored). Each store of a warp is 8 adjacent pixels
// (32 bytes) of 4 channels.
template <int MT_, int NT_, bool PACKED_, int MINB_, int TAPS_ = 9, int CS_ = 1, bool PF_ = false,
          bool LATE_ = false, int ASYNC_ = 0, bool NCHW_ = false>
struct DirectTile {
    static constexpr int MT = MT_, NT = NT_, MINB = MINB_, TAPS = TAPS_, CS = CS_;
    static constexpr bool PACKED = PACKED_, PF = PF_, LATE = LATE_, NCHW = NCHW_;
    static constexpr int ASYNC = ASYNC_;
    static_assert(int{PF} + int{LATE} + int{ASYNC > 0} <= 1, "one of the prefetches");
    static constexpr int N = 8 * NT, ROWS = 16 * MT, RUN = 2 * NT;  // RUN: a thread's channels a row
    // The CTAs of a group (one a part of K's channels): NCHW's last part may be partial.
    __host__ __device__ static constexpr int parts(int k) { return NCHW ? (k + N - 1) / N : k / N; }
    // k32 steps: packed, 16 slots of a tap's 4 channels (taps 0-7, then 8 and zeros); else a 32-channel
    // block of a tap each (step s: tap s / CS, block s % CS).
    static constexpr int STEPS = PACKED ? 2 : TAPS * CS;
    static constexpr int XC = PACKED ? kPackedC : 32 * CS;               // x's channels
    static constexpr int ROW_BYTES = PACKED ? kPackedDepth : TAPS * XC;  // a weight row (output channel)
    static constexpr int WARPS = 4, THREADS = 32 * WARPS;
    // The B fragments in registers (packed, or at most 16 of them a thread), else in shared memory:
    // [step][n8 block pair][lane] 16 bytes.
    static constexpr bool B_REGS = PACKED || STEPS * NT <= 8;
    static constexpr int B_SMEM = B_REGS ? 0 : STEPS * NT * 32 * 8;
    // ASYNC: each warp's ring of ASYNC tiles' A fragments, copied by cp.async: a thread's units (4-byte
    // packed slots, or the 8 bytes of a0/a2) a tile, each unit's 32 lanes side by side.
    static constexpr int UNIT = PACKED ? 4 : 8, UNITS = PACKED ? STEPS * MT * 4 : STEPS * MT * 2;
    static constexpr int A_SMEM = ASYNC * WARPS * UNITS * 32 * UNIT;
    static constexpr int SMEM = B_SMEM + A_SMEM;
    static_assert(NT == 4 || NT == 8, "32 or 64 output channels");
    static_assert(!PACKED || (kPackedDepth == 64 && TAPS == 9 && CS == 1), "packed rows of 16 slots, 3x3");
    static_assert(TAPS == 9 || TAPS == 1, "3x3 or 1x1");
};

// A row (pixel) of a warp tile: where its window starts and whether every tap lies in the image.
struct DirectRow {
    const int8_t* origin;
    int ih0, iw0;
    bool valid, inside;
};

__device__ __forceinline__ DirectRow direct_row(const Params& p, int m, int xc) {
    DirectRow r{};
    r.valid = m < p.M;
    const int mm = r.valid ? m : 0;
    const int n = p.div_ohw.div(mm), q = mm - n * p.OHW, oh = p.div_ow.div(q), ow = q - oh * p.OW;
    r.ih0 = oh * p.sh - p.ph;
    r.iw0 = ow * p.sw - p.pw;
    r.origin = p.x + n * p.xbs + static_cast<int64_t>(r.ih0 * p.W + r.iw0) * xc;
    r.inside = r.valid && r.ih0 >= 0 && r.iw0 >= 0 && r.ih0 + p.span_h <= p.H && r.iw0 + p.span_w <= p.W;
    return r;
}

// Whether the tap at rows dh and columns dw from the row's window origin lies in the image.
__device__ __forceinline__ bool direct_tap_ok(const Params& p, const DirectRow& r, int dh, int dw) {
    return r.inside || (r.valid && static_cast<unsigned>(r.ih0 + dh) < static_cast<unsigned>(p.H) &&
                        static_cast<unsigned>(r.iw0 + dw) < static_cast<unsigned>(p.W));
}

template <class T, EpiAct A, bool RES, bool SMALL>
__global__ void __launch_bounds__(T::THREADS, T::MINB) conv_int8_direct_kernel(const Params p) {
    extern __shared__ __align__(16) uint8_t smem[];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    constexpr int NT = T::NT, MT = T::MT, RUN = T::RUN, STEPS = T::STEPS, ROW_BYTES = T::ROW_BYTES;
    // This CTA's part of the output channels (K = parts x N: CTA b computes channels N (b % parts) ..; its
    // warps' tiles are those of CTA group b / parts), and column n of n8 block j is its channel RUN (n / 2)
    // + 2 j + n % 2.
    const int parts = T::parts(p.K), part = static_cast<int>(blockIdx.x) % parts, nbase = part * T::N;
    auto och = [&](int j, int n) { return nbase + RUN * (n >> 1) + 2 * j + (n & 1); };
    // B fragments: b0 = k 4t.., b1 = k 16 + 4t.. of column g (packed: the rows' natural k order; else the
    // tap's channels 8t .. 8t + 7, one 8-byte load).
    uint32_t breg[T::B_REGS ? STEPS : 1][T::B_REGS ? NT : 1][2];
    if constexpr (T::B_REGS) {
#pragma unroll
        for (int s = 0; s < STEPS; ++s)
#pragma unroll
            for (int j = 0; j < NT; ++j) {
                const int8_t* row = p.w + static_cast<int64_t>(och(j, g)) * ROW_BYTES + 32 * s;
                if (T::NCHW && och(j, g) >= p.K) {  // a ragged last part's columns past K
                    breg[s][j][0] = breg[s][j][1] = 0;
                    continue;
                }
                if constexpr (T::PACKED) {
                    breg[s][j][0] = __ldg(reinterpret_cast<const uint32_t*>(row + 4 * t));
                    breg[s][j][1] = __ldg(reinterpret_cast<const uint32_t*>(row + 16 + 4 * t));
                } else {
                    const uint2 v = __ldg(reinterpret_cast<const uint2*>(row + 8 * t));
                    breg[s][j][0] = v.x;
                    breg[s][j][1] = v.y;
                }
            }
    } else {
        auto* bs = reinterpret_cast<uint2*>(smem);
        for (int i = threadIdx.x; i < STEPS * NT * 32; i += T::THREADS) {
            const int ln = i & 31, j = (i >> 5) % NT, s = (i >> 5) / NT;
            const int8_t* row =
                p.w + static_cast<int64_t>(och(j, ln >> 2)) * ROW_BYTES + 32 * s + 8 * (ln & 3);
            // [step][j / 2][lane] 16 bytes: blocks j and j + 1 side by side
            bs[((s * (NT / 2) + (j >> 1)) * 32 + ln) * 2 + (j & 1)] =
                T::NCHW && och(j, ln >> 2) >= p.K ? make_uint2(0, 0)
                                                  : __ldg(reinterpret_cast<const uint2*>(row));
        }
        __syncthreads();
    }
    // This thread's channels: RUN t .. RUN t + RUN - 1, their folded alpha and bias.
    const int k0 = nbase + RUN * t;
    float alpha[RUN], bias[RUN];
#pragma unroll
    for (int i = 0; i < RUN; ++i) channel_consts(p, k0 + i, alpha[i], bias[i]);

    // Packed: this thread's slots 4 i + t (i = 2 s + hi), their offsets and rows and columns in registers
    // (indexed by the lane in the launch's parameters, each access would be 4 serialized constant reads).
    constexpr int PSLOTS = T::PACKED ? 4 : 1;
    int poff[PSLOTS], pdh[PSLOTS], pdw[PSLOTS];
    bool pin[PSLOTS];
    if constexpr (T::PACKED) {
#pragma unroll
        for (int i = 0; i < PSLOTS; ++i) {
            const int slot = 4 * i + t;
            pin[i] = slot < p.taps;
            poff[i] = pin[i] ? p.tap_off[slot] : 0;
            pdh[i] = pin[i] ? p.tap_dh[slot] : 0;
            pdw[i] = pin[i] ? p.tap_dw[slot] : 0;
        }
    }
    // Every step's A fragments of the tile at m0 into `a` (the loads all issued before any is used).
    auto load_a = [&](int m0, uint32_t(&a)[STEPS][MT][4]) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const DirectRow r = direct_row(p, m0 + mt * 16 + h * 8 + g, T::XC);
                if constexpr (T::PACKED) {
#pragma unroll
                    for (int s = 0; s < STEPS; ++s)
#pragma unroll
                        for (int hi = 0; hi < 2; ++hi) {
                            const int i = 2 * s + hi;  // slot 8 s + 4 hi + t: a[.][2 hi + h]
                            uint32_t v = 0;
                            if (pin[i] && direct_tap_ok(p, r, pdh[i], pdw[i]))
                                v = __ldg(reinterpret_cast<const uint32_t*>(r.origin + poff[i]));
                            a[s][mt][2 * hi + h] = v;
                        }
                } else {
#pragma unroll
                    for (int s = 0; s < STEPS; ++s) {
                        constexpr int CS = T::CS;
                        uint2 v = make_uint2(0, 0);
                        if (direct_tap_ok(p, r, p.tap_dh[s / CS], p.tap_dw[s / CS]))
                            v = __ldg(reinterpret_cast<const uint2*>(r.origin + p.tap_off[s / CS] +
                                                                     32 * (s % CS) + 8 * t));
                        a[s][mt][h] = v.x;
                        a[s][mt][2 + h] = v.y;
                    }
                }
            }
    };
    const int tiles = (p.M + T::ROWS - 1) / T::ROWS, stride = static_cast<int>(gridDim.x) / parts * T::WARPS;
    int tile = static_cast<int>(blockIdx.x) / parts * T::WARPS + warp;
    uint32_t a[STEPS][MT][4];
    // ASYNC: unit u of ring stage `st` (this thread's), copy_a (the tile at m0 into a stage) and read_a.
    constexpr int UNITS = T::UNITS, UNIT = T::UNIT;
    const uint32_t ring = static_cast<uint32_t>(__cvta_generic_to_shared(smem)) + T::B_SMEM +
                          warp * (T::ASYNC * UNITS * 32 * UNIT);
    auto unit_at = [&](int st, int u) { return ring + ((st * UNITS + u) * 32 + lane) * UNIT; };
    auto copy_a = [&](int m0, int st) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const DirectRow r = direct_row(p, m0 + mt * 16 + h * 8 + g, T::XC);
                if constexpr (T::PACKED) {
#pragma unroll
                    for (int s = 0; s < STEPS; ++s)
#pragma unroll
                        for (int hi = 0; hi < 2; ++hi) {
                            const int i = 2 * s + hi;
                            const bool ok = pin[i] && direct_tap_ok(p, r, pdh[i], pdw[i]);
                            cp_async4(unit_at(st, ((s * MT + mt) * 2 + hi) * 2 + h),
                                      ok ? r.origin + poff[i] : p.x, ok);
                        }
                } else {
#pragma unroll
                    for (int s = 0; s < STEPS; ++s) {
                        constexpr int CS = T::CS;
                        const bool ok = direct_tap_ok(p, r, p.tap_dh[s / CS], p.tap_dw[s / CS]);
                        cp_async8(unit_at(st, (s * MT + mt) * 2 + h),
                                  ok ? r.origin + p.tap_off[s / CS] + 32 * (s % CS) + 8 * t : p.x, ok);
                    }
                }
            }
    };
    auto read_a = [&](int st) {
#pragma unroll
        for (int s = 0; s < STEPS; ++s)
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    if constexpr (T::PACKED) {
#pragma unroll
                        for (int hi = 0; hi < 2; ++hi)
                            asm volatile("ld.shared.u32 %0, [%1];\n"
                                         : "=r"(a[s][mt][2 * hi + h])
                                         : "r"(unit_at(st, ((s * MT + mt) * 2 + hi) * 2 + h)));
                    } else {
                        asm volatile("ld.shared.v2.u32 {%0, %1}, [%2];\n"
                                     : "=r"(a[s][mt][h]), "=r"(a[s][mt][2 + h])
                                     : "r"(unit_at(st, (s * MT + mt) * 2 + h)));
                    }
                }
    };
    int stage = 0;  // ASYNC: the ring stage of this tile
    if constexpr (T::ASYNC > 0) {
#pragma unroll
        for (int d = 0; d + 1 < T::ASYNC; ++d) {
            if (tile + d * stride < tiles) copy_a((tile + d * stride) * T::ROWS, d);
            cp_async_commit();
        }
    }
    // PF: the next tile's fragments loaded before this tile's multiplies and epilogue (twice the
    // registers for A), so that a warp waits on memory once, not once a tile.
    if constexpr (T::PF || T::LATE) {
        if (tile < tiles) load_a(tile * T::ROWS, a);
    }
    for (; tile < tiles; tile += stride) {
        const int m0 = tile * T::ROWS;
        uint32_t an[T::PF ? STEPS : 1][T::PF ? MT : 1][4];
        if constexpr (T::PF) {
            if (tile + stride < tiles) load_a((tile + stride) * T::ROWS, an);
        } else if constexpr (T::ASYNC > 0) {  // the tile ASYNC - 1 ahead into the stage before this one
            constexpr int D = T::ASYNC;
            const int ahead = tile + (D - 1) * stride;
            if (ahead < tiles) copy_a(ahead * T::ROWS, stage == 0 ? D - 1 : stage - 1);
            cp_async_commit();
            cp_async_wait<D - 1>();  // this tile's group complete
            read_a(stage);
            stage = stage + 1 == D ? 0 : stage + 1;
        } else if constexpr (!T::LATE) {
            load_a(m0, a);
        }
        // The residual's words of this thread's rows, before the multiplies.
        Vec<uint32_t, RUN / 4> res[MT][2];
        if constexpr (RES) {
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const int m = m0 + mt * 16 + h * 8 + g;
                    if (m < p.M) {
                        const int n = p.div_ohw.div(m), q = m - n * p.OHW;
                        res[mt][h] = load_res_words<RUN>(p, n * p.rbs + static_cast<int64_t>(q) * p.K + k0);
                    }
                }
        }
        int32_t acc[MT][NT][4];
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            uint32_t b[NT][2];
            if constexpr (T::B_REGS) {
#pragma unroll
                for (int j = 0; j < NT; ++j) {
                    b[j][0] = breg[s][j][0];
                    b[j][1] = breg[s][j][1];
                }
            } else {
                const auto* bs = reinterpret_cast<const uint4*>(smem) + s * (NT / 2) * 32 + lane;
#pragma unroll
                for (int jp = 0; jp < NT / 2; ++jp) {
                    const uint4 v = bs[jp * 32];
                    b[2 * jp][0] = v.x;
                    b[2 * jp][1] = v.y;
                    b[2 * jp + 1][0] = v.z;
                    b[2 * jp + 1][1] = v.w;
                }
            }
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int j = 0; j < NT; ++j) {
                    if (s == 0)  // the accumulators start at kRoundMagicBits (biased_acc_to_f32)
                        mma_s8_from(acc[mt][j], a[s][mt], b[j][0], b[j][1],
                                    static_cast<int32_t>(kRoundMagicBits));
                    else
                        mma_s8(acc[mt][j], a[s][mt], b[j][0], b[j][1]);
                }
        }
        if constexpr (T::LATE) {  // the multiplies issued: `a` is free for the next tile's fragments
            if (tile + stride < tiles) load_a((tile + stride) * T::ROWS, a);
        }
        // The epilogue of each row: acc[mt][j][2 h + e] is channel k0 + 2 j + e.
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int m = m0 + mt * 16 + h * 8 + g;
                if (m >= p.M) continue;
                const int n = p.div_ohw.div(m), q = m - n * p.OHW;
                float v[RUN];
#pragma unroll
                for (int j = 0; j < NT; ++j)
#pragma unroll
                    for (int e = 0; e < 2; ++e)
                        v[2 * j + e] = biased_acc_to_f32(acc[mt][j][2 * h + e], SMALL);
                if constexpr (T::NCHW) {  // channel k0 + i's plane, pixel q
                    float* y_px = static_cast<float*>(p.y) + n * p.ybs + q;
#pragma unroll
                    for (int i = 0; i < RUN; ++i)
                        if (k0 + i < p.K)
                            y_px[static_cast<int64_t>(k0 + i) * p.OHW] =
                                epilogue_with<A, false>(p, v[i], alpha[i], bias[i], 0.f);
                } else {
                    const Vec<uint32_t, RUN / 4> none{};
                    epilogue_run_folded<A, RUN, RES>(p, v, alpha, bias,
                                                     n * p.ybs + static_cast<int64_t>(q) * p.K + k0,
                                                     RES ? res[mt][h] : none);
                }
            }
        if constexpr (T::PF) {
#pragma unroll
            for (int s = 0; s < STEPS; ++s)
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                    for (int e = 0; e < 4; ++e) a[s][mt][e] = an[s][mt][e];
        }
    }
}

template <class T, EpiAct A, bool RES, bool SMALL>
void launch_direct_typed(const Params& p, cudaStream_t stream) {
    static const int resident = [] {  // CTAs an SM holds
        if constexpr (T::SMEM > 48 * 1024)
            CUDA_CHECK(cudaFuncSetAttribute(conv_int8_direct_kernel<T, A, RES, SMALL>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize, T::SMEM));
        int n = 0;
        CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
            &n, conv_int8_direct_kernel<T, A, RES, SMALL>, T::THREADS, T::SMEM));
        return std::max(n, 1);
    }();
    // CTA groups of `parts` CTAs (one a part of K), as many as the M tiles need or the GPU holds at once.
    const int parts = T::parts(p.K);
    const int64_t groups = ((p.M + T::ROWS - 1) / T::ROWS + T::WARPS - 1) / T::WARPS;
    const int64_t most = conv_int8_persistent_grid(resident);
    const auto grid =
        static_cast<unsigned>(std::min<int64_t>(groups, std::max<int64_t>(most / parts, 1)) * parts);
    conv_int8_direct_kernel<T, A, RES, SMALL><<<grid, T::THREADS, T::SMEM, stream>>>(p);
}

template <class T>
void launch_direct(const Params& p, I8Elem out, cudaStream_t stream) {
    if constexpr (T::NCHW)
        ENGINE_CHECK(
            out == I8Elem::F32 && p.nchw && epi_act(p.act) != EpiAct::Other && p.res_type == I8Elem::None,
            "cuda int8 conv: the direct NCHW tile runs F32 NCHW outputs without a residual only");
    else
        ENGINE_CHECK(out == I8Elem::S8 && p.fold && epi_act(p.act) != EpiAct::Other && p.K % T::N == 0 &&
                         (p.res_type == I8Elem::None || p.res_type == I8Elem::S8),
                     "cuda int8 conv: the direct tile runs folded s8 outputs of a multiple of ", T::N,
                     " channels only");
    auto go = [&]<EpiAct A>() {
        if constexpr (!T::NCHW) {  // (NCHW: no residual)
            if (p.res_type != I8Elem::None) {
                if (p.small_acc)
                    launch_direct_typed<T, A, true, true>(p, stream);
                else
                    launch_direct_typed<T, A, true, false>(p, stream);
                return;
            }
        }
        if (p.small_acc)
            launch_direct_typed<T, A, false, true>(p, stream);
        else
            launch_direct_typed<T, A, false, false>(p, stream);
    };
    if (epi_act(p.act) == EpiAct::Leaky)
        go.template operator()<EpiAct::Leaky>();
    else
        go.template operator()<EpiAct::None>();
}

// f.template operator()<OT, A>() with the output storage and the inline activation as template arguments.
template <typename F>
void dispatch_epilogue(I8Elem out, EpiAct act, F&& f) {
    auto with_act = [&]<I8Elem OT>() {
        if (act == EpiAct::None)
            f.template operator()<OT, EpiAct::None>();
        else if (act == EpiAct::Leaky)
            f.template operator()<OT, EpiAct::Leaky>();
        else
            f.template operator()<OT, EpiAct::Other>();
    };
    if (out == I8Elem::S8)
        with_act.template operator()<I8Elem::S8>();
    else if (out == I8Elem::F16)
        with_act.template operator()<I8Elem::F16>();
    else
        with_act.template operator()<I8Elem::F32>();
}

template <class T>
void launch_tile(const Params& p, I8Elem out, cudaStream_t stream) {
    dispatch_epilogue(out, epi_act(p.act), [&]<I8Elem OT, EpiAct A>() { launch_typed<T, OT, A>(p, stream); });
}

struct TileInfo {
    const char* name;
    int bk;
    bool packed;  // the taps packed into one k block (conv_int8_tile_packed)
    void (*launch)(const Params&, I8Elem, cudaStream_t);
    int tpc = 1;      // M tiles a CTA (Params::tpc)
    bool wg = false;  // wgmma (Tile::WG > 0): sm_90a builds only (conv_int8_wgmma_built)
    int taps = 1;     // taps a k block (Tile::TAPS): the input's channels bk / taps
    // Timed by the builder only when allowed (conv_int8_tile_experimental): the warp-specialized tiles
    // (correct on the H100 on 2026-12-06, docs/int8.md thirteenth session, but slower than cuDNN). The
    // wgmma tiles and those of two taps a block passed the INT8 suites on the H200 on 2026-12-06.
    bool experimental = false;
    bool folded_only = false;  // runs fold_scales' cases only (the warp-specialized kernel's epilogue)
    bool tma = false;          // TMA's copies (WsTile::TMA): within tma_fits
    int out_k = 0;             // direct tiles (DirectTile): the output channels they compute, K exactly
    int d_taps = 9;            // direct tiles: the kernel's taps (DirectTile::TAPS)
    bool k_parts = false;      // direct tiles: K any multiple of out_k (a CTA a part), not out_k exactly
    bool nchw = false;         // direct tiles (DirectTile::NCHW): F32 NCHW outputs only, K any count
};
// A direct tile's entry, its depth (the input's channels), packing, outputs, taps and output form those of
// its DirectTile type T: folded s8 outputs of exactly T::N channels (k_parts: any multiple), or (T::NCHW)
// F32 NCHW ones of any count (always in parts).
template <class T>
TileInfo direct_tile(const char* name, bool experimental, bool k_parts = false) {
    TileInfo t{name, T::PACKED ? kPackedDepth : T::XC, T::PACKED, launch_direct<T>};
    t.experimental = experimental;
    t.folded_only = !T::NCHW;
    t.out_k = T::N;
    t.d_taps = T::TAPS;
    t.k_parts = k_parts || T::NCHW;
    t.nchw = T::NCHW;
    return t;
}
const TileInfo kTiles[] = {
    {"128x128x64/4", 64, false, launch_tile<Tile<128, 128, 64, 4>>},
    {"128x128x32/4", 32, false, launch_tile<Tile<128, 128, 32, 4>>},
    {"128x64x64/4", 64, false, launch_tile<Tile<128, 64, 64, 4>>},
    {"64x128x64/4", 64, false, launch_tile<Tile<64, 128, 64, 4>>},
    {"64x64x64/4", 64, false, launch_tile<Tile<64, 64, 64, 4>>},
    {"64x64x32/4", 32, false, launch_tile<Tile<64, 64, 32, 4>>},
    // Narrow outputs (YOLOv3's 32- and 64-channel layers at 208x208 and 416x416): no half-empty tiles.
    {"128x64x32/4", 32, false, launch_tile<Tile<128, 64, 32, 4>>},
    {"128x32x64/4", 64, false, launch_tile<Tile<128, 32, 64, 4>>},
    // The image's channels, taps packed (at most 16 taps of kPackedC channels).
    {"128x32x64/2 packed", kPackedDepth, true, launch_tile<Tile<128, 32, kPackedDepth, 2, true>>},
    {"128x64x64/2 packed", kPackedDepth, true, launch_tile<Tile<128, 64, kPackedDepth, 2, true>>},
    {"64x64x64/2 packed", kPackedDepth, true, launch_tile<Tile<64, 64, kPackedDepth, 2, true>>},
    // Eight M tiles a CTA, the next tile's loads in flight during this one's epilogue: for the large
    // early layers, where each tile's reduction is short (9 k blocks, or one packed) and a CTA a tile
    // spends most of its life waiting on its first loads and in its epilogue.
    {"128x32x64/2 packed x8", kPackedDepth, true, launch_tile<Tile<128, 32, kPackedDepth, 2, true>>, 8},
    {"128x64x32/4 x8", 32, false, launch_tile<Tile<128, 64, 32, 4>>, 8},
    {"64x64x32/4 x8", 32, false, launch_tile<Tile<64, 64, 32, 4>>, 8},
    {"128x64x64/4 x8", 64, false, launch_tile<Tile<128, 64, 64, 4>>, 8},
    {"64x64x64/4 x8", 64, false, launch_tile<Tile<64, 64, 64, 4>>, 8},
    // Deeper rings for the same early layers: with 4 stages of 32 (one tap of 32 channels) the warps of
    // YOLOv3's layer_1 spent a quarter of their stall samples waiting on the block they were about to
    // use (Nsight Compute's source view, H100, 2026-12-05); with one k block a tile, the packed tile's
    // 2 stages keep one tile's loads in flight during the previous tile's epilogue.
    {"128x64x32/6 x8", 32, false, launch_tile<Tile<128, 64, 32, 6>>, 8},
    {"128x64x32/8 x8", 32, false, launch_tile<Tile<128, 64, 32, 8>>, 8},
    {"64x64x32/8 x8", 32, false, launch_tile<Tile<64, 64, 32, 8>>, 8},
    {"128x32x64/4 packed x8", kPackedDepth, true, launch_tile<Tile<128, 32, kPackedDepth, 4, true>>, 8},
    // Two M tiles a CTA for the wide tile (YOLOv3's 52x52 3x3 convs, 18 k blocks a tile: 38 % of the
    // dense peak against 62 % at 13x13, 72 blocks), the second tile's first loads hidden behind the
    // first's epilogue; x8 would leave 1.3 waves of 2 CTAs an SM at batch 64.
    {"128x128x64/4 x2", 64, false, launch_tile<Tile<128, 128, 64, 4>>, 2},
    // wgmma (Hopper's warpgroup MMA, sm_90a): the same loads, ring and epilogue; the multiply reads A and
    // B from shared memory itself (no ldmatrix), m64 x n128 (or n64) x k32 an instruction. On the H200
    // they lose to cuDNN's graph engines on YOLOv3's deep convs (x0.5-0.8) and win on two small ones.
    {"128x128x64/4 wg", 64, false, launch_tile<Tile<128, 128, 64, 4, false, 1>>, 1, true},
    {"128x64x64/4 wg", 64, false, launch_tile<Tile<128, 64, 64, 4, false, 1>>, 1, true},
    {"128x64x64/4 wg x8", 64, false, launch_tile<Tile<128, 64, 64, 4, false, 1>>, 8, true},
    // 32-deep blocks (layer_1 and layer_3: C = 32), the ring's 32-byte swizzle.
    {"128x64x32/4 wg x8", 32, false, launch_tile<Tile<128, 64, 32, 4, false, 1>>, 8, true},
    {"128x64x32/6 wg x8", 32, false, launch_tile<Tile<128, 64, 32, 6, false, 1>>, 8, true},
    // One block's multiplies in flight while the next block's are issued (WG 2).
    {"128x128x64/4 wg2", 64, false, launch_tile<Tile<128, 128, 64, 4, false, 2>>, 1, true},
    {"128x64x64/4 wg2 x8", 64, false, launch_tile<Tile<128, 64, 64, 4, false, 2>>, 8, true},
    {"128x64x32/6 wg2 x8", 32, false, launch_tile<Tile<128, 64, 32, 6, false, 2>>, 8, true},
    // Two taps of 32 channels a 64-deep block (layer_1 and layer_3 again): 5 k blocks a tile, not 9.
    // (6 stages of 128x64 would leave 2 CTAs an SM, not 3.) H200, batch 64: layer_1 0.524 -> 0.347 ms
    // (wg2 t2; 0.375 with mma.sync), layer_3 0.541 -> 0.513.
    {"128x64x64/4 t2 x8", 64, false, launch_tile<Tile<128, 64, 64, 4, false, 0, 2>>, 8, false, 2},
    {"64x64x64/5 t2 x8", 64, false, launch_tile<Tile<64, 64, 64, 5, false, 0, 2>>, 8, false, 2},
    {"128x64x64/4 wg t2 x8", 64, false, launch_tile<Tile<128, 64, 64, 4, false, 1, 2>>, 8, true, 2},
    {"128x64x64/4 wg2 t2 x8", 64, false, launch_tile<Tile<128, 64, 64, 4, false, 2, 2>>, 8, true, 2},
    // Warp-specialized (a producer warpgroup and two consumers, mbarriers, no CTA-wide barrier in the main
    // loop; persistent, 1 CTA an SM): for the deep convs. Experimental: correct on the H100 (2026-12-06),
    // not yet faster than cuDNN (docs/int8.md, thirteenth session).
    {"256x128x64/5 ws", 64, false, launch_ws<WsTile<5, 256, 128>>, 1, true, 1, true, true},
    {"256x128x64/6 ws", 64, false, launch_ws<WsTile<6, 256, 128>>, 1, true, 1, true, true},
    {"128x256x64/5 ws", 64, false, launch_ws<WsTile<5, 128, 256>>, 1, true, 1, true, true},
    {"128x256x64/6 ws", 64, false, launch_ws<WsTile<6, 128, 256>>, 1, true, 1, true, true},
    // Ping-pong consumers (whole tiles by turns; done barriers order them): correct on the H100, no faster
    // than the split tiles (docs/int8.md, fourteenth session).
    {"128x128x64/6 ws pp", 64, false, launch_ws<WsTile<6, 128, 128, true>>, 1, true, 1, true, true},
    {"128x128x64/8 ws pp", 64, false, launch_ws<WsTile<8, 128, 128, true>>, 1, true, 1, true, true},
    // The producer one thread issuing TMA bulk copies (im2col boxes for the pixel rows): correct on the
    // H100, a third faster than with cp.async, 0.65-0.81x cuDNN (docs/int8.md, fourteenth session).
    {"256x128x64/5 ws tma", 64, false, launch_ws<WsTile<5, 256, 128, false, true>>, 1, true, 1, true, true,
     true},
    {"128x256x64/5 ws tma", 64, false, launch_ws<WsTile<5, 128, 256, false, true>>, 1, true, 1, true, true,
     true},
    {"128x128x64/6 ws pp tma", 64, false, launch_ws<WsTile<6, 128, 128, true, true>>, 1, true, 1, true, true,
     true},
    {"128x128x64/8 ws pp tma", 64, false, launch_ws<WsTile<8, 128, 128, true, true>>, 1, true, 1, true, true,
     true},
    // In CTA pairs sharing their weight rows (TMA multicast): correct on the H100; with the arrivals'
    // CTA-scope release as fast as the single tiles, no faster (L2 is not their limit; fifteenth session).
    {"128x256x64/5 ws tma c2", 64, false, launch_ws<WsTile<5, 128, 256, false, true, 2>>, 1, true, 1, true,
     true, true},
    {"128x128x64/8 ws pp tma c2", 64, false, launch_ws<WsTile<8, 128, 128, true, true, 2>>, 1, true, 1, true,
     true, true},
    // One tap of 32 channels a block (YOLOv3's layer_1 and layer_3: C = 32, 64 outputs): correct on the
    // H100, slower than the tiles of two taps a block there (layer_1 0.425 ms against 0.357).
    {"128x64x32/12 ws pp tma", 32, false, launch_ws<WsTile<12, 128, 64, true, true, 1, 32>>, 1, true, 1, true,
     true, true},
    {"256x64x32/10 ws tma", 32, false, launch_ws<WsTile<10, 256, 64, false, true, 1, 32>>, 1, true, 1, true,
     true, true},
    // 128-deep blocks, each TMA row request 128 bytes: correct on the H100, 5-20 % faster than the 64-deep
    // TMA tiles (layer_64 0.108 -> 0.092 ms), still 0.62-0.83x cuDNN's engine 4 (fifteenth session).
    {"128x256x128/3 ws tma", 128, false, launch_ws<WsTile<3, 128, 256, false, true, 1, 128>>, 1, true, 1,
     true, true, true},
    {"256x128x128/3 ws tma", 128, false, launch_ws<WsTile<3, 256, 128, false, true, 1, 128>>, 1, true, 1,
     true, true, true},
    {"128x128x128/4 ws pp tma", 128, false, launch_ws<WsTile<4, 128, 128, true, true, 1, 128>>, 1, true, 1,
     true, true, true},
    // 64 outputs, 64-deep blocks (YOLOv3's 1x1 convs to 64 channels at 104x104: two k blocks a tile):
    // correct on the H100, 0.70x cuDNN on layer_6.
    {"128x64x64/8 ws pp tma", 64, false, launch_ws<WsTile<8, 128, 64, true, true>>, 1, true, 1, true, true,
     true},
    // Direct (DirectTile: fragments from global memory, the epilogue in registers; a warp's tile of pixels
    // x all 32 or 64 outputs): the image's packed taps (YOLOv3's layer_0), the 32-channel 3x3 convs
    // (layer_1, layer_3) and the 1x1 convs of 64 channels to 32 (layer_2) and of 128 to 64 (layer_6,
    // layer_9). Correct on the H100 (2026-12-06, every case of EveryTileMatchesTheInt8Reference). The
    // builder's timing there (b64, ms): layer_0 0.421 (32x32 packed; 16x32 0.432, 64x32 0.445, 32x32 pf
    // 0.463) against 0.526 before; layer_1 0.316 (16x64 c32 pf; 16x64 0.322, 32x64 0.354) against 0.358;
    // layer_2 0.108 (32x32 1x1 c64; 64x32 0.122) against cuDNN's 0.114; layer_3 0.357 (16x64 c32; pf
    // 0.377, 32x64 0.396) against 0.420; layer_6 0.064 (32x64 1x1 c128) against cuDNN's 0.058. The
    // eighteenth session (H100, b64, ms): layer_0 0.411 (32x32 packed late; a3 0.429), layer_1 0.281
    // (16x64 c32 late; a2 0.294), layer_2 0.098 (32x32 1x1 c64 a3; late 0.101), layer_3 0.307 (16x64 c32
    // a2; late 0.348); the c64 tiles 0.33-0.48 against cuDNN's 0.14-0.20 on layer_5 and layer_7. The
    // winners and the close ones are timed by default, the others only when experimental tiles are.
    direct_tile<DirectTile<2, 4, true, 4>>("direct 32x32 packed", false),
    direct_tile<DirectTile<1, 4, true, 5>>("direct 16x32 packed", true),
    direct_tile<DirectTile<1, 8, false, 3>>("direct 16x64 c32", false),
    direct_tile<DirectTile<1, 8, false, 2, 9, 1, true>>("direct 16x64 c32 pf", true),
    direct_tile<DirectTile<2, 4, false, 4, 1, 2>>("direct 32x32 1x1 c64", false),
    direct_tile<DirectTile<4, 4, true, 3>>("direct 64x32 packed", true),
    direct_tile<DirectTile<2, 4, true, 3, 9, 1, true>>("direct 32x32 packed pf", true),
    direct_tile<DirectTile<2, 8, false, 2>>("direct 32x64 c32", true),
    direct_tile<DirectTile<2, 4, false, 2>>("direct 32x32 c32", true),
    direct_tile<DirectTile<4, 4, false, 3, 1, 2>>("direct 64x32 1x1 c64", true),
    direct_tile<DirectTile<2, 8, false, 3, 1, 4>>("direct 32x64 1x1 c128", true),
    // 3x3 convs of 64 channels to any multiple of 64 or 32 (YOLOv3's layer_5 and the 104x104 residual
    // convs layer_7 and layer_10: 64 to 128), one part of the outputs a CTA (k_parts). New.
    direct_tile<DirectTile<1, 8, false, 2, 9, 2>>("direct 16x64 c64", true, true),
    direct_tile<DirectTile<1, 4, false, 3, 9, 2>>("direct 16x32 c64", true, true),
    // LATE: the next tile's fragments loaded right after this tile's multiplies (its epilogue overlapping
    // their latency, no extra registers). New.
    direct_tile<DirectTile<2, 4, true, 4, 9, 1, false, true>>("direct 32x32 packed late", false),
    direct_tile<DirectTile<1, 4, true, 5, 9, 1, false, true>>("direct 16x32 packed late", true),
    direct_tile<DirectTile<1, 8, false, 3, 9, 1, false, true>>("direct 16x64 c32 late", false),
    direct_tile<DirectTile<2, 4, false, 4, 1, 2, false, true>>("direct 32x32 1x1 c64 late", false),
    direct_tile<DirectTile<1, 8, false, 2, 9, 2, false, true>>("direct 16x64 c64 late", true, true),
    // ASYNC: the next tiles' fragments copied into a per-warp ring (cp.async), 2-4 tiles deep. New.
    direct_tile<DirectTile<2, 4, true, 4, 9, 1, false, false, 3>>("direct 32x32 packed a3", true),
    direct_tile<DirectTile<1, 4, true, 5, 9, 1, false, false, 4>>("direct 16x32 packed a4", true),
    direct_tile<DirectTile<1, 8, false, 3, 9, 1, false, false, 2>>("direct 16x64 c32 a2", false),
    direct_tile<DirectTile<2, 4, false, 4, 1, 2, false, false, 3>>("direct 32x32 1x1 c64 a3", false),
    // YOLOv3's heads: 1x1 from 256 or 512 channels to 255, F32 NCHW (four parts of 64 channels, the last
    // ragged). H100, b64 (eighteenth session): layer_105 (52x52, from 256) 0.125 ms against 0.144 on our
    // GEMM tiles (64x128x64/4; without LATE 0.181), layer_93 (26x26, from 512) 0.057 against 0.065. The
    // same 1x1 tiles for folded s8 outputs (to 128 and 256 channels) lost to cuDNN there: layer_13 0.042
    // against 0.033, layer_38 0.039 against 0.019.
    direct_tile<DirectTile<1, 8, false, 3, 1, 8, false, true, 0, true>>("direct 16x64 1x1 c256 nchw late",
                                                                        false),
    direct_tile<DirectTile<1, 8, false, 2, 1, 16, false, true, 0, true>>("direct 16x64 1x1 c512 nchw late",
                                                                         false),
    // Their variants (H100, b64, nineteenth session): the cp.async ring, layer_105 0.120 ms against
    // 0.124 (late); 32 pixels a tile (experimental) 0.123. Parts of 32 channels lost (layer_105 0.154,
    // layer_93 0.073 against 0.058) and were dropped.
    direct_tile<DirectTile<1, 8, false, 3, 1, 8, false, false, 2, true>>("direct 16x64 1x1 c256 nchw a2",
                                                                         false),
    direct_tile<DirectTile<2, 8, false, 2, 1, 8, false, true, 0, true>>("direct 32x64 1x1 c256 nchw late",
                                                                        true),
};
constexpr int kTileCount = static_cast<int>(sizeof(kTiles) / sizeof(kTiles[0]));

size_t elem_bytes(I8Elem t) { return t == I8Elem::S8 ? 1 : (t == I8Elem::F16 ? 2 : 4); }

// Bytes c0 .. c0 + 3 of a pixel's c channels as one little-endian word, zeros past c.
__device__ __forceinline__ uint32_t padded_word(const int8_t* src, int c, int c0) {
    uint32_t w = 0;
    for (int b = 0; b < 4; ++b)
        if (c0 + b < c) w |= static_cast<uint32_t>(static_cast<uint8_t>(src[c0 + b])) << (8 * b);
    return w;
}

// One thread per pixel: its c bytes read, its padded_c bytes written as 16-byte stores (padded_c a
// multiple of 16) or 4-byte ones (a multiple of 4: the packed tiles' kPackedC). (A byte per thread
// with a 64-bit division each is slow for what it moves: at batch 64 of a 416 x 416 image padded to 32
// channels it writes 354 MB.)
__global__ void pad_channels_s8_kernel(const int8_t* __restrict__ x, int8_t* __restrict__ y, int64_t pixels,
                                       int c, int pc, int64_t xbs, int batch) {
    for (int n = blockIdx.y; n < batch; n += gridDim.y)
        for (int64_t px = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; px < pixels;
             px += static_cast<int64_t>(gridDim.x) * blockDim.x) {
            const int8_t* src = x + n * xbs + px * c;
            int8_t* dst = y + (n * pixels + px) * pc;
            if (pc % 16 == 0) {
                for (int j = 0; j < pc / 16; ++j)
                    reinterpret_cast<uint4*>(dst)[j] =
                        make_uint4(padded_word(src, c, 16 * j), padded_word(src, c, 16 * j + 4),
                                   padded_word(src, c, 16 * j + 8), padded_word(src, c, 16 * j + 12));
            } else {
                for (int j = 0; j < pc / 4; ++j)
                    reinterpret_cast<uint32_t*>(dst)[j] = padded_word(src, c, 4 * j);
            }
        }
}

// The image's C (<= 4) channels padded to kPackedC (4), four pixels a thread: C words read (4 C bytes),
// one 16-byte store (pixels a multiple of 4, x and its batch stride 4-byte aligned). A thread a pixel
// read the 3 bytes one by one for a 4-byte store.
template <int C>
__global__ void pad_to_4_s8_x4_kernel(const int8_t* __restrict__ x, int8_t* __restrict__ y, int64_t pixels,
                                      int64_t xbs, int batch) {
    static_assert(C >= 1 && C <= 4, "at most 4 channels");
    const int64_t quads = pixels / 4;
    for (int n = blockIdx.y; n < batch; n += gridDim.y)
        for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < quads;
             q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
            const auto* src = reinterpret_cast<const uint32_t*>(x + n * xbs + q * 4 * C);
            uint32_t in[C];
#pragma unroll
            for (int i = 0; i < C; ++i) in[i] = src[i];
            uint32_t out[4] = {0, 0, 0, 0};
#pragma unroll
            for (int j = 0; j < 4; ++j)  // pixel j's channel b: byte j C + b of the words read
#pragma unroll
                for (int b = 0; b < C; ++b) {
                    const int at = j * C + b;
                    out[j] |= ((in[at / 4] >> (8 * (at % 4))) & 0xFFu) << (8 * b);
                }
            *reinterpret_cast<uint4*>(y + (n * pixels + q * 4) * 4) =
                make_uint4(out[0], out[1], out[2], out[3]);
        }
}

// The launch parameters common to both kernels (the GEMM's k blocking left to its launcher).
Params make_params(const ConvInt8Args& a) {
    Params p{};
    p.x = a.x;
    p.w = a.w;
    p.alpha = a.alpha;
    p.bias = a.bias;
    p.res = a.residual;
    p.res_type = a.residual == nullptr ? I8Elem::None : a.residual_type;
    p.res_scale = a.residual_scale;
    p.y = a.y;
    p.y_scale = a.y_scale;
    p.y_inv = 1.0f / a.y_scale;
    p.H = a.h;
    p.W = a.w_in;
    p.C = a.c;
    p.K = a.k;
    p.R = a.r;
    p.S = a.s;
    p.OH = a.oh;
    p.OW = a.ow;
    p.sh = a.stride_h;
    p.sw = a.stride_w;
    p.ph = a.pad_h;
    p.pw = a.pad_w;
    p.dh = a.dil_h;
    p.dw = a.dil_w;
    p.OHW = a.oh * a.ow;
    p.M = a.batch * p.OHW;
    p.div_ohw = FastDiv(static_cast<uint32_t>(p.OHW));
    p.div_ow = FastDiv(static_cast<uint32_t>(p.OW));
    p.xbs = a.x_batch_stride;
    p.ybs = a.y_batch_stride;
    p.rbs = a.r_batch_stride;
    p.act = a.act;
    p.post = a.post_act;
    const auto per16 = static_cast<int64_t>(16 / elem_bytes(a.y_type));  // outputs per 16 bytes
    p.vec = a.k % per16 == 0 && a.y_batch_stride % per16 == 0 && aligned_to(a.y, 16);
    p.small_acc = a.small_acc;
    p.nchw = a.y_nchw;
    return p;
}

// Depthwise INT8 (dw_int8_core.h): a thread computes V adjacent channels of one output pixel, adjacent
// threads the adjacent channel groups (coalesced loads and stores), grid-striding over every pixel of
// the batch; the epilogue is the GEMM kernel's.
template <int V, I8Elem OT, EpiAct A>
__global__ void __launch_bounds__(kThreads)
    conv_dw_int8_kernel(const Params p, const DwInt8Shape d, int64_t total) {
    const int groups = p.K / V;
    const bool res_vec = res_runs_vectorized<V>(p);
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t m = i / groups;
        const int k0 = static_cast<int>(i - m * groups) * V;
        const int n = static_cast<int>(m / p.OHW), q = static_cast<int>(m - static_cast<int64_t>(n) * p.OHW);
        const int oh = q / p.OW, ow = q - oh * p.OW;
        int32_t sum[V];
        dw_int8_accumulate<V>(d, p.x + n * p.xbs, p.w, oh, ow, k0, sum);
        float acc[V];
#pragma unroll
        for (int e = 0; e < V; ++e) acc[e] = static_cast<float>(sum[e]);
        const int64_t y_at = n * p.ybs + static_cast<int64_t>(q) * p.K + k0;
        const int64_t r_at = n * p.rbs + static_cast<int64_t>(q) * p.K + k0;
        float alpha[V], bias[V];
        load_channel_consts<V>(p, k0, alpha, bias);
        if (p.res_type == I8Elem::None)
            epilogue_run<A, OT, V, false>(p, acc, alpha, bias, y_at, r_at, res_vec);
        else
            epilogue_run<A, OT, V, true>(p, acc, alpha, bias, y_at, r_at, res_vec);
    }
}

template <int V>
void launch_dw(const Params& p, const DwInt8Shape& d, I8Elem out, cudaStream_t stream) {
    const int64_t total = static_cast<int64_t>(p.M) * (p.K / V);
    const auto blocks = static_cast<unsigned>(std::min<int64_t>((total + kThreads - 1) / kThreads, 65536));
    dispatch_epilogue(out, epi_act(p.act), [&]<I8Elem OT, EpiAct A>() {
        conv_dw_int8_kernel<V, OT, A><<<blocks, kThreads, 0, stream>>>(p, d, total);
    });
}

// What both kernels need of any problem: pixels (with a last tile's rows past them: BM at most) and
// offsets within an image (the image, the kernel's window) within their 32-bit indexing (FastDiv's
// n < 2^31 included), outputs, a storage type.
bool launchable(const ConvInt8Args& a) {
    const int64_t m = static_cast<int64_t>(a.batch) * a.oh * a.ow;
    const int64_t rows = std::max<int64_t>(a.h, static_cast<int64_t>(a.r - 1) * a.dil_h + 1);
    return m > 0 && m < INT32_MAX - 1024 && rows * a.w_in * a.c < INT32_MAX && a.k > 0 &&
           a.y_type != I8Elem::None;
}

}  // namespace

int conv_int8_tile_count() { return kTileCount; }

const char* conv_int8_tile_name(int tile) {
    return tile >= 0 && tile < kTileCount ? kTiles[tile].name : "(no such tile)";
}

bool conv_int8_tile_packed(int tile) { return tile >= 0 && tile < kTileCount && kTiles[tile].packed; }

bool conv_int8_wgmma_built() {
#if defined(RTDET_CUDA_WGMMA)
    return true;
#else
    return false;
#endif
}

bool conv_int8_tile_experimental(int tile) {
    return tile >= 0 && tile < kTileCount && kTiles[tile].experimental;
}

bool conv_int8_tile_folded_only(int tile) {
    return tile >= 0 && tile < kTileCount && kTiles[tile].folded_only;
}

bool conv_int8_tile_nchw_only(int tile) { return tile >= 0 && tile < kTileCount && kTiles[tile].nchw; }

void conv_int8_ws_grid_cap(int ctas) { g_ws_grid_cap.store(std::max(ctas, 0), std::memory_order_relaxed); }

int64_t conv_int8_persistent_grid(int resident) {
    const int cap = g_ws_grid_cap.load(std::memory_order_relaxed);
    return cap > 0 ? cap : static_cast<int64_t>(sm_count()) * resident;
}

bool conv_int8_tile_k_fits(int tile, int k) {
    if (tile < 0 || tile >= kTileCount) return false;
    const TileInfo& t = kTiles[tile];
    return t.out_k == 0 || t.out_k == k || (t.k_parts && (t.nchw || k % t.out_k == 0));
}

int conv_int8_tile_taps(int tile) { return tile >= 0 && tile < kTileCount ? kTiles[tile].taps : 1; }

bool conv_int8_tile_shape_fits(int tile, int c, int r, int s) {
    if (tile < 0 || tile >= kTileCount || c <= 0) return false;
    if (kTiles[tile].wg && !conv_int8_wgmma_built()) return false;
    if (kTiles[tile].out_k > 0 && r * s != kTiles[tile].d_taps) return false;  // direct: 3x3 or 1x1
    if (kTiles[tile].packed) return c == kPackedC && r * s * kPackedC <= kPackedDepth;
    if (kTiles[tile].out_k > 0) return c == kTiles[tile].bk;
    if (kTiles[tile].taps > 1) return c * kTiles[tile].taps == kTiles[tile].bk;
    return c % kTiles[tile].bk == 0;
}

// Whether the GEMM kernel folds the scales (Params::fold, epilogue_run_folded): an S8 output in whole
// 16-byte runs (p.vec: K a multiple of 16), act none or leaky, and no residual or an s8 one in 16-byte
// aligned runs with post_act none or leaky.
bool fold_scales(const ConvInt8Args& a, const Params& p) {
    if (a.y_type != I8Elem::S8 || !p.vec || epi_act(a.act) == EpiAct::Other) return false;
    if (a.residual == nullptr) return true;
    return a.residual_type == I8Elem::S8 && a.r_batch_stride % 16 == 0 && aligned_to(a.residual, 16) &&
           (a.post_act.kind == ActKind::None || epi_act(a.post_act) == EpiAct::Leaky);
}

bool conv_int8_tile_fits(const ConvInt8Args& a, int tile) {
    if (!conv_int8_tile_shape_fits(tile, a.c, a.r, a.s)) return false;
    const int x_align = kTiles[tile].packed ? 4 : 16;  // packed: 4-byte taps
    if (!aligned_to(a.x, x_align) || !aligned_to(a.w, 16) || a.x_batch_stride % x_align != 0) return false;
    if (a.y_nchw && (a.y_type != I8Elem::F32 || a.residual != nullptr)) return false;
    if (kTiles[tile].folded_only && !fold_scales(a, make_params(a))) return false;
    if (kTiles[tile].nchw && !(a.y_nchw && a.residual == nullptr && epi_act(a.act) != EpiAct::Other))
        return false;  // (y_nchw: F32, above)
    if (!conv_int8_tile_k_fits(tile, a.k)) return false;
    if (kTiles[tile].tma && !tma_fits(a)) return false;
    return launchable(a);
}

void launch_conv_int8(const ConvInt8Args& a, int tile, cudaStream_t stream) {
    ENGINE_CHECK(conv_int8_tile_fits(a, tile), "cuda int8 conv: tile ", conv_int8_tile_name(tile),
                 " does not fit ", a.c,
                 " input channels (or the buffers are not aligned, or an NCHW output is ",
                 "not F32 or has a residual)");
    Params p = make_params(a);
    p.tpc = kTiles[tile].tpc;
    p.fold = fold_scales(a, p);
    p.res_fold = p.res_scale * p.y_inv;
    if (kTiles[tile].packed || kTiles[tile].out_k > 0) {  // each tap's offset, rows and columns
        p.xc = a.c;
        p.taps = a.r * a.s;
        for (int r = 0; r < a.r; ++r)
            for (int s = 0; s < a.s; ++s) {
                const int t = r * a.s + s;
                p.tap_dh[t] = r * a.dil_h;
                p.tap_dw[t] = s * a.dil_w;
                p.tap_off[t] = (p.tap_dh[t] * a.w_in + p.tap_dw[t]) * a.c;
            }
        p.span_h = (a.r - 1) * a.dil_h + 1;
        p.span_w = (a.s - 1) * a.dil_w + 1;
    }
    if (kTiles[tile].packed) {  // one k block: W [k][bk] as a 1x1 conv's, x read a tap at a time
        p.C = kTiles[tile].bk;
        p.R = p.S = 1;
        p.cblocks = p.KB = 1;
    } else if (kTiles[tile].out_k > 0) {  // direct: every tap in the kernel's own loop
        p.cblocks = p.KB = 1;
    } else if (kTiles[tile].taps > 1) {  // blocks of `taps` taps (the walk's channel blocks)
        p.taps = a.r * a.s;
        p.cblocks = p.KB = (p.taps + kTiles[tile].taps - 1) / kTiles[tile].taps;
    } else {
        p.cblocks = a.c / kTiles[tile].bk;
        p.KB = a.r * a.s * p.cblocks;
    }
    if (p.M == 0) return;
    kTiles[tile].launch(p, a.y_type, stream);
    CUDA_CHECK(cudaGetLastError());
}

bool conv_dw_int8_fits(const ConvInt8Args& a) {
    return a.c > 0 && a.c == a.k && a.x != nullptr && a.w != nullptr && !a.y_nchw && launchable(a);
}

int conv_dw_int8_width(const ConvInt8Args& a) {
    const size_t yb = elem_bytes(a.y_type);
    for (int v : {8, 4}) {
        const auto vb = static_cast<size_t>(v);
        if (a.c % v == 0 && a.x_batch_stride % v == 0 && a.y_batch_stride % v == 0 && aligned_to(a.x, vb) &&
            aligned_to(a.w, vb) && aligned_to(a.y, vb * yb))
            return v;
    }
    return 1;
}

void launch_conv_dw_int8(const ConvInt8Args& a, cudaStream_t stream) {
    ENGINE_CHECK(conv_dw_int8_fits(a), "cuda int8 depthwise conv: ", a.c, " input and ", a.k,
                 " output channels (they must be equal; the output NHWC)");
    const Params p = make_params(a);
    if (p.M == 0) return;
    const DwInt8Shape d{a.h,        a.w_in,     a.c,     a.r,     a.s,     a.oh,   a.ow,
                        a.stride_h, a.stride_w, a.pad_h, a.pad_w, a.dil_h, a.dil_w};
    const int v = conv_dw_int8_width(a);
    if (v == 8)
        launch_dw<8>(p, d, a.y_type, stream);
    else if (v == 4)
        launch_dw<4>(p, d, a.y_type, stream);
    else
        launch_dw<1>(p, d, a.y_type, stream);
    CUDA_CHECK(cudaGetLastError());
}

void launch_pad_channels_s8(const int8_t* x, int8_t* y, int batch, int64_t pixels, int c, int padded_c,
                            int64_t x_batch_stride, cudaStream_t stream) {
    ENGINE_CHECK(padded_c >= c && c > 0 && padded_c % 4 == 0 && aligned_to(y, 16), "cuda int8 pad: ", c,
                 " channels padded to ", padded_c, " (a multiple of 4, into 16-byte aligned memory)");
    if (batch <= 0 || pixels <= 0) return;
    if (padded_c == 4 && pixels % 4 == 0 && x_batch_stride % 4 == 0 && aligned_to(x, 4)) {
        const dim3 grid = grid_2d(pixels / 4, batch);
        if (c == 3)
            pad_to_4_s8_x4_kernel<3><<<grid, kThreads, 0, stream>>>(x, y, pixels, x_batch_stride, batch);
        else if (c == 2)
            pad_to_4_s8_x4_kernel<2><<<grid, kThreads, 0, stream>>>(x, y, pixels, x_batch_stride, batch);
        else if (c == 1)
            pad_to_4_s8_x4_kernel<1><<<grid, kThreads, 0, stream>>>(x, y, pixels, x_batch_stride, batch);
        else
            pad_to_4_s8_x4_kernel<4><<<grid, kThreads, 0, stream>>>(x, y, pixels, x_batch_stride, batch);
    } else {
        pad_channels_s8_kernel<<<grid_2d(pixels, batch), kThreads, 0, stream>>>(x, y, pixels, c, padded_c,
                                                                                x_batch_stride, batch);
    }
    CUDA_CHECK(cudaGetLastError());
}

}  // namespace engine::cuda
