// Two INT8 convolutions in one kernel (docs/int8.md, "Twentieth session"): YOLO's stem, the image's
// 3x3 conv to 32 channels (stride 1, padding 1) and the 3x3 stride-2 conv from those 32 channels to 64
// (padding 1), whose 32-channel output at full resolution (354 MB at batch 64 and 416x416) never leaves
// the SM. A CTA takes an 8 x 16 tile of the second conv's outputs: it quantizes the image's 19 x 35
// window (F32 NCHW, the graph input, with the first conv's input scale: the Reorder's rounding) into
// shared memory, computes the first conv's 17 x 33 outputs the tile reads (zeros where they fall outside
// its output: the second conv's padding) into shared memory as s8 with the middle value's scale, then
// the second conv from there, and stores its s8 NHWC output. Both convs are mma.sync m16n8k32 with the
// folded epilogue of conv_int8.cu's direct tiles (one fused multiply-add an output, act none or leaky,
// rounding through kRoundMagic), so the output bytes equal those of the two convs run apart by our
// direct tiles (the image's packed taps; the 32-channel 3x3 tiles).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace engine::cuda {

// The two convs' weights and folded constants, and the CTA shape: what both pair kernels take.
struct ConvPairConvs {
    // First conv: 32 rows of s8 weights (the stem's [32][kPackedDepth] packed taps, a block's [32][64]);
    // alpha0 / bias0 [32] folded: x_scale * w_scale[k] / mid_scale, bias[k] / mid_scale.
    const int8_t* w0 = nullptr;
    const float* alpha0 = nullptr;
    const float* bias0 = nullptr;
    float slope0 = 1;  // leaky ReLU's slope in (0, 1]; 1: no activation
    // Second conv: [64][3][3][32] s8; alpha1 / bias1 [64] folded: mid_scale * w_scale[k] / y_scale,
    // bias[k] / y_scale.
    const int8_t* w1 = nullptr;
    const float* alpha1 = nullptr;
    const float* bias1 = nullptr;
    float slope1 = 1;
    // Every accumulator of the first / second conv within +-2^22 (int8_sums_small): one add turns it
    // into a float instead of a conversion. False is always right.
    bool small0 = false, small1 = false;
    // The CTA shape (conv_pair_int8_cta_name): 0 to kConvPairCtas - 1; timed per layer at build time
    // (conv_int8.cpp's conv_pair_pack).
    int cta = 0;
};

// The stem: first's weights in packed taps (tap (r, s)'s channels at (3 r + s) * kPackedC: conv_int8.cpp's
// packed taps).
struct ConvPairInt8Args : ConvPairConvs {
    const float* x = nullptr;  // [batch][c][h][w] F32 (x_batch_stride elements a sample)
    int64_t x_batch_stride = 0;
    float x_scale = 1;  // the image's s8 scale (amax / 127)
    int batch = 0, c = 0, h = 0, w = 0;
    int8_t* y = nullptr;  // [batch][oh][ow][64] s8 (y_batch_stride elements a sample)
    int64_t y_batch_stride = 0;
    int oh = 0, ow = 0;  // (h + 1) / 2, (w + 1) / 2
};

inline constexpr int kConvPairMid = 32;  // the first conv's outputs, the second's inputs
inline constexpr int kConvPairOut = 64;  // the second conv's outputs
inline constexpr int kConvPairMaxC = 4;  // the image's channels at most (kPackedC)

// Whether the kernel runs these arguments: 1 to kConvPairMaxC channels, oh and ow the stride-2 sizes,
// 32-bit indexing, x 4-byte and y 16-byte aligned, slopes in (0, 1], a CTA shape of the list. The message
// says what does not fit.
bool conv_pair_int8_fits(const ConvPairInt8Args& a, const char** why = nullptr);
// The CTA shapes: 4 warps (two output rows each in the second conv) and 3 CTAs an SM (168 registers a
// thread); 8 warps (one row each), 2 an SM (128 registers). (4 warps and 4 CTAs an SM, 128 registers,
// spilled and ran at 0.66 ms against 0.56 on the H100, YOLOv3-416 at batch 64.)
inline constexpr int kConvPairCtas = 2;
const char* conv_pair_int8_cta_name(int cta);
// Enqueues it (conv_pair_int8_fits must hold; it throws engine::Error otherwise).
void launch_conv_pair_int8(const ConvPairInt8Args& a, cudaStream_t stream);

// YOLO's residual block in one kernel (docs/int8.md, "Twenty-first session"): a 1x1 conv from
// kResPairX channels to kConvPairMid (stride 1, no padding), then a 3x3 conv (stride 1, padding 1) back
// to kResPairX channels whose output gets the block's input added (the residual, after the act, then
// post_act), all s8 NHWC. The 32-channel middle tensor (89 MB at batch 64 and 208x208) never leaves the
// SM, and the block's input is read once for both its uses. A CTA takes an 8 x 16 tile of outputs: the
// input's 10 x 18 window comes into shared memory by cp.async (the next tile's during this one's convs),
// the 1x1 conv's outputs there (zeros outside the image: the 3x3's padding), the 3x3 conv from there and
// the residual from the window. The folded epilogues of conv_int8.cu's direct tiles, so the bytes equal
// those of the two convs run apart by them (`32x32 1x1 c64`, `16x64 c32`).
struct ConvResPairInt8Args : ConvPairConvs {  // first's weights [32][kResPairX]
    const int8_t* x = nullptr;  // [batch][h][w][kResPairX] s8 (x_batch_stride elements a sample)
    int64_t x_batch_stride = 0;
    int batch = 0, h = 0, w = 0;
    float res_fold = 1;    // x_scale / y_scale as the direct tiles fold it (x_scale * (1 / y_scale))
    float post_slope = 1;  // post_act: leaky ReLU's slope in (0, 1]; 1: none
    int8_t* y = nullptr;   // [batch][h][w][kResPairX] s8 (y_batch_stride elements a sample)
    int64_t y_batch_stride = 0;
};

inline constexpr int kResPairX = 64;  // the block's channels (input, output, residual)

// Whether the kernel runs these arguments (sizes, 32-bit indexing, x and y 16-byte aligned with batch
// strides of whole 16 bytes, slopes in (0, 1], a finite positive res_fold, a CTA shape of the list); the
// message says what does not.
bool conv_res_pair_int8_fits(const ConvResPairInt8Args& a, const char** why = nullptr);
// Enqueues it (conv_res_pair_int8_fits must hold; it throws engine::Error otherwise).
void launch_conv_res_pair_int8(const ConvResPairInt8Args& a, cudaStream_t stream);

}  // namespace engine::cuda
