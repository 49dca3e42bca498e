#include "engine/backends/cuda/cuda_util.h"

#include <cstring>

namespace engine::cuda {
namespace {

// The file name without its directories, for short messages.
const char* base_name(const char* file) {
    const char* slash = std::strrchr(file, '/');
    return slash != nullptr ? slash + 1 : file;
}

std::string version_str(int v) { return concat(v / 1000, ".", (v % 1000) / 10); }

}  // namespace

void throw_cuda_error(cudaError_t e, const char* file, int line, const char* call) {
    ENGINE_THROW("CUDA error ", static_cast<int>(e), " (", cudaGetErrorString(e), ") at ", base_name(file),
                 ":", line, " in ", call);
}

void throw_cudnn_error(cudnnStatus_t s, const char* file, int line, const char* call) {
    ENGINE_THROW("cuDNN error ", static_cast<int>(s), " (", cudnnGetErrorString(s), ") at ", base_name(file),
                 ":", line, " in ", call);
}

void throw_cublas_error(cublasStatus_t s, const char* file, int line, const char* call) {
    ENGINE_THROW("cuBLAS error ", static_cast<int>(s), " (", cublasGetStatusString(s), ") at ",
                 base_name(file), ":", line, " in ", call);
}

bool is_host_pointer(const void* p) {
    cudaPointerAttributes a{};
    CUDA_CHECK(cudaPointerGetAttributes(&a, p));
    return a.type != cudaMemoryTypeDevice && a.type != cudaMemoryTypeManaged;
}

void copy_samples(void* dst, int64_t dst_bs, const void* src, int64_t src_bs, int64_t n, int64_t sample,
                  size_t elem, cudaMemcpyKind kind, cudaStream_t s) {
    const size_t row = static_cast<size_t>(sample) * elem;
    if ((dst_bs == sample && src_bs == sample) || n == 1) {
        CUDA_CHECK(cudaMemcpyAsync(dst, src, row * static_cast<size_t>(n), kind, s));
        return;
    }
    CUDA_CHECK(cudaMemcpy2DAsync(dst, static_cast<size_t>(dst_bs) * elem, src,
                                 static_cast<size_t>(src_bs) * elem, row, static_cast<size_t>(n), kind, s));
}

bool cuda_device_available(std::string* why) {
    auto no = [&](std::string reason) {
        if (why != nullptr) *why = std::move(reason);
        return false;
    };
    int driver = 0;
    if (cudaDriverGetVersion(&driver) != cudaSuccess || driver == 0)
        return no("no CUDA driver on this machine");
    int runtime = 0;
    (void)cudaRuntimeGetVersion(&runtime);
    if (driver < runtime)
        return no(
            concat("CUDA driver ", version_str(driver), " is older than the runtime ", version_str(runtime)));
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();  // clear the non-sticky error
        return no(concat("no CUDA device (", cudaGetErrorString(e), ")"));
    }
    if (count == 0) return no("no CUDA device visible");
    return true;
}

DeviceInfo device_info() {
    std::string why;
    ENGINE_CHECK(cuda_device_available(&why), "cuda: ", why);
    DeviceInfo d;
    int dev = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
    d.name = prop.name;
    d.cc_major = prop.major;
    d.cc_minor = prop.minor;
    d.multiprocessors = prop.multiProcessorCount;
    d.memory_bytes = prop.totalGlobalMem;
    CUDA_CHECK(cudaRuntimeGetVersion(&d.runtime_version));
    CUDA_CHECK(cudaDriverGetVersion(&d.driver_version));
    d.cudnn_version = cudnnGetVersion();
    int major = 0, minor = 0, patch = 0;
    CUBLAS_CHECK(cublasGetProperty(MAJOR_VERSION, &major));
    CUBLAS_CHECK(cublasGetProperty(MINOR_VERSION, &minor));
    CUBLAS_CHECK(cublasGetProperty(PATCH_LEVEL, &patch));
    d.cublas_version = major * 10000 + minor * 100 + patch;
    return d;
}

std::string device_signature(const DeviceInfo& info) {
    const size_t v = info.cudnn_version;  // 9.x: major*10000 + minor*100 + patch
    return concat("cuda ", info.name, " sm_", info.cc_major, info.cc_minor, " cuda ",
                  version_str(info.runtime_version), " cudnn ", v / 10000, ".", (v % 10000) / 100, ".",
                  v % 100);
}

// --- CudaStream ---

