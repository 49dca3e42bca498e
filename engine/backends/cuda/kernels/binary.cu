#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/binary.cuh"
#include "engine/backends/cuda/kernels/device_util.cuh"

namespace engine::cuda {
namespace {

template <typename T, int V, BinaryKind K>
__global__ void binary_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, int batch,
                              int64_t vecs, int64_t abs_, int64_t bbs, int64_t ybs) {
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const T* as = a + n * abs_;
        const T* bs = b + n * bbs;
        T* ys = y + n * ybs;
        for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < vecs;
             i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
            const Vec<T, V> av = load_vec<T, V>(as + i * V);
            const Vec<T, V> bv = load_vec<T, V>(bs + i * V);
            Vec<T, V> out;
#pragma unroll
            for (int k = 0; k < V; ++k) {
                const float p = to_f32(av.v[k]), q = to_f32(bv.v[k]);
                out.v[k] = from_f32<T>(K == BinaryKind::Add ? p + q : p * q);
            }
            store_vec<T, V>(ys + i * V, out);
        }
    }
}

template <typename T, int V>
bool fits(const BinaryArgs& a) {
    const size_t bytes = sizeof(T) * V;
    return a.sample % V == 0 && a.a_batch_stride % V == 0 && a.b_batch_stride % V == 0 &&
           a.y_batch_stride % V == 0 && aligned_to(a.a, bytes) && aligned_to(a.b, bytes) &&
           aligned_to(a.y, bytes);
}

template <typename T, int V>
void launch_v(const BinaryArgs& a, cudaStream_t stream) {
    const int64_t vecs = a.sample / V;
    const dim3 grid = grid_2d(vecs, a.batch);
    const auto* pa = static_cast<const T*>(a.a);
    const auto* pb = static_cast<const T*>(a.b);
    auto* py = static_cast<T*>(a.y);
    if (a.kind == BinaryKind::Add)
        binary_kernel<T, V, BinaryKind::Add><<<grid, kThreads, 0, stream>>>(
            pa, pb, py, a.batch, vecs, a.a_batch_stride, a.b_batch_stride, a.y_batch_stride);
    else
        binary_kernel<T, V, BinaryKind::Mul><<<grid, kThreads, 0, stream>>>(
            pa, pb, py, a.batch, vecs, a.a_batch_stride, a.b_batch_stride, a.y_batch_stride);
}

template <typename T, int VMax>
void launch_typed(const BinaryArgs& a, cudaStream_t stream) {
    if (a.batch <= 0 || a.sample <= 0) return;
    if (fits<T, VMax>(a))
        launch_v<T, VMax>(a, stream);
    else
        launch_v<T, 1>(a, stream);
    CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void launch_binary_f32(const BinaryArgs& a, cudaStream_t stream) { launch_typed<float, 4>(a, stream); }
void launch_binary_f16(const BinaryArgs& a, cudaStream_t stream) { launch_typed<__half, 8>(a, stream); }

}  // namespace engine::cuda
