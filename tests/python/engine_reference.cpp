// engine_reference PLAN BATCH THREADS IN_0.raw [IN_1.raw ...] OUT_PREFIX: the C++ runtime's outputs for the
// Python tests (tests/python/test_engine.py compares rtdet.Context.run with them). Loads the plan, copies
// each raw float32 file into its input (BATCH samples), runs on a context of THREADS threads and writes
// output i to OUT_PREFIX.<i>.raw (float32, BATCH samples), printing "name [shape]" per output.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/plan/plan.h"
#include "engine/runtime/runtime.h"

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr,
                     "usage: engine_reference PLAN BATCH THREADS IN_0.raw [IN_1.raw ...] OUT_PREFIX\n");
        return 2;
    }
    try {
        const auto eng = engine::Engine::load(engine::Plan::load(argv[1]));
        const int batch = std::stoi(argv[2]);
        const auto ctx = eng->create_context(std::stoi(argv[3]));
        const size_t num_inputs = static_cast<size_t>(argc - 5);
        ENGINE_CHECK(num_inputs == ctx->num_inputs(), "engine_reference: ", num_inputs, " input files for ",
                     ctx->num_inputs(), " inputs");
        for (size_t i = 0; i < num_inputs; ++i) {
            const size_t bytes = static_cast<size_t>(engine::shape_numel(ctx->input_shape(i, batch))) * 4;
            std::ifstream in(argv[4 + i], std::ios::binary);
            in.read(reinterpret_cast<char*>(ctx->input(i)), static_cast<std::streamsize>(bytes));
            ENGINE_CHECK(in.gcount() == static_cast<std::streamsize>(bytes),
                         "engine_reference: ", argv[4 + i], ": expected ", bytes, " bytes");
        }
        ctx->run(batch);
        const std::string prefix = argv[argc - 1];
        for (size_t i = 0; i < ctx->num_outputs(); ++i) {
            const engine::Shape s = ctx->output_shape(i, batch);
            std::ofstream out(prefix + "." + std::to_string(i) + ".raw", std::ios::binary);
            out.write(reinterpret_cast<const char*>(ctx->output(i)),
                      static_cast<std::streamsize>(engine::shape_numel(s) * 4));
            ENGINE_CHECK(out.good(), "engine_reference: cannot write ", prefix, ".", i, ".raw");
            std::printf("%s %s\n", eng->info().outputs[i].name.c_str(), engine::shape_str(s).c_str());
        }
    } catch (const engine::Error& e) {
        std::fprintf(stderr, "engine_reference: %s\n", e.what());
        return 1;
    }
    return 0;
}
