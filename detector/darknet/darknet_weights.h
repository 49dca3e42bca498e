// Darknet .weights files: reading (checked against the cfg), deterministic random weights, writing.
//
// Layout (little-endian): int32 major, minor, revision; then `seen` as int64 when major*10+minor >= 2,
// else int32; then, for every [convolutional] layer in cfg order:
//   biases[filters]                (the BatchNorm beta when batch_normalize=1)
//   if batch_normalize: scales[filters] (gamma), rolling_mean[filters], rolling_variance[filters]
//   weights[filters * (in_channels/groups) * size * size]   (OIHW)
// Nothing else: the file size must equal header + 4 * darknet_param_count(cfg) exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "detector/darknet/cfg_parser.h"

namespace detector {

struct DarknetConvWeights {
    std::vector<float> biases;                                  // [filters]
    std::vector<float> scales, rolling_mean, rolling_variance;  // [filters] when batch_normalize, else empty
    std::vector<float> weights;                                 // [filters, in_c / groups, size, size]
};

struct DarknetWeights {
    int32_t major = 0, minor = 2, revision = 5;
    uint64_t seen = 0;
    std::vector<DarknetConvWeights> layers;  // one per cfg layer; empty for layers without weights
};

// Throws engine::Error naming the weights file (and the cfg) when the file is missing, its header is
// truncated, or its size differs from what the cfg needs ("expected N bytes ..., found M bytes").
DarknetWeights read_darknet_weights(const std::string& path, const DarknetModel& model);

// Deterministic weights from `seed` (std::mt19937, our own uniform mapping, so the numbers are the
// same on every platform). He-style scaling keeps activations O(1) through deep nets:
//   conv weights ~ U(-a, a), a = kGain * sqrt(6 / fan_in)  (std kGain * sqrt(2 / fan_in))
//   BN: gamma ~ U(0.5, 1.5) (times 0.3 on the last conv of a residual branch, the one a [shortcut]
//       adds), beta ~ U(-0.1, 0.1), mean ~ U(-0.1, 0.1), variance ~ U(0.5, 1.5)
//   bias (conv without BN) ~ U(-0.1, 0.1)
// Header 0.2.5, seen 0.
DarknetWeights random_darknet_weights(const DarknetModel& model, uint32_t seed);

// Writes `weights` in the layout above (header as stored in `weights`; seen as int64 when
// major*10+minor >= 2). Throws engine::Error when the file cannot be written or the weights do not
// match the cfg.
void write_darknet_weights(const std::string& path, const DarknetModel& model, const DarknetWeights& weights);

}  // namespace detector
