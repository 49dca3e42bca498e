#include "detector/resources.h"

#include <dlfcn.h>

#include <cstdlib>

#ifndef RTDET_DATA_DEFAULT
#define RTDET_DATA_DEFAULT ""
#endif
#ifndef RTDET_SOURCE_DIR
#define RTDET_SOURCE_DIR ""
#endif

namespace detector {
namespace fs = std::filesystem;

namespace {

// A file every installation and every source tree has (data/coco.names) marks the folder.
bool holds_project_files(const fs::path& dir) {
    std::error_code ec;
    return fs::is_regular_file(dir / "data" / "coco.names", ec);
}

// <prefix>/share/rtdet for the file this code was loaded from (librtdet_detector.so in
// <prefix>/lib or <prefix>/lib/<multiarch>, or an executable in <prefix>/bin that links it
// statically). Empty when that file is not inside an installation.
fs::path installed_share_dir() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&installed_share_dir), &info) == 0 || info.dli_fname == nullptr)
        return {};
    std::error_code ec;
    fs::path dir = fs::weakly_canonical(fs::path(info.dli_fname), ec).parent_path();
    for (int up = 0; up < 3 && !dir.empty(); ++up, dir = dir.parent_path()) {
        const fs::path share = dir / "share" / "rtdet";
        if (holds_project_files(share)) return share;
        if (dir == dir.root_path()) break;
    }
    return {};
}

struct Location {
    fs::path project;
    bool installed = false;
};

const Location& location() {
    static const Location loc = [] {
        Location l;
        l.project = installed_share_dir();
        l.installed = !l.project.empty();
        if (!l.installed && holds_project_files(RTDET_SOURCE_DIR)) l.project = RTDET_SOURCE_DIR;
        return l;
    }();
    return loc;
}

}  // namespace

fs::path project_dir() { return location().project; }

bool is_installed() { return location().installed; }

fs::path project_file(const fs::path& relative) {
    const fs::path dir = project_dir();
    std::error_code ec;
    if (dir.empty() || !fs::is_regular_file(dir / relative, ec)) return {};
    return dir / relative;
}

fs::path data_dir() {
    std::error_code ec;
    if (const char* env = std::getenv("RTDET_DATA"); env && *env)
        return fs::is_directory(env, ec) ? fs::path(env) : fs::path();
    if (is_installed()) return {};
    if (const fs::path configured = RTDET_DATA_DEFAULT;
        !configured.empty() && fs::is_directory(configured, ec))
        return configured;
    if (fs::is_directory("../shared", ec)) return fs::path("../shared");
    return {};
}

}  // namespace detector
