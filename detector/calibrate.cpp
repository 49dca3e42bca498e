#include "detector/calibrate.h"

#include <algorithm>
#include <filesystem>

#include "detector/plan_cache.h"
#include "engine/core/error.h"
#include "engine/onnx/importer.h"

namespace detector {

Calibrator::Calibrator(const DetectorConfig& config, const CalibrationOptions& options)
    : options_(options), model_(config.model), pad_value_(config.pad_value) {
    ENGINE_CHECK(!config.model.empty(), "calibration: no model given");
    ENGINE_CHECK(std::filesystem::path(config.model).extension() != ".plan", "calibration: model ",
                 config.model, " is a plan; calibrate the .onnx or darknet .cfg it was built from");
    ENGINE_CHECK(options.batch >= 1, "calibration: batch must be >= 1, got ", options.batch);
    ENGINE_CHECK(config.pad_value >= 0.f && config.pad_value <= 1.f,
                 "letterbox pad value must be in [0, 1], got ", config.pad_value);
    const std::string onnx = resolve_onnx_model(config.model, config.plan_cache_dir, config.conversion);
    engine::onnx::ImportOptions io;
    io.batch = options.batch;
    engine::Graph g = engine::onnx::import_file(onnx, io);
    ENGINE_CHECK(g.inputs().size() == 1, "model ", config.model, ": expected one input (the image), found ",
                 g.inputs().size());
    const engine::Shape in = g.value(g.inputs()[0]).desc.shape;
    ENGINE_CHECK(in.size() == 4 && in[1] == 3, "model ", config.model,
                 ": input must be [N, 3, H, W] (RGB planes), found rank ", in.size());
    net_h_ = static_cast<int>(in[2]);
    net_w_ = static_cast<int>(in[3]);
    resize_ = model_resize_policy(config.resize, g.metadata);
    engine::BuildOptions bo;
    bo.device = "cpu";
    bo.max_batch = options.batch;
    bo.threads = options.threads;
    if (options.sensitivity_images > 0) graph_ = g;
    gather_ = std::make_unique<engine::ActivationGatherer>(std::move(g), bo);
    batch_ = engine::Tensor(engine::DataType::F32, {options.batch, 3, net_h_, net_w_});
}

Calibrator::~Calibrator() = default;

void Calibrator::add(const ImageView& image, const std::string& name) {
    ENGINE_CHECK(image.data != nullptr && image.width > 0 && image.height > 0, "calibration image ", name,
                 ": empty");
    const size_t sample = static_cast<size_t>(3) * net_w_ * net_h_;
    preprocess(image, resize_, net_w_, net_h_, pad_value_, batch_.f32().data() + sample * filled_, scratch_);
    if (++filled_ == options_.batch) run_batch();
}

void Calibrator::run_batch() {
    if (filled_ == 0) return;
    const size_t n = static_cast<size_t>(3) * net_w_ * net_h_ * filled_;
    engine::Tensor batch = filled_ == options_.batch ? batch_
                                                     : engine::Tensor::from_f32({filled_, 3, net_h_, net_w_},
                                                                                {batch_.f32().data(), n});
    gather_->run({batch}, hist_);
    if (kept_images_ < options_.sensitivity_images) {
        const int take = std::min(filled_, options_.sensitivity_images - kept_images_);
        const size_t m = static_cast<size_t>(3) * net_w_ * net_h_ * take;
        kept_.push_back({engine::Tensor::from_f32({take, 3, net_h_, net_w_}, {batch_.f32().data(), m})});
        kept_images_ += take;
    }
    filled_ = 0;
}

engine::CalibrationTable Calibrator::finish() {
    run_batch();
    engine::CalibrationTable t = hist_.table(options_.method, options_.percentile);
    ENGINE_CHECK(t.inputs > 0, "calibration of ", model_, ": no images");
    t.model = std::filesystem::path(model_).filename().string();
    t.preprocess =
        engine::concat(resize_policy_name(resize_), " ", net_w_, "x", net_h_,
                       resize_ == ResizePolicy::Letterbox ? engine::concat(" pad ", pad_value_) : "");
    if (options_.sensitivity_images > 0) {
        engine::BuildOptions bo;
        bo.device = "cpu";
        bo.max_batch = options_.batch;
        bo.threads = options_.threads;
        bo.calibration = std::make_shared<const engine::CalibrationTable>(t);
        sensitivity_ = engine::measure_int8_sensitivity(graph_, bo, kept_, options_.max_error);
        t.float_layers = sensitivity_.float_layers;
        for (const auto& l : sensitivity_.layers) t.sensitivity[l.layer] = l.error;
    }
    return t;
}

}  // namespace detector
