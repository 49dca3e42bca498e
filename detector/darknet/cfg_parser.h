// Darknet .cfg parser: the text format of pjreddie/darknet and AlexeyAB/darknet, limited to the layers
// YOLOv3 / YOLOv3-tiny / YOLOv4-tiny / Yolo-Fastest use, with shapes inferred for a given input size.
//
// Format (as darknet reads it): whitespace anywhere in a line is ignored; lines starting with '#' or
// ';' are comments (we also drop a trailing "#..." comment); "[section]" starts a section; every other
// line is "key=value". The first section must be [net] (or [network]); every later section is one
// layer, numbered from 0, and that number is what [route] layers= and [shortcut] from= refer to
// (negative values count back from the layer itself).
//
// Supported sections and keys (defaults are darknet's):
//   [net]            width, height, channels, letterbox / letter_box
//   [convolutional]  filters=1 size=1 stride=1 stride_x stride_y pad=0 padding=0 groups=1
//                    batch_normalize=0 activation=logistic; must-be-default: dilation=1 binary=0
//                    xnor=0 flipped=0 antialiasing=0
//   [shortcut]       from, activation=linear (shapes of both inputs must be equal)
//   [route]          layers, groups=1, group_id=0 (each input is split into `groups` channel chunks
//                    and chunk group_id is taken, as in YOLOv4-tiny)
//   [upsample]       stride=2 (nearest); must-be-default: scale=1
//   [maxpool]        size=stride stride=1 stride_x stride_y padding=size-1 (total; top/left get
//                    padding/2, bottom/right the rest); must-be-default: maxpool_depth=0 antialiasing=0
//   [dropout]        identity at inference
//   [yolo]           mask (default 0..num-1), anchors, classes=20, num=1, scale_x_y=1; new_coords=0
// Activations: linear, leaky (slope 0.1), relu, logistic, tanh, mish, swish.
// Keys that only affect training are ignored (the lists are kTrainingKeys* in cfg_parser.cpp). Any
// other key, an unknown section, a bad value or a bad layer reference throws engine::Error
// "<cfg>:<line>: ...".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace detector {

enum class DarknetLayerType : uint8_t { Convolutional, Shortcut, Route, Upsample, Maxpool, Dropout, Yolo };
enum class DarknetActivation : uint8_t { Linear, Leaky, Relu, Logistic, Tanh, Mish, Swish };

const char* darknet_layer_type_name(DarknetLayerType type);  // "convolutional", ...
const char* darknet_activation_name(DarknetActivation act);  // "leaky", ...

struct DarknetLayer {
    DarknetLayerType type = DarknetLayerType::Dropout;
    int line = 0;  // line of the "[section]" header in the cfg
    DarknetActivation activation = DarknetActivation::Linear;

    // [convolutional] (size, stride_x/y, padding also used by [maxpool]; stride_x by [upsample])
    int filters = 0;
    int size = 1;
    int stride_x = 1, stride_y = 1;
    int padding = 0;  // convolution: per side; maxpool: total (see header comment)
    int groups = 1;   // convolution groups; for [route], the channel-chunk count
    bool batch_normalize = false;

    // [route] layers / [shortcut] from, as absolute layer indices (< this layer's index)
    std::vector<int> inputs;
    int group_id = 0;

    // [yolo]
    std::vector<int> mask;
    std::vector<float> anchors;  // all anchors, pairs w,h in input pixels
    int classes = 0;
    int num = 0;
    float scale_x_y = 1.f;

    // Shapes (channels, height, width) of the layer's output, from infer_darknet_shapes.
    int out_c = 0, out_h = 0, out_w = 0;
    int in_c = 0, in_h = 0, in_w = 0;  // of the layer's main input (the previous layer / the image)
};

struct DarknetModel {
    std::string cfg_path;  // as given; used in error messages
    int width = 0, height = 0, channels = 0;
    bool letterbox = false;
    std::vector<DarknetLayer> layers;
};

// Parses a cfg file and infers shapes at the cfg's own input size. Throws engine::Error
// "<cfg>:<line>: ..." on any problem, or "<cfg>: cannot open ..." when the file is missing.
DarknetModel parse_cfg(const std::string& path);
// Same from text; `source` names the cfg in errors.
DarknetModel parse_cfg_text(const std::string& text, const std::string& source);

// Recomputes every layer's shapes for a width x height input. Throws engine::Error
// "<cfg>:<line>: ..." when a layer cannot take its input at that size (a route or shortcut joining
// tensors of different sizes, a yolo layer whose input has the wrong channel count, ...).
void infer_darknet_shapes(DarknetModel& model, int width, int height);

// Number of float parameters of one layer in a .weights file (0 for layers without weights).
int64_t darknet_layer_param_count(const DarknetLayer& layer);
int64_t darknet_param_count(const DarknetModel& model);

}  // namespace detector
