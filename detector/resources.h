// Where rtdet finds files that are not the user's: its own (configs, class-name lists: the project's
// configs/ and data/, installed as share/rtdet/) and the data folder (models, images, videos: ../shared
// beside a checkout, or $RTDET_DATA). Nothing from the data folder is ever committed or installed.
//
// An installed rtdet (`cmake --install`, the .deb) finds share/rtdet from where its own library (or the
// executable it is linked into) lies, so it works from any prefix and any directory, and looks nowhere
// into the source or build tree. A build-tree rtdet uses the source tree and the data folder configured
// at build time.
#pragma once

#include <filesystem>

namespace detector {

// The folder holding configs/ and data/ (class names): <prefix>/share/rtdet when this library is
// installed, else the source tree of a build-tree binary; empty when neither is there.
std::filesystem::path project_dir();
// Whether this library runs from an installation (project_dir() is <prefix>/share/rtdet).
bool is_installed();
// The data folder, or an empty path when none exists. Order: $RTDET_DATA (an explicit setting that
// points nowhere gives empty, never a silent replacement); then, for a build-tree binary only, the folder
// configured at build time (RTDET_DATA_DEFAULT) and ../shared from the current directory.
std::filesystem::path data_dir();
// project_dir() / relative when that file exists, else empty.
std::filesystem::path project_file(const std::filesystem::path& relative);

}  // namespace detector
