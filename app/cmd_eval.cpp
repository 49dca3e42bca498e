// rtdet eval --images DIR --labels DIR: COCO-style mAP of a model on a YOLO-format labelled set.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/detector_options.h"
#include "app/image_io.h"
#include "app/media.h"
#include "app/progress.h"
#include "detector/eval/map.h"
#include "detector/eval/yolo_labels.h"
#include "detector/labels.h"
#include "engine/core/error.h"

namespace app {
namespace {
namespace fs = std::filesystem;

std::vector<double> recall_points() {
    std::vector<double> r;
    for (int i = 0; i < detector::kNumRecallPoints; ++i) r.push_back(detector::recall_point(i));
    return r;
}

constexpr int kPlotClasses = 5;  // PR plot: the mean curve and the classes with the most boxes

void write_plot(const std::string& path, const detector::MapResult& res,
                const std::vector<std::string>& names, const std::string& title) {
    std::vector<const detector::ClassAp*> by_gt;
    for (const auto& c : res.classes) by_gt.push_back(&c);
    std::stable_sort(by_gt.begin(), by_gt.end(), [](auto* a, auto* b) { return a->num_gt > b->num_gt; });
    std::vector<PrCurve> curves;
    char buf[160];
    for (size_t i = 0; i < by_gt.size() && i < static_cast<size_t>(kPlotClasses); ++i) {
        const auto& c = *by_gt[i];
        std::snprintf(buf, sizeof buf, "%s (%d boxes) AP50 %.3f",
                      detector::class_name(names, c.class_id).c_str(), c.num_gt, c.ap50);
        curves.push_back({buf, recall_points(), {c.precision50.begin(), c.precision50.end()}, false});
    }
    std::snprintf(buf, sizeof buf, "mean of %zu classes, mAP@0.5 %.3f", res.classes.size(), res.map50);
    curves.push_back(
        {buf, recall_points(), {res.mean_precision50.begin(), res.mean_precision50.end()}, true});
    media::write_pr_plot(path, curves, title);
}

}  // namespace

CommandFn setup_eval(CLI::App& root) {
    struct Opts {
        std::string images, labels, json, plot;
        DetectorCliOptions det;
    };
    auto o = std::make_shared<Opts>();
    o->det.conf = 0.001f;  // mAP integrates over all confidences: keep nearly every detection
    o->det.max_det = 100;  // COCO's maxDets
    CLI::App* cmd =
        root.add_subcommand("eval", "mAP@0.5 and mAP@0.5:0.95 on a YOLO-format labelled image set");
    cmd->add_option("--images", o->images, "Folder of images")->required();
    cmd->add_option("--labels", o->labels, "Folder of YOLO label files (<image stem>.txt: class cx cy w h)")
        ->required();
    add_detector_options(cmd, o->det);
    cmd->add_option("--json", o->json, "Write the results as JSON to this file");
    cmd->add_option("--plot", o->plot, "Write a precision-recall plot (IoU .5) to this PNG file");
    return [o]() {
        ENGINE_CHECK(o->plot.empty() || media::features().drawing,
                     "--plot needs OpenCV; this rtdet was built with -DRTDET_WITH_OPENCV=OFF");
        const detector::YoloDataset ds = detector::scan_yolo_dataset(o->images, o->labels);
        const detector::DetectorConfig cfg = make_detector_config(o->det);
        detector::Detector det(cfg);
        const auto& names = det.class_names();
        int classes = 0;
        for (const auto& h : det.heads()) classes = std::max(classes, h.classes);
        for (const auto& li : ds.images)
            for (const auto& l : li.labels)
                ENGINE_CHECK(l.class_id < classes, li.label_file, ":", l.line, ": class ", l.class_id,
                             " is out of range for a model with ", classes, " classes");
        const size_t labelled = ds.images.size() - static_cast<size_t>(ds.num_background);
        std::printf("model %s (%dx%d, resize %s, %s, %s)\n%s\n", cfg.model.c_str(), det.input_width(),
                    det.input_height(),
                    std::string(detector::resize_policy_name(det.resize_policy())).c_str(),
                    o->det.device.c_str(), o->det.precision.c_str(), describe_plan(det).c_str());
        std::printf(
            "images %zu: %zu labelled, %d background (no label file)%s; %d boxes; %zu orphan label files "
            "ignored\n",
            ds.images.size(), labelled, ds.num_background,
            ds.num_empty_labels ? engine::concat(", ", ds.num_empty_labels, " with empty label files").c_str()
                                : "",
            ds.num_boxes, ds.orphan_labels.size());
        for (const auto& orphan : ds.orphan_labels) spdlog::debug("orphan label file (no image): {}", orphan);

        detector::MapEvaluator eval(o->det.max_det > 0 ? o->det.max_det : 1000000);
        std::vector<detector::GroundTruthBox> gt;
        std::vector<std::string> unreadable;
        double sum_pre = 0, sum_inf = 0, sum_post = 0;
        const auto start = std::chrono::steady_clock::now();
        ProgressBar bar("eval", ds.images.size());
        for (size_t i = 0; i < ds.images.size(); ++i) {
            bar.update(i);
            const auto& li = ds.images[i];
            std::string why;
            const BgrImage img = read_bgr_image(li.image, why);
            if (img.empty()) {
                bar.finish();
                spdlog::warn("skipping {}: {}", li.image, why);
                unreadable.push_back(li.image);
                continue;
            }
            gt.clear();
            for (const auto& l : li.labels) gt.push_back({l.to_pixels(img.width, img.height), l.class_id});
            const auto& dets = det.detect(img.view());
            eval.add_image(gt, dets);
            const auto& st = det.last_times();
            sum_pre += st.preprocess_ms;
            sum_inf += st.inference_ms;
            sum_post += st.postprocess_ms;
        }
        bar.finish();
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const detector::MapResult res = eval.compute();

        std::printf("\n%-16s %6s %7s %7s %7s %10s\n", "class", "boxes", "dets", "recall", "AP50", "AP50:95");
        for (const auto& c : res.classes)
            std::printf("%-16.16s %6d %7d %7.3f %7.3f %10.3f\n",
                        detector::class_name(names, c.class_id).c_str(), c.num_gt, c.num_det, c.recall50,
                        c.ap50, c.ap50_95);
        std::printf(
            "\n%d images evaluated (%zu unreadable), %d boxes, %d detections, %zu classes with boxes\n",
            res.num_images, unreadable.size(), res.num_gt, res.num_det, res.classes.size());
        std::printf("mAP@0.5 = %.4f   mAP@0.75 = %.4f   mAP@0.5:0.95 = %.4f\n", res.map50, res.map75,
                    res.map50_95);
        const double n = res.num_images ? res.num_images : 1;
        std::printf("%.1f s, mean per image (ms): preprocess %.2f, inference %.2f, postprocess %.2f\n", secs,
                    sum_pre / n, sum_inf / n, sum_post / n);

        if (!o->plot.empty()) {
            write_plot(o->plot, res, names,
                       fs::path(cfg.model).stem().string() + " " + o->det.precision +
                           ": precision-recall at IoU 0.5");
            std::printf("PR plot: %s\n", o->plot.c_str());
        }
        if (!o->json.empty()) {
            nlohmann::json j;
            j["model"] = cfg.model;
            j["device"] = o->det.device;
            j["precision"] = o->det.precision;
            j["resize"] = std::string(detector::resize_policy_name(det.resize_policy()));
            j["plan"] = describe_plan(det);
            j["conf"] = o->det.conf;
            j["iou"] = o->det.iou;
            j["max_det"] = o->det.max_det;
            j["images"] = {{"total", ds.images.size()},       {"labelled", labelled},
                           {"background", ds.num_background}, {"empty_label_files", ds.num_empty_labels},
                           {"evaluated", res.num_images},     {"unreadable", unreadable}};
            j["orphan_labels"] = ds.orphan_labels;
            j["boxes"] = res.num_gt;
            j["detections"] = res.num_det;
            j["map50"] = res.map50;
            j["map75"] = res.map75;
            j["map50_95"] = res.map50_95;
            nlohmann::json jc = nlohmann::json::array();
            for (const auto& c : res.classes)
                jc.push_back({{"class_id", c.class_id},
                              {"class", detector::class_name(names, c.class_id)},
                              {"boxes", c.num_gt},
                              {"detections", c.num_det},
                              {"recall50", c.recall50},
                              {"ap50", c.ap50},
                              {"ap75", c.ap75},
                              {"ap50_95", c.ap50_95}});
            j["classes"] = jc;
            j["pr_curve50"] = {
                {"recall", recall_points()},
                {"precision", std::vector<double>(res.mean_precision50.begin(), res.mean_precision50.end())}};
            j["mean_ms"] = {
                {"preprocess", sum_pre / n}, {"inference", sum_inf / n}, {"postprocess", sum_post / n}};
            std::ofstream f(o->json);
            ENGINE_CHECK(f.good(), "cannot write ", o->json);
            f << j.dump(2) << "\n";
            ENGINE_CHECK(f.good(), "cannot write ", o->json);
        }
        return unreadable.empty() ? 0 : 1;
    };
}

}  // namespace app
