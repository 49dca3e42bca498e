// rtdet detect IMAGE|DIR...: detections on still images, printed darknet-style, drawn into annotated
// copies and written as JSON.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/detect_json.h"
#include "app/detector_options.h"
#include "app/draw.h"
#include "app/image_io.h"
#include "app/media_opencv.h"
#include "app/progress.h"
#include "detector/eval/yolo_labels.h"
#include "detector/labels.h"
#include "engine/core/error.h"

namespace app {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// Files named on the command line, folders expanded to their regular files (sorted, hidden files
// skipped, not recursive). Paths that do not exist are kept: they fail later with a warning.
std::vector<std::string> expand_inputs(const std::vector<std::string>& args) {
    std::vector<std::string> files;
    for (const std::string& a : args) {
        std::error_code ec;
        if (!fs::is_directory(a, ec)) {
            files.push_back(a);
            continue;
        }
        std::vector<std::string> in_dir;
        for (const auto& e : fs::directory_iterator(a, ec)) {
            if (e.path().filename().string().starts_with(".")) continue;
            if (e.is_regular_file(ec)) in_dir.push_back(e.path().string());
        }
        ENGINE_CHECK(!ec, "cannot list folder ", a, ": ", ec.message());
        std::sort(in_dir.begin(), in_dir.end());
        if (in_dir.empty()) spdlog::warn("folder {} has no files", a);
        files.insert(files.end(), in_dir.begin(), in_dir.end());
    }
    return files;
}

// The annotated image's file name in the output folder: the input's name (extension .jpg when OpenCV
// cannot write the input's), made unique with _2, _3... when two inputs share a name.
std::string output_name(const fs::path& input, std::set<std::string>& used) {
    std::string ext = input.extension().string();
    if (!detector::has_image_extension(input.string())) ext = ".jpg";
    const std::string stem = input.stem().string();
    std::string name = stem + ext;
    for (int k = 2; used.count(name); ++k) name = stem + "_" + std::to_string(k) + ext;
    used.insert(name);
    return name;
}

std::string fmt2(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

}  // namespace

CommandFn setup_detect(CLI::App& root) {
    struct Opts {
        std::vector<std::string> inputs;
        DetectorCliOptions det;
        std::string out = "out/detect", json;
        bool no_images = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = root.add_subcommand("detect", "Detect objects in images: print, draw and write JSON");
    cmd->add_option("inputs", o->inputs, "Image files and/or folders of images")->required();
    add_detector_options(cmd, o->det);
    cmd->add_option("--out", o->out, "Folder for the annotated images")->capture_default_str();
    cmd->add_flag("--no-images", o->no_images, "Do not write annotated images");
    cmd->add_option("--json", o->json, "Write the detections of every image as JSON to this file");
    return [o]() {
        const std::vector<std::string> files = expand_inputs(o->inputs);
        ENGINE_CHECK(!files.empty(), "detect: no input files");
        detector::Detector det(make_detector_config(o->det));
        const auto& names = det.class_names();
        spdlog::info("model {} ({}x{}, {} heads, resize {}); {}",
                     o->det.model.empty() ? "Yolo-Fastest-1.1-XL" : o->det.model, det.input_width(),
                     det.input_height(), det.heads().size(),
                     detector::resize_policy_name(det.resize_policy()), describe_plan(det));
        if (!o->no_images) {
            std::error_code ec;
            fs::create_directories(o->out, ec);
            ENGINE_CHECK(!ec, "cannot create output folder ", o->out, ": ", ec.message());
        }

        nlohmann::json images = nlohmann::json::array(), failed = nlohmann::json::array();
        std::set<std::string> used_names;
        double sum_read = 0, sum_pre = 0, sum_inf = 0, sum_post = 0, sum_write = 0;
        size_t num_ok = 0, num_dets = 0;
        // With stdout on the terminal the per-image lines show progress; a bar only when it is redirected.
        ProgressBar bar("detect", files.size(), ::isatty(STDOUT_FILENO) == 0);
        for (size_t i = 0; i < files.size(); ++i) {
            bar.update(i);
            const std::string& file = files[i];
            const auto t0 = Clock::now();
            std::string why;
            cv::Mat img = read_image(file, why);
            if (img.empty()) {
                bar.finish();
                spdlog::warn("skipping {}: {}", file, why);
                failed.push_back({{"file", file}, {"error", why}});
                continue;
            }
            const auto t1 = Clock::now();
            const detector::ImageView view{img.data, img.cols, img.rows, static_cast<int64_t>(img.step)};
            const auto& dets = det.detect(view);
            const detector::StageTimes st = det.last_times();
            double write_ms = 0;
            if (!o->no_images) {
                const auto tw = Clock::now();
                draw_detections(img, dets, names);
                const fs::path out = fs::path(o->out) / output_name(file, used_names);
                bool ok = false;
                try {
                    ok = cv::imwrite(out.string(), img);
                } catch (const cv::Exception&) {
                    ok = false;
                }
                ENGINE_CHECK(ok, "cannot write ", out.string());
                write_ms = ms_between(tw, Clock::now());
            }
            const double read_ms = ms_between(t0, t1);
            sum_read += read_ms;
            sum_pre += st.preprocess_ms;
            sum_inf += st.inference_ms;
            sum_post += st.postprocess_ms;
            sum_write += write_ms;
            ++num_ok;
            num_dets += dets.size();

            bar.finish();
            std::printf(
                "%s: %dx%d, %zu objects, %.1f ms (preprocess %.1f, inference %.1f, postprocess %.1f)\n",
                file.c_str(), img.cols, img.rows, dets.size(),
                st.preprocess_ms + st.inference_ms + st.postprocess_ms, st.preprocess_ms, st.inference_ms,
                st.postprocess_ms);
            for (const detector::Detection& d : dets) {
                const std::string name = detector::class_name(names, d.class_id);
                std::printf("%s: %.0f%% (left_x: %.0f top_y: %.0f width: %.0f height: %.0f)\n", name.c_str(),
                            d.score * 100, d.box.x1, d.box.y1, d.box.width(), d.box.height());
            }
            images.push_back({{"file", file},
                              {"width", img.cols},
                              {"height", img.rows},
                              {"time_ms",
                               {{"read", read_ms},
                                {"preprocess", st.preprocess_ms},
                                {"inference", st.inference_ms},
                                {"postprocess", st.postprocess_ms}}},
                              {"detections", detections_json(dets, names)}});
        }
        bar.finish();

        const double n = num_ok ? static_cast<double>(num_ok) : 1.0;
        std::printf("\n%zu images: %zu ok, %zu failed; %zu detections\n", files.size(), num_ok, failed.size(),
                    num_dets);
        if (num_ok)
            std::printf(
                "mean per image (ms): read %.2f, preprocess %.2f, inference %.2f, postprocess %.2f, "
                "detect total %.2f%s\n",
                sum_read / n, sum_pre / n, sum_inf / n, sum_post / n, (sum_pre + sum_inf + sum_post) / n,
                o->no_images ? "" : (", draw+write " + fmt2(sum_write / n)).c_str());
        if (!o->no_images && num_ok) std::printf("annotated images in %s\n", o->out.c_str());
        if (!failed.empty())
            for (const auto& f : failed)
                std::fprintf(stderr, "failed: %s (%s)\n", f["file"].get<std::string>().c_str(),
                             f["error"].get<std::string>().c_str());

        if (!o->json.empty()) {
            nlohmann::json j;
            j["model"] = o->det.model.empty() ? default_model_path() : o->det.model;
            j["input_size"] = {det.input_width(), det.input_height()};
            j["resize"] = std::string(detector::resize_policy_name(det.resize_policy()));
            j["device"] = o->det.device;
            j["precision"] = o->det.precision;
            j["conf"] = o->det.conf;
            j["iou"] = o->det.iou;
            j["images"] = images;
            j["failed"] = failed;
            j["summary"] = {{"images", files.size()},
                            {"ok", num_ok},
                            {"failed", failed.size()},
                            {"detections", num_dets},
                            {"mean_ms",
                             {{"read", sum_read / n},
                              {"preprocess", sum_pre / n},
                              {"inference", sum_inf / n},
                              {"postprocess", sum_post / n}}}};
            std::ofstream f(o->json);
            ENGINE_CHECK(f.good(), "cannot write ", o->json);
            f << j.dump(2) << "\n";
            ENGINE_CHECK(f.good(), "cannot write ", o->json);
        }
        return failed.empty() ? 0 : 1;
    };
}

}  // namespace app
