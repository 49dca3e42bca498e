// Darknet -> ONNX on small synthetic cfgs that cover every supported layer and option. Oracle: OpenCV
// DNN's own darknet importer (readNetFromDarknet) on the same cfg and the same random weights (written
// with write_random_weights), against OpenCV's ONNX importer on our file. Plus metadata and graph
// structure checked against hand-written expectations.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "detector/darknet/darknet_to_onnx.h"
#include "engine/core/error.h"

// detector_tests does not link onnx_proto directly (rtdet_detector does, privately), so its
// ONNX_ML definition does not reach us; the library itself is built with it.
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

namespace {

namespace fs = std::filesystem;

template <typename Fn>
std::string error_of(Fn fn) {
    try {
        fn();
    } catch (const engine::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected engine::Error";
    return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

// Every layer kind and option OpenCV's darknet importer also understands.
// Layer:                                                  output (C x H x W) at 32x32
const char* kCfgAll =
    "[net]\nwidth=32\nheight=32\nchannels=3\nletterbox=1\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nbatch_normalize=1\nactivation=leaky\n"  // 0  8x32
    "[convolutional]\nfilters=16\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=mish\n"  // 1  16x16
    "[convolutional]\nfilters=16\ngroups=16\nsize=5\npad=1\nbatch_normalize=1\nactivation=swish\n"  // 2 dw
                                                                                                    // 5x5
    "[convolutional]\nfilters=16\nsize=1\npad=1\nbatch_normalize=1\nactivation=linear\n"  // 3  16x16
    "[dropout]\nprobability=.1\n"                                                         // 4
    "[shortcut]\nfrom=-4\nactivation=leaky\n"                                             // 5  + layer 1
    "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n"                                          // 6  8x16
    "[maxpool]\nsize=2\nstride=1\n"                                                       // 7  8x16
    "[maxpool]\nsize=3\nstride=2\n"                                                       // 8  8x8
    "[convolutional]\nfilters=12\nsize=3\npad=1\ngroups=2\nbatch_normalize=1\nactivation=logistic\n"  // 9
    "[convolutional]\nfilters=14\nsize=1\nactivation=linear\n"  // 10 14x8
    "[yolo]\nmask=2,3\nanchors=10,14, 23,27, 37,58, "
    "81,82\nclasses=2\nnum=4\nscale_x_y=1.05\nignore_thresh=.7\n"
    "[route]\nlayers=-4\n"                                                       // 12 8x8
    "[upsample]\nstride=2\n"                                                     // 13 8x16
    "[route]\nlayers=-1,5\n"                                                     // 14 24x16
    "[maxpool]\nsize=5\nstride=1\n"                                              // 15 24x16
    "[convolutional]\nfilters=14\nsize=1\nstride=1\npad=1\nactivation=linear\n"  // 16 14x16
    "[yolo]\nmask=0,1\nanchors=10,14, 23,27, 37,58, 81,82\nclasses=2\nnum=4\n";  // 17

// Odd sizes: maxpool size=2 stride=2 on 7x7 (darknet: 4x4), explicit padding=, stride-2 conv.
const char* kCfgOdd =
    "[net]\nwidth=28\nheight=28\nchannels=3\n"
    "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n"  // 0 14
    "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n"  // 1 7
    "[maxpool]\nsize=2\nstride=2\n"                                                               // 2 4
    "[convolutional]\nfilters=6\nsize=3\npadding=1\nbatch_normalize=1\nactivation=leaky\n"        // 3 4
    "[convolutional]\nfilters=7\nsize=1\nactivation=linear\n"                                     // 4 7x4
    "[yolo]\nmask=0\nanchors=5,6\nclasses=2\nnum=1\n";                                            // 5

class DarknetOnnx : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("rtdet_darknet_onnx_" + std::to_string(getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }
    std::string write_cfg(const std::string& name, const std::string& text) {
        std::ofstream(path(name)) << text;
        return path(name);
    }
    fs::path dir_;
};

cv::Mat random_blob(int c, int h, int w, uint32_t seed) {
    cv::Mat blob({1, c, h, w}, CV_32F);
    cv::RNG rng(seed);
    rng.fill(blob, cv::RNG::UNIFORM, 0.f, 1.f);
    return blob;
}

double max_rel_diff(const cv::Mat& a, const cv::Mat& b) {
    EXPECT_EQ(a.total(), b.total());
    if (a.total() != b.total()) return INFINITY;
    const float* pa = a.ptr<float>();
    const float* pb = b.ptr<float>();
    double max_abs = 0, ref = 0;
    for (size_t i = 0; i < a.total(); ++i) {
        if (!std::isfinite(pa[i]) || !std::isfinite(pb[i])) return INFINITY;
        max_abs = std::max(max_abs, static_cast<double>(std::fabs(pa[i] - pb[i])));
        ref = std::max(ref, static_cast<double>(std::fabs(pb[i])));
    }
    return max_abs / std::max(ref, 1e-30);
}

// Runs the darknet model through OpenCV's darknet importer (outputs of the linear conv layers feeding
// the [yolo] layers, OpenCV names them conv_<index>) and our ONNX through OpenCV's ONNX importer.
void compare_with_opencv(const std::string& cfg, const std::string& weights, const std::string& onnx,
                         const std::vector<detector::DarknetYoloHead>& heads, const cv::Mat& blob,
                         double tol) {
    cv::dnn::Net dk = cv::dnn::readNetFromDarknet(cfg, weights);
    cv::dnn::Net ox = cv::dnn::readNetFromONNX(onnx);
    std::vector<std::string> dk_names, ox_names;
    for (const auto& h : heads) {
        const int yolo_index = std::stoi(h.output_name.substr(5));
        dk_names.push_back("conv_" + std::to_string(yolo_index - 1));
        ox_names.push_back(h.output_name);
    }
    std::vector<cv::Mat> dk_out, ox_out;
    dk.setInput(blob);
    dk.forward(dk_out, dk_names);
    ox.setInput(blob);
    ox.forward(ox_out, ox_names);
    ASSERT_EQ(dk_out.size(), heads.size());
    ASSERT_EQ(ox_out.size(), heads.size());
    for (size_t k = 0; k < heads.size(); ++k) {
        ASSERT_EQ(dk_out[k].size, ox_out[k].size) << heads[k].output_name;
        const double rel = max_rel_diff(ox_out[k], dk_out[k]);
        EXPECT_LE(rel, tol) << heads[k].output_name;
        double max_abs = 0;
        cv::minMaxIdx(cv::abs(dk_out[k]), nullptr, &max_abs);
        EXPECT_GT(max_abs, 1e-3) << "degenerate output " << heads[k].output_name;
    }
}

onnx::ModelProto load_model(const std::string& file) {
    onnx::ModelProto m;
    std::ifstream f(file, std::ios::binary);
    EXPECT_TRUE(m.ParseFromIstream(&f)) << file;
    return m;
}

std::map<std::string, std::string> metadata(const onnx::ModelProto& m) {
    std::map<std::string, std::string> out;
    for (const auto& e : m.metadata_props()) out[e.key()] = e.value();
    return out;
}

std::vector<std::string> op_types(const onnx::ModelProto& m) {
    std::vector<std::string> ops;
    for (const auto& n : m.graph().node()) ops.push_back(n.op_type());
    return ops;
}

TEST_F(DarknetOnnx, AllLayersMatchOpenCvDarknetImporter) {
    const std::string cfg = write_cfg("all.cfg", kCfgAll);
    detector::write_random_weights(cfg, 11, path("all.weights"));
    const cv::Mat blob = random_blob(3, 32, 32, 5);
    for (bool keep_bn : {false, true}) {
        detector::ConvertOptions opt;
        opt.random_weights_seed = 11;
        opt.keep_batchnorm = keep_bn;
        const std::string onnx = path(keep_bn ? "all_bn.onnx" : "all.onnx");
        const auto heads = detector::convert_darknet(cfg, "", onnx, opt);
        ASSERT_EQ(heads.size(), 2u);
        SCOPED_TRACE(keep_bn ? "keep_batchnorm" : "folded");
        compare_with_opencv(cfg, path("all.weights"), onnx, heads, blob, 1e-5);
        const auto ops = op_types(load_model(onnx));
        EXPECT_EQ(std::count(ops.begin(), ops.end(), "BatchNormalization"), keep_bn ? 5 : 0);
    }
    // The weights-file path gives the same model as the seed.
    detector::ConvertOptions opt;
    const auto heads = detector::convert_darknet(cfg, path("all.weights"), path("from_file.onnx"), opt);
    compare_with_opencv(cfg, path("all.weights"), path("from_file.onnx"), heads, blob, 1e-5);
}

TEST_F(DarknetOnnx, OddSizesMatchOpenCvDarknetImporter) {
    const std::string cfg = write_cfg("odd.cfg", kCfgOdd);
    detector::write_random_weights(cfg, 3, path("odd.weights"));
    detector::ConvertOptions opt;
    opt.random_weights_seed = 3;
    const auto heads = detector::convert_darknet(cfg, "", path("odd.onnx"), opt);
    ASSERT_EQ(heads.size(), 1u);
    EXPECT_EQ(heads[0].stride, 7);
    compare_with_opencv(cfg, path("odd.weights"), path("odd.onnx"), heads, random_blob(3, 28, 28, 9), 1e-5);
}

TEST_F(DarknetOnnx, ActivationsWithoutOpenCvDarknetSupport) {
    // OpenCV's darknet importer has no relu/tanh; check them against the linear model's output:
    // same weights (activation does not change the parameter count), activation applied by hand.
    const std::string base =
        "[net]\nwidth=8\nheight=8\nchannels=3\n"
        "[convolutional]\nfilters=7\nsize=3\npad=1\nbatch_normalize=1\nactivation=";
    const std::string tail = "\n[yolo]\nmask=0\nanchors=5,6\nclasses=2\nnum=1\n";
    const cv::Mat blob = random_blob(3, 8, 8, 21);
    std::map<std::string, cv::Mat> out;
    for (const char* act : {"linear", "relu", "tanh", "logistic", "mish", "swish", "leaky"}) {
        const std::string cfg = write_cfg(std::string(act) + ".cfg", base + act + tail);
        detector::ConvertOptions opt;
        opt.random_weights_seed = 5;
        detector::convert_darknet(cfg, "", path(std::string(act) + ".onnx"), opt);
        cv::dnn::Net net = cv::dnn::readNetFromONNX(path(std::string(act) + ".onnx"));
        net.setInput(blob);
        out[act] = net.forward("yolo_1").clone();
    }
    const float* x = out["linear"].ptr<float>();
    double min_x = 0, max_x = 0;
    cv::minMaxIdx(out["linear"], &min_x, &max_x);
    ASSERT_LT(min_x, -0.1);  // both signs exercised
    ASSERT_GT(max_x, 0.1);
    auto check = [&](const char* act, auto fn) {
        const float* y = out[act].ptr<float>();
        double worst = 0;
        for (size_t i = 0; i < out["linear"].total(); ++i)
            worst = std::max(worst, std::fabs(y[i] - fn(static_cast<double>(x[i]))));
        EXPECT_LE(worst, 1e-5) << act;
    };
    check("relu", [](double v) { return std::max(v, 0.0); });
    check("tanh", [](double v) { return std::tanh(v); });
    check("logistic", [](double v) { return 1 / (1 + std::exp(-v)); });
    check("mish", [](double v) { return v * std::tanh(std::log1p(std::exp(v))); });
    check("swish", [](double v) { return v / (1 + std::exp(-v)); });
    check("leaky", [](double v) { return v > 0 ? v : 0.1 * v; });
}

TEST_F(DarknetOnnx, MetadataAndGraphInterface) {
    const std::string cfg = write_cfg("all.cfg", kCfgAll);
    detector::ConvertOptions opt;
    opt.random_weights_seed = 1;
    const auto heads = detector::convert_darknet(cfg, "", path("m.onnx"), opt);
    ASSERT_EQ(heads.size(), 2u);
    EXPECT_EQ(heads[0].output_name, "yolo_11");
    EXPECT_EQ(heads[0].mask, (std::vector<int>{2, 3}));
    EXPECT_EQ(heads[0].anchors.size(), 8u);
    EXPECT_EQ(heads[0].stride, 4);
    EXPECT_EQ(heads[0].classes, 2);
    EXPECT_FLOAT_EQ(heads[0].scale_x_y, 1.05f);
    EXPECT_EQ(heads[1].output_name, "yolo_17");
    EXPECT_EQ(heads[1].stride, 2);

    const onnx::ModelProto m = load_model(path("m.onnx"));
    ASSERT_EQ(m.opset_import_size(), 1);
    EXPECT_EQ(m.opset_import(0).version(), 13);
    auto meta = metadata(m);
    EXPECT_EQ(
        meta["rtdet.yolo.heads"],
        "[{\"output\":\"yolo_11\",\"mask\":[2,3],\"anchors\":[37,58,81,82],\"classes\":2,\"scale_x_y\":1.05,"
        "\"stride\":4},{\"output\":\"yolo_17\",\"mask\":[0,1],\"anchors\":[10,14,23,27],\"classes\":2,"
        "\"scale_x_y\":1,\"stride\":2}]");
    EXPECT_EQ(meta["rtdet.input_size"], "32x32");
    EXPECT_EQ(meta["rtdet.resize"], "letterbox");
    EXPECT_EQ(meta["rtdet.source"], "all.cfg");
    EXPECT_EQ(meta["rtdet.classes"], "2");
    EXPECT_EQ(meta["rtdet.weights"], "random:1");

    const auto& g = m.graph();
    ASSERT_EQ(g.input_size(), 1);
    EXPECT_EQ(g.input(0).name(), "images");
    ASSERT_EQ(g.output_size(), 2);
    auto dims = [](const onnx::ValueInfoProto& v) {
        std::vector<int64_t> d;
        for (const auto& x : v.type().tensor_type().shape().dim()) d.push_back(x.dim_value());
        return d;
    };
    EXPECT_EQ(dims(g.input(0)), (std::vector<int64_t>{1, 3, 32, 32}));
    EXPECT_EQ(g.output(0).name(), "yolo_11");
    EXPECT_EQ(dims(g.output(0)), (std::vector<int64_t>{1, 14, 8, 8}));
    EXPECT_EQ(dims(g.output(1)), (std::vector<int64_t>{1, 14, 16, 16}));
    // Heads are written by their conv directly: no Identity; dropout and single route add no node.
    const auto ops = op_types(m);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "Identity"), 0);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "Conv"), 7);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "Slice"), 1);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "Concat"), 1);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "Resize"), 1);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "MaxPool"), 3);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "Add"), 1);
    // Darknet maxpool padding: size 2 -> pads 0 before, 1 after; size 5 -> 2 and 2.
    std::vector<std::vector<int64_t>> pool_pads;
    for (const auto& n : g.node())
        if (n.op_type() == "MaxPool")
            for (const auto& a : n.attribute())
                if (a.name() == "pads") pool_pads.emplace_back(a.ints().begin(), a.ints().end());
    ASSERT_EQ(pool_pads.size(), 3u);
    EXPECT_EQ(pool_pads[0], (std::vector<int64_t>{0, 0, 1, 1}));
    EXPECT_EQ(pool_pads[1], (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(pool_pads[2], (std::vector<int64_t>{2, 2, 2, 2}));
}

TEST_F(DarknetOnnx, InputSizeOverrideBatchAndIdentityHead) {
    // The yolo layer follows a dropout, so its tensor gets an Identity to carry the output name.
    const std::string cfg = write_cfg("d.cfg",
                                      "[net]\nwidth=16\nheight=16\nchannels=3\n[convolutional]\nfilters="
                                      "7\nsize=3\nstride=2\npad=1\nactivation=linear\n"
                                      "[dropout]\n[yolo]\nanchors=3,4\nclasses=2\n");
    detector::ConvertOptions opt;
    opt.random_weights_seed = 2;
    opt.input_width = 64;
    opt.input_height = 32;
    opt.batch = 2;
    const auto heads = detector::convert_darknet(cfg, "", path("d.onnx"), opt);
    ASSERT_EQ(heads.size(), 1u);
    EXPECT_EQ(heads[0].output_name, "yolo_2");
    EXPECT_EQ(heads[0].stride, 2);
    const onnx::ModelProto m = load_model(path("d.onnx"));
    EXPECT_EQ(metadata(m)["rtdet.input_size"], "64x32");
    EXPECT_EQ(metadata(m)["rtdet.resize"], "darknet");
    const auto& out = m.graph().output(0).type().tensor_type().shape();
    ASSERT_EQ(out.dim_size(), 4);
    EXPECT_EQ(out.dim(0).dim_value(), 2);
    EXPECT_EQ(out.dim(2).dim_value(), 16);
    EXPECT_EQ(out.dim(3).dim_value(), 32);
    const auto ops = op_types(m);
    EXPECT_EQ(ops, (std::vector<std::string>{"Conv", "Identity"}));
    // And OpenCV runs it with the identity head equal to the conv.
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path("d.onnx"));
    cv::Mat blob({2, 3, 32, 64}, CV_32F, cv::Scalar(0.5));
    net.setInput(blob);
    const cv::Mat y = net.forward("yolo_2");
    EXPECT_EQ(y.size[0], 2);
    EXPECT_EQ(y.size[3], 32);
}

