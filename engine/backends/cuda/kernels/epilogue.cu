#include "engine/backends/cuda/cuda_util.h"
#include "engine/backends/cuda/kernels/device_util.cuh"
#include "engine/backends/cuda/kernels/epilogue.cuh"

namespace engine::cuda {
namespace {

// x may be y (in place after the conv): no __restrict__ on them. V elements per thread per step; the channel
// of element i is i % C (C is a multiple of V when a bias is read, so a vector never straddles two pixels'
// bias ranges).
template <typename T, int V, ActKind A, bool kBias, bool kResidual>
__global__ void epilogue_kernel(const T* x, T* y, const float* __restrict__ bias, const T* __restrict__ r,
                                int batch, int sample_vecs, int channels, int64_t xbs, int64_t ybs,
                                int64_t rbs, Act act, Act post) {
    for (int n = blockIdx.y; n < batch; n += gridDim.y) {
        const T* xs = x + n * xbs;
        T* ys = y + n * ybs;
        const T* rs = kResidual ? r + n * rbs : nullptr;
        for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < sample_vecs; i += gridDim.x * blockDim.x) {
            const int e = i * V;
            const Vec<T, V> xv = load_vec<T, V>(xs + e);
            Vec<T, V> rv;
            if constexpr (kResidual) rv = load_vec<T, V>(rs + e);
            const int c = kBias ? e % channels : 0;
            Vec<T, V> out;
#pragma unroll
            for (int k = 0; k < V; ++k) {
                float v = to_f32(xv.v[k]);
                if constexpr (kBias) v += __ldg(bias + c + k);
                v = act_dev<A>(v, act.alpha, act.beta);
                if constexpr (kResidual) v = act_dev_any(post, v + to_f32(rv.v[k]));
                out.v[k] = from_f32<T>(v);
            }
            store_vec<T, V>(ys + e, out);
        }
    }
}

template <typename T, int V>
bool vector_ok(const EpilogueArgs& a) {
    if (V == 1) return true;
    const size_t bytes = sizeof(T) * V;
    if (a.sample % V != 0 || a.x_batch_stride % V != 0 || a.y_batch_stride % V != 0) return false;
    if (a.bias != nullptr && a.channels % V != 0) return false;
    if (a.residual != nullptr && (a.r_batch_stride % V != 0 || !aligned_to(a.residual, bytes))) return false;
    return aligned_to(a.x, bytes) && aligned_to(a.y, bytes);
}

template <typename T, int V>
void launch_vec(const EpilogueArgs& a, cudaStream_t stream) {
    const int vecs = static_cast<int>(a.sample / V);
    const dim3 grid = grid_2d(vecs, a.batch);
    const bool has_bias = a.bias != nullptr;
    const bool has_res = a.residual != nullptr;
    dispatch_act(a.act.kind, [&]<ActKind A>() {
        auto go = [&](auto kernel) {
            kernel<<<grid, kThreads, 0, stream>>>(static_cast<const T*>(a.x), static_cast<T*>(a.y), a.bias,
                                                  static_cast<const T*>(a.residual), a.batch, vecs,
                                                  a.channels, a.x_batch_stride, a.y_batch_stride,
                                                  a.r_batch_stride, a.act, a.post_act);
        };
        if (has_bias && has_res)
            go(epilogue_kernel<T, V, A, true, true>);
        else if (has_bias)
            go(epilogue_kernel<T, V, A, true, false>);
        else if (has_res)
            go(epilogue_kernel<T, V, A, false, true>);
        else
            go(epilogue_kernel<T, V, A, false, false>);
    });
}

template <typename T, int VMax>
void launch_typed(const EpilogueArgs& a, cudaStream_t stream) {
    ENGINE_CHECK(a.sample < INT32_MAX, "cuda epilogue: ", a.sample, " elements per sample is too many");
    ENGINE_CHECK(a.bias == nullptr || a.channels > 0, "cuda epilogue: bias without channels");
    if (a.batch <= 0 || a.sample <= 0) return;
    if (vector_ok<T, VMax>(a))
        launch_vec<T, VMax>(a, stream);
    else if (vector_ok<T, 2>(a))
        launch_vec<T, 2>(a, stream);
    else
        launch_vec<T, 1>(a, stream);
    CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void launch_epilogue_f32(const EpilogueArgs& a, cudaStream_t stream) { launch_typed<float, 4>(a, stream); }
void launch_epilogue_f16(const EpilogueArgs& a, cudaStream_t stream) { launch_typed<__half, 8>(a, stream); }

}  // namespace engine::cuda
