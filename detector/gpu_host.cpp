#include "detector/gpu_host.h"

#ifdef RTDET_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace detector {

#ifdef RTDET_WITH_CUDA
void* allocate_pinned(size_t bytes) noexcept {
    void* p = nullptr;
    if (bytes == 0 || cudaHostAlloc(&p, bytes, cudaHostAllocDefault) != cudaSuccess) {
        (void)cudaGetLastError();  // no device, or out of pinned memory: not sticky, cleared
        return nullptr;
    }
    return p;
}

void free_pinned(void* p) noexcept {
    if (p != nullptr) (void)cudaFreeHost(p);
}

bool set_gpu_wait(GpuWait mode, std::string* why) noexcept {
    // Since CUDA 11 the flags of an already initialized device are replaced, not refused.
    const unsigned flags = mode == GpuWait::Block ? cudaDeviceScheduleBlockingSync : cudaDeviceScheduleSpin;
    const cudaError_t e = cudaSetDeviceFlags(flags);
    if (e == cudaSuccess) return true;
    (void)cudaGetLastError();
    if (why != nullptr) *why = cudaGetErrorString(e);
    return false;
}
#else
void* allocate_pinned(size_t) noexcept { return nullptr; }
void free_pinned(void*) noexcept {}
bool set_gpu_wait(GpuWait, std::string* why) noexcept {
    if (why != nullptr) *why = "this build has no CUDA";
    return false;
}
#endif

}  // namespace detector
