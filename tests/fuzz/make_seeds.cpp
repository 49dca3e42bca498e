// Writes the seed corpus of every fuzz target into OUTDIR/<target>/ (small files the project makes
// itself: cfgs, weights, ONNX models, plans, configs, image lists).
//
// Usage: fuzz_make_seeds OUTDIR
//   The committed seeds (tests/fuzz/corpus) were written by fuzz_make_seeds (`fuzz_make_seeds
//   tests/fuzz/corpus` from the repository root, after emptying its subfolders);
//   scripts/hardening/fuzz.sh writes fresh ones (plans of this engine version and machine) before each run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "detector/darknet/cfg_parser.h"
#include "detector/darknet/darknet_to_onnx.h"
#include "detector/darknet/darknet_weights.h"
#include "engine/builder/build_options.h"
#include "engine/builder/builder.h"
#include "engine/core/error.h"
#include "engine/plan/plan.h"
#include "tests/engine/import/onnx_model_builder.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace fs = std::filesystem;

void write_text(const fs::path& path, const std::string& text) {
    fuzz_util::write_file(path.string(), text.data(), text.size());
}

// Darknet cfgs beside kWeightsCfg: the [network] spelling, comments, letterbox, every activation,
// stride_x/stride_y, a 3-input route, scale_x_y.
constexpr const char* kCfgTinyV3 = R"(# yolov3-tiny in miniature
[network]
batch=64
subdivisions=2
width=64
height=64
channels=3
letterbox=1
learning_rate=0.001

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=mish # trailing comment

[maxpool]
size=2
stride=1

[convolutional]
filters=12
size=1
stride=1
pad=1
activation=linear

[yolo]
mask = 1,2
anchors = 10,14,  23,27,  37,58
classes=1
num=3
jitter=.3
ignore_thresh = .7
truth_thresh = 1
random=1
scale_x_y=1.05

[route]
layers = -3

[convolutional]
batch_normalize=1
filters=4
size=1
stride=1
pad=1
activation=swish

[upsample]
stride=2

[route]
layers = -1, 0, -1

[convolutional]
filters=12
size=1
activation=logistic

[convolutional]
filters=12
size=3
stride_x=1
stride_y=1
pad=1
activation=tanh

[convolutional]
filters=6
size=1
activation=relu

[yolo]
mask = 0
anchors = 10,14,  23,27,  37,58
classes=1
num=3
)";

constexpr const char* kCfgStrides = R"([net]
width=48
height=32
channels=1

[convolutional]
filters=6
size=3
stride_x=2
stride_y=1
padding=1
activation=leaky

[maxpool]
size=3
stride_x=1
stride_y=2

[dropout]
probability=0.5

[shortcut]
from=-2
activation=leaky

[convolutional]
filters=7
size=1
activation=linear

[yolo]
mask=0
anchors=5,5
classes=2
num=1
)";

struct NamedText {
    const char* name;
    const char* text;
};

constexpr NamedText kConfigs[] = {
    {"full.yaml", R"(# every section
model:
  path: $DATA/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg
  names: ""
  input_width: 320
  input_height: 320
  resize: letterbox
  pad_value: 0.5
  random_weights: -1
detector:
  conf_threshold: 0.25
  iou_threshold: 0.45
  nms: agnostic
  max_detections: 100
engine:
  device: cpu
  precision: bf16
  threads: 2
  plan_cache_dir: ""
  peer: none
source: $DATA/videos/car-detection.mp4
outputs:
  video: out/run.mp4
  video_codec: MJPG
  images_dir: ""
  json: out/run.jsonl
  show: 0
  snapshot_dir: ""
  summary_json: out/summary.json
pipeline:
  queue_depth: 4
  max_batch: 2
  max_frames: 100
  realtime: false
reconnect:
  attempts: 3
  interval_ms: 100
  timeout_ms: 2000
  open_timeout_ms: 5000
)"},
    {"flow.yaml",
     "{detector: {conf_threshold: 0.5, nms: per-class}, pipeline: {realtime: true, max_batch: 4}}\n"},
    {"anchors.yaml", R"(engine: &e
  device: reference
  precision: fp32
detector:
  conf_threshold: 1e-3
outputs: {show: -1, json: "a b.jsonl"}
source: "0"
)"},
    {"empty.yaml", ""},
};

