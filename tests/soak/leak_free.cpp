// A real leak for the soak test that must fail (ctest soak_smoke_catches_leak, tests/CMakeLists.txt):
// LD_PRELOADed into `rtdet run` by scripts/hardening/soak.sh (SOAK_LD_PRELOAD), it makes free() keep
// every 4th block, never returned to the allocator. rtdet frees about 750 small blocks a frame (JSON lines,
// detections, FFmpeg packets; 60 KB), so the process grows by about 25 KB a frame (30 MB over the
// smoke run's steady state, where 8 MB fail): a leak of small per-frame objects, the most common
// kind. Test-only: a module next to the tests, never linked into rtdet.
#include <atomic>

extern "C" void __libc_free(void* p);  // glibc's own free (exported)

namespace {
constexpr unsigned long kLeakEvery = 4;
std::atomic<unsigned long> frees{0};
}  // namespace

extern "C" void free(void* p) noexcept {
    if (p != nullptr && frees.fetch_add(1, std::memory_order_relaxed) % kLeakEvery == kLeakEvery - 1)
        return;  // leaked
    __libc_free(p);
}
