// Reading still images for `rtdet detect` / `rtdet eval`, with a reason when a file is not usable.
// read_bgr_image decodes through the build's I/O seam (app/media.h: OpenCV's decoder, or libjpeg(-turbo)
// in the build without OpenCV: JPEG only); decode_jpeg is libjpeg's, in every build that found it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "app/frame.h"
#include "detector/preprocess.h"

namespace app {

// An 8-bit BGR image: 3 bytes per pixel, rows `stride` bytes apart, `data` pointing into the owner
// (`pixels` for decode_jpeg, `image` for read_bgr_image). Movable, not copyable (data points into the
// owner).
struct BgrImage {
    std::vector<uint8_t> pixels;
    FrameImage image;
    const uint8_t* data = nullptr;
    int width = 0, height = 0;
    int64_t stride = 0;

    BgrImage() = default;
    BgrImage(BgrImage&&) = default;
    BgrImage& operator=(BgrImage&&) = default;
    BgrImage(const BgrImage&) = delete;
    BgrImage& operator=(const BgrImage&) = delete;

    bool empty() const { return data == nullptr; }
    detector::ImageView view() const { return detector::ImageView{data, width, height, stride}; }
};

// Reads the whole file into `bytes`. Returns false and sets `why` ("no such file", "empty file",
// "truncated JPEG (no end-of-image marker)", ...) when it cannot be used. A JPEG without its
// end-of-image marker near the end counts as unusable: libjpeg would decode it partially (grey below
// the cut) and only print a warning. Never throws.
bool read_image_file(const std::string& path, std::vector<uint8_t>& bytes, std::string& why);

#if RTDET_HAS_LIBJPEG
// Decodes a JPEG held in memory to BGR with libjpeg(-turbo) (grayscale JPEGs are expanded to BGR).
// Returns an empty image and sets `why` (libjpeg's message) when it cannot. Never throws.
BgrImage decode_jpeg(const uint8_t* bytes, size_t size, std::string& why);
// The same into a frame's image, reusing its buffer when the size is unchanged (the JPEG source of
// `rtdet run`). False with `why` set, and `out` emptied, when it cannot decode. Never throws.
bool decode_jpeg_into(const uint8_t* bytes, size_t size, FrameImage& out, std::string& why);
#endif

// The eval path's reader: the I/O seam's decoder (media::decode_image: OpenCV's, or libjpeg's, JPEG files
// only, other formats reported unreadable). Returns an empty image and sets `why` on failure.
BgrImage read_bgr_image(const std::string& path, std::string& why);

}  // namespace app
