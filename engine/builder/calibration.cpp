#include "engine/builder/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine/builder/builder.h"
#include "engine/core/error.h"
#include "engine/core/file_io.h"
#include "engine/core/tensor.h"
#include "engine/ir/graph.h"
#include "engine/passes/pass.h"
#include "engine/plan/json_util.h"
#include "engine/refmath/reference_executor.h"

namespace engine {

namespace {

constexpr std::string_view kFormat = "rtdet-calibration";

struct MethodName {
    CalibMethod method;
    const char* name;
};
constexpr MethodName kMethods[] = {{CalibMethod::Entropy, "entropy"},
                                   {CalibMethod::Percentile, "percentile"},
                                   {CalibMethod::MinMax, "minmax"}};

}  // namespace

const char* calib_method_name(CalibMethod m) {
    for (const MethodName& x : kMethods)
        if (x.method == m) return x.name;
    return "?";
}

CalibMethod parse_calib_method(std::string_view name) {
    for (const MethodName& x : kMethods)
        if (name == x.name) return x.method;
    ENGINE_THROW("unknown calibration method '", name, "' (entropy, percentile or minmax)");
}

// ---- the histogram ----

AbsHistogram::AbsHistogram(int bins) : counts_(static_cast<size_t>(std::max(1, bins)), 0) {}

AbsHistogram::AbsHistogram(std::vector<uint64_t> counts, double range, double max_abs)
    : counts_(std::move(counts)), range_(range), max_abs_(max_abs) {
    ENGINE_CHECK(!counts_.empty(), "AbsHistogram: no bins");
    ENGINE_CHECK(
        std::isfinite(range) && range >= 0 && std::isfinite(max_abs) && max_abs >= 0 && max_abs <= range,
        "AbsHistogram: range ", range, " and max ", max_abs, " do not fit");
    for (uint64_t c : counts_) total_ += c;
}

void AbsHistogram::grow_to(double m) {
    if (range_ == 0) {
        range_ = m;
        return;
    }
    const size_t n = counts_.size();
    while (range_ < m) {
        // Pairs of bins merged into the lower half; the upper half empty.
        for (size_t i = 0; i < n; ++i) {
            const size_t a = 2 * i, b = 2 * i + 1;
            counts_[i] = (a < n ? counts_[a] : 0) + (b < n ? counts_[b] : 0);
        }
        range_ *= 2;
    }
}

void AbsHistogram::add(const float* x, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; ++i) {
        ENGINE_CHECK(std::isfinite(x[i]), "calibration: a non-finite value (", x[i], ") at element ", i);
        m = std::max(m, std::fabs(x[i]));
    }
    max_abs_ = std::max(max_abs_, static_cast<double>(m));
    if (m > range_) grow_to(m);
    const size_t bins = counts_.size();
    if (range_ > 0) {
        const double per = static_cast<double>(bins) / range_;
        for (size_t i = 0; i < n; ++i) {
            const size_t k = static_cast<size_t>(static_cast<double>(std::fabs(x[i])) * per);
            ++counts_[std::min(k, bins - 1)];
        }
    } else {
        counts_[0] += n;  // all zero so far
    }
    total_ += n;
}

// ---- picking amax ----

double amax_minmax(const AbsHistogram& h) { return h.max_abs(); }

double amax_percentile(const AbsHistogram& h, double percentile) {
    ENGINE_CHECK(percentile > 0 && percentile <= 100, "calibration percentile ", percentile,
                 " is not in (0, 100]");
    if (h.total() == 0 || h.max_abs() == 0) return 0;
    const double want = static_cast<double>(h.total()) * percentile / 100.0;
    uint64_t seen = 0;
    const std::vector<uint64_t>& c = h.counts();
    for (size_t i = 0; i < c.size(); ++i) {
        seen += c[i];
        if (static_cast<double>(seen) >= want)
            return std::min(h.max_abs(), static_cast<double>(i + 1) * h.bin_width());
    }
    return h.max_abs();
}

