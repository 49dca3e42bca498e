#include <cfloat>

#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/device_util.cuh"
#include "engine/backends/cuda/kernels/maxpool.cuh"

namespace engine::cuda {
namespace {

// The running max: in FP32 for the float types (exact: max only picks), on the stored integers for s8
// (one scale for input and output, so the max of the integers is the max of the real values). The
// start value is what a padded position would be if it could win: -inf, or -128 for s8, which no real
// element is below (a window with no input position gives -inf, -128 for s8 = quantize_s8(-inf)).
template <typename T>
struct PoolAcc {
    using type = float;
    static __device__ __forceinline__ float lowest() { return -INFINITY; }
    static __device__ __forceinline__ float take_max(float m, T v) { return fmaxf(m, to_f32(v)); }
    static __device__ __forceinline__ T out(float m) { return from_f32<T>(m); }
};
template <>
struct PoolAcc<int8_t> {
    using type = int;
    static __device__ __forceinline__ int lowest() { return -128; }
    static __device__ __forceinline__ int take_max(int m, int8_t v) { return m > v ? m : v; }
    static __device__ __forceinline__ int8_t out(int m) { return static_cast<int8_t>(m); }
};

// One thread per (output pixel, V consecutive channels).
template <typename T, int V>
__global__ void maxpool_nhwc_kernel(const T* __restrict__ x, T* __restrict__ y, MaxPoolNhwcArgs a) {
    const int groups = a.c / V;
    const int64_t total = static_cast<int64_t>(a.oh) * a.ow * groups;
    for (int n = blockIdx.y; n < a.batch; n += gridDim.y) {
        const T* xs = x + n * a.x_batch_stride;
        T* ys = y + n * a.y_batch_stride;
        for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
             i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
            const int g = static_cast<int>(i % groups);
            const int64_t p = i / groups;
            const int ox = static_cast<int>(p % a.ow);
            const int oy = static_cast<int>(p / a.ow);
            using Acc = PoolAcc<T>;
            typename Acc::type m[V];
#pragma unroll
            for (int k = 0; k < V; ++k) m[k] = Acc::lowest();
            for (int ky = 0; ky < a.kh; ++ky) {
                const int iy = oy * a.sh - a.pad_top + ky * a.dh;
                if (iy < 0 || iy >= a.h) continue;
                for (int kx = 0; kx < a.kw; ++kx) {
                    const int ix = ox * a.sw - a.pad_left + kx * a.dw;
                    if (ix < 0 || ix >= a.w) continue;
                    const Vec<T, V> v =
                        load_vec<T, V>(xs + (static_cast<int64_t>(iy) * a.w + ix) * a.c + g * V);
#pragma unroll
                    for (int k = 0; k < V; ++k) m[k] = Acc::take_max(m[k], v.v[k]);
                }
            }
            Vec<T, V> out;
#pragma unroll
            for (int k = 0; k < V; ++k) out.v[k] = Acc::out(m[k]);
            store_vec<T, V>(ys + p * a.c + g * V, out);
        }
    }
}

template <typename T, int V>
bool fits(const MaxPoolNhwcArgs& a) {
    const size_t bytes = sizeof(T) * V;
    return a.c % V == 0 && a.x_batch_stride % V == 0 && a.y_batch_stride % V == 0 && aligned_to(a.x, bytes) &&
           aligned_to(a.y, bytes);
}

template <typename T, int V>
void launch_v(const MaxPoolNhwcArgs& a, cudaStream_t stream) {
    const int64_t total = static_cast<int64_t>(a.oh) * a.ow * (a.c / V);
    maxpool_nhwc_kernel<T, V><<<grid_2d(total, a.batch), kThreads, 0, stream>>>(static_cast<const T*>(a.x),
                                                                                static_cast<T*>(a.y), a);
}

// The widest of VMax (16 bytes), VMid and 1 elements per thread that the channels, strides and
// pointers allow.
template <typename T, int VMax, int VMid>
void launch_typed(const MaxPoolNhwcArgs& a, cudaStream_t stream) {
    ENGINE_CHECK(a.kh >= 1 && a.kw >= 1 && a.sh >= 1 && a.sw >= 1 && a.dh >= 1 && a.dw >= 1,
                 "cuda maxpool: kernel, strides and dilations must be >= 1");
    if (a.batch <= 0 || a.oh <= 0 || a.ow <= 0 || a.c <= 0) return;
    if (fits<T, VMax>(a))
        launch_v<T, VMax>(a, stream);
    else if (fits<T, VMid>(a))
        launch_v<T, VMid>(a, stream);
    else
        launch_v<T, 1>(a, stream);
    CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void launch_maxpool_nhwc_f32(const MaxPoolNhwcArgs& a, cudaStream_t stream) {
    launch_typed<float, 4, 2>(a, stream);
}
void launch_maxpool_nhwc_f16(const MaxPoolNhwcArgs& a, cudaStream_t stream) {
    launch_typed<__half, 8, 2>(a, stream);
}
void launch_maxpool_nhwc_s8(const MaxPoolNhwcArgs& a, cudaStream_t stream) {
    launch_typed<int8_t, 16, 4>(a, stream);
}

}  // namespace engine::cuda
