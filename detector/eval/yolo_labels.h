// YOLO-format datasets: an images folder and a labels folder with one `<image stem>.txt` per image,
// one line per box: `class cx cy w h`, all but the class normalised to [0, 1] by the image size.
#pragma once

#include <string>
#include <vector>

#include "detector/types.h"

namespace detector {

struct YoloLabel {
    int class_id = 0;
    float cx = 0, cy = 0, w = 0, h = 0;  // normalised
    int line = 0;                        // line in the label file (for messages)
    // Corner box in pixels of a width x height image.
    Box to_pixels(int width, int height) const;
};

// Reads one label file. Blank lines are skipped. Throws engine::Error "<file>:<line>: ..." for a line
// that is not 5 numbers, a class that is not a non-negative integer, a coordinate outside [0, 1]
// (a tolerance of 1e-3 is allowed for rounding) or a negative size.
std::vector<YoloLabel> read_yolo_labels(const std::string& path);

struct LabelledImage {
    std::string image;              // image file path
    std::string label_file;         // empty: no label file (a background image)
    std::vector<YoloLabel> labels;  // empty for background images (and empty label files)
};

struct YoloDataset {
    std::vector<LabelledImage> images;       // sorted by file name
    std::vector<std::string> orphan_labels;  // label files without an image (ignored)
    int num_background = 0;                  // images without a label file
    int num_empty_labels = 0;                // images whose label file has no boxes
    int num_boxes = 0;                       // boxes of the images (orphans not counted)
};

// Image files (jpg, jpeg, png, bmp, tif, tiff, webp; any case) of `images_dir`, matched by stem with the
// .txt files of `labels_dir`, labels read. Throws engine::Error when a folder is missing or has no
// images, or a label file is malformed (file:line).
YoloDataset scan_yolo_dataset(const std::string& images_dir, const std::string& labels_dir);

// Whether `path` has one of the image extensions above.
bool has_image_extension(const std::string& path);

}  // namespace detector