double amax_entropy(const AbsHistogram& h, int levels) {
    ENGINE_CHECK(levels >= 2, "calibration: ", levels, " levels");
    if (h.total() == 0 || h.max_abs() == 0) return 0;
    const std::vector<uint64_t>& c = h.counts();
    const int bins = h.bins();
    // Only bins up to the last nonzero one matter: candidates past it change nothing but the cost.
    int last = bins - 1;
    while (last > 0 && c[static_cast<size_t>(last)] == 0) --last;
    const int top = last + 1;
    if (top <= levels) return h.max_abs();  // fewer bins than levels: 8 bits hold the histogram whole
    std::vector<double> p(static_cast<size_t>(top)), q(static_cast<size_t>(top));
    double best = std::numeric_limits<double>::infinity();
    int best_i = top;
    uint64_t beyond = 0;  // counts in bins i..top-1
    for (int i = top - 1; i >= levels; --i) beyond += c[static_cast<size_t>(i)];
    for (int i = levels; i <= top; ++i) {
        // P: bins 0..i-1, the outliers (bins i..) added to the last.
        double p_sum = static_cast<double>(beyond);
        for (int k = 0; k < i; ++k) {
            p[static_cast<size_t>(k)] = static_cast<double>(c[static_cast<size_t>(k)]);
            p_sum += p[static_cast<size_t>(k)];
        }
        p[static_cast<size_t>(i - 1)] += static_cast<double>(beyond);
        // Q: the i bins in `levels` groups, each group's count spread over its nonzero bins.
        for (int j = 0; j < levels; ++j) {
            const int lo = static_cast<int>(static_cast<int64_t>(j) * i / levels);
            const int hi = static_cast<int>(static_cast<int64_t>(j + 1) * i / levels);
            double sum = 0;
            int nonzero = 0;
            for (int k = lo; k < hi; ++k) {
                sum += static_cast<double>(c[static_cast<size_t>(k)]);
                nonzero += c[static_cast<size_t>(k)] != 0;
            }
            for (int k = lo; k < hi; ++k)
                q[static_cast<size_t>(k)] = c[static_cast<size_t>(k)] != 0 ? sum / nonzero : 0.0;
        }
        double q_sum = 0;
        for (int k = 0; k < i; ++k) q_sum += q[static_cast<size_t>(k)];
        double kl = 0;
        for (int k = 0; k < i && std::isfinite(kl); ++k) {
            const double pk = p[static_cast<size_t>(k)] / p_sum;
            if (pk == 0) continue;
            const double qk = q[static_cast<size_t>(k)] / q_sum;
            kl = qk == 0 ? std::numeric_limits<double>::infinity() : kl + pk * std::log(pk / qk);
        }
        if (kl < best) {
            best = kl;
            best_i = i;
        }
        if (i < top) beyond -= c[static_cast<size_t>(i)];
    }
    if (!std::isfinite(best)) return h.max_abs();
    return std::min(h.max_abs(), (static_cast<double>(best_i) + 0.5) * h.bin_width());
}

double calibrate_amax(const AbsHistogram& h, CalibMethod m, double percentile) {
    switch (m) {
        case CalibMethod::Entropy:
            return amax_entropy(h);
        case CalibMethod::Percentile:
            return amax_percentile(h, percentile);
        case CalibMethod::MinMax:
            return amax_minmax(h);
    }
    return amax_minmax(h);
}

// ---- the cache file ----

std::string CalibrationTable::to_json() const {
    nlohmann::ordered_json j;
    j["format"] = kFormat;
    j["version"] = kVersion;
    j["method"] = calib_method_name(method);
    if (method == CalibMethod::Percentile) j["percentile"] = percentile;
    j["inputs"] = inputs;
    j["model"] = model;
    j["preprocess"] = preprocess;
    nlohmann::ordered_json t = nlohmann::ordered_json::object();
    for (const auto& [name, a] : amax) t[name] = a;
    j["amax"] = std::move(t);
    if (!float_layers.empty()) j["float_layers"] = float_layers;
    if (!sensitivity.empty()) {
        nlohmann::ordered_json sj = nlohmann::ordered_json::object();
        for (const auto& [name, e] : sensitivity) sj[name] = e;
        j["sensitivity"] = std::move(sj);
    }
    return j.dump(1) + "\n";
}

