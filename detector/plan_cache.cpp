#include "detector/plan_cache.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "detector/darknet/darknet_to_onnx.h"
#include "engine/builder/builder.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/plan/plan_format.h"
#include "engine/runtime/backend_registry.h"

namespace detector {
namespace fs = std::filesystem;
namespace {

bool has_ext(const std::string& path, const char* ext) { return fs::path(path).extension() == ext; }

std::vector<std::byte> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    ENGINE_CHECK(f.good(), "cannot read ", path);
    const auto size = static_cast<size_t>(f.tellg());
    std::vector<std::byte> bytes(size);
    f.seekg(0);
    f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    ENGINE_CHECK(f.good() || size == 0, "cannot read ", path);
    return bytes;
}

// A temp name beside `path`, unique to this process, so concurrent rtdet processes never share one.
std::string temp_name(const fs::path& path) {
    return path.string() + ".tmp" + std::to_string(static_cast<long>(::getpid()));
}

std::string device_signature(const std::string& device) {
    std::string sig;
    for (const auto& b : engine::make_device_backends(device)) {
        if (!sig.empty()) sig += "; ";
        sig += std::string(b->name()) + "=" + b->device_signature();
    }
    return sig;
}

// The file holding the engine's code: librtdet_engine.so, or the executable it is linked into
// statically. A cached plan older than it is rebuilt: between releases the engine version stays the same
// while kernels change. (A program that merely uses the libraries, built after the plan, does not count.)
fs::path engine_binary() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&engine::build_plan_from_onnx), &info) == 0 ||
        info.dli_fname == nullptr)
        return {};
    return fs::path(info.dli_fname);
}

// Its modification time (epoch when unknown).
fs::file_time_type engine_binary_time() {
    std::error_code ec;
    const fs::path lib = engine_binary();
    if (lib.empty()) return {};
    const auto t = fs::last_write_time(lib, ec);
    return ec ? fs::file_time_type{} : t;
}

// Why a cached plan does not serve this request (empty: it does).
std::string plan_mismatch(const engine::PlanInfo& info, const std::string& sha,
                          const engine::BuildOptions& o) {
    if (info.model_sha256 != sha)
        return "built from another model (sha256 " + info.model_sha256.substr(0, 12) + ")";
    if (info.device != o.device) return "built for device '" + info.device + "'";
    if (info.precision != engine::precision_name(o.precision)) return "built for precision " + info.precision;
    if (info.max_batch != o.max_batch) return "built for max batch " + std::to_string(info.max_batch);
    return "";
}

}  // namespace

std::string cache_dir(const std::string& override_dir) {
    fs::path dir;
    if (!override_dir.empty()) {
        dir = override_dir;
    } else if (const char* c = std::getenv("RTDET_CACHE"); c && *c) {
        dir = c;
    } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
        dir = fs::path(x) / "rtdet";
    } else if (const char* h = std::getenv("HOME"); h && *h) {
        dir = fs::path(h) / ".cache" / "rtdet";
    } else {
        dir = fs::temp_directory_path() / "rtdet-cache";
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    ENGINE_CHECK(!ec, "cannot create cache folder ", dir.string(), ": ", ec.message());
    return dir.string();
}

std::string resolve_onnx_model(const std::string& model, const std::string& cache_override,
                               const ModelConversion& conversion) {
    std::error_code ec;
    ENGINE_CHECK(fs::is_regular_file(model, ec), "model file not found: ", model);
    if (!has_ext(model, ".cfg")) return model;
    const bool random = conversion.random_weights_seed.has_value();
    const fs::path weights = fs::path(model).replace_extension(".weights");
    ENGINE_CHECK(random || fs::is_regular_file(weights, ec), "darknet weights not found: ", weights.string(),
                 " (expected beside ", model, ")");
    // Cache key: absolute path, sizes and modification times of cfg and weights, and the conversion.
    const auto stamp = [](const fs::path& p) {
        return std::to_string(fs::file_size(p)) + "-" +
               std::to_string(fs::last_write_time(p).time_since_epoch().count());
    };
    const std::string id =
        engine::concat(fs::absolute(model).string(), "|", stamp(model), "|",
                       random ? engine::concat("random", *conversion.random_weights_seed) : stamp(weights),
                       "|", conversion.input_width, "x", conversion.input_height);
    const std::string key =
        engine::sha256_hex(std::span(reinterpret_cast<const std::byte*>(id.data()), id.size())).substr(0, 16);
    std::string stem = fs::path(model).stem().string();
    if (conversion.input_width > 0)
        stem += engine::concat("-", conversion.input_width, "x", conversion.input_height);
    if (random) stem += engine::concat("-random", *conversion.random_weights_seed);
    const fs::path out = fs::path(cache_dir(cache_override)) / (stem + "-" + key + ".onnx");
    if (!fs::exists(out, ec)) {
        engine::logger().info(
            "converting {}{} -> {}", model,
            random ? engine::concat(" with random weights (seed ", *conversion.random_weights_seed, ")")
                   : " + " + weights.string(),
            out.string());
        ConvertOptions opts;
        opts.random_weights_seed = conversion.random_weights_seed;
        opts.input_width = conversion.input_width;
        opts.input_height = conversion.input_height;
        const std::string tmp = temp_name(out);
        try {
            convert_darknet(model, random ? "" : weights.string(), tmp, opts);
        } catch (...) {
            fs::remove(tmp, ec);
            throw;
        }
        fs::rename(tmp, out, ec);
        ENGINE_CHECK(!ec, "cannot rename ", tmp, " to ", out.string(), ": ", ec.message());
    }
    return out.string();
}

