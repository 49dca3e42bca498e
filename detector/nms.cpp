#include "detector/nms.h"

#include <algorithm>
#include <tuple>

namespace detector {

float iou(const Box& a, const Box& b) {
    const float aa = a.area(), ab = b.area();
    if (aa <= 0.f || ab <= 0.f) return 0.f;
    const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
    const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
    if (iw <= 0.f || ih <= 0.f) return 0.f;
    const float inter = iw * ih;
    return inter / (aa + ab - inter);
}

void nms(std::vector<Detection>& dets, const NmsOptions& options) {
    std::erase_if(dets, [](const Detection& d) { return !(d.box.area() > 0.f); });
    std::stable_sort(dets.begin(), dets.end(), [](const Detection& a, const Detection& b) {
        if (a.score != b.score) return a.score > b.score;
        return std::tie(a.class_id, a.box.x1, a.box.y1, a.box.x2, a.box.y2) <
               std::tie(b.class_id, b.box.x1, b.box.y1, b.box.x2, b.box.y2);
    });
    size_t kept = 0;
    for (size_t i = 0; i < dets.size(); ++i) {
        bool keep = true;
        for (size_t k = 0; k < kept; ++k) {
            if (!options.class_agnostic && dets[k].class_id != dets[i].class_id) continue;
            if (iou(dets[k].box, dets[i].box) > options.iou_threshold) {
                keep = false;
                break;
            }
        }
        if (!keep) continue;
        dets[kept++] = dets[i];
        if (options.max_detections > 0 && kept == static_cast<size_t>(options.max_detections)) break;
    }
    dets.resize(kept);
}

}  // namespace detector
