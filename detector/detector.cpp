#include "detector/detector.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "detector/labels.h"
#include "detector/plan_cache.h"
#include "detector/yolo_decode.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#ifdef RTDET_WITH_CUDA
#include "detector/cuda/gpu_path.h"
#endif

namespace detector {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

const std::string* find_meta(const engine::PlanInfo& info, const std::string& key) {
    const auto it = info.metadata.find(key);
    return it == info.metadata.end() ? nullptr : &it->second;
}

// "rtdet.yolo.heads" (written by convert_darknet, see darknet_to_onnx.h) -> the decoder's heads.
std::vector<YoloHead> parse_heads(const std::string& json, const std::string& model) {
    std::vector<YoloHead> heads;
    try {
        const nlohmann::json j = nlohmann::json::parse(json);
        ENGINE_CHECK(j.is_array() && !j.empty(), "expected a non-empty array");
        for (const auto& h : j) {
            YoloHead head;
            head.output = h.at("output").get<std::string>();
            head.anchors = h.at("anchors").get<std::vector<float>>();
            head.classes = h.at("classes").get<int>();
            head.scale_x_y = h.value("scale_x_y", 1.f);
            ENGINE_CHECK(!head.anchors.empty() && head.anchors.size() % 2 == 0, "head '", head.output,
                         "': anchors must be w,h pairs");
            ENGINE_CHECK(head.classes >= 1, "head '", head.output, "': classes must be >= 1");
            heads.push_back(std::move(head));
        }
    } catch (const nlohmann::json::exception& e) {
        ENGINE_THROW("model ", model, ": bad metadata 'rtdet.yolo.heads': ", e.what());
    } catch (const engine::Error& e) {
        ENGINE_THROW("model ", model, ": bad metadata 'rtdet.yolo.heads': ", e.what());
    }
    return heads;
}

}  // namespace

struct Detector::Impl {
    DetectorConfig config;
    CachedEngine cached;
    std::unique_ptr<engine::ExecutionContext> ctx;
    std::vector<YoloHead> heads;
    struct HeadBinding {
        size_t output = 0;  // ExecutionContext output index
        int gh = 0, gw = 0;
        size_t sample_elems = 0;  // floats per image
    };
    std::vector<HeadBinding> bindings;
    int net_w = 0, net_h = 0;
    size_t input_sample_elems = 0;
    ResizePolicy resize = ResizePolicy::Darknet;
    std::vector<std::string> names;
    std::vector<float> scratch;  // darknet resize rows; grows to the largest image seen, then stays
    std::vector<InputTransform> transforms;
    std::vector<std::vector<Detection>> results;
    StageTimes times;
#ifdef RTDET_WITH_CUDA
    // The GPU path (DetectorConfig::gpu_pre_post): set when the context takes device I/O at the input
    // and every head output.
    std::unique_ptr<cuda::GpuPreprocessor> gpu_pre;
    std::unique_ptr<cuda::GpuDecoder> gpu_decode;
    float* gpu_input = nullptr;
    std::vector<cuda::GpuHead> gpu_heads;
#endif
    bool on_gpu() const {
#ifdef RTDET_WITH_CUDA
        return gpu_pre != nullptr;
#else
        return false;
#endif
    }
    void setup_gpu();
};

// The GPU path when the plan runs on a device that hands over its input and head outputs in device
// memory (ExecutionContext::device_input/device_output); otherwise the host path stays.
void Detector::Impl::setup_gpu() {
#ifdef RTDET_WITH_CUDA
    if (!config.gpu_pre_post || ctx->stream() == nullptr) return;
    auto* input = static_cast<float*>(ctx->device_input(0));
    std::vector<cuda::GpuHead> gh;
    for (const HeadBinding& b : bindings) {
        const void* out = ctx->device_output(b.output);
        if (out == nullptr) break;
        gh.push_back({static_cast<const float*>(out), b.gh, b.gw});
    }
    if (input == nullptr || gh.size() != bindings.size()) {
        engine::logger().debug(
            "detector: the plan's input or heads are not in device memory: pre/post-processing on "
            "the CPU");
        return;
    }
    const int batch = cached.engine->max_batch();
    gpu_input = input;
    gpu_heads = std::move(gh);
    gpu_pre = std::make_unique<cuda::GpuPreprocessor>(batch, ctx->stream());
    gpu_decode = std::make_unique<cuda::GpuDecoder>(heads, batch, ctx->stream());
    engine::logger().debug("detector: preprocessing and decoding on the GPU");
#endif
}

