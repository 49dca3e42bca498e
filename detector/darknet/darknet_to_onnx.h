// Darknet (.cfg + .weights) -> ONNX (opset 13), the backend of `rtdet convert`.
//
// Graph: input "images" [batch, C, H, W] float (RGB, 0..1, as darknet feeds it). One output per
// [yolo] layer, named "yolo_<layer index>": the raw output of the layer feeding it,
// [batch, len(mask) * (5 + classes), H/stride, W/stride]; no decode in the graph.
//
// Layer mapping:
//   [convolutional]  Conv (+ BatchNormalization when keep_batchnorm) + activation
//                    leaky -> LeakyRelu(0.1), relu -> Relu, logistic -> Sigmoid, tanh -> Tanh,
//                    mish -> Mul(x, Tanh(Softplus(x))), swish -> Mul(x, Sigmoid(x)), linear -> nothing
//   [shortcut]       Add (+ activation)
//   [route]          Concat(axis 1); one input: no node (the tensor is reused); groups/group_id: a Slice
//                    of channel chunk group_id of every input, then Concat
//   [upsample]       Resize(X, "", scales [1,1,s,s]) nearest, asymmetric, floor
//   [maxpool]        MaxPool with darknet's padding: top/left padding/2, bottom/right the rest
//                    (asymmetric for even sizes, e.g. YOLOv3-tiny's size=2 stride=1; OpenCV 4.6's ONNX
//                    importer accepts asymmetric pads, so no separate Pad node is needed)
//   [dropout]        no node
//   [yolo]           graph output (an Identity only when the feeding tensor has no node of its own)
//
// BatchNorm: darknet versions disagree on the epsilon: pjreddie divides by sqrt(var) + 1e-6, AlexeyAB
// (which trained Yolo-Fastest) by sqrt(var + 1e-5), and OpenCV's darknet importer by sqrt(var + 1e-6).
// We follow OpenCV, the oracle our tests compare against, i.e. ONNX BatchNormalization with
// epsilon = kDarknetBnEpsilon. By default BN is folded into the Conv (in double precision); with
// keep_batchnorm it is emitted as a BatchNormalization node with that epsilon (same math), so the
// engine's BN-folding pass sees real models.
//
// Metadata (ModelProto.metadata_props):
//   rtdet.yolo.heads   JSON array, one object per [yolo] layer in cfg order:
//                      {"output": "yolo_16", "mask": [3,4,5], "anchors": [w,h, ...] (the masked
//                      anchors only, in mask order, input pixels), "classes": 80, "scale_x_y": 1.05,
//                      "stride": 32}
//   rtdet.input_size   "WxH"            rtdet.resize   "letterbox" ([net] letterbox=1) or "darknet"
//   rtdet.source       cfg file name    rtdet.classes  classes of the first [yolo] layer
//   rtdet.weights      weights file name, or "random:<seed>"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "detector/darknet/cfg_parser.h"
#include "detector/darknet/darknet_weights.h"

namespace detector {

inline constexpr float kDarknetBnEpsilon = 1e-6f;

struct ConvertOptions {
    std::optional<uint32_t> random_weights_seed;  // set: random_darknet_weights(seed), no weights file
    int input_width = 0, input_height = 0;        // 0: from the cfg
    int batch = 1;                                // ONNX dim 0
    bool keep_batchnorm = false;                  // emit BatchNormalization nodes instead of folding
};

// One [yolo] layer as the converter sees it. (detector::YoloHead in detector/types.h is the decoder's
// view of the same head: only the masked anchors, no mask or stride.)
struct DarknetYoloHead {
    std::vector<int> mask;
    std::vector<float> anchors;  // all anchors of the layer, pairs w,h in input pixels
    int classes = 0;
    float scale_x_y = 1.f;
    int stride = 0;  // input pixels per grid cell
    std::string output_name;
};

// Writes an ONNX ModelProto (opset 13) to out_path; returns the heads. `weights` is ignored (may be
// empty) when options.random_weights_seed is set. Throws engine::Error naming the cfg/weights file
// and line on any problem.
std::vector<DarknetYoloHead> convert_darknet(const std::string& cfg, const std::string& weights,
                                             const std::string& out_path, const ConvertOptions& options);

// Saves random_darknet_weights(cfg, seed) as a darknet .weights file (header 0.2.5, int64 seen), so
// other readers (OpenCV) see the same numbers convert_darknet uses for that seed.
void write_random_weights(const std::string& cfg, uint32_t seed, const std::string& out_weights);

}  // namespace detector
