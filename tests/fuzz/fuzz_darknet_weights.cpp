// Fuzz target: darknet .weights files (detector/darknet/darknet_weights) against a fixed cfg
// (fuzz_util::kWeightsCfg, or the cfg file named by $RTDET_FUZZ_WEIGHTS_CFG, e.g. a real Yolo-Fastest
// cfg), then the conversion to ONNX that `rtdet convert` does with those weights (BN folding on
// arbitrary floats).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "detector/darknet/cfg_parser.h"
#include "detector/darknet/darknet_to_onnx.h"
#include "detector/darknet/darknet_weights.h"
#include "engine/core/error.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

struct Fixture {
    std::string cfg_path, weights_path, onnx_path;
    detector::DarknetModel model;
};

const Fixture& fixture() {
    static const Fixture f = [] {
        Fixture x;
        if (const char* cfg = std::getenv("RTDET_FUZZ_WEIGHTS_CFG"); cfg != nullptr && *cfg != '\0') {
            x.cfg_path = cfg;
        } else {
            x.cfg_path = fuzz_util::temp_path("weights.cfg");
            const std::string text = fuzz_util::kWeightsCfg;
            fuzz_util::write_file(x.cfg_path, text.data(), text.size());
        }
        x.model = detector::parse_cfg(x.cfg_path);
        x.weights_path = fuzz_util::temp_path("fuzz.weights");
        x.onnx_path = fuzz_util::temp_path("fuzz.onnx");
        return x;
    }();
    return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_util::init_once();
    const Fixture& f = fixture();
    fuzz_util::write_file(f.weights_path, data, size);
    try {
        const detector::DarknetWeights w = detector::read_darknet_weights(f.weights_path, f.model);
        (void)w;
    } catch (const engine::Error& e) {
        fuzz_util::expected_error(e);
        return 0;
    }
    try {
        (void)detector::convert_darknet(f.cfg_path, f.weights_path, f.onnx_path, detector::ConvertOptions{});
    } catch (const engine::Error& e) {
        fuzz_util::expected_error(e);
    }
    return 0;
}