CalibrationTable CalibrationTable::from_json(std::string_view text, const std::string& origin) {
    const std::string who = concat("calibration cache '", origin, "'");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        ENGINE_THROW(who, ": not JSON (", e.what(), ")");
    }
    try {
        const JsonView root(j, "");
        ENGINE_CHECK(j.is_object(), who, ": not an rtdet calibration cache (not a JSON object)");
        ENGINE_CHECK(root.has("format") && j["format"].is_string() && j["format"] == kFormat, who,
                     ": not an rtdet calibration cache (no \"format\": \"", kFormat, "\")");
        const int64_t version = root.at("version").i64();
        ENGINE_CHECK(version >= 1 && version <= kVersion, who, ": version ", version,
                     " (this rtdet reads 1 to ", kVersion, ")");
        CalibrationTable t;
        t.method = parse_calib_method(root.at("method").str());
        if (t.method == CalibMethod::Percentile) {
            const JsonView pv = root.at("percentile");
            if (!pv.raw().is_number()) pv.fail("expected a number");
            t.percentile = pv.raw().get<double>();
            ENGINE_CHECK(t.percentile > 0 && t.percentile <= 100, who, ": key 'percentile': ", t.percentile,
                         " is not in (0, 100]");
        }
        t.inputs = root.at("inputs").i64(0);
        if (root.has("model")) t.model = root.at("model").str();
        if (root.has("preprocess")) t.preprocess = root.at("preprocess").str();
        const JsonView a = root.at("amax");
        a.expect_object();
        for (const auto& [name, v] : a.raw().items()) {
            ENGINE_CHECK(v.is_number(), who, ": key 'amax.", name, "': expected a number");
            const double d = v.get<double>();
            ENGINE_CHECK(std::isfinite(d) && d >= 0, who, ": key 'amax.", name, "': ", d,
                         " is not a finite range >= 0");
            t.amax[name] = d;
        }
        if (root.has("float_layers")) {
            const JsonView fl = root.at("float_layers");
            for (size_t i = 0; i < fl.size(); ++i) t.float_layers.push_back(fl.at(i).str());
        }
        if (root.has("sensitivity")) {
            const JsonView sv = root.at("sensitivity");
            sv.expect_object();
            for (const auto& [name, v] : sv.raw().items()) {
                ENGINE_CHECK(v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() >= 0, who,
                             ": key 'sensitivity.", name, "': expected a finite number >= 0");
                t.sensitivity[name] = v.get<double>();
            }
        }
        return t;
    } catch (const Error& e) {
        std::string msg = e.what();
        if (msg.rfind(who, 0) == 0) throw;
        // JsonView speaks of plan metadata; here the keys are the cache file's.
        if (msg.rfind("metadata key", 0) == 0) msg.erase(0, std::string_view("metadata ").size());
        ENGINE_THROW(who, ": ", msg);
    }
}

void CalibrationTable::save(const std::string& path) const {
    write_file_whole(path, to_json(), "calibration cache");
}

CalibrationTable CalibrationTable::load(const std::string& path) {
    return from_json(read_file_whole(path, "calibration cache"), path);
}

// ---- gathering ----

void ActivationHistograms::add(const std::string& name, const Tensor& t) {
    if (t.dtype() != DataType::F32 || t.numel() == 0) return;
    const std::span<const float> x = t.f32();
    // One dim-0 slice (one image of a batch) at a time: the histogram's range follows the values in
    // image order, whatever the batching.
    const size_t slices = t.shape().empty() ? 1 : static_cast<size_t>(t.shape()[0]);
    const size_t per = slices == 0 ? 0 : x.size() / slices;
    try {
        AbsHistogram& h = hist_[name];
        for (size_t i = 0; i < slices; ++i) h.add(x.data() + i * per, per);
    } catch (const Error& e) {
        ENGINE_THROW("calibration: tensor '", name, "': ", e.what());
    }
}

CalibrationTable ActivationHistograms::table(CalibMethod m, double percentile) const {
    CalibrationTable t;
    t.method = m;
    t.percentile = percentile;
    t.inputs = inputs_;
    for (const auto& [name, h] : hist_) t.amax[name] = calibrate_amax(h, m, percentile);
    return t;
}

void observe_reference(const Graph& g, const std::vector<Tensor>& inputs, ActivationHistograms& h) {
    (void)run_reference(g, inputs, [&](ValueId v, const Tensor& t) { h.add(g.value(v).name, t); });
    h.count_batch(inputs);
}

ActivationGatherer::ActivationGatherer(Graph g, BuildOptions options) {
    options.precision = Precision::FP32;
    options.time_tactics = false;  // the same plan, hence the same ranges, on every run
    if (std::find(options.disabled_passes.begin(), options.disabled_passes.end(), "eliminate_concat") ==
        options.disabled_passes.end())
        options.disabled_passes.push_back("eliminate_concat");
    // The values the build keeps: run the passes first, then expose what they leave.
    run_passes(g, options.disabled_passes);
    for (NodeId n : g.topo_order())
        for (ValueId v : g.node(n).outputs) {
            const Value& val = g.value(v);
            if (!val.is_graph_output && val.constant == nullptr && val.desc.dtype == DataType::F32)
                g.mark_output(v);
        }
    for (ValueId v : g.inputs()) input_names_.push_back(g.value(v).name);
    engine_ = Engine::load(build_plan(std::move(g), options, "calibration", ""));
    for (const IoDesc& o : engine_->info().outputs) names_.push_back(o.name);
    ctx_ = engine_->create_context(options.threads);
}

ActivationGatherer::~ActivationGatherer() = default;

void ActivationGatherer::run(const std::vector<Tensor>& inputs, ActivationHistograms& h) {
    ENGINE_CHECK_EQ(inputs.size(), input_names_.size(), "calibration: wrong number of inputs");
    const std::vector<Tensor> outs = ctx_->run(inputs);
    for (size_t i = 0; i < inputs.size(); ++i) h.add(input_names_[i], inputs[i]);
    for (size_t i = 0; i < outs.size() && i < names_.size(); ++i) h.add(names_[i], outs[i]);
    h.count_batch(inputs);
}

}  // namespace engine
