// Image -> network input, and network coordinates -> image pixels, for the three resize policies.
// Works on raw 8-bit BGR buffers so it builds without OpenCV (the GPU-machine build).
//
//   darknet   : stretch to the network size with darknet's own resize_image(): bilinear with
//               corner-aligned sampling (source step (W-1)/(w-1)), a horizontal then a vertical pass on
//               floats. Reproduces darknet's preprocessing exactly (what the model authors measured).
//   stretch   : stretch with half-pixel-centre bilinear (OpenCV INTER_LINEAR's sampling).
//   letterbox : keep aspect ratio, scale to fit, centre, pad with pad_value; half-pixel bilinear.
// Output: RGB, values / 255, planar CHW float.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detector/types.h"

namespace detector {

enum class ResizePolicy { Darknet, Stretch, Letterbox };

std::string_view resize_policy_name(ResizePolicy p);
// Throws engine::Error naming the allowed values.
ResizePolicy resize_policy_from_name(std::string_view name);
// The policy a model runs with: the configured one, else the model's metadata `rtdet.resize` (what
// `rtdet convert` records), else darknet. The Detector and the INT8 calibrator share this rule.
ResizePolicy model_resize_policy(const std::optional<ResizePolicy>& configured,
                                 const std::map<std::string, std::string>& metadata);

// The mapping from network-input pixels back to image pixels: x_img = (x_net - pad_x) / scale_x.
struct InputTransform {
    float scale_x = 1, scale_y = 1;
    float pad_x = 0, pad_y = 0;
    int image_w = 0, image_h = 0;
    // Network-pixel box -> image-pixel box, clipped to the image.
    Box to_image(const Box& net_box) const;
};

InputTransform make_transform(ResizePolicy policy, int image_w, int image_h, int net_w, int net_h);

struct ImageView {
    const uint8_t* data = nullptr;  // BGR, 3 bytes per pixel
    int width = 0, height = 0;
    int64_t row_stride = 0;  // bytes between rows
};

// Writes 3 * net_h * net_w floats (planes R, G, B) to `out`. `scratch` is reused between calls
// (no allocation once it has grown). Returns the transform for mapping boxes back.
InputTransform preprocess(const ImageView& img, ResizePolicy policy, int net_w, int net_h, float pad_value,
                          float* out, std::vector<float>& scratch);

}  // namespace detector
