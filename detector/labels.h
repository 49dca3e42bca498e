// Class names: reading a names file (darknet's coco.names format) and the defaults a model gets.
#pragma once

#include <string>
#include <vector>

namespace detector {

// One name per line; surrounding whitespace is trimmed, blank lines at the end are ignored, a blank
// line in the middle is an error. Throws engine::Error naming the file (and line) when it cannot be
// read, is empty, or has a blank line.
std::vector<std::string> read_class_names(const std::string& path);

// The names for a model with `num_classes` classes when the user gave none: for 80 classes COCO's, from
// the project's data/coco.names (share/rtdet/data/ when installed; else the data folder's), otherwise
// "class0", "class1", ...
std::vector<std::string> default_class_names(int num_classes);

// `names` extended to `num_classes` entries with "class<N>" (a names file shorter than the model's
// class count still labels every detection). Extra names are kept.
std::vector<std::string> complete_class_names(std::vector<std::string> names, int num_classes);

// names[id], or "class<id>" when out of range.
std::string class_name(const std::vector<std::string>& names, int id);

}  // namespace detector
