#include "detector/eval/yolo_labels.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/core/error.h"

namespace detector {
namespace fs = std::filesystem;
namespace {

constexpr float kCoordTolerance = 1e-3f;

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Strict float parse of a whole token.
bool parse_float(const std::string& tok, float& out) {
    try {
        size_t used = 0;
        out = std::stof(tok, &used);
        return used == tok.size() && std::isfinite(out);
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

Box YoloLabel::to_pixels(int width, int height) const {
    const float W = static_cast<float>(width), H = static_cast<float>(height);
    return {(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H};
}

std::vector<YoloLabel> read_yolo_labels(const std::string& path) {
    std::ifstream f(path);
    ENGINE_CHECK(f.good(), "cannot read label file ", path);
    std::vector<YoloLabel> labels;
    std::string line;
    for (int n = 1; std::getline(f, line); ++n) {
        std::istringstream is(line);
        std::vector<std::string> tok;
        for (std::string t; is >> t;) tok.push_back(t);
        if (tok.empty()) continue;
        ENGINE_CHECK(tok.size() == 5, path, ":", n, ": expected 5 fields `class cx cy w h`, found ",
                     tok.size());
        float v[5];
        for (int i = 0; i < 5; ++i)
            ENGINE_CHECK(parse_float(tok[static_cast<size_t>(i)], v[i]), path, ":", n, ": field ", i + 1,
                         " '", tok[static_cast<size_t>(i)], "' is not a number");
        ENGINE_CHECK(v[0] >= 0 && v[0] == std::floor(v[0]) && v[0] < 1e6f, path, ":", n, ": class '", tok[0],
                     "' is not a non-negative integer");
        for (int i = 1; i < 5; ++i)
            ENGINE_CHECK(v[i] >= -kCoordTolerance && v[i] <= 1 + kCoordTolerance, path, ":", n, ": ",
                         (i == 1   ? "cx"
                          : i == 2 ? "cy"
                          : i == 3 ? "w"
                                   : "h"),
                         " = ", tok[static_cast<size_t>(i)],
                         " is outside [0, 1] (coordinates are normalised by the image size)");
        labels.push_back({static_cast<int>(v[0]), v[1], v[2], std::max(v[3], 0.f), std::max(v[4], 0.f), n});
    }
    return labels;
}

bool has_image_extension(const std::string& path) {
    static const char* const kExts[] = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"};
    const std::string ext = lower(fs::path(path).extension().string());
    return std::any_of(std::begin(kExts), std::end(kExts), [&](const char* e) { return ext == e; });
}

YoloDataset scan_yolo_dataset(const std::string& images_dir, const std::string& labels_dir) {
    std::error_code ec;
    ENGINE_CHECK(fs::is_directory(images_dir, ec), "images folder not found: ", images_dir);
    ENGINE_CHECK(fs::is_directory(labels_dir, ec), "labels folder not found: ", labels_dir);
    std::map<std::string, fs::path> label_files;  // stem -> path
    for (const auto& e : fs::directory_iterator(labels_dir))
        if (e.is_regular_file() && e.path().extension() == ".txt")
            label_files[e.path().stem().string()] = e.path();
    std::vector<fs::path> image_files;
    for (const auto& e : fs::directory_iterator(images_dir))
        if (e.is_regular_file() && has_image_extension(e.path().string())) image_files.push_back(e.path());
    ENGINE_CHECK(!image_files.empty(), "no images (jpg, jpeg, png, bmp, tif, tiff, webp) in ", images_dir);
    std::sort(image_files.begin(), image_files.end());

    YoloDataset ds;
    for (const fs::path& img : image_files) {
        LabelledImage li;
        li.image = img.string();
        const auto it = label_files.find(img.stem().string());
        if (it == label_files.end()) {
            ++ds.num_background;
        } else {
            li.label_file = it->second.string();
            li.labels = read_yolo_labels(li.label_file);
            if (li.labels.empty()) ++ds.num_empty_labels;
            ds.num_boxes += static_cast<int>(li.labels.size());
            label_files.erase(it);
        }
        ds.images.push_back(std::move(li));
    }
    for (const auto& [stem, path] : label_files) ds.orphan_labels.push_back(path.string());
    return ds;
}

}  // namespace detector
