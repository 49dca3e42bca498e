// INT8 convolution on the tensor cores (issue 16, docs/int8.md): an implicit GEMM over NHWC s8
// activations and s8 weights with int32 accumulation (mma.sync m16n8k32, sm_80 and later), a multi-stage
// cp.async pipeline, and the whole epilogue fused:
//
//   v = acc * alpha[k] + bias[k]            alpha[k] = x_scale * w_scale[k]
//   v = post_act(act(v) + residual)         (residual and post_act only with a residual)
//   y = v (F32 / F16), or saturate_s8(round_half_even(v / y_scale))   (S8)
//
// in the order and rounding of the reference (engine/refmath/ref_int8.h: no fused multiply-add), so the
// output equals ref_conv_int8's bit for bit; except S8 outputs with act none or leaky (and no residual or
// an s8 one, post_act none or leaky), which fold 1 / y_scale into alpha and bias (one fused multiply-add
// an output, as TensorRT does) and may differ by one step at a rounding tie. The residual is read in its
// own storage (s8 times r_scale, F16 or F32). Plain C++ launchers; device code in conv_int8.cu.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/ir/params.h"

namespace engine::cuda {

enum class I8Elem : uint8_t { None, S8, F16, F32 };

struct ConvInt8Args {
    const int8_t* x = nullptr;     // NHWC s8, `c` channels (a multiple of the tile's k depth: 32 or 64;
                                   // kPackedC for packed tiles)
    const int8_t* w = nullptr;     // [k][r][s][c] s8 ([k][64] for packed tiles)
    const float* alpha = nullptr;  // [k] x_scale * w_scale[k]
    const float* bias = nullptr;   // [k] or nullptr
    const void* residual = nullptr;
    I8Elem residual_type = I8Elem::None;
    float residual_scale = 1;  // S8 residual: its real value is q * residual_scale
    void* y = nullptr;
    I8Elem y_type = I8Elem::S8;
    float y_scale = 1;  // S8 output: the output's scale
    int batch = 1;
    int h = 0, w_in = 0, c = 0;  // input
    int k = 0, r = 1, s = 1;     // output channels, kernel
    int oh = 0, ow = 0;
    int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
    int64_t x_batch_stride = 0, y_batch_stride = 0, r_batch_stride = 0;  // elements
    // y NCHW (plain) rather than NHWC: the tensor-core kernel only, an F32 output without a residual (a
    // graph output written by the conv itself, such as YOLO's heads).
    bool y_nchw = false;
    Act act, post_act;
    // Every accumulator within +-2^22 (int8_sums_small of the weights, requant_core.h): the tensor-core
    // kernel turns it into a float with one add instead of a conversion. False is always right.
    bool small_acc = false;
};

// The tile configurations (CTA tile M x N x K-depth, pipeline stages), timed per layer at build time.
int conv_int8_tile_count();
// "128x128x64/4" and the like, for logs.
const char* conv_int8_tile_name(int tile);
// Packed tiles take the image's few channels: `c` == kPackedC (the input zero-padded to it), the kernel's
// taps packed into one k block (kh * kw * kPackedC <= kPackedDepth: 3x3 and smaller), weights
// [k][kPackedDepth] with tap (r, s)'s channels at (r * kw + s) * kPackedC (conv_int8.cpp packs them);
// the other tiles read `c` channels a tap (a multiple of their k depth), weights [k][r][s][c].
inline constexpr int kPackedC = 4;
inline constexpr int kPackedDepth = 64;  // the packed tiles' k depth
bool conv_int8_tile_packed(int tile);
// Whether this build has the wgmma tiles' code (every CUDA architecture it targets is sm_90a:
// RTDET_CUDA_WGMMA). Elsewhere those tiles fit nothing.
bool conv_int8_wgmma_built();
// Experimental tiles (new ones, or ones still being made fast: the warp-specialized tiles, "ws", correct
// on the H100 but at half cuDNN's speed with cp.async copies, 0.62-0.83x with TMA): they fit and run (the
// tests run every tile); the builder times and chooses them only with
// RTDET_CUDA_INT8_EXPERIMENTAL=1 (int8_experimental_tiles_enabled).
bool conv_int8_tile_experimental(int tile);
// Tiles that run only the folded S8 epilogue's cases (an s8 output in whole 16-byte runs, act none or
// leaky ReLU, no residual or an s8 one with post_act none or leaky): the warp-specialized ones.
// conv_int8_tile_fits refuses them elsewhere.
bool conv_int8_tile_folded_only(int tile);
// Tiles that run only an F32 NCHW output (the graph's own output; act none or leaky ReLU, no residual):
// the direct ones for YOLO's heads. conv_int8_tile_fits refuses them elsewhere.
bool conv_int8_tile_nchw_only(int tile);
// Tests: the warp-specialized tiles' persistent grid capped at `ctas` CTAs (0: the device's SM count),
// so that small problems take several tiles a CTA.
void conv_int8_ws_grid_cap(int ctas);
// The CTAs of a persistent kernel's grid at most: `resident` a multiprocessor on each of the device's, or
// the tests' cap (conv_int8_ws_grid_cap) where one is set. The direct tiles and the conv pair
// (conv_pair_int8.cuh) launch that many, or fewer where the tiles are fewer.
int64_t conv_int8_persistent_grid(int resident);
// Whether `tile` computes `k` output channels: the direct tiles compute exactly theirs (32 or 64), or
// any multiple of them (those of TileInfo::k_parts; the NCHW ones any count), the others any.
bool conv_int8_tile_k_fits(int tile, int k);
// Taps a k block (1, or 2 for the tiles of two 32-channel taps a 64-deep block: Tile::TAPS).
int conv_int8_tile_taps(int tile);
// Whether `tile` runs a conv of `c` input channels (as the tile reads them) and an r x s kernel.
bool conv_int8_tile_shape_fits(int tile, int c, int r, int s);
// conv_int8_tile_shape_fits, and the pointers aligned (16 bytes; packed tiles' x to 4); an NCHW output
// F32 without a residual.
bool conv_int8_tile_fits(const ConvInt8Args& a, int tile);
// Enqueues the conv with tile configuration `tile` (conv_int8_tile_fits must hold; group 1).
void launch_conv_int8(const ConvInt8Args& a, int tile, cudaStream_t stream);

// Depthwise INT8 (group == c == k; dw_int8_core.h): `w` packed [r][s][c] (pack_dw_int8_weights), no
// channel padding, the same epilogue as the tensor-core kernel, NHWC output only. A thread takes 8, 4 or 1
// adjacent channels (conv_dw_int8_width: the widest the channel count, batch strides and alignments allow).
bool conv_dw_int8_fits(const ConvInt8Args& a);
int conv_dw_int8_width(const ConvInt8Args& a);
void launch_conv_dw_int8(const ConvInt8Args& a, cudaStream_t stream);

// NHWC s8 with `c` channels -> dense NHWC s8 with padded_c > c channels (a multiple of 4; y 16-byte
// aligned), the extra channels zero (the input of a conv whose channel count is not a multiple of 32,
// such as the image's 3).
void launch_pad_channels_s8(const int8_t* x, int8_t* y, int batch, int64_t pixels, int c, int padded_c,
                            int64_t x_batch_stride, cudaStream_t stream);

}  // namespace engine::cuda
