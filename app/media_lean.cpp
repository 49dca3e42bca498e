// The I/O seam without OpenCV (app/media.h; the GPU machine's build, -DRTDET_WITH_OPENCV=OFF): JPEG
// images decoded with libjpeg-turbo (app/image_jpeg.cpp), JSON lines out. Video sources, the video and
// image writers, the window, drawing and plots are refused with the reason; validate_config and the
// commands refuse them earlier, naming the key or flag, from features().
#include <utility>

#include "app/capture.h"
#include "app/image_io.h"
#include "app/media.h"
#include "app/opencv_peer.h"
#include "app/sinks.h"
#include "engine/core/error.h"

namespace app {
namespace media {

namespace {
// What validate_config and the commands refuse first, naming the key or flag (not reached through them).
[[noreturn]] void refuse(const char* what) {
    ENGINE_THROW(what, ": not in this build (without OpenCV: JPEG images in, JSON lines out)");
}
}  // namespace

const Features& features() {
    static const Features f{};  // JPEG images in, JSON lines out
    return f;
}

bool decode_image(const std::vector<uint8_t>& bytes, FrameImage& img, std::string& why) {
    if (!(bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)) {
        img.release();
        why = "not a JPEG (this rtdet was built without OpenCV: it reads JPEG files only)";
        return false;
    }
#if RTDET_HAS_LIBJPEG
    return decode_jpeg_into(bytes.data(), bytes.size(), img, why);
#else
    img.release();
    why = "this rtdet was built without OpenCV and without libjpeg: it cannot read images";
    return false;
#endif
}

std::unique_ptr<Source> open_video_source(const SourceSpec&, const ReconnectPolicy&) {
    refuse("video sources (files, streams, cameras)");
}

std::unique_ptr<Sink> open_video_writer(const std::string&, const std::string&, std::function<double()>) {
    refuse("the video writer (outputs.video)");
}

std::unique_ptr<Sink> open_image_writer(const std::string&, bool) {
    refuse("annotated images (outputs.images_dir)");
}

std::unique_ptr<Window> open_window(const std::string&, const std::string&) { refuse("the window"); }

void draw_detections(FrameImage&, std::span<const detector::Detection>, const std::vector<std::string>&) {
    refuse("drawing detections");
}

void write_pr_plot(const std::string&, const std::vector<PrCurve>&, const std::string&) {
    refuse("the precision-recall plot (--plot)");
}

}  // namespace media

// The OpenCV DNN peer (app/opencv_peer.cpp) is in the OpenCV build only.
std::unique_ptr<FrameDetector> make_opencv_peer(const PeerOptions&) {
    media::refuse("the OpenCV DNN peer (engine.peer)");
}

}  // namespace app
