// engine_info MODEL.onnx PLAN: builds a CPU FP32 plan from the ONNX model, saves it, loads it back,
// runs one inference on zeros and prints each output's name and shape.
#include <rtdet/rtdet.h>

#include <algorithm>
#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: engine_info MODEL.onnx PLAN\n");
        return 2;
    }
    try {
        engine::BuildOptions options;
        options.device = "cpu";
        options.max_batch = 1;
        engine::build_plan_from_onnx(argv[1], options).save(argv[2]);

        const auto eng = engine::Engine::load(engine::Plan::load(argv[2]));
        const auto ctx = eng->create_context();
        for (size_t i = 0; i < ctx->num_inputs(); ++i) {
            const engine::Shape s = ctx->input_shape(i, 1);
            std::fill(ctx->input(i), ctx->input(i) + engine::shape_numel(s), 0.0f);
        }
        ctx->run(1);
        for (size_t i = 0; i < ctx->num_outputs(); ++i)
            std::printf("%s %s\n", eng->info().outputs[i].name.c_str(),
                        engine::shape_str(ctx->output_shape(i, 1)).c_str());
    } catch (const engine::Error& e) {
        std::fprintf(stderr, "engine_info: %s\n", e.what());
        return 1;
    }
    return 0;
}
