// Per-stream outputs: a path with "{stream}" (the stream index) or "{name}" (the stream's name) in it
// makes one file or folder per stream, created on the stream's first frame.
//
//   rtdet run --source a.mp4 --source b.mp4 --json 'out/{name}.jsonl' -o 'out/{stream}.mp4'
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/sinks.h"

namespace app {

bool has_stream_template(const std::string& path);
// "{stream}" -> index, "{name}" -> name (every occurrence).
std::string expand_stream_template(const std::string& path, int stream, const std::string& name);

// Routes each frame to its stream's sink, made by `make(path)` from the expanded template on the
// stream's first frame.
class PerStreamSink final : public Sink {
  public:
    using Factory = std::function<std::unique_ptr<Sink>(const std::string& path)>;
    PerStreamSink(std::string path_template, Factory make, bool wants_annotated);
    ~PerStreamSink() override;
    bool wants_annotated() const override { return annotated_; }
    SinkAction write(const Frame& frame) override;
    void finish() override;

  private:
    std::string template_;
    Factory make_;
    bool annotated_;
    std::vector<std::unique_ptr<Sink>> sinks_;  // by stream index
};

}  // namespace app
