// rtdet subcommands. Each registers its options on a CLI11 app and returns the exit code when run.
// Which commands a build has is set by app/CMakeLists.txt (RTDET_APP_EVAL, RTDET_APP_DETECT, RTDET_APP_RUN).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace app {

// A subcommand: `setup` adds it to the parser and returns the function that runs it.
using CommandFn = std::function<int()>;
CommandFn setup_build(CLI::App& root);
CommandFn setup_bench(CLI::App& root);
CommandFn setup_convert(CLI::App& root);
CommandFn setup_info(CLI::App& root);
#if RTDET_APP_EVAL
CommandFn setup_eval(CLI::App& root);
#endif
#if RTDET_APP_DETECT
CommandFn setup_detect(CLI::App& root);
#endif
#if RTDET_APP_RUN
CommandFn setup_run(CLI::App& root);
CommandFn setup_calibrate(CLI::App& root);
#endif

}  // namespace app
