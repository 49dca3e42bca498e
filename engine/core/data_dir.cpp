#include "engine/core/data_dir.h"

#include <cstdlib>

#include "engine/core/error.h"

namespace engine {

std::filesystem::path find_data_dir(const std::string& compiled_default) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (const char* env = std::getenv("RTDET_DATA"); env && *env) {
        if (fs::is_directory(env, ec)) return fs::path(env);
        return {};  // an explicit setting that points nowhere is not silently replaced
    }
    if (!compiled_default.empty() && fs::is_directory(compiled_default, ec)) return fs::path(compiled_default);
    if (fs::is_directory("../shared", ec)) return fs::path("../shared");
    return {};
}

std::filesystem::path data_file(const std::string& relative, const std::string& compiled_default) {
    const auto dir = find_data_dir(compiled_default);
    ENGINE_CHECK(!dir.empty(), "data folder not found: set RTDET_DATA to the folder with models/ and images/ ",
                 "(the repository expects ../shared beside it)");
    auto p = dir / relative;
    std::error_code ec;
    ENGINE_CHECK(std::filesystem::exists(p, ec), "data file not found: ", p.string());
    return p;
}

}  // namespace engine
