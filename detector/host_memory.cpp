#include "detector/host_memory.h"

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
#else
void* allocate_pinned(size_t) noexcept { return nullptr; }
void free_pinned(void*) noexcept {}
#endif

}  // namespace detector
