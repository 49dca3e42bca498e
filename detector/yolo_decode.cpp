#include "detector/yolo_decode.h"

#include <cmath>

namespace detector {
namespace {
inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }
}  // namespace

void decode_yolo_head(const float* head, int gh, int gw, const YoloHead& desc, int net_w, int net_h,
                      float conf_threshold, const InputTransform& transform, std::vector<Detection>& out) {
    const int stride_c = 5 + desc.classes;
    const size_t plane = static_cast<size_t>(gh) * gw;
    const float s = desc.scale_x_y;
    for (int a = 0; a < desc.num_anchors(); ++a) {
        const float* base = head + static_cast<size_t>(a) * stride_c * plane;
        for (int i = 0; i < gh; ++i) {
            for (int j = 0; j < gw; ++j) {
                const size_t cell = static_cast<size_t>(i) * gw + j;
                const float obj = sigmoid(base[4 * plane + cell]);
                if (!(obj > conf_threshold)) continue;
                const float bx = (static_cast<float>(j) + sigmoid(base[cell]) * s - (s - 1.f) / 2.f) /
                                 static_cast<float>(gw);
                const float by = (static_cast<float>(i) + sigmoid(base[plane + cell]) * s - (s - 1.f) / 2.f) /
                                 static_cast<float>(gh);
                const float bw =
                    std::exp(base[2 * plane + cell]) * desc.anchors[2 * a] / static_cast<float>(net_w);
                const float bh =
                    std::exp(base[3 * plane + cell]) * desc.anchors[2 * a + 1] / static_cast<float>(net_h);
                const float nw = static_cast<float>(net_w), nh = static_cast<float>(net_h);
                const Box net_box{(bx - bw / 2) * nw, (by - bh / 2) * nh, (bx + bw / 2) * nw,
                                  (by + bh / 2) * nh};
                const Box img_box = transform.to_image(net_box);
                for (int c = 0; c < desc.classes; ++c) {
                    const float score = obj * sigmoid(base[static_cast<size_t>(5 + c) * plane + cell]);
                    if (score > conf_threshold) out.push_back({img_box, c, score, obj});
                }
            }
        }
    }
}

}  // namespace detector
