// The integer part of the CUDA backend's depthwise INT8 convolution (docs/int8.md), written once for
// the device kernel (conv_int8.cu) and the host, so that the CPU build's tests check it against the
// INT8 reference without a GPU: the weight packing and the accumulation of V adjacent output channels
// of one output pixel over NHWC s8 input. The float epilogue is the tensor-core kernel's (conv_int8.cu).
//
// Depthwise here means group == input channels == output channels (one 2-D filter per channel).
// Weights are packed tap-major, [kh][kw][C] s8, so that the V channels of one tap are adjacent, as
// they are in the NHWC input. Plain C++ when not compiled by nvcc.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define RTDET_DW_HD __host__ __device__ __forceinline__
#else
#define RTDET_DW_HD inline
#endif

namespace engine::cuda {

struct DwInt8Shape {
    int h = 0, w = 0, c = 0;  // input (c = output channels)
    int r = 1, s = 1;         // kernel
    int oh = 0, ow = 0;
    int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
};

// q [C][1][kh][kw] (quantize_weights_per_channel's order) -> packed [kh][kw][C].
inline void pack_dw_int8_weights(const int8_t* q, int c, int kh, int kw, int8_t* packed) {
    for (int ch = 0; ch < c; ++ch)
        for (int y = 0; y < kh; ++y)
            for (int x = 0; x < kw; ++x) packed[(y * kw + x) * c + ch] = q[(ch * kh + y) * kw + x];
}

// V bytes from p into v: one V-byte access on the device (p aligned to V bytes), a copy on the host.
template <int V>
RTDET_DW_HD void load_s8s(const int8_t* p, int8_t (&v)[V]) {
#if defined(__CUDA_ARCH__)
    if constexpr (V == 8) {
        const int2 t = *reinterpret_cast<const int2*>(p);
        std::memcpy(v, &t, 8);
    } else if constexpr (V == 4) {
        const int t = *reinterpret_cast<const int*>(p);
        std::memcpy(v, &t, 4);
    } else {
        for (int i = 0; i < V; ++i) v[i] = p[i];
    }
#else
    std::memcpy(v, p, V);
#endif
}

// acc[i] = sum over the taps inside the input of x[ih][iw][k0 + i] * w[tap][k0 + i], exactly (int32),
// for output pixel (oh, ow) of one sample: x points to the sample's NHWC s8 data, w to the packed
// weights. Taps that fall in the padding add nothing.
template <int V>
RTDET_DW_HD void dw_int8_accumulate(const DwInt8Shape& d, const int8_t* x, const int8_t* w, int oh, int ow,
                                    int k0, int32_t (&acc)[V]) {
    for (int i = 0; i < V; ++i) acc[i] = 0;
    for (int r = 0; r < d.r; ++r) {
        const int ih = oh * d.stride_h - d.pad_h + r * d.dil_h;
        if (ih < 0 || ih >= d.h) continue;
        for (int s = 0; s < d.s; ++s) {
            const int iw = ow * d.stride_w - d.pad_w + s * d.dil_w;
            if (iw < 0 || iw >= d.w) continue;
            int8_t xv[V], wv[V];
            load_s8s<V>(x + (static_cast<int64_t>(ih) * d.w + iw) * d.c + k0, xv);
            load_s8s<V>(w + (r * d.s + s) * d.c + k0, wv);
            for (int i = 0; i < V; ++i) acc[i] += static_cast<int32_t>(xv[i]) * static_cast<int32_t>(wv[i]);
        }
    }
}

}  // namespace engine::cuda
