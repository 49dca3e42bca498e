#include "app/sinks.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>

#include "detector/labels.h"
#include "engine/core/error.h"

namespace app {
namespace fs = std::filesystem;

void make_parent_dirs(const std::string& file, const char* key) {
    const fs::path parent = fs::path(file).parent_path();
    if (parent.empty()) return;
    std::error_code ec;
    fs::create_directories(parent, ec);
    ENGINE_CHECK(!ec, key, ": cannot create folder ", parent.string(), " for ", file, ": ", ec.message());
}

namespace {

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
                else
                    out += c;
        }
    }
    out += '"';
}

}  // namespace

// ---- JSON lines ----

JsonLinesSink::JsonLinesSink(const std::string& path, const std::vector<std::string>& class_names)
    : path_(path), names_(class_names) {
    make_parent_dirs(path_, "outputs.json");
    file_ = std::fopen(path_.c_str(), "w");
    ENGINE_CHECK(file_ != nullptr, "outputs.json: cannot open ", path_,
                 " for writing: ", std::strerror(errno));
    // Unbuffered (each line is one fwrite, flushed anyway): a failed write leaves nothing behind in a
    // buffer that fclose() would write after the cut below.
    std::setvbuf(file_, nullptr, _IONBF, 0);
    line_.reserve(1 << 14);
}

JsonLinesSink::~JsonLinesSink() { finish(); }

SinkAction JsonLinesSink::write(const Frame& frame) {
    line_.clear();
    auto out = std::back_inserter(line_);
    fmt::format_to(out, "{{\"stream\":{},\"name\":", frame.stream);
    append_json_string(line_, frame.stream_label());
    fmt::format_to(out, ",\"frame\":{},\"timestamp_ms\":{:.3f}", frame.index, frame.timestamp_ms);
    if (!frame.name.empty()) {
        line_ += ",\"source\":";
        append_json_string(line_, frame.name);
    }
    fmt::format_to(out, ",\"width\":{},\"height\":{},\"detections\":[", frame.image.cols, frame.image.rows);
    for (size_t i = 0; i < frame.detections.size(); ++i) {
        const detector::Detection& d = frame.detections[i];
        fmt::format_to(out, "{}{{\"class_id\":{},\"class\":", i ? "," : "", d.class_id);
        if (d.class_id >= 0 && static_cast<size_t>(d.class_id) < names_.size())
            append_json_string(line_, names_[static_cast<size_t>(d.class_id)]);
        else
            fmt::format_to(out, "\"class{}\"", d.class_id);
        fmt::format_to(out, ",\"score\":{:.5f},\"box\":[{:.2f},{:.2f},{:.2f},{:.2f}]}}", d.score, d.box.x1,
                       d.box.y1, d.box.x2, d.box.y2);
    }
    line_ += "]}\n";
    if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size() || std::fflush(file_) != 0) {
        const int err = errno;
        // Disk full: cut the partly written line, so the file holds whole lines only.
        if (::ftruncate(::fileno(file_), static_cast<off_t>(bytes_ok_)) != 0) {
            // Not a regular file (/dev/full): nothing to cut.
        }
        ENGINE_THROW("outputs.json: cannot write frame ", frame.index, " to ", path_, ": ",
                     std::strerror(err), " (disk full?)");
    }
    bytes_ok_ += line_.size();
    return SinkAction::Continue;
}

void JsonLinesSink::finish() {
    if (file_ != nullptr) {
        std::fclose(file_);
        file_ = nullptr;
    }
}

}  // namespace app
