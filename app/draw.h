// Drawing with OpenCV (the OpenCV build only; shared code draws through app/media.h): detections on
// images (boxes, class names, confidences in readable colours) and precision-recall curves for
// `rtdet eval`.
#pragma once

#include <opencv2/core.hpp>
#include <span>
#include <string>
#include <vector>

#include "app/media.h"  // PrCurve
#include "detector/types.h"

namespace app {

// A colour per class, BGR: hues spread by the golden angle so neighbouring ids differ clearly, with
// saturation/value alternating in a small cycle so ids a full turn apart differ too.
cv::Scalar class_color(int class_id);

// Black or white, whichever reads better on `background` (by its luma).
cv::Scalar text_color_on(const cv::Scalar& background);

// Draws each detection on `image` (8-bit BGR, modified in place): the box in its class colour and a
// label "name 93%" on a filled background of the same colour, above the box when there is room, else
// just inside it. Line width and font scale follow the image size.
void draw_detections(cv::Mat& image, std::span<const detector::Detection> dets,
                     const std::vector<std::string>& names);

// A width x height plot (8-bit BGR, white background): axes from 0 to 1 with a grid every .1, tick
// labels every .2, axis titles, the title on top, one coloured curve per entry, a legend in the lower left.
cv::Mat draw_pr_plot(const std::vector<PrCurve>& curves, const std::string& title, int width = 900,
                     int height = 700);

}  // namespace app
