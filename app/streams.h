// The stream list of `rtdet run`: what the sources are, their names and per-source options.
//
// Sources come from, in order of precedence: the command line (`--source`, repeatable), the config's
// `sources:` list (each entry a URI, or a mapping {uri, name, realtime, loop, fps}), or its single
// `source:` key. A `.streams` file given as a source stands for the sources listed in it, one per
// line:
//
//   # comment
//   ../videos/car-detection.mp4  name=cars fps=25
//   rtsp://10.0.0.7/stream1      name=gate
//
// (trailing `key=value` words set name, fps, realtime, loop; relative paths are relative to the
// file's folder). The stream index is the position in the expanded list; with `--shard I/N` a process
// keeps the streams whose index % N == I (indexes stay those of the whole list, so several processes
// sharing one list publish distinct stream numbers).
#pragma once

#include <string>
#include <vector>

#include "app/capture.h"

namespace app {

struct AppConfig;

// One entry of the sources list as configured.
struct StreamConfig {
    std::string uri;   // camera index, device, URL, file, folder, glob, list, image or .streams file
    std::string name;  // empty: a short form of the URI (default_stream_name)
    int realtime =
        -1;          // -1: pipeline.realtime; 1: a file is played at its own rate (or fps) as a live camera
    int loop = -1;   // -1: pipeline.loop; 1: a video file starts again at its end
    double fps = 0;  // > 0: a file is played at this rate as a live camera (implies realtime)
};

// One stream of a run, resolved.
struct StreamPlan {
    int index = 0;     // position in the whole list (before sharding)
    std::string name;  // unique within the run
    std::string uri;
    SourceSpec spec;     // valid when error is empty
    bool paced = false;  // a file played at a frame rate as a live camera
    double fps = 0;      // pacing rate (0: the file's own)
    std::string error;   // why the stream cannot run (bad URI, missing file, bad .streams line); the
                         // run goes on with the others and reports it
    // Live policy: newest frame wins, drops counted. Files and folders not paced: never drop.
    bool live() const { return spec.live() || paced; }
};

// "car-detection" for a file, "camera0", "10.0.0.7:8554-stream1" for a URL, the folder's name.
std::string default_stream_name(const std::string& uri);

// Parses a .streams file into entries; a line that cannot be parsed becomes an entry whose uri is the
// line and whose error is set (reported by the run, the other lines still run). Throws engine::Error
// when the file cannot be read.
std::vector<StreamConfig> read_streams_file(const std::string& path, std::vector<std::string>* line_errors);

// The run's streams: the configured list expanded (.streams files), named (unique), classified,
// sharded (shard_count 0: no sharding). Entries that cannot run carry an error; the list itself is an
// error (engine::Error) when empty (no source configured, or a shard with no stream).
std::vector<StreamPlan> plan_streams(const AppConfig& cfg);

// Parses "I/N" (0 <= I < N); throws engine::Error naming `key`.
void parse_shard(const std::string& text, const std::string& key, int& index, int& count);

}  // namespace app
