// `best` with INT8 (docs/int8.md, "best: INT8 where it is faster"): the rule that keeps a layer out of
// INT8 when its INT8 kernel measured slower than the same layer in the plan's float precision.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace engine {

// The layers of `int8_layers` whose time in the float plan is below their time in the INT8 plan
// (both per-layer profiles in ms, by node name), in the order given. A layer missing from either
// profile stays in INT8 (nothing measured against it).
inline std::vector<std::string> int8_slower_layers(const std::vector<std::string>& int8_layers,
                                                   const std::map<std::string, double>& int8_ms,
                                                   const std::map<std::string, double>& float_ms) {
    std::vector<std::string> out;
    for (const std::string& name : int8_layers) {
        const auto i = int8_ms.find(name);
        const auto f = float_ms.find(name);
        if (i != int8_ms.end() && f != float_ms.end() && f->second < i->second) out.push_back(name);
    }
    return out;
}

// One layer of the INT8 plan that the rule weighs: a Conv (convs: its own name) or a ConvPair, which
// runs two convs as one layer (engine/builder/conv_pairs.h) and exists only in plans whose backend
// pairs those convs in that precision.
struct Int8Layer {
    std::string name;                // its name in the INT8 plan's profile
    std::vector<std::string> convs;  // the convs it runs, as BuildOptions::float_layers names them
};

// The float plan's time of `layer`: that of the float layer of the same name (the float plan paired
// the same convs), else the sum of its convs' (the float plan runs them apart); none when the float
// profile lacks any of them.
inline std::optional<double> layer_float_ms(const Int8Layer& layer,
                                            const std::map<std::string, double>& float_ms) {
    if (const auto it = float_ms.find(layer.name); it != float_ms.end()) return it->second;
    double sum = 0;
    for (const std::string& conv : layer.convs) {
        const auto it = float_ms.find(conv);
        if (it == float_ms.end()) return std::nullopt;
        sum += it->second;
    }
    return sum;
}

// int8_slower_layers by layer: the convs of each layer whose float time (layer_float_ms) is below its
// INT8 time, in the order given. A pair goes to float, or stays in INT8, as a whole: its INT8 plan
// times it as one layer, so that is what can be compared.
inline std::vector<std::string> int8_slower_convs(const std::vector<Int8Layer>& layers,
                                                  const std::map<std::string, double>& int8_ms,
                                                  const std::map<std::string, double>& float_ms) {
    std::vector<std::string> names;
    std::map<std::string, double> layer_ms;
    for (const Int8Layer& l : layers) {
        names.push_back(l.name);
        if (const auto ms = layer_float_ms(l, float_ms)) layer_ms[l.name] = *ms;
    }
    const std::vector<std::string> slower = int8_slower_layers(names, int8_ms, layer_ms);
    std::vector<std::string> out;
    for (const Int8Layer& l : layers)
        if (std::find(slower.begin(), slower.end(), l.name) != slower.end())
            out.insert(out.end(), l.convs.begin(), l.convs.end());
    return out;
}

}  // namespace engine
