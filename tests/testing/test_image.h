// Synthetic 8-bit BGR test images for the detector's preprocessing tests (CPU and GPU).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "detector/preprocess.h"

namespace testing_util {

// A BGR image with rows `stride` bytes apart (3 * w + row padding), owning its bytes.
struct BgrTestImage {
    int w = 0, h = 0;
    int64_t stride = 0;
    std::vector<uint8_t> bytes;
    detector::ImageView view() const { return {bytes.data(), w, h, stride}; }
};

// w x h of uniform random bytes (padding bytes included), reproducible from `seed`.
inline BgrTestImage random_image(int w, int h, int row_pad, uint32_t seed) {
    BgrTestImage img;
    img.w = w;
    img.h = h;
    img.stride = 3 * static_cast<int64_t>(w) + row_pad;
    img.bytes.resize(static_cast<size_t>(img.stride) * static_cast<size_t>(h));
    std::mt19937 rng(seed);
    for (uint8_t& b : img.bytes) b = static_cast<uint8_t>(rng() & 0xFF);
    return img;
}

}  // namespace testing_util
