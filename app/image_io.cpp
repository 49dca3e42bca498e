#include "app/image_io.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include "app/media.h"

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

BgrImage read_bgr_image(const std::string& path, std::string& why) {
    std::vector<uint8_t> bytes;
    if (!read_image_file(path, bytes, why)) return {};
    BgrImage out;
    if (!media::decode_image(bytes, out.image, why)) return {};
    out.data = out.image.data;
    out.width = out.image.cols;
    out.height = out.image.rows;
    out.stride = image_stride(out.image);
    return out;
}

}  // namespace app
