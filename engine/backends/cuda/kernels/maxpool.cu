#include <cfloat>

#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/device_util.cuh"
#include "engine/backends/cuda/kernels/maxpool.cuh"

namespace engine::cuda {
namespace {

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
            float m[V];
#pragma unroll
            for (int k = 0; k < V; ++k) m[k] = -INFINITY;
            for (int ky = 0; ky < a.kh; ++ky) {
                const int iy = oy * a.sh - a.pad_top + ky * a.dh;
                if (iy < 0 || iy >= a.h) continue;
                for (int kx = 0; kx < a.kw; ++kx) {
                    const int ix = ox * a.sw - a.pad_left + kx * a.dw;
                    if (ix < 0 || ix >= a.w) continue;
                    const Vec<T, V> v =
                        load_vec<T, V>(xs + (static_cast<int64_t>(iy) * a.w + ix) * a.c + g * V);
#pragma unroll
                    for (int k = 0; k < V; ++k) m[k] = fmaxf(m[k], to_f32(v.v[k]));
                }
            }
            Vec<T, V> out;
#pragma unroll
            for (int k = 0; k < V; ++k) out.v[k] = from_f32<T>(m[k]);
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

template <typename T, int VMax>
void launch_typed(const MaxPoolNhwcArgs& a, cudaStream_t stream) {
    ENGINE_CHECK(a.kh >= 1 && a.kw >= 1 && a.sh >= 1 && a.sw >= 1 && a.dh >= 1 && a.dw >= 1,
                 "cuda maxpool: kernel, strides and dilations must be >= 1");
    if (a.batch <= 0 || a.oh <= 0 || a.ow <= 0 || a.c <= 0) return;
    if (fits<T, VMax>(a))
        launch_v<T, VMax>(a, stream);
    else if (fits<T, 2>(a))
        launch_v<T, 2>(a, stream);
    else
        launch_v<T, 1>(a, stream);
    CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void launch_maxpool_nhwc_f32(const MaxPoolNhwcArgs& a, cudaStream_t stream) {
    launch_typed<float, 4>(a, stream);
}
void launch_maxpool_nhwc_f16(const MaxPoolNhwcArgs& a, cudaStream_t stream) {
    launch_typed<__half, 8>(a, stream);
}

}  // namespace engine::cuda
