// rtdet convert MODEL.cfg [MODEL.weights] -o MODEL.onnx: darknet -> ONNX with the YOLO head description
// in metadata_props.
#include <cstdio>
#include <optional>
#include <string>

#include "app/commands.h"
#include "detector/darknet/darknet_to_onnx.h"
#include "engine/core/error.h"

namespace app {

CommandFn setup_convert(CLI::App& root) {
    struct Opts {
        std::string cfg, weights, output, random_weights_out;
        std::optional<uint32_t> seed;
        int width = 0, height = 0;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = root.add_subcommand("convert", "Convert a darknet .cfg + .weights to ONNX");
    cmd->add_option("cfg", o->cfg, "Darknet .cfg")->required();
    cmd->add_option("weights", o->weights, "Darknet .weights (omit with --random-weights)");
    cmd->add_option("-o,--output", o->output, "ONNX file to write")->required();
    cmd->add_option("--random-weights", o->seed,
                    "Random weights from this seed (architecture-true, for speed work)");
    cmd->add_option("--save-weights", o->random_weights_out,
                    "With --random-weights: also write them as .weights");
    cmd->add_option("--width", o->width, "Input width (default: the cfg's)")->check(CLI::Range(32, 8192));
    cmd->add_option("--height", o->height, "Input height (default: the cfg's)")->check(CLI::Range(32, 8192));
    return [o]() {
        ENGINE_CHECK(o->seed || !o->weights.empty(),
                     "convert: give a .weights file or --random-weights SEED");
        ENGINE_CHECK(!(o->seed && !o->weights.empty()),
                     "convert: give either a .weights file or --random-weights, not both");
        detector::ConvertOptions opts;
        opts.random_weights_seed = o->seed;
        opts.input_width = o->width;
        opts.input_height = o->height;
        const auto heads = detector::convert_darknet(o->cfg, o->weights, o->output, opts);
        if (o->seed && !o->random_weights_out.empty())
            detector::write_random_weights(o->cfg, *o->seed, o->random_weights_out);
        std::printf("wrote %s (%zu YOLO heads)\n", o->output.c_str(), heads.size());
        return 0;
    };
}

}  // namespace app
