#include "app/detect_json.h"

#include "detector/labels.h"

namespace app {

nlohmann::json detections_json(std::span<const detector::Detection> dets,
                               const std::vector<std::string>& names) {
    nlohmann::json out = nlohmann::json::array();
    for (const detector::Detection& d : dets)
        out.push_back(
            {{"class_id", d.class_id},
             {"class", detector::class_name(names, d.class_id)},
             {"score", d.score},
             {"box", {{"x", d.box.x1}, {"y", d.box.y1}, {"w", d.box.width()}, {"h", d.box.height()}}}});
    return out;
}

}  // namespace app