CudaStream::CudaStream() { CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
CudaStream::~CudaStream() {
    if (s_ != nullptr) (void)cudaStreamDestroy(s_);
}
CudaStream& CudaStream::operator=(CudaStream&& o) noexcept {
    if (this != &o) {
        if (s_ != nullptr) (void)cudaStreamDestroy(s_);
        s_ = o.s_;
        o.s_ = nullptr;
    }
    return *this;
}
void CudaStream::synchronize() const { CUDA_CHECK(cudaStreamSynchronize(s_)); }

// --- CudaEvent ---

CudaEvent::CudaEvent(bool timing) {
    CUDA_CHECK(cudaEventCreateWithFlags(&e_, timing ? cudaEventDefault : cudaEventDisableTiming));
}
CudaEvent::~CudaEvent() {
    if (e_ != nullptr) (void)cudaEventDestroy(e_);
}
CudaEvent& CudaEvent::operator=(CudaEvent&& o) noexcept {
    if (this != &o) {
        if (e_ != nullptr) (void)cudaEventDestroy(e_);
        e_ = o.e_;
        o.e_ = nullptr;
    }
    return *this;
}
void CudaEvent::record(cudaStream_t stream) const { CUDA_CHECK(cudaEventRecord(e_, stream)); }
void CudaEvent::synchronize() const { CUDA_CHECK(cudaEventSynchronize(e_)); }
float CudaEvent::elapsed_ms(const CudaEvent& start, const CudaEvent& end) {
    float ms = 0.f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start.e_, end.e_));
    return ms;
}

// --- DeviceBuffer ---

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes > 0) CUDA_CHECK(cudaMalloc(&p_, bytes));
}
DeviceBuffer::~DeviceBuffer() {
    if (p_ != nullptr) (void)cudaFree(p_);
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
        if (p_ != nullptr) (void)cudaFree(p_);
        p_ = o.p_;
        bytes_ = o.bytes_;
        o.p_ = nullptr;
        o.bytes_ = 0;
    }
    return *this;
}
void DeviceBuffer::upload(const void* host, size_t bytes, size_t offset) {
    ENGINE_CHECK(offset + bytes <= bytes_, "cuda: upload of ", bytes, " bytes at ", offset,
                 " into a buffer of ", bytes_);
    if (bytes > 0)
        CUDA_CHECK(cudaMemcpy(static_cast<char*>(p_) + offset, host, bytes, cudaMemcpyHostToDevice));
}
void DeviceBuffer::download(void* host, size_t bytes, size_t offset) const {
    ENGINE_CHECK(offset + bytes <= bytes_, "cuda: download of ", bytes, " bytes at ", offset,
                 " from a buffer of ", bytes_);
    if (bytes > 0)
        CUDA_CHECK(cudaMemcpy(host, static_cast<const char*>(p_) + offset, bytes, cudaMemcpyDeviceToHost));
}

// --- PinnedBuffer ---

PinnedBuffer::PinnedBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes > 0) CUDA_CHECK(cudaMallocHost(&p_, bytes));
}
PinnedBuffer::~PinnedBuffer() {
    if (p_ != nullptr) (void)cudaFreeHost(p_);
}
PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& o) noexcept {
    if (this != &o) {
        if (p_ != nullptr) (void)cudaFreeHost(p_);
        p_ = o.p_;
        bytes_ = o.bytes_;
        o.p_ = nullptr;
        o.bytes_ = 0;
    }
    return *this;
}

// --- CudnnHandle / CublasHandle ---

CudnnHandle::CudnnHandle() { CUDNN_CHECK(cudnnCreate(&h_)); }
CudnnHandle::~CudnnHandle() {
    if (h_ != nullptr) (void)cudnnDestroy(h_);
}
CudnnHandle& CudnnHandle::operator=(CudnnHandle&& o) noexcept {
    if (this != &o) {
        if (h_ != nullptr) (void)cudnnDestroy(h_);
        h_ = o.h_;
        o.h_ = nullptr;
    }
    return *this;
}

CublasHandle::CublasHandle() { CUBLAS_CHECK(cublasCreate(&h_)); }
CublasHandle::~CublasHandle() {
    if (h_ != nullptr) (void)cublasDestroy(h_);
}
CublasHandle& CublasHandle::operator=(CublasHandle&& o) noexcept {
    if (this != &o) {
        if (h_ != nullptr) (void)cublasDestroy(h_);
        h_ = o.h_;
        o.h_ = nullptr;
    }
    return *this;
}

}  // namespace engine::cuda
