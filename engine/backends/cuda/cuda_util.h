// CUDA, cuDNN and cuBLAS plumbing for the CUDA backend: error checks that throw engine::Error, and
// move-only RAII owners of streams, events, device and pinned memory and library handles (TensorRT's
// TrtCudaStream / GenericBuffer idea).
//
// Error policy (STYLE.md C5): every CUDA/cuDNN/cuBLAS call goes through one of the *_CHECK macros; a
// failure throws engine::Error with one line naming the API call, the error, and file:line, e.g.
//   "CUDA error 700 (an illegal memory access was encountered) at conv_cudnn.cpp:88 in cudaMemcpyAsync(...)"
// Such errors are fatal for the context that hit them (a sticky CUDA error poisons the CUDA context).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/error.h"

namespace engine::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t e, const char* file, int line, const char* call);
[[noreturn]] void throw_cudnn_error(cudnnStatus_t s, const char* file, int line, const char* call);
[[noreturn]] void throw_cublas_error(cublasStatus_t s, const char* file, int line, const char* call);

}  // namespace engine::cuda

#define CUDA_CHECK(call)                                                                \
    do {                                                                                \
        const cudaError_t rtdet_cuda_e_ = (call);                                       \
        if (rtdet_cuda_e_ != cudaSuccess)                                               \
            ::engine::cuda::throw_cuda_error(rtdet_cuda_e_, __FILE__, __LINE__, #call); \
    } while (0)

#define CUDNN_CHECK(call)                                                                 \
    do {                                                                                  \
        const cudnnStatus_t rtdet_cudnn_s_ = (call);                                      \
        if (rtdet_cudnn_s_ != CUDNN_STATUS_SUCCESS)                                       \
            ::engine::cuda::throw_cudnn_error(rtdet_cudnn_s_, __FILE__, __LINE__, #call); \
    } while (0)

#define CUBLAS_CHECK(call)                                                                  \
    do {                                                                                    \
        const cublasStatus_t rtdet_cublas_s_ = (call);                                      \
        if (rtdet_cublas_s_ != CUBLAS_STATUS_SUCCESS)                                       \
            ::engine::cuda::throw_cublas_error(rtdet_cublas_s_, __FILE__, __LINE__, #call); \
    } while (0)

namespace engine::cuda {

// Whether a CUDA device can be used: the runtime loads, a driver is there, at least one device is
// visible. When not, *why (if given) says why in one phrase ("no CUDA driver", "no CUDA device",
// "CUDA driver 12.4 is older than the runtime 13.0"). Never throws; safe on machines without a GPU.
bool cuda_device_available(std::string* why = nullptr);

// Whether p points to host memory (pageable or pinned) rather than device or managed memory
// (cudaPointerGetAttributes).
bool is_host_pointer(const void* p);

// Enqueues a copy of n samples of `sample` elements of `elem` bytes between memories with their own batch
// strides (elements; one copy when both are dense or n is 1, a 2-D copy otherwise).
void copy_samples(void* dst, int64_t dst_bs, const void* src, int64_t src_bs, int64_t n, int64_t sample,
                  size_t elem, cudaMemcpyKind kind, cudaStream_t s);

// The current device and the libraries, for plan signatures and logs.
struct DeviceInfo {
    std::string name;  // "NVIDIA H200"
    int cc_major = 0, cc_minor = 0;
    int multiprocessors = 0;
    size_t memory_bytes = 0;
    int runtime_version = 0;   // CUDA runtime, e.g. 13000
    int driver_version = 0;    // CUDA driver API version, e.g. 13000
    size_t cudnn_version = 0;  // cudnnGetVersion(), e.g. 91400
    int cublas_version = 0;
};
// Throws engine::Error when no device is usable.
DeviceInfo device_info();
// "cuda NVIDIA H200 sm_90 cuda 13.0 cudnn 9.14.0": what a plan built here records and what loading
// compares. Names the GPU model, compute capability, CUDA runtime and cuDNN versions (a plan's cuDNN
// algorithm choices and packed layouts are only valid for that combination).
std::string device_signature(const DeviceInfo& info);

// --- RAII owners (move-only) ---

class CudaStream {
  public:
    // A non-blocking stream (does not synchronize with the legacy default stream).
    CudaStream();
    ~CudaStream();
    CudaStream(CudaStream&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
    CudaStream& operator=(CudaStream&& o) noexcept;
    CudaStream(const CudaStream&) = delete;
    CudaStream& operator=(const CudaStream&) = delete;
    cudaStream_t get() const { return s_; }
    void synchronize() const;

  private:
    cudaStream_t s_ = nullptr;
};

class CudaEvent {
  public:
    // timing=false makes a cheaper event for ordering only.
    explicit CudaEvent(bool timing = true);
    ~CudaEvent();
    CudaEvent(CudaEvent&& o) noexcept : e_(o.e_) { o.e_ = nullptr; }
    CudaEvent& operator=(CudaEvent&& o) noexcept;
    CudaEvent(const CudaEvent&) = delete;
    CudaEvent& operator=(const CudaEvent&) = delete;
    cudaEvent_t get() const { return e_; }
    void record(cudaStream_t stream) const;
    void synchronize() const;
    // Milliseconds between two recorded events (both completed).
    static float elapsed_ms(const CudaEvent& start, const CudaEvent& end);

  private:
    cudaEvent_t e_ = nullptr;
};

// Device memory from cudaMalloc (256-byte aligned). Empty when bytes == 0.
class DeviceBuffer {
  public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t bytes);
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) {
        o.p_ = nullptr;
        o.bytes_ = 0;
    }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    void* get() const { return p_; }
    template <typename T>
    T* as() const {
        return static_cast<T*>(p_);
    }
    size_t bytes() const { return bytes_; }
    // Synchronous copies (build time, tests). Sizes are checked against bytes().
    void upload(const void* host, size_t bytes, size_t offset = 0);
    void download(void* host, size_t bytes, size_t offset = 0) const;

  private:
    void* p_ = nullptr;
    size_t bytes_ = 0;
};

// Page-locked host memory (cudaMallocHost): the source/destination of asynchronous copies.
class PinnedBuffer {
  public:
    PinnedBuffer() = default;
    explicit PinnedBuffer(size_t bytes);
    ~PinnedBuffer();
    PinnedBuffer(PinnedBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) {
        o.p_ = nullptr;
        o.bytes_ = 0;
    }
    PinnedBuffer& operator=(PinnedBuffer&& o) noexcept;
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    void* get() const { return p_; }
    size_t bytes() const { return bytes_; }

  private:
    void* p_ = nullptr;
    size_t bytes_ = 0;
};

class CudnnHandle {
  public:
    CudnnHandle();
    ~CudnnHandle();
    CudnnHandle(CudnnHandle&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
    CudnnHandle& operator=(CudnnHandle&& o) noexcept;
    CudnnHandle(const CudnnHandle&) = delete;
    CudnnHandle& operator=(const CudnnHandle&) = delete;
    cudnnHandle_t get() const { return h_; }

  private:
    cudnnHandle_t h_ = nullptr;
};

class CublasHandle {
  public:
    CublasHandle();
    ~CublasHandle();
    CublasHandle(CublasHandle&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
    CublasHandle& operator=(CublasHandle&& o) noexcept;
    CublasHandle(const CublasHandle&) = delete;
    CublasHandle& operator=(const CublasHandle&) = delete;
    cublasHandle_t get() const { return h_; }

  private:
    cublasHandle_t h_ = nullptr;
};

// Blocks per grid for a 1-D launch of n work items at `threads` per block, capped for grid-stride
// loops (kernels loop over the rest).
inline unsigned int grid_1d(int64_t n, int threads, int64_t max_blocks = 65535LL * 16) {
    int64_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    if (b > max_blocks) b = max_blocks;
    return static_cast<unsigned int>(b);
}

}  // namespace engine::cuda
