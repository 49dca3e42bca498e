#include "app/stream_sinks.h"

#include <spdlog/spdlog.h>

#include "engine/core/error.h"

namespace app {

bool has_stream_template(const std::string& path) {
    return path.find("{stream}") != std::string::npos || path.find("{name}") != std::string::npos;
}

std::string expand_stream_template(const std::string& path, int stream, const std::string& name) {
    std::string out;
    out.reserve(path.size() + name.size());
    for (size_t i = 0; i < path.size();) {
        if (path.compare(i, 8, "{stream}") == 0) {
            out += std::to_string(stream);
            i += 8;
        } else if (path.compare(i, 6, "{name}") == 0) {
            out += name;
            i += 6;
        } else {
            out += path[i++];
        }
    }
    return out;
}

PerStreamSink::PerStreamSink(std::string path_template, Factory make, bool wants_annotated)
    : template_(std::move(path_template)), make_(std::move(make)), annotated_(wants_annotated) {}

PerStreamSink::~PerStreamSink() {
    try {
        finish();
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
    }
}

SinkAction PerStreamSink::write(const Frame& frame) {
    const auto i = static_cast<size_t>(frame.stream);
    if (i >= sinks_.size()) sinks_.resize(i + 1);
    if (!sinks_[i]) sinks_[i] = make_(expand_stream_template(template_, frame.stream, frame.stream_label()));
    return sinks_[i]->write(frame);
}

void PerStreamSink::finish() {
    std::exception_ptr first;
    for (auto& s : sinks_) {
        if (!s) continue;
        try {
            s->finish();
        } catch (...) {
            if (!first) first = std::current_exception();
        }
    }
    if (first) std::rethrow_exception(first);
}

}  // namespace app
