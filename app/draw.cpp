#include "app/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "detector/labels.h"

namespace app {

cv::Scalar class_color(int class_id) {
    constexpr double kGolden = 0.618033988749895;
    const double hue = std::fmod(0.11 + static_cast<double>(class_id) * kGolden, 1.0);
    static const int kSat[3] = {230, 160, 255};
    static const int kVal[3] = {255, 220, 180};
    const int k = (class_id / 7) % 3;
    cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(hue * 180.0, kSat[k], kVal[k]));
    cv::Mat bgr;
    cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
    const cv::Vec3b c = bgr.at<cv::Vec3b>(0, 0);
    return {static_cast<double>(c[0]), static_cast<double>(c[1]), static_cast<double>(c[2])};
}

cv::Scalar text_color_on(const cv::Scalar& bg) {
    const double luma = 0.114 * bg[0] + 0.587 * bg[1] + 0.299 * bg[2];
    return luma > 140 ? cv::Scalar(0, 0, 0) : cv::Scalar(255, 255, 255);
}

void draw_detections(cv::Mat& image, std::span<const detector::Detection> dets,
                     const std::vector<std::string>& names) {
    if (image.empty()) return;
    const double size = std::max(image.cols, image.rows);
    const int thickness = std::max(1, static_cast<int>(std::lround(size / 400.0)));
    const double font_scale = std::clamp(size / 1400.0, 0.4, 1.6);
    const int font_thickness = std::max(1, static_cast<int>(std::lround(font_scale * 1.5)));
    const int font = cv::FONT_HERSHEY_SIMPLEX;
    const cv::Rect frame(0, 0, image.cols, image.rows);
    const auto corner = [](float x, float y) {
        return cv::Point(static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)));
    };
    // Boxes lowest score first (the most confident on top); labels most confident first, each at the
    // first free spot of: above the box, inside its top, inside its bottom, below it (else above it anyway).
    std::vector<const detector::Detection*> order;
    for (const auto& d : dets) order.push_back(&d);
    std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->score < b->score; });
    for (const detector::Detection* d : order)
        cv::rectangle(image, corner(d->box.x1, d->box.y1), corner(d->box.x2, d->box.y2),
                      class_color(d->class_id), thickness, cv::LINE_AA);
    std::vector<cv::Rect> placed;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const detector::Detection* d = *it;
        const cv::Point p1 = corner(d->box.x1, d->box.y1), p2 = corner(d->box.x2, d->box.y2);
        char pct[16];
        std::snprintf(pct, sizeof pct, " %d%%", static_cast<int>(std::lround(d->score * 100)));
        const std::string text = detector::class_name(names, d->class_id) + pct;
        int baseline = 0;
        const cv::Size ts = cv::getTextSize(text, font, font_scale, font_thickness, &baseline);
        const int pad = std::max(2, thickness);
        const cv::Size label(ts.width + 2 * pad, ts.height + baseline + 2 * pad);
        const int left = std::clamp(p1.x, 0, std::max(0, image.cols - label.width));
        const int tops[4] = {p1.y - label.height, p1.y, p2.y - label.height, p2.y};
        cv::Rect rect(left, std::max(0, tops[0]), label.width, label.height);
        for (int top : tops) {
            const cv::Rect r(left, std::clamp(top, 0, std::max(0, image.rows - label.height)), label.width,
                             label.height);
            if (top < 0 || top + label.height > image.rows) continue;
            if (std::none_of(placed.begin(), placed.end(),
                             [&](const cv::Rect& q) { return (q & r).area() > 0; })) {
                rect = r;
                break;
            }
        }
        placed.push_back(rect);
        const cv::Scalar color = class_color(d->class_id);
        cv::rectangle(image, rect & frame, color, cv::FILLED);
        cv::putText(image, text, cv::Point(rect.x + pad, rect.y + pad + ts.height), font, font_scale,
                    text_color_on(color), font_thickness, cv::LINE_AA);
    }
}

