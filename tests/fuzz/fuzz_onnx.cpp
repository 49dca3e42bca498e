// Fuzz target: ONNX import (engine/onnx) of arbitrary bytes, as `rtdet build MODEL.onnx` reads them.
// A model that imports is imported again with the batch overridden (the plan's max batch path).
// Mutations are structure-aware (tests/fuzz/onnx_mutator.h), in libFuzzer and in the replay driver's
// mutation run alike.
#include <cstddef>
#include <cstdint>

#include "engine/core/error.h"
#include "engine/onnx/importer.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/onnx_mutator.h"

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
    return onnx_mutator::mutate(data, size, max_size, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_util::init_once();
    try {
        const engine::Graph g = engine::onnx::import_bytes(data, size, "fuzz.onnx");
        (void)g;
    } catch (const engine::Error& e) {
        fuzz_util::expected_error(e);
        return 0;
    }
    try {
        engine::onnx::ImportOptions options;
        options.batch = 3;
        const engine::Graph g = engine::onnx::import_bytes(data, size, "fuzz.onnx", options);
        (void)g;
    } catch (const engine::Error& e) {
        fuzz_util::expected_error(e);
    }
    return 0;
}
