// The window's mosaic of many streams: one canvas, a grid of tiles, each tile a label strip (the
// stream's name and FPS) above the stream's latest frame, scaled down to fit and letterboxed on a dark
// background; a status bar along the bottom. Streams without a frame yet show "waiting"; a stream
// marked ended / reconnecting / failed shows that over its last frame. OpenCV build only (the window
// of app/media_opencv.h).
//
// The canvas is allocated when the streams are set and once more at the first frame (its aspect and
// width decide the tiles'); after that, update() draws in place (no allocation per frame).
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace app {

// Where everything lies on the canvas for a number of streams. Tile i is in row i / cols, column
// i % cols; a gap of kMosaicGap pixels separates the tiles and the canvas edges.
struct MosaicLayout {
    int cols = 0, rows = 0;
    cv::Size canvas;               // the whole canvas
    cv::Size image;                // a tile's image area (every tile's the same)
    std::vector<cv::Rect> cells;   // per stream: label strip + image area
    std::vector<cv::Rect> strips;  // per stream: the label strip (top of the cell)
    std::vector<cv::Rect> images;  // per stream: the image area (the frame letterboxed inside)
    cv::Rect status;               // the status bar along the bottom (the run's totals)
};

inline constexpr int kMosaicGap = 2;
inline constexpr int kMosaicStripHeight = 22;           // label strip and status bar
inline constexpr int kMosaicMinTileWidth = 32;          // below this the canvas grows past the maximum
inline const cv::Scalar kMosaicBackground{20, 20, 20};  // a tile's image area: letterbox bars (BGR)
inline const cv::Scalar kMosaicGapColor{72, 72, 72};    // between and around the tiles
inline const cv::Scalar kMosaicStrip{64, 64, 64};       // label strips and the status bar

// The grid for `streams` tiles: cols = ceil(sqrt(n)), rows = ceil(n / cols); image areas of the given
// aspect (width / height), as large as fits within `max_canvas` but no wider than `max_tile_width`
// (0: no limit).
MosaicLayout mosaic_layout(int streams, double aspect, cv::Size max_canvas, int max_tile_width = 0);

class Mosaic {
  public:
    explicit Mosaic(cv::Size max_canvas = {1920, 1080});

    // Lays out one tile per name (all "waiting"); the tile aspect is 16:9 until the first frame.
    void set_streams(std::vector<std::string> names);
    int streams() const { return static_cast<int>(tiles_.size()); }

    // Draws `frame` (8-bit BGR, or gray) into the stream's tile with the label "name  fps FPS". An empty
    // `name` keeps the one the tile has. The first frame of all fixes the tiles' aspect and their
    // largest width (its own: tiles are not enlarged past it). `stream` must be < streams().
    void update(int stream, const cv::Mat& frame, std::string_view name, double fps);

    // Marks the tile ("ended", "reconnecting", "failed", ...): the state's word over its last frame
    // (dimmed) or over "waiting". "" clears it. Stays until changed: frames keep updating under it.
    void set_state(int stream, std::string_view state);
    const std::string& state(int stream) const { return tiles_.at(static_cast<size_t>(stream)).state; }
    const std::string& name(int stream) const { return tiles_.at(static_cast<size_t>(stream)).name; }
    bool has_frame(int stream) const { return tiles_.at(static_cast<size_t>(stream)).has_frame; }

    // The status bar's text (left-aligned).
    void set_status(std::string_view text);

    const cv::Mat& canvas() const { return canvas_; }
    const MosaicLayout& layout() const { return layout_; }

  private:
    struct Tile {
        std::string name, shown_name, state;  // shown_name: cut to fit the strip
        double fps = 0;
        bool has_frame = false;
        cv::Rect content;  // where the scaled frame lies (canvas coordinates), inside the image area
    };

    void relayout(double aspect, int max_tile_width);
    void fit_name(Tile& t, int width);
    void draw_strip(int stream);
    void draw_image(int stream);  // from frames_, plus "waiting" or the state
    void draw_status();

    cv::Size max_canvas_;
    MosaicLayout layout_;
    std::vector<Tile> tiles_;
    cv::Mat canvas_;  // what is shown
    cv::Mat frames_;  // the scaled frames alone (same layout): redraws a tile when its state changes
    cv::Mat gray_;    // gray input converted to BGR (rare)
    std::string status_;
    bool aspect_fixed_ = false;
};

}  // namespace app
