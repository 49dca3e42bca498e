// The host side of the Detector's GPU path, for the app:
//   - page-locked ("pinned") host memory for frames: a frame whose pixels lie in it is copied straight
//     to the device; one in ordinary memory goes through a pinned staging buffer first (a CPU copy of
//     the whole frame, detector/cuda/gpu_path.h);
//   - how host threads wait for the GPU (CUDA's device scheduling flags, process-wide).
// In builds without CUDA these do nothing (allocate_pinned gives nullptr).
#pragma once

#include <cstddef>
#include <string>

namespace detector {

// `bytes` of pinned host memory, or nullptr when there is none to give: a build without CUDA, no
// usable CUDA device, or the allocation failed. The caller then uses ordinary memory. Never throws.
void* allocate_pinned(size_t bytes) noexcept;
// Frees what allocate_pinned returned (nullptr: nothing).
void free_pinned(void* p) noexcept;

// How a thread waiting for the GPU (a stream synchronization) waits. Spin: it polls, keeping a core
// busy, for the lowest latency (CUDA's choice for a process with fewer contexts than cores). Block: it
// sleeps until the GPU signals, leaving the core to other threads (capture and decode threads when
// several inference workers wait at once) at some microseconds of wake-up latency.
enum class GpuWait { Spin, Block };
// Sets it for the current device, for every thread of the process. False (with `why`) when there is
// no CUDA device or the build has no CUDA.
bool set_gpu_wait(GpuWait mode, std::string* why = nullptr) noexcept;

}  // namespace detector
