// Whole-file reads and writes with one-line errors naming the file. A write goes to PATH.tmp<pid>
// first and is renamed over PATH, so a crash or a full disk never leaves a half-written file behind,
// and processes writing the same file at once never share a temp file.
#pragma once

#include <string>
#include <string_view>

namespace engine {

// `what` names the kind of file in errors: "cannot write plan 'x.plan': ...".
void write_file_whole(const std::string& path, std::string_view bytes, std::string_view what);
std::string read_file_whole(const std::string& path, std::string_view what);

}  // namespace engine
