// Reading still images for `rtdet detect` / `rtdet eval`, with a reason when a file is not usable.
#pragma once

#include <opencv2/core.hpp>
#include <string>

namespace app {

// Decodes `path` as 8-bit BGR. Returns an empty Mat and sets `why` ("no such file", "empty file",
// "truncated JPEG (no end-of-image marker)", "not a readable image", ...) when the file cannot be used.
// A JPEG without its end-of-image marker near the end counts as unusable: libjpeg would decode it
// partially (grey below the cut) and only print a warning. Never throws.
cv::Mat read_image(const std::string& path, std::string& why);

}  // namespace app