Detector::Detector(const DetectorConfig& config) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.config = config;
    ENGINE_CHECK(!config.model.empty(), "no model given");
    ENGINE_CHECK(config.max_batch >= 1, "max batch must be >= 1, got ", config.max_batch);
    ENGINE_CHECK(config.pad_value >= 0.f && config.pad_value <= 1.f,
                 "letterbox pad value must be in [0, 1], got ", config.pad_value);
    engine::BuildOptions bo;
    bo.device = config.device;
    bo.precision = config.precision;
    bo.calibration_cache = config.calibration_cache;
    bo.max_batch = config.max_batch;
    bo.threads = config.threads;
    m.cached = load_engine_cached(config.model, bo, config.plan_cache_dir, config.conversion);
    const engine::PlanInfo& info = m.cached.engine->info();
    m.ctx = m.cached.engine->create_context(config.threads);

    ENGINE_CHECK(m.ctx->num_inputs() == 1, "model ", config.model, ": expected one input (the image), found ",
                 m.ctx->num_inputs());
    const engine::Shape in = m.ctx->input_shape(0, 1);
    ENGINE_CHECK(in.size() == 4 && in[1] == 3, "model ", config.model,
                 ": input must be [N, 3, H, W] (RGB planes), found rank ", in.size());
    m.net_h = static_cast<int>(in[2]);
    m.net_w = static_cast<int>(in[3]);
    m.input_sample_elems = static_cast<size_t>(3) * m.net_w * m.net_h;
    if (const std::string* size = find_meta(info, "rtdet.input_size")) {
        const std::string expected = std::to_string(m.net_w) + "x" + std::to_string(m.net_h);
        ENGINE_CHECK(*size == expected, "model ", config.model, ": metadata rtdet.input_size '", *size,
                     "' does not match the input shape ", expected);
    }

    const std::string* heads_json = find_meta(info, "rtdet.yolo.heads");
    ENGINE_CHECK(
        heads_json != nullptr, "model ", config.model,
        " has no YOLO head description (ONNX metadata 'rtdet.yolo.heads'); convert darknet models with "
        "`rtdet convert`");
    m.heads = parse_heads(*heads_json, config.model);
    int classes = 0;
    for (const YoloHead& h : m.heads) {
        Impl::HeadBinding b;
        bool found = false;
        for (size_t i = 0; i < info.outputs.size(); ++i) {
            if (info.outputs[i].name != h.output) continue;
            b.output = i;
            found = true;
        }
        ENGINE_CHECK(found, "model ", config.model, ": head '", h.output, "' is not a model output");
        const engine::Shape s = m.ctx->output_shape(b.output, 1);
        const int64_t channels = static_cast<int64_t>(h.num_anchors()) * (5 + h.classes);
        ENGINE_CHECK(s.size() == 4 && s[1] == channels, "model ", config.model, ": head '", h.output,
                     "' must be [N, ", channels, ", gh, gw] for ", h.num_anchors(), " anchors and ",
                     h.classes, " classes");
        b.gh = static_cast<int>(s[2]);
        b.gw = static_cast<int>(s[3]);
        b.sample_elems = static_cast<size_t>(channels) * b.gh * b.gw;
        m.bindings.push_back(b);
        classes = std::max(classes, h.classes);
    }

    m.resize = model_resize_policy(config.resize, info.metadata);
    m.names = config.class_names.empty() ? default_class_names(classes)
                                         : complete_class_names(config.class_names, classes);
    if (!config.class_names.empty() && config.class_names.size() < static_cast<size_t>(classes))
        engine::logger().warn("{} class names for a model with {} classes; the rest are named class<N>",
                              config.class_names.size(), classes);

    const int batch = m.cached.engine->max_batch();
    m.transforms.resize(static_cast<size_t>(batch));
    m.results.resize(static_cast<size_t>(batch));
    for (auto& r : m.results) r.reserve(1024);
    m.setup_gpu();
}