constexpr NamedText kLists[] = {
    {"list.txt", "# images\nimages/a.jpg\n  b.png  \n\n/abs/c.jpeg\r\n../up/d.bmp\n#end\n"},
    {"one.list", "x.jpg"},
    {"comments.txt", "# only\n   # comments\n\t\n"},
};

// A constant shape chain (evaluated at import), a Reshape, Transpose, Softmax, Split, Pad, Slice.
std::string onnx_shape_chain() {
    import_test::OnnxModelBuilder m(13);
    m.input("x", {1, 4, 6, 6});
    m.node("Shape", {"x"}, {"s"}, "shape");
    m.init_i64("idx", {1}, {1});
    m.node("Gather", {"s", "idx"}, {"c"}, "gather").i("axis", 0);
    m.init_i64("minus1", {1}, {-1});
    m.init_i64("one", {1}, {1});
    m.node("Concat", {"one", "c", "minus1"}, {"newshape"}, "cat_shape").i("axis", 0);
    m.node("Reshape", {"x", "newshape"}, {"r"}, "reshape");
    m.node("Transpose", {"r"}, {"t"}, "transpose").ints("perm", {0, 2, 1});
    m.node("Softmax", {"t"}, {"sm"}, "softmax").i("axis", -1);
    m.init_i64("split", {2}, {12, 24});
    m.node("Split", {"sm", "split"}, {"a", "b"}, "split").i("axis", 1);
    m.init_i64("pads", {6}, {0, 1, 0, 0, 1, 0});
    m.node("Pad", {"a", "pads"}, {"p"}, "pad");
    m.init_i64("starts", {1}, {1});
    m.init_i64("ends", {1}, {3});
    m.init_i64("axes", {1}, {2});
    m.node("Slice", {"b", "starts", "ends", "axes"}, {"y"}, "slice");
    m.output("p");
    m.output("y");
    return m.bytes();
}

// Conv, BatchNormalization, Clip, Resize (scales), MaxPool with pads, Add, Sigmoid, a symbolic batch.
std::string onnx_conv_net() {
    import_test::OnnxModelBuilder m(11);
    m.input("images", {-1, 3, 8, 8});
    m.init_f32("w", {4, 3, 3, 3}, 0.1f);
    m.init_f32("bias", {4}, {0.f, 0.1f, -0.1f, 0.2f});
    m.node("Conv", {"images", "w", "bias"}, {"c"}, "conv")
        .ints("pads", {1, 1, 1, 1})
        .ints("kernel_shape", {3, 3});
    m.init_f32("g", {4}, 1.f);
    m.init_f32("be", {4}, 0.f);
    m.init_f32("mu", {4}, 0.1f);
    m.init_f32("var", {4}, 2.f);
    m.node("BatchNormalization", {"c", "g", "be", "mu", "var"}, {"bn"}, "bn").f("epsilon", 1e-5f);
    m.node("Clip", {"bn"}, {"cl"}, "clip").f("min", 0.f).f("max", 6.f);
    m.node("MaxPool", {"cl"}, {"mp"}, "pool").ints("kernel_shape", {2, 2}).ints("strides", {2, 2});
    m.init_f32("roi", {0}, std::vector<float>{});
    m.init_f32("scales", {4}, {1.f, 1.f, 2.f, 2.f});
    m.node("Resize", {"mp", "roi", "scales"}, {"up"}, "resize").s("mode", "nearest");
    m.node("Add", {"up", "cl"}, {"sum"}, "add");
    m.node("Sigmoid", {"sum"}, {"out"}, "sigmoid");
    m.output("out");
    m.metadata("rtdet.input_size", "8x8");
    return m.bytes();
}

