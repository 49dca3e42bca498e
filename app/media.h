// The app's image and video I/O seam: decoding images into frames, video sources (files, streams,
// cameras), the annotated outputs (video, image files, the window), drawing, and plots. One interface,
// two implementations chosen at link time (app/CMakeLists.txt compiles exactly one):
//
//   media_opencv.cpp  OpenCV: images of any format it reads, video files, streams and cameras through
//                     FFmpeg and V4L2, cv::VideoWriter, JPEG files out, the highgui window, drawing
//   media_lean.cpp    libjpeg-turbo (the GPU machine's build, -DRTDET_WITH_OPENCV=OFF): JPEG images in,
//                     JSON lines out; what it cannot do is refused with the reason (features() says
//                     what it has, so configurations are refused before anything starts)
//
// Frames are app::FrameImage (app/frame.h, packed BGR) in both; OpenCV code wraps them in cv::Mat
// headers (app/media_opencv.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "app/frame.h"
#include "detector/types.h"

namespace app {

class Sink;
class Window;
class Source;
struct SourceSpec;
struct ReconnectPolicy;

// A precision-recall curve of `rtdet eval --plot`.
struct PrCurve {
    std::string name;               // legend text
    std::vector<double> recall;     // x, in [0, 1]
    std::vector<double> precision;  // y, in [0, 1], same length
    bool emphasised = false;        // drawn thicker (the mean curve)
};

namespace media {

// What this build's implementation can do.
struct Features {
    bool any_image_format = false;  // decode_image reads PNG, BMP, ... (else JPEG only)
    bool video = false;             // video files, streams, cameras, devices; the video writer
    bool drawing = false;           // annotated outputs: the video writer, image files, the window, plots
    bool window = false;            // the highgui window
    bool opencv_peer = false;       // `--peer opencv` (OpenCV DNN)
};
const Features& features();

// Decodes an image file's bytes into `img` as 8-bit BGR, reusing its buffer when large enough. False
// with `why` set ("not a decodable image ...", "not a JPEG ...") and `img` emptied when it cannot.
// Never throws.
bool decode_image(const std::vector<uint8_t>& bytes, FrameImage& img, std::string& why);

// A video file, stream, camera or device source (capture.h: open_source picks it for those kinds).
// Video files are opened here (throws engine::Error naming the file); live sources connect on the
// first read.
std::unique_ptr<Source> open_video_source(const SourceSpec& spec, const ReconnectPolicy& reconnect);

// The annotated video (`-o`): opened at the first frame (its size) at `fps()` frames a second (when
// null or 0: the frame's stream_fps, else 25); frames of another size are resized to the first one's.
// `codec`: "mp4v" or "MJPG".
std::unique_ptr<Sink> open_video_writer(const std::string& path, const std::string& codec,
                                        std::function<double()> fps);

// One annotated JPEG per frame into `dir` (`--images-dir`): image sources keep their file's stem,
// video frames are frame_000123.jpg; with `prefix_stream`, the stream's name and '_' come first.
std::unique_ptr<Sink> open_image_writer(const std::string& dir, bool prefix_stream);

// The window (app/sinks.h: Window); `snapshot_dir` is where `s` saves PNGs.
std::unique_ptr<Window> open_window(const std::string& title, const std::string& snapshot_dir);

// Draws the detections on `img` in place: boxes in their class colours, "name 93%" labels.
void draw_detections(FrameImage& img, std::span<const detector::Detection> dets,
                     const std::vector<std::string>& names);

// Writes a 900x700 precision-recall plot to `path` (PNG; app/draw.h: draw_pr_plot). Throws engine::Error when
// it cannot.
void write_pr_plot(const std::string& path, const std::vector<PrCurve>& curves, const std::string& title);

}  // namespace media
}  // namespace app