Detector::~Detector() = default;

const std::vector<std::vector<Detection>>& Detector::detect(std::span<const ImageView> images) {
    Impl& m = *impl_;
    const int max_batch = m.cached.engine->max_batch();
    ENGINE_CHECK(!images.empty() && images.size() <= static_cast<size_t>(max_batch),
                 "detect: ", images.size(), " images for a plan of max batch ", max_batch);
    const int n = static_cast<int>(images.size());
    // Plans that cannot run below max batch, and plans on the GPU, always run at max batch (a partial
    // batch is padded: the extra samples are left as they are and their outputs ignored). On the GPU
    // every new batch size costs a cuDNN plan finalization per conv and a CUDA-graph capture the first
    // time it runs (seconds for a YOLO network), which would stall a pipeline whenever a short batch
    // (the end of a folder, a slow source) comes along; the padded samples cost far less.
    const engine::PlanInfo& info = m.cached.engine->info();
    const int run_batch = info.fixed_batch || info.device == "cuda" ? max_batch : n;
#ifdef RTDET_WITH_CUDA
    if (m.on_gpu()) {
        const auto t0 = Clock::now();
        m.gpu_pre->run(images, m.resize, m.net_w, m.net_h, m.config.pad_value, m.gpu_input, m.transforms);
        const auto t1 = Clock::now();
        m.ctx->run(run_batch, engine::IoMemory::Device);
        const auto t2 = Clock::now();
        m.gpu_decode->run(m.gpu_heads, n, m.net_w, m.net_h, m.config.conf_threshold, m.transforms, m.results);
        for (int b = 0; b < n; ++b) nms(m.results[static_cast<size_t>(b)], m.config.nms);
        for (size_t b = static_cast<size_t>(n); b < m.results.size(); ++b) m.results[b].clear();
        m.times.preprocess_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
        m.times.inference_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
        m.times.postprocess_ms = ms_since(t2);
        return m.results;
    }
#endif
    const auto t0 = Clock::now();
    float* input = m.ctx->input(0);
    for (int b = 0; b < n; ++b)
        m.transforms[static_cast<size_t>(b)] =
            preprocess(images[static_cast<size_t>(b)], m.resize, m.net_w, m.net_h, m.config.pad_value,
                       input + static_cast<size_t>(b) * m.input_sample_elems, m.scratch);
    const auto t1 = Clock::now();
    m.ctx->run(run_batch);
    const auto t2 = Clock::now();
    for (int b = 0; b < n; ++b) {
        auto& dets = m.results[static_cast<size_t>(b)];
        dets.clear();
        for (size_t h = 0; h < m.heads.size(); ++h) {
            const Impl::HeadBinding& hb = m.bindings[h];
            const float* head = m.ctx->output(hb.output) + static_cast<size_t>(b) * hb.sample_elems;
            decode_yolo_head(head, hb.gh, hb.gw, m.heads[h], m.net_w, m.net_h, m.config.conf_threshold,
                             m.transforms[static_cast<size_t>(b)], dets);
        }
        nms(dets, m.config.nms);
    }
    for (size_t b = static_cast<size_t>(n); b < m.results.size(); ++b) m.results[b].clear();
    m.times.preprocess_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    m.times.inference_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    m.times.postprocess_ms = ms_since(t2);
    return m.results;
}

const std::vector<Detection>& Detector::detect(const ImageView& image) {
    return detect(std::span(&image, 1)).front();
}

const StageTimes& Detector::last_times() const { return impl_->times; }
const std::vector<std::string>& Detector::class_names() const { return impl_->names; }
int Detector::input_width() const { return impl_->net_w; }
int Detector::input_height() const { return impl_->net_h; }
int Detector::max_batch() const { return impl_->cached.engine->max_batch(); }
ResizePolicy Detector::resize_policy() const { return impl_->resize; }
const std::vector<YoloHead>& Detector::heads() const { return impl_->heads; }
const std::string& Detector::plan_origin() const { return impl_->cached.origin; }
const engine::PlanInfo& Detector::plan_info() const { return impl_->cached.engine->info(); }
bool Detector::gpu_pre_post() const { return impl_->on_gpu(); }

}  // namespace detector
