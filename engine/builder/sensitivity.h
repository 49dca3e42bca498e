// Mixed precision by measurement (issue 16, docs/int8.md): which layers' INT8 error hurts a model's
// outputs, and the fewest layers to keep in float so that the whole INT8 plan stays close to FP32.
//
// The output error of a plan: for each graph output, sum((y - y_fp32)^2) / sum(y_fp32^2) over all the
// inputs given, averaged over the outputs (a relative squared error: 1e-2 is 10 % RMS).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/builder/build_options.h"
#include "engine/core/tensor.h"
#include "engine/ir/graph.h"

namespace engine {

struct LayerError {
    std::string layer;  // node name
    double error = 0;   // output error with only this layer in INT8
};

struct Int8Sensitivity {
    double error_all = 0;                          // every layer the build would run in INT8, in INT8
    std::vector<LayerError> layers;                // one per such layer, most sensitive first
    std::vector<std::pair<size_t, double>> tried;  // (most sensitive layers kept in float, output error)
    std::vector<std::string> float_layers;         // the choice: the fewest with error <= max_error
    double error_chosen = 0;
};

// `g`: the imported graph (as build_plan takes it); `int8`: the INT8 build's options (precision int8,
// the calibration set; tactics are not timed here); `inputs`: batches of the graph's inputs
// (preprocessed images), at most the options' max batch each. Builds one FP32 plan, one INT8 plan,
// one plan per INT8 layer with only that layer in INT8, and the INT8 plans with the 1, 2, 3, 4, 6, 8,
// 12, ... most sensitive layers in float until the error is <= max_error.
Int8Sensitivity measure_int8_sensitivity(const Graph& g, BuildOptions int8,
                                         const std::vector<std::vector<Tensor>>& inputs, double max_error);

// The report: one line per layer (most sensitive first) and the choice.
std::string format_sensitivity(const Int8Sensitivity& s, double max_error);

}  // namespace engine
