// Helpers shared by the fuzz targets (tests/fuzz/fuzz_<parser>.cpp) and the seed generator.
//
// Every target defines LLVMFuzzerTestOneInput. Expected user errors (engine::Error, the one documented
// exception type of every parser here) are caught and ignored; anything else (a crash, another
// exception, a sanitizer report) is a finding.
#pragma once

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "engine/core/error.h"

namespace fuzz_util {

// An expected user error: ignored, or printed when $RTDET_FUZZ_VERBOSE is set (to see how far a seed
// gets: `RTDET_FUZZ_VERBOSE=1 fuzz_plan corpus/fuzz_plan/*`).
inline void expected_error(const engine::Error& e) {
    static const bool verbose = std::getenv("RTDET_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "expected error: %s\n", e.what());
}

// Silences engine logging once (warnings for every odd input would drown libFuzzer's output).
inline void init_once() {
    static const bool done = [] {
        spdlog::set_level(spdlog::level::off);
        return true;
    }();
    (void)done;
}

// A per-process scratch file for parsers that only read paths: /dev/shm when it exists (no disk
// I/O per execution), else $TMPDIR or /tmp.
inline std::string temp_path(const std::string& name) {
    std::string dir = "/tmp";
    if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') dir = t;
    if (access("/dev/shm", W_OK) == 0) dir = "/dev/shm";
    return dir + "/rtdet_fuzz_" + std::to_string(getpid()) + "_" + name;
}

inline void write_file(const std::string& path, const void* data, size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out.good()) {
        std::fprintf(stderr, "fuzz: cannot write scratch file %s\n", path.c_str());
        std::abort();
    }
}

// The fixed cfg of fuzz_darknet_weights (only the weights bytes are fuzzed): the layer kinds of
// Yolo-Fastest at a tiny size. 418 parameters: a weights file is 20 + 4 * 418 = 1692 bytes.
//   0 conv 3x3/2 bn leaky 4        1 conv 3x3 depthwise bn relu 4   2 conv 1x1 bn linear 4
//   3 shortcut 0                   4 dropout                        5 maxpool 2/2
//   6 conv 1x1 21 (bias)           7 yolo mask 3,4,5                8 route 5
//   9 upsample 2                   10 route 9,4                     11 route 10 groups 2 id 1
//   12 conv 1x1 21 (bias)          13 yolo mask 0,1,2
inline constexpr const char* kWeightsCfg = R"([net]
width=32
height=32
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
stride=2
pad=1
activation=leaky

[convolutional]
batch_normalize=1
filters=4
size=3
groups=4
stride=1
pad=1
activation=relu

[convolutional]
batch_normalize=1
filters=4
size=1
activation=linear

[shortcut]
from=-3
activation=linear

[dropout]
probability=.15

[maxpool]
size=2
stride=2

[convolutional]
filters=21
size=1
activation=linear

[yolo]
mask=3,4,5
anchors=2,3, 4,5, 6,7, 8,9, 10,11, 12,13
classes=2
num=6

[route]
layers=-3

[upsample]
stride=2

[route]
layers=-1,4

[route]
layers=-1
groups=2
group_id=1

[convolutional]
filters=21
size=1
activation=linear

[yolo]
mask=0,1,2
anchors=2,3, 4,5, 6,7, 8,9, 10,11, 12,13
classes=2
num=6
)";

}  // namespace fuzz_util
