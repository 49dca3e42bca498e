// rtdet: real-time YOLO detection on an engine of its own (ONNX -> plan -> runtime).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "app/commands.h"
#include "engine/core/error.h"

int main(int argc, char** argv) {
    CLI::App root{"rtdet: real-time YOLO object detection (run, detect, eval, build, bench, convert, info)"};
    root.set_version_flag("--version", std::string("rtdet ") + RTDET_VERSION);
    root.require_subcommand(1);
    bool verbose = false;
    bool quiet = false;
    root.add_flag("-v,--verbose", verbose, "Debug logging (pass decisions, backend choices)");
    root.add_flag("-q,--quiet", quiet, "Warnings and errors only");

    std::map<std::string, app::CommandFn> commands;
    commands["build"] = app::setup_build(root);
    commands["bench"] = app::setup_bench(root);
    commands["convert"] = app::setup_convert(root);
    commands["info"] = app::setup_info(root);
#if RTDET_APP_EVAL
    commands["eval"] = app::setup_eval(root);
#endif
#if RTDET_APP_RUN
    commands["run"] = app::setup_run(root);              // without OpenCV: JPEG images in, JSON lines out
    commands["calibrate"] = app::setup_calibrate(root);  // reads image sources as run does
#endif
#if RTDET_APP_DETECT
    commands["detect"] = app::setup_detect(root);  // OpenCV: images of any format, annotated out
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
    spdlog::set_default_logger(spdlog::stderr_color_mt("rtdet-app"));
    spdlog::set_pattern("[%l] %v");
    spdlog::set_level(verbose ? spdlog::level::debug : quiet ? spdlog::level::warn : spdlog::level::info);
    try {
        for (CLI::App* sub : root.get_subcommands()) return commands.at(sub->get_name())();
    } catch (const engine::Error& e) {
        std::fprintf(stderr, "rtdet: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rtdet: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