std::string default_plan_path(const std::string& onnx, const std::string& device,
                              const std::string& precision) {
    fs::path p(onnx);
    return (p.parent_path() / (p.stem().string() + "." + device + "." + precision + ".plan")).string();
}

engine::Plan load_or_build_plan(const std::string& model, const engine::BuildOptions& options) {
    if (has_ext(model, ".plan")) return engine::Plan::load(model);
    return engine::build_plan_from_onnx(resolve_onnx_model(model), options);
}

std::string plan_cache_key(const std::string& model_sha256, const engine::BuildOptions& options) {
    std::string id =
        engine::concat("model=", model_sha256, "|device=", options.device,
                       "|precision=", engine::precision_name(options.precision),
                       "|max_batch=", options.max_batch, "|layout=", options.layout,
                       "|engine=", engine::engine_version(), "|signature=", device_signature(options.device));
    // An INT8 calibration cache by its contents (absent from the key of plans built without one).
    if (!options.calibration_cache.empty())
        id += "|calibration=" + engine::sha256_hex(read_bytes(options.calibration_cache));
    return engine::sha256_hex(std::span(reinterpret_cast<const std::byte*>(id.data()), id.size()));
}

CachedEngine load_engine_cached(const std::string& model, const engine::BuildOptions& options,
                                const std::string& cache_override, const ModelConversion& conversion) {
    CachedEngine out;
    if (has_ext(model, ".plan")) {
        out.plan = engine::Plan::load(model);
        try {
            out.engine = engine::Engine::load(out.plan);
        } catch (const engine::Error& e) {
            ENGINE_THROW(model, ": ", e.what());  // the runtime names the plan by its model only
        }
        out.origin = "loaded";
        out.plan_path = model;
        return out;
    }
    const std::string onnx = resolve_onnx_model(model, cache_override, conversion);
    const std::string sha = engine::sha256_hex(read_bytes(onnx));
    const fs::path dir = fs::path(cache_dir(cache_override)) / "plans";
    std::error_code ec;
    fs::create_directories(dir, ec);
    ENGINE_CHECK(!ec, "cannot create plan cache folder ", dir.string(), ": ", ec.message());
    const fs::path path =
        dir / (fs::path(onnx).stem().string() + "-" + plan_cache_key(sha, options).substr(0, 24) + ".plan");
    out.plan_path = path.string();

    std::string reason;  // why the cached plan was not used (empty: there was none)
    if (fs::exists(path, ec)) {
        const auto plan_time = fs::last_write_time(path, ec);
        try {
            ENGINE_CHECK(ec || plan_time >= engine_binary_time(), "the engine (", engine_binary().string(),
                         ") is newer than the cached plan");
            engine::Plan plan = engine::Plan::load(path.string());
            reason = plan_mismatch(plan.info(), sha, options);
            if (reason.empty()) {
                out.engine = engine::Engine::load(plan);
                out.plan = std::move(plan);
                out.origin = "cache hit";
                engine::logger().debug("plan cache hit: {}", path.string());
                return out;
            }
        } catch (const engine::Error& e) {
            reason = e.what();
        }
        engine::logger().warn("plan cache: rebuilding {}: {}", path.string(), reason);
    }
    engine::logger().info("building plan for {} (device {}, precision {}, max batch {}) -> {}", onnx,
                          options.device, engine::precision_name(options.precision), options.max_batch,
                          path.string());
    out.plan = engine::build_plan_from_onnx(onnx, options);
    out.engine = engine::Engine::load(out.plan);
    try {
        out.plan.save(path.string());
    } catch (const engine::Error& e) {
        engine::logger().warn("plan cache: not saved ({}); the plan is used from memory", e.what());
    }
    out.origin = reason.empty() ? "built" : "rebuilt (" + reason + ")";
    return out;
}

}  // namespace detector
