// `best` with INT8 (docs/int8.md, "best: INT8 where it is faster"): the rule that keeps a layer out of
// INT8 when its INT8 kernel measured slower than the same layer in the plan's float precision.
#pragma once

#include <map>
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

}  // namespace engine
