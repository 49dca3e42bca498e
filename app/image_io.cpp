#include "app/image_io.h"

#include <filesystem>
#include <fstream>
#include <vector>

#if RTDET_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

namespace app {

bool read_image_file(const std::string& path, std::vector<uint8_t>& bytes, std::string& why) {
    namespace fs = std::filesystem;
    bytes.clear();
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        why = "no such file";
        return false;
    }
    if (!fs::is_regular_file(path, ec)) {
        why = "not a regular file";
        return false;
    }
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f.good()) {
        why = "cannot open";
        return false;
    }
    const auto size = static_cast<size_t>(f.tellg());
    if (size == 0) {
        why = "empty file";
        return false;
    }
    bytes.resize(size);
    f.seekg(0);
    f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    if (!f.good()) {
        bytes.clear();
        why = "read error";
        return false;
    }
    // JPEG: SOI FF D8 FF at the start; the EOI marker FF D9 must be within the last 4 KB (some writers
    // append a little data after it).
    if (size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
        const size_t from = size > 4096 ? size - 4096 : 0;
        bool eoi = false;
        for (size_t i = size - 1; i > from && !eoi; --i) eoi = bytes[i - 1] == 0xFF && bytes[i] == 0xD9;
        if (!eoi) {
            bytes.clear();
            why = "truncated JPEG (no end-of-image marker)";
            return false;
        }
    }
    return true;
}

#if RTDET_WITH_OPENCV
cv::Mat read_image(const std::string& path, std::string& why) {
    std::vector<uint8_t> bytes;
    if (!read_image_file(path, bytes, why)) return {};
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
#endif

BgrImage read_bgr_image(const std::string& path, std::string& why) {
#if RTDET_WITH_OPENCV
    BgrImage out;
    out.mat = read_image(path, why);
    if (out.mat.empty()) return out;
    out.data = out.mat.data;
    out.width = out.mat.cols;
    out.height = out.mat.rows;
    out.stride = static_cast<int64_t>(out.mat.step);
    return out;
#elif RTDET_HAS_LIBJPEG
    std::vector<uint8_t> bytes;
    if (!read_image_file(path, bytes, why)) return {};
    if (!(bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)) {
        why = "not a JPEG (this rtdet was built without OpenCV: it reads JPEG files only)";
        return {};
    }
    return decode_jpeg(bytes.data(), bytes.size(), why);
#else
    why = "this rtdet was built without OpenCV and without libjpeg: it cannot read images";
    return {};
#endif
}

}  // namespace app
