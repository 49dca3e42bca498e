#include "app/cli.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/commands.h"

namespace app {

int run_cli(int argc, char** argv) {
    CLI::App root{"rtdet: real-time YOLO object detection (run, detect, eval, build, bench, convert, info)"};
    root.set_version_flag("--version", std::string("rtdet ") + RTDET_VERSION);
    root.require_subcommand(1);
    bool verbose = false;
    bool quiet = false;
    root.add_flag("-v,--verbose", verbose, "Debug logging (pass decisions, backend choices)");
    root.add_flag("-q,--quiet", quiet, "Warnings and errors only");

    std::map<std::string, CommandFn> commands;
    commands["build"] = setup_build(root);
    commands["bench"] = setup_bench(root);
    commands["convert"] = setup_convert(root);
    commands["info"] = setup_info(root);
#if RTDET_APP_EVAL
    commands["eval"] = setup_eval(root);
#endif
#if RTDET_APP_RUN
    commands["run"] = setup_run(root);              // without OpenCV: JPEG images in, JSON lines out
    commands["calibrate"] = setup_calibrate(root);  // reads image sources as run does
#endif
#if RTDET_APP_DETECT
    commands["detect"] = setup_detect(root);  // OpenCV: images of any format, annotated out
#else
    // An engine-only build (no OpenCV, e.g. for the GPU machine): the image commands it lacks are
    // named, so asking for one says why it is missing instead of "unknown subcommand". eval and run
    // are there when libjpeg-turbo (and yaml-cpp, for run) were found: JPEG images only.
    std::vector<const char*> missing{"detect"};
#if !RTDET_APP_RUN
    missing.push_back("run");
#endif
#if !RTDET_APP_EVAL
    missing.push_back("eval");
#endif
    std::string have = "build, bench, convert, info";
#if RTDET_APP_EVAL
    have += ", eval";
#endif
#if RTDET_APP_RUN
    have += ", run";
#endif
    for (const char* name : missing) {
        root.add_subcommand(name, "(not in this build: needs OpenCV)")->allow_extras();
        commands[name] = [name, have]() {
            std::fprintf(stderr,
                         "rtdet: error: '%s' needs OpenCV; this rtdet was built with -DRTDET_WITH_OPENCV=OFF "
                         "(%s only)\n",
                         name, have.c_str());
            return 2;
        };
    }
#endif

    CLI11_PARSE(root, argc, argv);
    // Logs (the app's, and the libraries' "rtdet" logger) go to stderr; stdout carries each command's
    // results (detections, tables, summaries).
    // The logger is made once per process (a second run_cli, from Python, reuses it).
    std::shared_ptr<spdlog::logger> log = spdlog::get("rtdet-app");
    if (!log) log = spdlog::stderr_color_mt("rtdet-app");
    spdlog::set_default_logger(log);
    spdlog::set_pattern("[%l] %v");
    spdlog::set_level(verbose ? spdlog::level::debug : quiet ? spdlog::level::warn : spdlog::level::info);
    int code = 0;
    try {
        for (CLI::App* sub : root.get_subcommands()) {
            code = commands.at(sub->get_name())();
            break;
        }
    } catch (const std::exception& e) {  // engine::Error and the others: one line
        std::fflush(stdout);
        std::fprintf(stderr, "rtdet: error: %s\n", e.what());
        code = 1;
    }
    std::fflush(stdout);
    return code;
}

}  // namespace app
