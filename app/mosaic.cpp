#include "app/mosaic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <utility>

namespace app {

namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kStripScale = 0.5;  // label strip and status bar text
constexpr int kStripPad = 6;         // text inset from the strip's left and right ends
constexpr double kDefaultAspect = 16.0 / 9.0;
constexpr int kDefaultTileWidth = 640;  // before the first frame

int text_width(const std::string& s, double scale, int thickness) {
    int baseline = 0;
    return cv::getTextSize(s, kFont, scale, thickness, &baseline).width;
}

// Text centred in `img` (a tile's image area) on a black box.
void draw_centered(cv::Mat& img, const std::string& text, const cv::Scalar& color) {
    const double scale = std::clamp(img.cols / 460.0, 0.4, 1.2);
    const int thick = scale >= 0.6 ? 2 : 1;
    int baseline = 0;
    const cv::Size ts = cv::getTextSize(text, kFont, scale, thick, &baseline);
    const cv::Point org((img.cols - ts.width) / 2, (img.rows + ts.height) / 2);
    const int pad = 6;
    const cv::Rect box(org.x - pad, org.y - ts.height - pad, ts.width + 2 * pad,
                       ts.height + baseline + 2 * pad);
    cv::rectangle(img, box & cv::Rect(0, 0, img.cols, img.rows), cv::Scalar(0, 0, 0), cv::FILLED);
    cv::putText(img, text, org, kFont, scale, color, thick, cv::LINE_AA);
}

cv::Scalar state_color(const std::string& state) {
    if (state == "failed") return {70, 70, 235};        // red
    if (state == "reconnecting") return {0, 190, 255};  // amber
    return {210, 210, 210};                             // ended, anything else
}

}  // namespace

MosaicLayout mosaic_layout(int streams, double aspect, cv::Size max_canvas, int max_tile_width) {
    MosaicLayout l;
    const int n = std::max(streams, 1);
    if (!(aspect > 0) || !std::isfinite(aspect)) aspect = kDefaultAspect;
    l.cols = 1;
    while (l.cols * l.cols < n) ++l.cols;
    l.rows = (n + l.cols - 1) / l.cols;
    const int gap = kMosaicGap, strip = kMosaicStripHeight;
    // The largest image area such that the whole canvas fits: cols tiles and cols + 1 gaps across;
    // rows cells (strip + image) and rows + 1 gaps and the status bar down.
    const int w_limit = (max_canvas.width - (l.cols + 1) * gap) / l.cols;
    const int h_limit = (max_canvas.height - strip - (l.rows + 1) * gap) / l.rows - strip;
    int tile_w = std::min(w_limit, static_cast<int>(std::floor(std::max(h_limit, 0) * aspect)));
    if (max_tile_width > 0) tile_w = std::min(tile_w, max_tile_width);
    tile_w = std::max(tile_w, kMosaicMinTileWidth);
    const int tile_h = std::max(1, static_cast<int>(std::lround(tile_w / aspect)));
    l.image = {tile_w, tile_h};
    l.canvas = {l.cols * tile_w + (l.cols + 1) * gap, l.rows * (strip + tile_h) + (l.rows + 1) * gap + strip};
    for (int i = 0; i < std::max(streams, 0); ++i) {
        const int x = gap + (i % l.cols) * (tile_w + gap);
        const int y = gap + (i / l.cols) * (strip + tile_h + gap);
        l.cells.emplace_back(x, y, tile_w, strip + tile_h);
        l.strips.emplace_back(x, y, tile_w, strip);
        l.images.emplace_back(x, y + strip, tile_w, tile_h);
    }
    l.status = {0, l.canvas.height - strip, l.canvas.width, strip};
    return l;
}

Mosaic::Mosaic(cv::Size max_canvas) : max_canvas_(max_canvas) {}

void Mosaic::set_streams(std::vector<std::string> names) {
    tiles_.clear();
    tiles_.resize(names.size());
    for (size_t i = 0; i < names.size(); ++i) tiles_[i].name = std::move(names[i]);
    aspect_fixed_ = false;
    relayout(kDefaultAspect, kDefaultTileWidth);
}

void Mosaic::relayout(double aspect, int max_tile_width) {
    layout_ = mosaic_layout(streams(), aspect, max_canvas_, max_tile_width);
    canvas_.create(layout_.canvas, CV_8UC3);
    frames_.create(layout_.canvas, CV_8UC3);
    canvas_.setTo(kMosaicGapColor);
    frames_.setTo(kMosaicBackground);
    for (int i = 0; i < streams(); ++i) {
        Tile& t = tiles_[static_cast<size_t>(i)];
        t.has_frame = false;
        t.content = {};
        fit_name(t, layout_.image.width);
        draw_image(i);
        draw_strip(i);
    }
    draw_status();
}

