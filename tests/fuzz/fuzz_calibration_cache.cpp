// Fuzz target: INT8 calibration caches (`rtdet build --calib-cache FILE`: a JSON file of per-tensor
// ranges), read by engine::CalibrationTable::from_json (engine/builder/calibration.cpp).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/builder/calibration.h"
#include "engine/core/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_util::init_once();
    try {
        const engine::CalibrationTable t = engine::CalibrationTable::from_json(
            std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
        for (const auto& [name, amax] : t.amax)
            if (!std::isfinite(amax) || amax < 0) std::abort();  // every range it accepts is usable
        // What it accepts writes back to a file that reads to the same table.
        const engine::CalibrationTable u = engine::CalibrationTable::from_json(t.to_json(), "round trip");
        if (u.amax != t.amax || u.method != t.method || u.inputs != t.inputs) std::abort();
    } catch (const engine::Error& e) {
        fuzz_util::expected_error(e);
    }
    return 0;
}
