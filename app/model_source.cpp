#include "app/model_source.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "detector/darknet/darknet_to_onnx.h"
#include "engine/core/error.h"
#include "engine/plan/builder.h"

namespace app {
namespace fs = std::filesystem;

std::string cache_dir() {
    fs::path dir;
    if (const char* c = std::getenv("RTDET_CACHE"); c && *c) {
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

static bool has_ext(const std::string& path, const char* ext) { return fs::path(path).extension() == ext; }

std::string resolve_onnx_model(const std::string& model) {
    std::error_code ec;
    ENGINE_CHECK(fs::is_regular_file(model, ec), "model file not found: ", model);
    if (!has_ext(model, ".cfg")) return model;
    const fs::path weights = fs::path(model).replace_extension(".weights");
    ENGINE_CHECK(fs::is_regular_file(weights, ec), "darknet weights not found: ", weights.string(),
                 " (expected beside ", model, ")");
    // Cache key: names, sizes and modification times of cfg and weights.
    const auto stamp = [](const fs::path& p) {
        return std::to_string(fs::file_size(p)) + "-" +
               std::to_string(fs::last_write_time(p).time_since_epoch().count());
    };
    const fs::path out = fs::path(cache_dir()) / (fs::path(model).stem().string() + "-" +
                                                  std::to_string(std::hash<std::string>{}(
                                                      fs::absolute(model).string() + stamp(model) + stamp(weights))) +
                                                  ".onnx");
    if (!fs::exists(out, ec)) {
        spdlog::info("converting {} + {} -> {}", model, weights.string(), out.string());
        const fs::path tmp = out.string() + ".tmp";
        detector::convert_darknet(model, weights.string(), tmp.string(), {});
        fs::rename(tmp, out);
    }
    return out.string();
}

std::string default_plan_path(const std::string& onnx, const std::string& device, const std::string& precision) {
    fs::path p(onnx);
    return (p.parent_path() / (p.stem().string() + "." + device + "." + precision + ".plan")).string();
}

engine::Plan load_or_build_plan(const std::string& model, const engine::BuildOptions& options) {
    if (has_ext(model, ".plan")) return engine::Plan::load(model);
    return engine::build_plan_from_onnx(resolve_onnx_model(model), options);
}

}  // namespace app
