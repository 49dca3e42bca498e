// Locates the project's data folder (../shared beside the repository): models, images, videos.
// Order: $RTDET_DATA, the folder configured at build time (RTDET_DATA_DEFAULT), ../shared from the
// current directory. Nothing from it is ever committed to the repository.
#pragma once

#include <filesystem>
#include <string>

namespace engine {

// The data folder, or an empty path when none exists.
std::filesystem::path find_data_dir(const std::string& compiled_default = "");
// data folder / relative, throwing engine::Error that names $RTDET_DATA when the folder or file is
// missing.
std::filesystem::path data_file(const std::string& relative, const std::string& compiled_default = "");

}  // namespace engine