void make(const fs::path& out) {
    const fs::path cfg_dir = out / "fuzz_darknet_cfg", weights_dir = out / "fuzz_darknet_weights",
                   onnx_dir = out / "fuzz_onnx", plan_dir = out / "fuzz_plan",
                   yaml_dir = out / "fuzz_yaml_config", list_dir = out / "fuzz_image_list";
    for (const fs::path& d : {cfg_dir, weights_dir, onnx_dir, plan_dir, yaml_dir, list_dir})
        fs::create_directories(d);

    // darknet cfgs (each must parse: a seed that fails early teaches the fuzzer little)
    write_text(cfg_dir / "tiny_fastest.cfg", fuzz_util::kWeightsCfg);
    write_text(cfg_dir / "tiny_v3.cfg", kCfgTinyV3);
    write_text(cfg_dir / "strides.cfg", kCfgStrides);
    for (const auto& entry : fs::directory_iterator(cfg_dir))
        (void)detector::parse_cfg(entry.path().string());

    // weights for the fixed cfg: header 0.2.5 (int64 seen) and 0.1.0 (int32 seen)
    const fs::path cfg = cfg_dir / "tiny_fastest.cfg";
    const detector::DarknetModel model = detector::parse_cfg(cfg.string());
    const fs::path weights = weights_dir / "tiny_fastest_v025.weights.bin";
    detector::write_random_weights(cfg.string(), 1, weights.string());
    detector::DarknetWeights w = detector::random_darknet_weights(model, 2);
    w.minor = 1;
    w.revision = 0;
    w.seen = 1234;
    detector::write_darknet_weights((weights_dir / "tiny_fastest_v010.weights.bin").string(), model, w);
    (void)detector::read_darknet_weights(weights.string(), model);

    // ONNX: converted darknet models (BN folded / kept) and two hand-built graphs
    detector::ConvertOptions co;
    (void)detector::convert_darknet(cfg.string(), weights.string(), (onnx_dir / "tiny_fastest.onnx").string(),
                                    co);
    co.keep_batchnorm = true;
    co.batch = 2;
    (void)detector::convert_darknet(cfg.string(), weights.string(),
                                    (onnx_dir / "tiny_fastest_bn.onnx").string(), co);
    detector::ConvertOptions cv3;
    cv3.random_weights_seed = 7;
    cv3.input_width = 32;
    cv3.input_height = 32;
    (void)detector::convert_darknet((cfg_dir / "tiny_v3.cfg").string(), "",
                                    (onnx_dir / "tiny_v3.onnx").string(), cv3);
    write_text(onnx_dir / "shape_chain.onnx", onnx_shape_chain());
    write_text(onnx_dir / "conv_net.onnx", onnx_conv_net());

    // plans: the reference device (portable between machines) and the default cpu device
    engine::BuildOptions ref;
    ref.device = "reference";
    ref.max_batch = 2;
    engine::build_plan_from_onnx((onnx_dir / "tiny_fastest.onnx").string(), ref)
        .save((plan_dir / "tiny_fastest_ref.plan").string());
    engine::build_plan_from_onnx((onnx_dir / "conv_net.onnx").string(), ref)
        .save((plan_dir / "conv_net_ref.plan").string());
    engine::BuildOptions cpu;
    cpu.layout = "plain";
    engine::build_plan_from_onnx((onnx_dir / "tiny_v3.onnx").string(), cpu)
        .save((plan_dir / "tiny_v3_cpu.plan").string());

    for (const NamedText& c : kConfigs) write_text(yaml_dir / c.name, c.text);
    for (const NamedText& l : kLists) write_text(list_dir / l.name, l.text);

    // The repository ignores *.onnx and *.plan (build outputs), so the seeds carry a ".seed" suffix (the
    // fuzz targets read bytes; names do not matter).
    std::vector<fs::path> models;
    for (const fs::path& d : {onnx_dir, plan_dir})
        for (const auto& entry : fs::directory_iterator(d)) models.push_back(entry.path());
    for (const fs::path& m : models) fs::rename(m, m.string() + ".seed");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    fuzz_util::init_once();
    try {
        make(argv[1]);
    } catch (const engine::Error& e) {
        std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
        return 1;
    }
    std::printf("fuzz_make_seeds: seeds written to %s\n", argv[1]);
    return 0;
}