void Mosaic::fit_name(Tile& t, int width) {
    // Room left of the FPS figure ("999.9 FPS" at most, in practice).
    static const int fps_w = text_width("999.9 FPS", kStripScale, 1);
    const int room = width - 3 * kStripPad - fps_w;
    t.shown_name = t.name;
    if (text_width(t.shown_name, kStripScale, 1) <= room) return;
    while (!t.shown_name.empty() && text_width(t.shown_name + "..", kStripScale, 1) > room)
        t.shown_name.pop_back();
    t.shown_name += "..";
}

void Mosaic::update(int stream, const cv::Mat& frame, std::string_view name, double fps) {
    CV_Assert(stream >= 0 && stream < streams());
    if (frame.empty()) return;
    const cv::Mat* src = &frame;
    if (frame.type() == CV_8UC1) {
        cv::cvtColor(frame, gray_, cv::COLOR_GRAY2BGR);
        src = &gray_;
    } else if (frame.type() == CV_8UC4) {
        cv::cvtColor(frame, gray_, cv::COLOR_BGRA2BGR);
        src = &gray_;
    }
    CV_Assert(src->type() == CV_8UC3);
    if (!aspect_fixed_) {
        // The first frame of all: tiles of its aspect, no wider than it.
        aspect_fixed_ = true;
        relayout(static_cast<double>(src->cols) / src->rows, src->cols);
    }
    Tile& t = tiles_[static_cast<size_t>(stream)];
    if (!name.empty() && name != t.name) {
        t.name.assign(name);
        fit_name(t, layout_.image.width);
    }
    t.fps = fps;

    // Scaled to fit, centred: bars above and below or left and right.
    const cv::Rect area = layout_.images[static_cast<size_t>(stream)];
    const double scale =
        std::min(static_cast<double>(area.width) / src->cols, static_cast<double>(area.height) / src->rows);
    const int w = std::clamp(static_cast<int>(std::lround(src->cols * scale)), 1, area.width);
    const int h = std::clamp(static_cast<int>(std::lround(src->rows * scale)), 1, area.height);
    const cv::Rect content(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    if (!t.has_frame || content != t.content) {
        cv::Mat bars = frames_(area);
        bars.setTo(kMosaicBackground);
        t.content = content;
    }
    cv::Mat dst = frames_(content);  // same size and type: resize writes in place
    cv::resize(*src, dst, content.size(), 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    t.has_frame = true;
    draw_image(stream);
    draw_strip(stream);
}

void Mosaic::set_state(int stream, std::string_view state) {
    CV_Assert(stream >= 0 && stream < streams());
    Tile& t = tiles_[static_cast<size_t>(stream)];
    if (t.state == state) return;
    t.state.assign(state);
    draw_image(stream);
}

void Mosaic::set_status(std::string_view text) {
    if (status_ != text) status_.assign(text);
    draw_status();
}

void Mosaic::draw_image(int stream) {
    const Tile& t = tiles_[static_cast<size_t>(stream)];
    const cv::Rect area = layout_.images[static_cast<size_t>(stream)];
    cv::Mat dst = canvas_(area);
    frames_(area).copyTo(dst);
    if (!t.has_frame) {
        draw_centered(dst, t.state.empty() ? std::string("waiting") : t.state,
                      t.state.empty() ? cv::Scalar(170, 170, 170) : state_color(t.state));
    } else if (!t.state.empty()) {
        dst *= 0.4;  // the last frame, dimmed, under the state
        draw_centered(dst, t.state, state_color(t.state));
    }
}

void Mosaic::draw_strip(int stream) {
    const Tile& t = tiles_[static_cast<size_t>(stream)];
    cv::Mat strip = canvas_(layout_.strips[static_cast<size_t>(stream)]);  // text clipped to the strip
    strip.setTo(kMosaicStrip);
    const int y = strip.rows - 7;
    cv::putText(strip, t.shown_name, cv::Point(kStripPad, y), kFont, kStripScale, cv::Scalar(255, 255, 255),
                1, cv::LINE_AA);
    if (!t.has_frame) return;
    char fps[32];
    std::snprintf(fps, sizeof fps, "%.1f FPS", t.fps);
    int baseline = 0;
    const int w = cv::getTextSize(fps, kFont, kStripScale, 1, &baseline).width;
    cv::putText(strip, fps, cv::Point(strip.cols - kStripPad - w, y), kFont, kStripScale,
                cv::Scalar(120, 255, 120), 1, cv::LINE_AA);
}

void Mosaic::draw_status() {
    if (canvas_.empty()) return;
    cv::Mat bar = canvas_(layout_.status);
    bar.setTo(kMosaicStrip);
    // Smaller text when the line is wider than the bar (a mosaic of small tiles), down to a limit.
    double scale = kStripScale;
    const int w = text_width(status_, scale, 1), room = bar.cols - 2 * kStripPad;
    if (w > room && w > 0) scale = std::max(0.3, scale * room / w);
    cv::putText(bar, status_, cv::Point(kStripPad, bar.rows - 7), kFont, scale, cv::Scalar(255, 255, 255), 1,
                cv::LINE_AA);
}

}  // namespace app