TEST_F(DarknetOnnx, ConversionErrors) {
    // A layer consuming a [yolo] output.
    const std::string bad = write_cfg(
        "bad.cfg",
        "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=7\nsize=1\nactivation=linear\n"
        "[yolo]\nanchors=3,4\nclasses=2\n[convolutional]\nfilters=7\nsize=1\nactivation=linear\n");
    detector::ConvertOptions opt;
    opt.random_weights_seed = 1;
    EXPECT_CONTAINS(error_of([&] { detector::convert_darknet(bad, "", path("bad.onnx"), opt); }),
                    "bad.cfg:12: [convolutional] (layer 2) uses the output of [yolo] layer 1");
    // No yolo layer.
    const std::string none =
        write_cfg("none.cfg", "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=2\n");
    EXPECT_CONTAINS(error_of([&] { detector::convert_darknet(none, "", path("none.onnx"), opt); }),
                    "no [yolo] layer");
    // Input size the head grid does not divide: 8x8 input, stride-3 conv gives a 3x3 grid.
    const std::string odd = write_cfg("odd.cfg",
                                      "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters="
                                      "7\nsize=3\nstride=3\npad=1\nactivation=linear\n"
                                      "[yolo]\nanchors=3,4\nclasses=2\n");
    EXPECT_CONTAINS(error_of([&] { detector::convert_darknet(odd, "", path("odd.onnx"), opt); }),
                    "odd.cfg:11: [yolo] (layer 1): grid 3x3 does not divide the input 8x8");
    // Missing weights file; unwritable output.
    const std::string good = write_cfg("good.cfg", kCfgOdd);
    EXPECT_CONTAINS(
        error_of([&] { detector::convert_darknet(good, path("nope.weights"), path("g.onnx"), {}); }),
        "nope.weights: cannot open darknet weights file");
    EXPECT_CONTAINS(error_of([&] { detector::convert_darknet(good, "", "/nonexistent/dir/g.onnx", opt); }),
                    "/nonexistent/dir/g.onnx: cannot create ONNX file");
}

}  // namespace
