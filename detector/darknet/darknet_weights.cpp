#include "detector/darknet/darknet_weights.h"

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/core/checked.h"
#include "engine/core/error.h"

namespace detector {
namespace {

constexpr float kWeightGain = 0.9f;     // per-layer variance gain ~1 with the BN scale spread below
constexpr float kResidualGamma = 0.3f;  // damps residual branches so [shortcut] chains do not blow up

// In 64 bits: a corrupt header's major*10 must not overflow.
bool seen_is_64bit(int32_t major, int32_t minor) { return int64_t{major} * 10 + minor >= 2; }
size_t header_bytes(int32_t major, int32_t minor) { return 12 + (seen_is_64bit(major, minor) ? 8 : 4); }

// Uniform [0, 1) from 24 random bits: the same numbers on every standard library.
class Uniform {
  public:
    explicit Uniform(uint32_t seed) : rng_(seed) {}
    float operator()(float lo, float hi) {
        const float u = static_cast<float>(rng_() >> 8) * (1.f / 16777216.f);
        return lo + (hi - lo) * u;
    }

  private:
    std::mt19937 rng_;
};

// The layer whose output a [shortcut] adds to its `from` input: the previous layer, looking through
// dropouts (Yolo-Fastest puts a [dropout] between the branch's last conv and the shortcut).
std::vector<bool> residual_branch_ends(const DarknetModel& model) {
    std::vector<bool> ends(model.layers.size(), false);
    for (size_t i = 1; i < model.layers.size(); ++i) {
        if (model.layers[i].type != DarknetLayerType::Shortcut) continue;
        size_t j = i - 1;
        while (j > 0 && model.layers[j].type == DarknetLayerType::Dropout) --j;
        ends[j] = true;
    }
    return ends;
}

void read_exact(std::ifstream& f, void* dst, size_t bytes) {
    f.read(static_cast<char*>(dst), static_cast<std::streamsize>(bytes));
}

}  // namespace

DarknetWeights read_darknet_weights(const std::string& path, const DarknetModel& model) {
    std::error_code ec;
    const auto file_size = std::filesystem::file_size(path, ec);
    std::ifstream f(path, std::ios::binary);
    if (ec || !f) ENGINE_THROW(path, ": cannot open darknet weights file");
    DarknetWeights w;
    if (file_size < 12)
        ENGINE_THROW(path, ": truncated header: ", file_size,
                     " bytes, a darknet weights file starts with at least 16");
    read_exact(f, &w.major, 4);
    read_exact(f, &w.minor, 4);
    read_exact(f, &w.revision, 4);
    if (w.major > 1000 || w.minor > 1000)
        ENGINE_THROW(path, ": transposed weights (major ", w.major, ", minor ", w.minor,
                     ") are not supported");
    const size_t header = header_bytes(w.major, w.minor);
    const int64_t params = darknet_param_count(model);
    const uint64_t expected = header + engine::checked_bytes(params, sizeof(float), "weights file size");
    if (file_size != expected) {
        ENGINE_THROW(path, ": size does not match ", model.cfg_path, ": expected ", expected, " bytes (",
                     header, "-byte header v", w.major, ".", w.minor, ".", w.revision, " + 4 x ", params,
                     " parameters), found ", file_size, " bytes",
                     file_size < expected ? " (file is truncated or belongs to another cfg)"
                                          : " (file has extra data or belongs to another cfg)");
    }
    if (seen_is_64bit(w.major, w.minor)) {
        read_exact(f, &w.seen, 8);
    } else {
        int32_t seen32 = 0;
        read_exact(f, &seen32, 4);
        w.seen = static_cast<uint32_t>(seen32);
    }
    w.layers.resize(model.layers.size());
    for (size_t i = 0; i < model.layers.size(); ++i) {
        const DarknetLayer& l = model.layers[i];
        if (l.type != DarknetLayerType::Convolutional) continue;
        DarknetConvWeights& cw = w.layers[i];
        const size_t n = static_cast<size_t>(l.filters);
        auto read_vec = [&](std::vector<float>& v, size_t count) {
            v.resize(count);
            read_exact(f, v.data(),
                       engine::checked_bytes(static_cast<int64_t>(count), sizeof(float), "weights"));
        };
        read_vec(cw.biases, n);
        if (l.batch_normalize) {
            read_vec(cw.scales, n);
            read_vec(cw.rolling_mean, n);
            read_vec(cw.rolling_variance, n);
        }
        read_vec(cw.weights,
                 static_cast<size_t>(darknet_layer_param_count(l)) - (l.batch_normalize ? 4 : 1) * n);
    }
    if (!f) ENGINE_THROW(path, ": read error (file changed while reading?)");
    return w;
}

DarknetWeights random_darknet_weights(const DarknetModel& model, uint32_t seed) {
    Uniform uniform(seed);
    const std::vector<bool> residual_end = residual_branch_ends(model);
    DarknetWeights w;
    w.layers.resize(model.layers.size());
    for (size_t i = 0; i < model.layers.size(); ++i) {
        const DarknetLayer& l = model.layers[i];
        if (l.type != DarknetLayerType::Convolutional) continue;
        DarknetConvWeights& cw = w.layers[i];
        const size_t n = static_cast<size_t>(l.filters);
        const std::array<int64_t, 3> filter_dims{l.in_c / l.groups, l.size, l.size};
        const int64_t fan_in = engine::checked_numel(filter_dims, "filter");
        const float a = kWeightGain * std::sqrt(6.f / static_cast<float>(fan_in));
        const float gamma_gain = residual_end[i] ? kResidualGamma : 1.f;
        cw.biases.resize(n);
        for (float& v : cw.biases) v = uniform(-0.1f, 0.1f);
        if (l.batch_normalize) {
            cw.scales.resize(n);
            cw.rolling_mean.resize(n);
            cw.rolling_variance.resize(n);
            for (float& v : cw.scales) v = gamma_gain * uniform(0.5f, 1.5f);
            for (float& v : cw.rolling_mean) v = uniform(-0.1f, 0.1f);
            for (float& v : cw.rolling_variance) v = uniform(0.5f, 1.5f);
        }
        cw.weights.resize(static_cast<size_t>(engine::checked_mul(l.filters, fan_in, "weights")));
        for (float& v : cw.weights) v = uniform(-a, a);
    }
    return w;
}

void write_darknet_weights(const std::string& path, const DarknetModel& model,
                           const DarknetWeights& weights) {
    ENGINE_CHECK(weights.layers.size() == model.layers.size(), path, ": weights have ", weights.layers.size(),
                 " layers, ", model.cfg_path, " has ", model.layers.size());
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) ENGINE_THROW(path, ": cannot create darknet weights file");
    auto put = [&](const void* p, size_t bytes) {
        f.write(static_cast<const char*>(p), static_cast<std::streamsize>(bytes));
    };
    put(&weights.major, 4);
    put(&weights.minor, 4);
    put(&weights.revision, 4);
    if (seen_is_64bit(weights.major, weights.minor)) {
        put(&weights.seen, 8);
    } else {
        const auto seen32 = static_cast<int32_t>(weights.seen);
        put(&seen32, 4);
    }
    for (size_t i = 0; i < model.layers.size(); ++i) {
        const DarknetLayer& l = model.layers[i];
        if (l.type != DarknetLayerType::Convolutional) continue;
        const DarknetConvWeights& cw = weights.layers[i];
        const size_t n = static_cast<size_t>(l.filters);
        const size_t bn = l.batch_normalize ? n : 0;
        const size_t nw = static_cast<size_t>(darknet_layer_param_count(l)) - n - 3 * bn;
        ENGINE_CHECK(cw.biases.size() == n && cw.scales.size() == bn && cw.rolling_mean.size() == bn &&
                         cw.rolling_variance.size() == bn && cw.weights.size() == nw,
                     path, ": weights of layer ", i, " do not match ", model.cfg_path, ":", l.line);
        put(cw.biases.data(), n * 4);
        put(cw.scales.data(), bn * 4);
        put(cw.rolling_mean.data(), bn * 4);
        put(cw.rolling_variance.data(), bn * 4);
        put(cw.weights.data(), nw * 4);
    }
    f.flush();
    if (!f) ENGINE_THROW(path, ": write failed (disk full?)");
}

}  // namespace detector
