#include "engine/runtime/backend_registry.h"

#include <algorithm>

#include "engine/backends/cpu/cpu_backend.h"
#if RTDET_WITH_CUDA
#include "engine/backends/cuda/cuda_backend.h"
#endif
#include "engine/core/error.h"

namespace engine {

// New backends are added here, in priority order; "onednn" goes before "reference" (guarded by
// RTDET_WITH_ONEDNN) and "cuda" before both (guarded by its own build flag).
std::vector<std::string> available_backends() {
    std::vector<std::string> out;
#if RTDET_WITH_CUDA
    out.push_back("cuda");
#endif
#if RTDET_WITH_ONEDNN
    out.push_back("onednn");
#endif
    out.push_back("reference");
    return out;
}

std::unique_ptr<Backend> make_backend(std::string_view name) {
    if (name == "reference") return make_reference_backend();
#if RTDET_WITH_CUDA
    // Throws engine::Error saying why when this machine has no usable GPU.
    if (name == "cuda") return make_cuda_backend();
#endif
#if RTDET_WITH_ONEDNN
    if (name == "onednn") return make_onednn_backend();
#endif
    return nullptr;
}

std::vector<std::unique_ptr<Backend>> make_device_backends(const std::string& device) {
    std::vector<std::string> names;
    if (device == "reference") {
        names = {"reference"};
    } else if (device == "cpu" || device == "onednn") {
        // The fastest CPU backends this build has, in priority order: oneDNN claims what it runs,
        // the reference kernels the rest. "onednn" is the same device, named for clarity.
        for (const std::string& n : available_backends())
            if (n != "cuda") names.push_back(n);
    } else if (device == "cuda") {
        const auto all = available_backends();
        ENGINE_CHECK(std::find(all.begin(), all.end(), "cuda") != all.end(),
                     "device 'cuda' not available in this build");
        names = {"cuda"};
    } else {
        ENGINE_THROW("unknown device '", device, "' (expected cpu, onednn, reference or cuda)");
    }
    std::vector<std::unique_ptr<Backend>> out;
    for (const std::string& n : names) {
        auto b = make_backend(n);
        ENGINE_CHECK(b != nullptr, "backend '", n, "' failed to initialize");
        out.push_back(std::move(b));
    }
    return out;
}

}  // namespace engine
