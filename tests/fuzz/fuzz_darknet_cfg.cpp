// Fuzz target: the darknet .cfg parser (detector/darknet/cfg_parser), as `rtdet convert` reads a cfg:
// parse + shape inference at the cfg's size, then parameter counts and shapes at a second size.
#include <cstddef>
#include <cstdint>
#include <string>

#include "detector/darknet/cfg_parser.h"
#include "engine/core/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_util::init_once();
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        detector::DarknetModel model = detector::parse_cfg_text(text, "fuzz.cfg");
        (void)detector::darknet_param_count(model);
        // `rtdet convert --width/--height` re-infers shapes at another size (half, plus one).
        detector::infer_darknet_shapes(model, model.width / 2 + 1, model.height / 2 + 1);
    } catch (const engine::Error& e) {
        fuzz_util::expected_error(e);
    }
    return 0;
}
