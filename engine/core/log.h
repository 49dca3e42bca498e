// Engine and detector logging: one spdlog logger named "rtdet", on stderr ("[level] message"), so a
// program that uses the libraries keeps its stdout to itself. Its level follows spdlog::set_level (the
// app's -v / --quiet); a program can also take it with spdlog::get("rtdet") and change its sinks.
#pragma once

#include <spdlog/spdlog.h>

namespace engine {

spdlog::logger& logger();

}  // namespace engine
