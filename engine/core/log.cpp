#include "engine/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace engine {

spdlog::logger& logger() {
    static const std::shared_ptr<spdlog::logger> log = [] {
        if (auto existing = spdlog::get("rtdet")) return existing;
        auto l = spdlog::stderr_color_mt("rtdet");  // registered: spdlog::set_level applies to it
        l->set_pattern("[%l] %v");
        return l;
    }();
    return *log;
}

}  // namespace engine
