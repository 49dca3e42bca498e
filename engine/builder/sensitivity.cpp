// measure_int8_sensitivity: see the contract in sensitivity.h.
#include "engine/builder/sensitivity.h"

#include <algorithm>
#include <cstdio>

#include "engine/builder/builder.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/passes/pass.h"
#include "engine/runtime/runtime.h"

namespace engine {
namespace {

using Outputs = std::vector<std::vector<Tensor>>;  // per input batch, the graph outputs

Outputs run_plan(const Plan& plan, const std::vector<std::vector<Tensor>>& inputs, int threads,
                 const OutputTransform& transform) {
    auto engine = Engine::load(plan);
    auto ctx = engine->create_context(threads);
    Outputs out;
    for (const auto& batch : inputs) {
        out.push_back(ctx->run(batch));
        if (transform) transform(out.back());
    }
    return out;
}

double output_error(const Outputs& y, const Outputs& ref) {
    ENGINE_ASSERT(y.size() == ref.size());
    const size_t outputs = ref.empty() ? 0 : ref[0].size();
    double total = 0;
    for (size_t o = 0; o < outputs; ++o) {
        double num = 0, den = 0;
        for (size_t b = 0; b < ref.size(); ++b) {
            const auto a = y[b].at(o).f32();
            const auto r = ref[b].at(o).f32();
            ENGINE_CHECK_EQ(a.size(), r.size(), "sensitivity: output sizes differ");
            for (size_t i = 0; i < r.size(); ++i) {
                const double d = static_cast<double>(a[i]) - r[i];
                num += d * d;
                den += static_cast<double>(r[i]) * r[i];
            }
        }
        total += den > 0 ? num / den : num;
    }
    return outputs > 0 ? total / static_cast<double>(outputs) : 0;
}

}  // namespace

Int8Sensitivity measure_int8_sensitivity(const Graph& g, BuildOptions int8,
                                         const std::vector<std::vector<Tensor>>& inputs, double max_error,
                                         const OutputTransform& transform) {
    ENGINE_CHECK(!inputs.empty(), "int8 sensitivity: no inputs");
    int8.precision = Precision::INT8;
    int8.time_tactics = false;
    int8.layout = int8.layout == "auto" ? "nhwc" : int8.layout;
    // One layer per conv: a ConvPair (a backend's two convs in one kernel, engine/builder/conv_pairs.h)
    // would list two convs under one name, which float_layers cannot name. Pairing changes where the
    // middle value lives, not what the convs compute, so the errors measured apart hold for the pairs.
    if (std::find(int8.disabled_passes.begin(), int8.disabled_passes.end(), kFuseConvPairPass) ==
        int8.disabled_passes.end())
        int8.disabled_passes.emplace_back(kFuseConvPairPass);
    BuildOptions fp32 = int8;
    fp32.precision = Precision::FP32;
    fp32.calibration.reset();
    fp32.calibration_cache.clear();
    const Outputs ref =
        run_plan(build_plan(g, fp32, "sensitivity-fp32", ""), inputs, int8.threads, transform);
    auto error_with = [&](const std::vector<std::string>& float_layers) {
        BuildOptions o = int8;
        o.float_layers.insert(o.float_layers.end(), float_layers.begin(), float_layers.end());
        return output_error(
            run_plan(build_plan(g, o, "sensitivity-int8", ""), inputs, int8.threads, transform), ref);
    };

    // The layers the build runs in INT8 (convolutions: the others follow their producers).
    const Plan all = build_plan(g, int8, "sensitivity-int8", "");
    std::vector<std::string> convs;
    for (const auto& l : all.info().layers)
        if (l.op == "Conv" && l.precision == "i8") convs.push_back(l.name);
    Int8Sensitivity s;
    s.error_all = output_error(run_plan(all, inputs, int8.threads, transform), ref);
    for (const std::string& layer : convs) {
        std::vector<std::string> others;
        for (const std::string& c : convs)
            if (c != layer) others.push_back(c);
        s.layers.push_back({layer, error_with(others)});
        engine::logger().debug("int8 sensitivity: {}: {:.3g}", layer, s.layers.back().error);
    }
    std::stable_sort(s.layers.begin(), s.layers.end(),
                     [](const LayerError& a, const LayerError& b) { return a.error > b.error; });

    // The fewest most sensitive layers in float: 0, 1, 2, 3, 4, 6, 8, 12, 16, ... (then all).
    s.tried.push_back({0, s.error_all});
    size_t k = 0;
    double err = s.error_all;
    while (err > max_error && k < s.layers.size()) {
        k = k < 4 ? k + 1 : std::min(s.layers.size(), k + k / 2);
        std::vector<std::string> fl;
        for (size_t i = 0; i < k; ++i) fl.push_back(s.layers[i].layer);
        err = k == s.layers.size() ? 0.0 : error_with(fl);
        s.tried.push_back({k, err});
    }
    for (size_t i = 0; i < k; ++i) s.float_layers.push_back(s.layers[i].layer);
    s.error_chosen = err;
    return s;
}

std::string format_sensitivity(const Int8Sensitivity& s, double max_error) {
    std::string out =
        concat("INT8 sensitivity: output error (relative squared, vs FP32) with only this layer in INT8\n");
    char line[256];
    for (const LayerError& l : s.layers) {
        std::snprintf(line, sizeof line, "  %-40s %.3e\n", l.layer.c_str(), l.error);
        out += line;
    }
    std::snprintf(line, sizeof line, "all %zu layers in INT8: %.3e\n", s.layers.size(), s.error_all);
    out += line;
    for (const auto& [k, e] : s.tried) {
        if (k == 0) continue;
        std::snprintf(line, sizeof line, "  %zu most sensitive in float: %.3e\n", k, e);
        out += line;
    }
    std::snprintf(line, sizeof line, "kept in float: %zu layer(s), output error %.3e (max %.3e)\n",
                  s.float_layers.size(), s.error_chosen, max_error);
    out += line;
    return out;
}

}  // namespace engine
