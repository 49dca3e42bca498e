// YOLO head decoding on the GPU (darknet [yolo] semantics, as detector/yolo_decode.h): every
// (anchor, cell) whose objectness passes the threshold writes one candidate per class whose score
// passes it, through an atomic counter, so only candidates travel back to the host. Boxes are mapped
// to image pixels with the InputTransform (clipped to the image), as the CPU decoder does, with the
// same float operations in the same order (no fused multiply-add; the sigmoid's exp in double, rounded
// to float, which is what glibc's expf gives in practice), so the candidates equal the CPU decoder's.
// The order in which candidates land is not deterministic: each carries its rank in the CPU decoder's
// order (`order`), and the host sorts by it before NMS.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "detector/preprocess.h"
#include "detector/types.h"

namespace detector::cuda {

inline constexpr int kMaxGpuAnchors = 16;

struct GpuDetection {
    float x1, y1, x2, y2;  // image pixels
    float score;           // objectness * class probability
    float objectness;
    int32_t class_id;
    int32_t order;  // order_base + (anchor * gh * gw + cell) * classes + class: the CPU decoder's order
};

struct GpuDecodeArgs {
    const float* head = nullptr;  // device, one image: [A*(5+classes), gh, gw] F32 (NCHW)
    int gh = 0, gw = 0;
    int num_anchors = 0;
    float anchors[2 * kMaxGpuAnchors] = {};  // w, h in input pixels
    int classes = 0;
    float scale_x_y = 1.f;
    int net_w = 0, net_h = 0;
    float conf_threshold = 0.25f;
    float scale_x = 1, scale_y = 1, pad_x = 0, pad_y = 0;  // InputTransform
    int image_w = 0, image_h = 0;
    GpuDetection* out = nullptr;  // device, `capacity` entries
    int* count = nullptr;         // device counter, incremented per candidate (may exceed capacity)
    int capacity = 0;
    int order_base = 0;  // added to `order` (the heads before this one: sum of anchors * gh * gw * classes)
};

// Fills the anchors, classes, scale and transform fields from the host descriptions.
GpuDecodeArgs make_decode_args(const YoloHead& head, int gh, int gw, int net_w, int net_h,
                               float conf_threshold, const InputTransform& t);

// Enqueues the decode of one head of one image. *count must be zeroed (cudaMemsetAsync) by the caller
// before the first head of an image; heads of one image may share out/count. Candidates beyond
// `capacity` are counted but not written.
void launch_decode_yolo(const GpuDecodeArgs& a, cudaStream_t stream);

}  // namespace detector::cuda
