#include "app/inference_stage.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "app/opencv_peer.h"
#include "detector/labels.h"
#include "detector/plan_cache.h"
#include "engine/core/error.h"

namespace app {

namespace {

class RtdetFrameDetector final : public FrameDetector {
  public:
    explicit RtdetFrameDetector(const detector::DetectorConfig& c) : config_(c), det_(c) {}
    const std::vector<std::vector<detector::Detection>>& detect(
        std::span<const detector::ImageView> images) override {
        return det_.detect(images);
    }
    const detector::StageTimes& last_times() const override { return det_.last_times(); }
    const std::vector<std::string>& class_names() const override { return det_.class_names(); }
    int max_batch() const override { return det_.max_batch(); }
    int input_width() const override { return det_.input_width(); }
    int input_height() const override { return det_.input_height(); }
    std::string describe() const override {
        return engine::concat("rtdet ", config_.device, " ", engine::precision_name(config_.precision), ", ",
                              config_.model, " ", det_.input_width(), "x", det_.input_height(), ", ",
                              detector::resize_policy_name(det_.resize_policy()), ", batch ",
                              det_.max_batch(), " (plan: ", det_.plan_origin(), ")");
    }
    bool gpu_path() const override { return det_.gpu_pre_post(); }

  private:
    detector::DetectorConfig config_;
    detector::Detector det_;
};

}  // namespace

detector::DetectorConfig detector_config(const AppConfig& cfg) {
    detector::DetectorConfig d;
    d.model = cfg.model;
    if (cfg.random_weights >= 0) d.conversion.random_weights_seed = static_cast<uint32_t>(cfg.random_weights);
    d.conversion.input_width = cfg.input_width;
    d.conversion.input_height = cfg.input_height;
    d.device = cfg.device;
    d.precision = engine::precision_from_name(cfg.precision);
    d.calibration_cache = cfg.calib_cache;
    d.max_batch = cfg.max_batch;
    d.threads = cfg.threads;
    d.plan_cache_dir = cfg.plan_cache_dir;
    if (cfg.resize != "model") d.resize = detector::resize_policy_from_name(cfg.resize);
    d.pad_value = cfg.pad_value;
    d.conf_threshold = cfg.conf_threshold;
    d.nms.iou_threshold = cfg.iou_threshold;
    d.nms.class_agnostic = cfg.nms == "agnostic";
    d.nms.max_detections = cfg.max_detections;
    if (!cfg.names.empty()) d.class_names = detector::read_class_names(cfg.names);
    return d;
}

bool is_detector_key(std::string_view key) {
    return key.starts_with("model.") || key.starts_with("detector.") || key == "engine.device" ||
           key == "engine.precision" || key == "engine.calibration" || key == "engine.threads" ||
           key == "engine.plan_cache_dir" || key == "pipeline.max_batch";
}

int inference_workers(const AppConfig& cfg) {
    if (cfg.inference_workers > 0) return cfg.inference_workers;
    return cfg.device == "cuda" && cfg.peer == "none" ? 2 : 1;
}

double warm_up(FrameDetector& det, int max_batch) {
    const auto t0 = Clock::now();
    const std::vector<uint8_t> grey(static_cast<size_t>(det.input_height()) * det.input_width() * 3, 114);
    const detector::ImageView view{grey.data(), det.input_width(), det.input_height(),
                                   static_cast<int64_t>(det.input_width()) * 3};
    const std::vector<detector::ImageView> views(static_cast<size_t>(std::max(1, max_batch)), view);
    for (size_t n = 1; n <= views.size(); ++n) det.detect(std::span(views.data(), n));
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::unique_ptr<FrameDetector> make_frame_detector(const AppConfig& cfg) {
    detector::DetectorConfig d = detector_config(cfg);
    std::unique_ptr<FrameDetector> det;
    if (cfg.peer == "opencv") {
        // In the OpenCV build only (app/opencv_peer.cpp; the lean one refuses: app/media_lean.cpp).
        PeerOptions p;
        p.onnx = detector::resolve_onnx_model(d.model, d.plan_cache_dir, d.conversion);
        p.threads = d.threads;
        p.resize = d.resize;
        p.pad_value = d.pad_value;
        p.conf_threshold = d.conf_threshold;
        p.nms = d.nms;
        p.class_names = std::move(d.class_names);
        det = make_opencv_peer(p);
    } else {
        det = std::make_unique<RtdetFrameDetector>(d);
    }
    const int sizes = std::min(cfg.max_batch, det->max_batch());
    const double warm_s = warm_up(*det, sizes);
    if (sizes > 1) spdlog::info("warmed up at batch sizes 1-{} in {:.2f} s", sizes, warm_s);
    if (cfg.input_width > 0) {
        ENGINE_CHECK(det->input_width() == cfg.input_width && det->input_height() == cfg.input_height,
                     "model.input_width/input_height: ", cfg.input_width, "x", cfg.input_height,
                     " does not match the model's input ", det->input_width(), "x", det->input_height(), " (",
                     cfg.model, " has a fixed input size; set 0 to use it, or give a darknet .cfg)");
    }
    return det;
}

InferenceStage::InferenceStage(std::vector<FrameDetector*> detectors, Batcher& batcher)
    : detectors_(std::move(detectors)),
      batcher_(batcher),
      pool_(detectors_.size() + 2),
      free_(pool_.size()),
      completed_(pool_.size(), nullptr) {
    for (Batch& b : pool_) {
        b.frames.reserve(static_cast<size_t>(batcher_.max_batch()));
        Batch* p = &b;
        free_.push(p);
    }
}

InferenceStage::~InferenceStage() {
    abort();
    join();
}

void InferenceStage::start() {
    running_ = static_cast<int>(detectors_.size());
    for (FrameDetector* d : detectors_)
        threads_.emplace_back([this, d](std::stop_token) {
            try {
                work(*d, abort_.get_token());
            } catch (...) {
                std::lock_guard lock(m_);
                if (!error_) error_ = std::current_exception();
                abort_.request_stop();
            }
            {
                std::lock_guard lock(m_);
                --running_;
            }
            cv_.notify_all();
        });
}

void InferenceStage::abort() {
    abort_.request_stop();
    batcher_.shut_down();
    free_.close();
    cv_.notify_all();
}

void InferenceStage::join() {
    for (std::jthread& t : threads_)
        if (t.joinable()) t.join();
}

void InferenceStage::work(FrameDetector& det, std::stop_token stop) {
    const size_t max_batch = static_cast<size_t>(std::min(batcher_.max_batch(), det.max_batch()));
    std::vector<detector::ImageView> views(max_batch);
    while (!stop.stop_requested()) {
        std::optional<Batch*> slot = free_.pop(stop);
        if (!slot) return;
        Batch* b = *slot;
        if (!batcher_.next(b->frames, stop, &b->seq)) {
            free_.push(b);
            return;
        }
        const size_t n = b->frames.size();
        ENGINE_CHECK(n <= max_batch, "batcher: a batch of ", n, " frames for a detector of batch ",
                     max_batch);
        for (size_t i = 0; i < n; ++i) views[i] = image_view(b->frames[i]->image);
        const auto& results = det.detect(std::span<const detector::ImageView>(views.data(), n));
        const detector::StageTimes& t = det.last_times();
        const double share = 1.0 / static_cast<double>(n);
        for (size_t i = 0; i < n; ++i) {
            Frame& f = *b->frames[i];
            f.detections.assign(results[i].begin(), results[i].end());
            f.times = {t.preprocess_ms * share, t.inference_ms * share, t.postprocess_ms * share};
        }
        {
            std::lock_guard lock(m_);
            completed_[b->seq % completed_.size()] = b;  // outstanding seqs span fewer than pool_.size()
        }
        cv_.notify_all();
    }
}

Batch* InferenceStage::next(std::chrono::milliseconds wait) {
    std::unique_lock lock(m_);
    Batch*& slot = completed_[next_seq_ % completed_.size()];
    cv_.wait_for(lock, wait, [&] { return slot != nullptr || running_ == 0 || abort_.stop_requested(); });
    Batch* b = slot;
    if (b == nullptr) return nullptr;
    slot = nullptr;
    ++next_seq_;
    return b;
}

bool InferenceStage::done() const {
    std::lock_guard lock(m_);
    return (running_ == 0 || abort_.stop_requested()) && completed_[next_seq_ % completed_.size()] == nullptr;
}

void InferenceStage::release(Batch* b) {
    b->frames.clear();
    free_.push(b);
}

std::exception_ptr InferenceStage::error() const {
    std::lock_guard lock(m_);
    return error_;
}

}  // namespace app
