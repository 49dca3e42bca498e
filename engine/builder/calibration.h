// Post-training INT8 calibration, the math and the cache file (issue 16): a histogram of each
// tensor's absolute values gathered over real inputs, the range (amax) each method picks from it, and
// a small JSON file of per-tensor ranges that does not depend on the device, so a plan can be rebuilt
// for another machine without calibrating again. A tensor's INT8 scale is amax / 127 (symmetric).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/builder/build_options.h"
#include "engine/core/tensor.h"
#include "engine/ir/graph.h"
#include "engine/runtime/runtime.h"

namespace engine {

enum class CalibMethod {
    Entropy,     // the range whose 8-bit version of the histogram loses the least information (KL)
    Percentile,  // the value below which `percentile` % of the values lie
    MinMax,      // the largest absolute value seen
};
const char* calib_method_name(CalibMethod m);  // "entropy", "percentile", "minmax"
// Throws engine::Error naming the value and the choices.
CalibMethod parse_calib_method(std::string_view name);

// Counts of |x| in `bins` equal bins over [0, range()). The range is set by the first nonzero value
// seen and doubles (pairs of bins merged) whenever a larger one comes, so one pass over the data is
// enough; the result depends only on the values and their order.
class AbsHistogram {
  public:
    explicit AbsHistogram(int bins = 2048);
    // From counts already made (`range` = bins x bin width); for tests and tools.
    AbsHistogram(std::vector<uint64_t> counts, double range, double max_abs);

    // Non-finite values are refused (engine::Error): a calibration input that overflows is a bug
    // worth a message, not a range.
    void add(const float* x, size_t n);

    int bins() const { return static_cast<int>(counts_.size()); }
    double range() const { return range_; }
    double bin_width() const { return range_ / static_cast<double>(counts_.size()); }
    double max_abs() const { return max_abs_; }
    uint64_t total() const { return total_; }
    const std::vector<uint64_t>& counts() const { return counts_; }

  private:
    void grow_to(double m);

    std::vector<uint64_t> counts_;
    double range_ = 0, max_abs_ = 0;
    uint64_t total_ = 0;
};

// The three ways to pick amax from a histogram. All return 0 for an empty or all-zero histogram.
double amax_minmax(const AbsHistogram& h);
// The upper edge of the bin where the cumulative count reaches `percentile` % (0 < p <= 100).
double amax_percentile(const AbsHistogram& h, double percentile);
// The entropy method as NVIDIA described it for TensorRT (8-bit inference with TensorRT, GTC 2017):
// for each candidate of i bins (levels..bins), P = the first i bins with the counts beyond added to
// the last; Q = those i bins merged into `levels` groups and spread back evenly over each group's
// nonzero bins; the i with the smallest KL(P || Q) gives amax = (i + 0.5) x bin width. A candidate
// where P has mass that Q lacks is skipped.
double amax_entropy(const AbsHistogram& h, int levels = 128);
double calibrate_amax(const AbsHistogram& h, CalibMethod m, double percentile = 99.99);

// The calibration cache: per-tensor amax by tensor name, with how it was made.
struct CalibrationTable {
    static constexpr int kVersion = 1;
    CalibMethod method = CalibMethod::Entropy;
    double percentile = 99.99;  // for CalibMethod::Percentile
    int64_t inputs = 0;         // calibration inputs (images) seen
    std::string model;          // what was calibrated (a model file's name), informative
    std::string preprocess;     // the preprocessing the inputs went through, informative
    std::map<std::string, double> amax;
    // Mixed precision by measurement (`--int8-sensitivity`, engine/builder/sensitivity.h): the
    // layers (node names) an INT8 build keeps in float, and each measured layer's output error when
    // only it runs in INT8. Optional keys; empty when not measured.
    std::vector<std::string> float_layers;
    std::map<std::string, double> sensitivity;

    std::string to_json() const;
    // Throws engine::Error naming `origin` (a file) and the key: not JSON, another format, a newer
    // version, a negative or non-finite amax.
    static CalibrationTable from_json(std::string_view text, const std::string& origin);
    void save(const std::string& path) const;  // written whole or not at all (temp file + rename)
    static CalibrationTable load(const std::string& path);
};

// Histograms of a graph's float activations by value name, fed batch after batch; table() picks each
// one's amax by one method.
class ActivationHistograms {
  public:
    // Float tensors only (others are not quantized: ignored). Fed one dim-0 slice (one image of a
    // batch) at a time, so the result does not depend on how the images were batched.
    void add(const std::string& name, const Tensor& t);
    // Counts a batch's images (dim 0 of its first input) as calibration inputs, for the table.
    void count_batch(const std::vector<Tensor>& inputs) {
        if (!inputs.empty() && !inputs[0].shape().empty()) inputs_ += inputs[0].shape()[0];
    }
    CalibrationTable table(CalibMethod m, double percentile = 99.99) const;
    const std::map<std::string, AbsHistogram>& histograms() const { return hist_; }

  private:
    std::map<std::string, AbsHistogram> hist_;
    int64_t inputs_ = 0;
};

// Runs `g` on the reference kernels (engine/refmath) over `inputs` (one batch, graph-input order)
// and feeds every float graph input and computed value to `h`; counts the batch's images (dim 0 of
// the first input). The oracle path: exact, and slow on big models.
void observe_reference(const Graph& g, const std::vector<Tensor>& inputs, ActivationHistograms& h);

// Gathers activation ranges at engine speed: an FP32 plan of the graph as the builder optimizes it,
// with every float value a node computes exposed as an output, so the ranges are those of the tensors
// an INT8 build of the same graph sees, by the same names (a fused Conv's activated output, not the
// Conv's raw one). Built once; run() as many batches as wanted.
class ActivationGatherer {
  public:
    // `g`: an imported graph; `options`: the device and max batch (the precision is forced to FP32,
    // tactics are not timed, so every run builds the same plan and gathers the same ranges, and
    // eliminate_concat is skipped: values it would alias become outputs).
    ActivationGatherer(Graph g, BuildOptions options);
    ~ActivationGatherer();
    // One batch (graph-input order, dim 0 the batch, at most the max batch): every graph input and
    // exposed value goes to `h`, and the batch's images are counted.
    void run(const std::vector<Tensor>& inputs, ActivationHistograms& h);
    // The exposed values' names (graph outputs first, then the rest in topological order).
    const std::vector<std::string>& names() const { return names_; }

  private:
    std::shared_ptr<Engine> engine_;
    std::unique_ptr<ExecutionContext> ctx_;
    std::vector<std::string> names_, input_names_;
};

}  // namespace engine
