// The JSON form of one image's detections, as `rtdet detect --json` writes it and the Python API's
// Result.to_json() gives it.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "detector/types.h"

namespace app {

// [{"class_id": 16, "class": "dog", "score": 0.93, "box": {"x": .., "y": .., "w": .., "h": ..}}, ...]:
// boxes in image pixels (x, y the top-left corner), in the order given; class names from `names`
// (detector::class_name: class<N> beyond the list).
nlohmann::json detections_json(std::span<const detector::Detection> dets,
                               const std::vector<std::string>& names);

}  // namespace app
