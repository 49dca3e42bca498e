#include "app/image_io.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <vector>

namespace app {

cv::Mat read_image(const std::string& path, std::string& why) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        why = "no such file";
        return {};
    }
    if (!fs::is_regular_file(path, ec)) {
        why = "not a regular file";
        return {};
    }
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f.good()) {
        why = "cannot open";
        return {};
    }
    const auto size = static_cast<size_t>(f.tellg());
    if (size == 0) {
        why = "empty file";
        return {};
    }
    std::vector<uchar> bytes(size);
    f.seekg(0);
    f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    if (!f.good()) {
        why = "read error";
        return {};
    }
    // JPEG: SOI FF D8 FF at the start; the EOI marker FF D9 must be within the last 4 KB (some writers
    // append a little data after it).
    if (size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
        const size_t from = size > 4096 ? size - 4096 : 0;
        bool eoi = false;
        for (size_t i = size - 1; i > from && !eoi; --i) eoi = bytes[i - 1] == 0xFF && bytes[i] == 0xD9;
        if (!eoi) {
            why = "truncated JPEG (no end-of-image marker)";
            return {};
        }
    }
    cv::Mat img;
    try {
        img = cv::imdecode(bytes, cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
        why = std::string("cannot decode: ") + e.what();
        return {};
    }
    if (img.empty()) why = "not a readable image";
    return img;
}

}  // namespace app
