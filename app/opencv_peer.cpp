#include "app/opencv_peer.h"

#include <onnx/onnx_pb.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include "detector/labels.h"
#include "detector/nms.h"
#include "detector/yolo_decode.h"
#include "engine/core/error.h"

namespace app {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

class OpenCvPeer final : public FrameDetector {
  public:
    explicit OpenCvPeer(const PeerOptions& o) : options_(o) {
        read_metadata(o.onnx);
        if (o.threads > 0) cv::setNumThreads(o.threads);
        try {
            net_ = cv::dnn::readNetFromONNX(o.onnx);
        } catch (const cv::Exception& e) {
            ENGINE_THROW("OpenCV DNN cannot load ", o.onnx, ": ", e.what());
        }
        net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        for (const auto& h : heads_) out_names_.push_back(h.output);
        input_.resize(static_cast<size_t>(3) * net_w_ * net_h_);
        const int dims[] = {1, 3, net_h_, net_w_};
        blob_ = cv::Mat(4, dims, CV_32F, input_.data());
        results_.resize(1);
        results_[0].reserve(1024);
    }

    const std::vector<std::vector<detector::Detection>>& detect(
        std::span<const detector::ImageView> images) override {
        ENGINE_CHECK(images.size() == 1, "the OpenCV peer runs one image at a time (got ", images.size(),
                     ")");
        const auto t0 = Clock::now();
        const detector::InputTransform tr = detector::preprocess(images[0], resize_, net_w_, net_h_,
                                                                 options_.pad_value, input_.data(), scratch_);
        const auto t1 = Clock::now();
        net_.setInput(blob_);
        net_.forward(outs_, out_names_);
        const auto t2 = Clock::now();
        auto& dets = results_[0];
        dets.clear();
        for (size_t h = 0; h < heads_.size(); ++h) {
            const cv::Mat& o = outs_[h];
            ENGINE_CHECK(o.dims == 4 && o.isContinuous(), "OpenCV peer: head ", heads_[h].output,
                         " is not 4-D");
            detector::decode_yolo_head(o.ptr<float>(), o.size[2], o.size[3], heads_[h], net_w_, net_h_,
                                       options_.conf_threshold, tr, dets);
        }
        detector::nms(dets, options_.nms);
        times_.preprocess_ms = ms_between(t0, t1);
        times_.inference_ms = ms_between(t1, t2);
        times_.postprocess_ms = ms_between(t2, Clock::now());
        return results_;
    }

    const detector::StageTimes& last_times() const override { return times_; }
    const std::vector<std::string>& class_names() const override { return names_; }
    int max_batch() const override { return 1; }
    int input_width() const override { return net_w_; }
    int input_height() const override { return net_h_; }
    std::string describe() const override {
        return engine::concat("OpenCV DNN ", CV_VERSION, " cpu fp32 (peer), ", options_.onnx, " ", net_w_,
                              "x", net_h_, ", ", cv::getNumThreads(), " threads");
    }

  private:
    void read_metadata(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        ENGINE_CHECK(in, "OpenCV peer: cannot read ", path);
        onnx::ModelProto model;
        ENGINE_CHECK(model.ParseFromIstream(&in), "OpenCV peer: ", path, " is not an ONNX model");
        std::string heads_json, input_size, resize;
        for (const auto& p : model.metadata_props()) {
            if (p.key() == "rtdet.yolo.heads") heads_json = p.value();
            if (p.key() == "rtdet.input_size") input_size = p.value();
            if (p.key() == "rtdet.resize") resize = p.value();
        }
        ENGINE_CHECK(!heads_json.empty() && !input_size.empty(), "OpenCV peer: ", path,
                     " has no rtdet.yolo.heads / rtdet.input_size metadata (convert it with rtdet convert)");
        ENGINE_CHECK(
            std::sscanf(input_size.c_str(), "%dx%d", &net_w_, &net_h_) == 2 && net_w_ > 0 && net_h_ > 0,
            "OpenCV peer: ", path, ": bad rtdet.input_size '", input_size, "'");
        int classes = 0;
        try {
            for (const auto& h : nlohmann::json::parse(heads_json)) {
                detector::YoloHead head;
                head.output = h.at("output").get<std::string>();
                head.anchors = h.at("anchors").get<std::vector<float>>();
                head.classes = h.at("classes").get<int>();
                head.scale_x_y = h.value("scale_x_y", 1.f);
                classes = std::max(classes, head.classes);
                heads_.push_back(std::move(head));
            }
        } catch (const nlohmann::json::exception& e) {
            ENGINE_THROW("OpenCV peer: ", path, ": bad rtdet.yolo.heads: ", e.what());
        }
        ENGINE_CHECK(!heads_.empty(), "OpenCV peer: ", path, ": no YOLO heads in the metadata");
        resize_ = options_.resize  ? *options_.resize
                  : resize.empty() ? detector::ResizePolicy::Darknet
                                   : detector::resize_policy_from_name(resize);
        names_ = options_.class_names.empty() ? detector::default_class_names(classes)
                                              : detector::complete_class_names(options_.class_names, classes);
    }

    PeerOptions options_;
    std::vector<detector::YoloHead> heads_;
    std::vector<std::string> names_;
    detector::ResizePolicy resize_ = detector::ResizePolicy::Darknet;
    int net_w_ = 0, net_h_ = 0;
    cv::dnn::Net net_;
    std::vector<cv::String> out_names_;
    std::vector<float> input_, scratch_;
    cv::Mat blob_;
    std::vector<cv::Mat> outs_;
    std::vector<std::vector<detector::Detection>> results_;
    detector::StageTimes times_;
};

}  // namespace

std::unique_ptr<FrameDetector> make_opencv_peer(const PeerOptions& options) {
    return std::make_unique<OpenCvPeer>(options);
}

}  // namespace app
