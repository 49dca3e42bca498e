// rtdet subcommands. Each registers its options on a CLI11 app and returns the exit code when run.
// Which commands a build has is set by app/CMakeLists.txt (RTDET_APP_EVAL, RTDET_APP_DETECT, RTDET_APP_RUN).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

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

// INT8 calibration over image files, shared by `rtdet calibrate` and `rtdet build --calib`
// (cmd_calibrate.cpp): each image through the Detector's preprocessing, the ranges written to `output`.
struct CalibrateJob {
    std::string model, images, output, method = "entropy", resize, cache;
    double percentile = 99.99;
    int batch = 8, max_images = 0, threads = 0;
    float pad_value = 0.5f;
    bool sensitivity = false;  // --int8-sensitivity: measure, report, and record the float layers
    int sensitivity_images = 16;
    double max_error = 0.01;
};
// The --int8-sensitivity options on `cmd` (calibrate and build).
void add_sensitivity_options(CLI::App* cmd, CalibrateJob& job);
// The cache written (job.output, or MODEL.calib.json beside the model) and the images skipped
// (unreadable: each named in a warning; the cache holds the rest). Throws when none could be read.
struct CalibrateResult {
    std::string path;
    int skipped = 0;
};
CalibrateResult run_calibration(const CalibrateJob& job);
#endif

}  // namespace app
