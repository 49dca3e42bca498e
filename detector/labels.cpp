#include "detector/labels.h"

#include <filesystem>
#include <fstream>

#include "detector/resources.h"
#include "engine/core/error.h"

namespace detector {
namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

}  // namespace

std::vector<std::string> read_class_names(const std::string& path) {
    std::ifstream f(path);
    ENGINE_CHECK(f.good(), "cannot read class names file ", path);
    std::vector<std::string> names;
    int blank_line = 0;  // first blank line seen, 0: none yet
    std::string line;
    for (int n = 1; std::getline(f, line); ++n) {
        const std::string name = trim(line);
        if (name.empty()) {
            if (blank_line == 0) blank_line = n;
            continue;
        }
        ENGINE_CHECK(blank_line == 0, path, ":", blank_line,
                     ": blank line in a class names file (one name per line)");
        names.push_back(name);
    }
    ENGINE_CHECK(!names.empty(), "class names file ", path, " is empty (expected one name per line)");
    return names;
}

std::vector<std::string> default_class_names(int num_classes) {
    if (num_classes == 80) {
        // The project's own list (data/coco.names, installed as share/rtdet/data/coco.names), else the
        // data folder's copy.
        std::filesystem::path file = project_file("data/coco.names");
        std::error_code ec;
        if (file.empty()) {
            const auto dir = data_dir();
            if (!dir.empty() && std::filesystem::is_regular_file(dir / "data" / "coco.names", ec))
                file = dir / "data" / "coco.names";
        }
        if (!file.empty()) {
            auto names = read_class_names(file.string());
            if (names.size() == 80) return names;
        }
    }
    return complete_class_names({}, num_classes);
}

std::vector<std::string> complete_class_names(std::vector<std::string> names, int num_classes) {
    for (int i = static_cast<int>(names.size()); i < num_classes; ++i)
        names.push_back("class" + std::to_string(i));
    return names;
}

std::string class_name(const std::vector<std::string>& names, int id) {
    if (id >= 0 && static_cast<size_t>(id) < names.size()) return names[static_cast<size_t>(id)];
    return "class" + std::to_string(id);
}

}  // namespace detector
