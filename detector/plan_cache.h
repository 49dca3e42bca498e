// From what the user names as a model to a runnable engine, with built plans cached on disk.
//
//   MODEL.plan  -> loaded as is (origin "loaded").
//   MODEL.onnx  -> built, or taken from the plan cache.
//   MODEL.cfg   -> converted to ONNX (MODEL.weights beside it) into the cache folder, then as .onnx.
//
// Plan cache: <cache dir>/plans/<model stem>-<key>.plan, key = sha256 over the model's sha256, the
// device, precision, max batch, activation layout option, the engine version and the device
// signature of the device's backends (so a CPU upgrade or an rtdet upgrade gets its own plan). A cached
// plan that fails to load (stale, foreign, corrupt: Plan::load or Engine::load throws, or its metadata
// does not match the request) or is older than the running executable (a rebuilt rtdet keeps its
// version number but may have changed kernels) is rebuilt with one log line saying why. Plans and converted
// models are written atomically (temp file + rename), so concurrent rtdet processes never see half a file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "detector/types.h"
#include "engine/builder/build_options.h"
#include "engine/plan/plan.h"
#include "engine/runtime/runtime.h"

namespace detector {

// The cache folder for converted models and plans: `override_dir` when not empty, else $RTDET_CACHE,
// else $XDG_CACHE_HOME/rtdet, else ~/.cache/rtdet. Created on demand; throws engine::Error when it
// cannot be.
std::string cache_dir(const std::string& override_dir = "");

// MODEL.onnx -> itself; MODEL.cfg -> converted (with MODEL.weights beside it, unless random weights are
// asked for) to an ONNX file in the cache folder, reconverted when the cfg, the weights or the
// conversion change (the file name carries a sha256 of all of them; written to a temp file that is
// removed on failure, then renamed). Throws engine::Error naming the missing file.
std::string resolve_onnx_model(const std::string& model, const std::string& cache_override = "",
                               const ModelConversion& conversion = {});

// "<dir>/<stem>.<device>.<precision>.plan" beside the model.
std::string default_plan_path(const std::string& onnx, const std::string& device,
                              const std::string& precision);

// A .plan file is loaded; anything else is resolved to ONNX and built in memory with `options` (no cache).
engine::Plan load_or_build_plan(const std::string& model, const engine::BuildOptions& options);

// The key of a plan built from ONNX bytes with this sha256 under `options` on this machine (hex).
std::string plan_cache_key(const std::string& model_sha256, const engine::BuildOptions& options);

struct CachedEngine {
    engine::Plan plan;
    std::shared_ptr<engine::Engine> engine;
    std::string origin;     // "loaded", "built", "cache hit", "rebuilt (<reason>)"
    std::string plan_path;  // the plan file used or written (empty: none)
};

// Loads a .plan, or builds / reuses the cached plan of an .onnx / .cfg model. Throws engine::Error.
CachedEngine load_engine_cached(const std::string& model, const engine::BuildOptions& options,
                                const std::string& cache_override = "",
                                const ModelConversion& conversion = {});

}  // namespace detector