cv::Mat draw_pr_plot(const std::vector<PrCurve>& curves, const std::string& title, int width, int height) {
    cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
    const int font = cv::FONT_HERSHEY_SIMPLEX;
    const int left = 80, right = 30, top = 60, bottom = 70;
    const int pw = width - left - right, ph = height - top - bottom;
    const auto to_px = [&](double x, double y) {
        return cv::Point(left + static_cast<int>(std::lround(std::clamp(x, 0.0, 1.0) * pw)),
                         top + ph - static_cast<int>(std::lround(std::clamp(y, 0.0, 1.0) * ph)));
    };
    for (int i = 0; i <= 10; ++i) {
        const double v = i / 10.0;
        const cv::Scalar grid(225, 225, 225);
        cv::line(img, to_px(v, 0), to_px(v, 1), grid, 1);
        cv::line(img, to_px(0, v), to_px(1, v), grid, 1);
        if (i % 2 == 0) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "%.1f", v);
            cv::putText(img, buf, to_px(v, 0) + cv::Point(-14, 24), font, 0.5, cv::Scalar(0, 0, 0), 1,
                        cv::LINE_AA);
            cv::putText(img, buf, to_px(0, v) + cv::Point(-40, 5), font, 0.5, cv::Scalar(0, 0, 0), 1,
                        cv::LINE_AA);
        }
    }
    cv::rectangle(img, to_px(0, 1), to_px(1, 0), cv::Scalar(0, 0, 0), 1);
    cv::putText(img, "recall", cv::Point(left + pw / 2 - 30, height - 20), font, 0.6, cv::Scalar(0, 0, 0), 1,
                cv::LINE_AA);
    cv::Mat ylabel(30, 120, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(ylabel, "precision", cv::Point(8, 21), font, 0.6, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    cv::rotate(ylabel, ylabel, cv::ROTATE_90_COUNTERCLOCKWISE);
    ylabel.copyTo(img(cv::Rect(8, top + ph / 2 - 60, ylabel.cols, ylabel.rows)));
    cv::putText(img, title, cv::Point(left, 38), font, 0.7, cv::Scalar(0, 0, 0), 2, cv::LINE_AA);

    const auto color_of = [&](size_t i) {
        return curves[i].emphasised ? cv::Scalar(0, 0, 0) : class_color(static_cast<int>(i));
    };
    for (size_t i = 0; i < curves.size(); ++i) {
        const PrCurve& c = curves[i];
        std::vector<cv::Point> pts;
        for (size_t k = 0; k < std::min(c.recall.size(), c.precision.size()); ++k)
            pts.push_back(to_px(c.recall[k], c.precision[k]));
        if (pts.size() >= 2) cv::polylines(img, pts, false, color_of(i), c.emphasised ? 3 : 2, cv::LINE_AA);
    }
    // Legend: a framed white box in the lower left, one line per curve.
    if (!curves.empty()) {
        constexpr int kLine = 22;
        int text_w = 0;
        for (const PrCurve& c : curves) {
            int baseline = 0;
            text_w = std::max(text_w, cv::getTextSize(c.name, font, 0.5, 1, &baseline).width);
        }
        const int box_h = static_cast<int>(curves.size()) * kLine + 10;
        const cv::Rect box(left + 10, top + ph - 10 - box_h, text_w + 56, box_h);
        cv::rectangle(img, box, cv::Scalar(255, 255, 255), cv::FILLED);
        cv::rectangle(img, box, cv::Scalar(160, 160, 160), 1);
        for (size_t i = 0; i < curves.size(); ++i) {
            const cv::Point lp(box.x + 8, box.y + 20 + static_cast<int>(i) * kLine);
            cv::line(img, lp + cv::Point(0, -5), lp + cv::Point(28, -5), color_of(i),
                     curves[i].emphasised ? 3 : 2, cv::LINE_AA);
            cv::putText(img, curves[i].name, lp + cv::Point(36, 0), font, 0.5, cv::Scalar(0, 0, 0), 1,
                        cv::LINE_AA);
        }
    }
    return img;
}

}  // namespace app
