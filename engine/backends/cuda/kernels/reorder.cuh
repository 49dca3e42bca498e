// Layout and storage-type conversion of activations (the CUDA backend's Reorder), and the channel
// padding of a conv input. Plain C++ launchers; device code in reorder.cu.
//
// Element types: ElemType::F32 (float), ElemType::F16 (IEEE half, as uint16_t bits) or ElemType::S8
// (int8_t q standing for the real value q * scale, INT8 plans: docs/int8.md). Layouts of a 4-D logical
// [N, C, H, W] tensor: NCHW (Plain) or NHWC. Sample n of a tensor starts at data + n * batch_stride
// elements (batch_stride >= the sample's element count: slices of bigger tensors are allowed); within
// a sample the storage is dense. Conversions F32 -> F16 round to nearest even (overflow to inf),
// F16 -> F32 is exact. To S8: saturate_s8(round_half_even(x / y_scale)), NaN -> 0; from S8:
// q * x_scale in FP32 (then rounded to F16 for an F16 output); S8 -> S8 is both, through the real
// value: exactly quantize_s8(dequantize_s8(q, x_scale), y_scale) of engine/refmath/ref_int8.h. The
// scales must be > 0 and are ignored for the float types.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace engine::cuda {

enum class ElemType : uint8_t { F32, F16, S8 };

// y = x with its dims [N][rows][cols] transposed to [N][cols][rows] per sample, converting the element
// type. NCHW -> NHWC is rows = C, cols = H*W; NHWC -> NCHW is rows = H*W, cols = C.
void launch_transpose(const void* x, ElemType xt, void* y, ElemType yt, int batch, int64_t rows, int64_t cols,
                      int64_t x_batch_stride, int64_t y_batch_stride, cudaStream_t stream,
                      float x_scale = 1.f, float y_scale = 1.f);

// y = x elementwise with the element type converted (same layout), `sample` elements per sample.
void launch_convert(const void* x, ElemType xt, void* y, ElemType yt, int batch, int64_t sample,
                    int64_t x_batch_stride, int64_t y_batch_stride, cudaStream_t stream, float x_scale = 1.f,
                    float y_scale = 1.f);

// NHWC with C channels -> dense NHWC with padded_c >= C channels, the extra channels zero (a conv
// input padded to a multiple of 8 channels for the tensor-core kernels). elem_size: 2 or 4 bytes.
void launch_pad_channels_nhwc(const void* x, void* y, size_t elem_size, int batch, int64_t pixels, int c,
                              int padded_c, int64_t x_batch_stride, cudaStream_t stream);

// F32 NCHW with C channels (an image: the network's input) -> s8 NHWC with padded_c >= C channels, the
// extra channels zero: the Reorder's quantization (saturate_s8(round_half_even(x / y_scale)), NaN -> 0)
// and the channel padding of an INT8 conv's input in one pass, for a conv that reads the network's F32
// input itself (conv_int8_reads_plain). padded_c a multiple of 4, y dense (pixels * padded_c a sample)
// and 4-byte aligned.
void launch_quantize_nchw_to_nhwc_padded(const float* x, int8_t* y, int batch, int c, int64_t pixels,
                                         int padded_c, int64_t x_batch_stride, float y_scale,
                                         cudaStream_t stream);

}  // namespace engine::cuda
