#include "engine/builder/builder.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "engine/builder/assign_layout.h"
#include "engine/builder/calibration.h"
#include "engine/builder/conv_pairs.h"
#include "engine/builder/measured_precision.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/onnx/importer.h"
#include "engine/passes/assign_precision.h"
#include "engine/passes/pass.h"
#include "engine/plan/memory_planner.h"
#include "engine/plan/plan_format.h"
#include "engine/plan/plan_io.h"
#include "engine/runtime/backend_registry.h"
#include "engine/runtime/runtime.h"

namespace engine {
namespace {

constexpr int kMaxBatch = 1 << 16;

std::vector<std::byte> read_file(const std::string& path) {
    std::error_code ec;
    ENGINE_CHECK(std::filesystem::is_regular_file(path, ec), "cannot read model '", path, "': no such file");
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    ENGINE_CHECK(in.is_open(), "cannot read model '", path, "'");
    const std::streamoff size = in.tellg();
    std::vector<std::byte> bytes(static_cast<size_t>(std::max<std::streamoff>(size, 0)));
    in.seekg(0);
    if (!bytes.empty())
        in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ENGINE_CHECK(bytes.empty() || in.good(), "cannot read model '", path, "': read failed");
    return bytes;
}

// The options as the plan records them (metadata "build_options").
std::string build_options_json(const BuildOptions& o) {
    nlohmann::json j = {{"device", o.device},
                        {"precision", precision_name(o.precision)},
                        {"max_batch", o.max_batch},
                        {"threads", o.threads},
                        {"timing_cache", o.timing_cache},
                        {"disabled_passes", o.disabled_passes},
                        {"layout", o.layout}};
    if (!o.cudnn_graph_api) j["cudnn_graph_api"] = false;  // only when set: default plans stay as they were
    if (!o.time_tactics) j["time_tactics"] = false;
    if (!o.calibration_cache.empty()) j["calibration_cache"] = o.calibration_cache;
    if (!o.float_layers.empty()) j["float_layers"] = o.float_layers;
    return j.dump();
}

std::string node_desc(const Node& n) { return concat("node '", n.name, "' [", op_type_name(n.op), "]"); }

// A QuantizeLinear or DequantizeLinear left after the passes (fuse_qdq) would make an integer tensor
// flow at run time: says why it was not fused.
void check_qdq_fused(const Graph& g, const Node& n) {
    const bool quantize = n.op == OpType::QuantizeLinear;
    const Value& q = g.value(quantize ? n.outputs[0] : n.inputs[0]);
    std::string why;
    if (q.is_graph_output) why = "is a graph output";
    for (NodeId c : q.consumers)
        if (why.empty() && g.node(c).op != OpType::DequantizeLinear)
            why = concat("is read by ", node_desc(g.node(c)));
    if (why.empty()) why = "could not be fused into a FakeQuant (per-axis scales on different axes)";
    ENGINE_THROW(
        node_desc(n), ": its ", dtype_name(q.desc.dtype), " tensor '", q.name, "' ", why,
        "; rtdet runs f32 tensors only: a QuantizeLinear must feed DequantizeLinear nodes only, each pair "
        "then runs as one float FakeQuant");
}

// Only f32 tensors flow at run time; integer tensors must have been folded into constants.
void check_runtime_types(const Graph& g) {
    for (ValueId v : g.inputs()) {
        const Value& val = g.value(v);
        ENGINE_CHECK(val.desc.dtype == DataType::F32, "graph input '", val.name, "' is ",
                     dtype_name(val.desc.dtype), ": only f32 inputs are supported");
    }
    for (size_t i = 0; i < g.num_nodes(); ++i) {
        const Node& n = g.node(static_cast<NodeId>(i));
        if (n.dead) continue;
        if (n.op == OpType::QuantizeLinear || n.op == OpType::DequantizeLinear) check_qdq_fused(g, n);
        for (ValueId v : n.outputs) {
            const Value& val = g.value(v);
            if (val.constant) continue;
            ENGINE_CHECK(val.desc.dtype == DataType::F32, node_desc(n), " produces ",
                         dtype_name(val.desc.dtype), " value '", val.name,
                         "' at run time: only f32 tensors can flow at run time (a shape ",
                         "computation that could not be folded into a constant?)");
        }
    }
    for (ValueId v : g.outputs()) {
        const Value& val = g.value(v);
        ENGINE_CHECK(val.desc.dtype == DataType::F32, "graph output '", val.name, "' is ",
                     dtype_name(val.desc.dtype), ": only f32 outputs are supported");
    }
}

bool compute_fixed_batch(const Graph& g, const std::vector<NodeId>& order, int max_batch) {
    if (max_batch <= 1) return false;
    for (ValueId v : g.inputs())
        if (!g.value(v).batched) return true;
    for (ValueId v : g.outputs())
        if (!g.value(v).batched) return true;
    for (NodeId n : order) {
        const Node& node = g.node(n);
        bool in_batched = false;
        for (ValueId v : node.inputs) in_batched = in_batched || g.value(v).batched;
        if (!in_batched) continue;
        for (ValueId v : node.outputs)
            if (!g.value(v).batched) {
                engine::logger().debug("{}: output '{}' is not batched: the plan runs only at max batch {}",
                                       node_desc(node), g.value(v).name, max_batch);
                return true;
            }
    }
    return false;
}

// The reduced type to try for a precision request, or F32. FP16 on a device without FP16 kernels
// but with BF16 ones uses BF16 (same storage size, FP32's range) and says so.
DataType reduced_type(Precision p, const Graph& g, const std::vector<NodeId>& order,
                      const std::map<std::string, Backend*>& by_name, const std::string& model_name,
                      const std::string& device) {
    int bf16 = 0, f16 = 0;
    for (NodeId n : order) {
        Backend* b = by_name.at(g.node(n).backend);
        bf16 += b->supports_precision(g, n, DataType::BF16) ? 1 : 0;
        f16 += b->supports_precision(g, n, DataType::F16) ? 1 : 0;
    }
    switch (p) {
        case Precision::FP32:
        case Precision::INT8:  // INT8 layers are chosen separately; the others stay FP32
            return DataType::F32;
        case Precision::FP16:
            if (f16 == 0 && bf16 > 0) {
                engine::logger().info("{}: device '{}' has no FP16 kernels; precision fp16 uses BF16 instead",
                                      model_name, device);
                return DataType::BF16;
            }
            return DataType::F16;
        case Precision::BF16:
            return DataType::BF16;
        case Precision::Best:
            break;
    }
    // Best: the reduced type most nodes have kernels for; BF16 on a tie (it keeps FP32's range).
    return f16 > bf16 ? DataType::F16 : DataType::BF16;
}

// The calibration of an INT8 build: the options' table, or its cache file; null without either.
std::shared_ptr<const CalibrationTable> load_calibration(const BuildOptions& o) {
    if (o.calibration) return o.calibration;
    if (o.calibration_cache.empty()) return nullptr;
    return std::make_shared<const CalibrationTable>(CalibrationTable::load(o.calibration_cache));
}

// INT8: the calibration's ranges set Value::amax by value name (the graph after the passes, as
// `rtdet calibrate` saw it). Ranges the model carries (QDQ) stay where the cache has none. Returns
// the layers to keep in float: the options' and the calibration's (each must name a node).
std::set<std::string> apply_calibration(Graph& g, const CalibrationTable* table, const BuildOptions& o,
                                        const std::string& model_name) {
    std::set<std::string> float_layers(o.float_layers.begin(), o.float_layers.end());
    if (table != nullptr) {
        const CalibrationTable& t = *table;
        const std::string origin = o.calibration ? std::string("(in memory)") : o.calibration_cache;
        int activations = 0, set = 0;
        for (ValueId v = 0; v < g.num_values(); ++v) {
            Value& val = g.value(v);
            if (val.constant != nullptr || !is_float(val.desc.dtype)) continue;
            ++activations;
            const auto it = t.amax.find(val.name);
            if (it == t.amax.end() || !(it->second > 0)) continue;
            val.amax = static_cast<float>(it->second);
            ++set;
        }
        ENGINE_CHECK(set > 0, "calibration cache '", origin, "' has no range for any activation of model '",
                     model_name, "' (it was made for '", t.model, "')");
        engine::logger().info(
            "{}: calibration cache '{}' ({}, {} inputs{}): ranges for {} of {} activations{}", model_name,
            origin, calib_method_name(t.method), t.inputs, t.equalize ? ", equalized" : "", set, activations,
            t.float_layers.empty() ? "" : concat(", ", t.float_layers.size(), " layers kept in float"));
        float_layers.insert(t.float_layers.begin(), t.float_layers.end());
    }
    const auto has_layer = [&](const std::string& name) {
        for (NodeId n = 0; n < g.num_nodes(); ++n)
            if (!g.node(n).dead && g.node(n).name == name) return true;
        return false;
    };
    // A ConvPair layer, "first+second" as `rtdet info --layers` lists it (engine/builder/conv_pairs.h),
    // stands for its two convs: the pairs are made later, from the graph these names are checked on.
    std::set<std::string> layers;
    for (const std::string& name : float_layers) {
        bool found = has_layer(name);
        if (found) layers.insert(name);
        for (size_t i = name.find('+'); !found && i != std::string::npos; i = name.find('+', i + 1)) {
            const std::string first = name.substr(0, i), second = name.substr(i + 1);
            found = has_layer(first) && has_layer(second);
            if (found) layers.insert({first, second});
        }
        ENGINE_CHECK(found, "float layer '", name, "': model '", model_name, "' has no such layer");
    }
    return layers;
}

bool any_calibrated(const Graph& g) {
    for (ValueId v = 0; v < g.num_values(); ++v)
        if (g.value(v).amax > 0) return true;
    return false;
}

}  // namespace

namespace {

// The activation layouts to try: the forced one, or every layout the plan's backends offer for
// `auto` (Plain when none does).
std::vector<Layout> layout_candidates(const BuildOptions& options, const Graph& g,
                                      const std::vector<std::unique_ptr<Backend>>& backends) {
    if (options.layout != "auto") return {layout_from_name(options.layout)};
    if (!options.time_tactics) {
        // The first layout the first backend in use offers (no timing: a reproducible plan).
        for (const auto& b : backends)
            for (NodeId n = 0; n < g.num_nodes(); ++n)
                if (!g.node(n).dead && g.node(n).backend == b->name() && !b->auto_layouts(g).empty())
                    return {b->auto_layouts(g).front()};
        return {Layout::Plain};
    }
    std::vector<Layout> out;
    for (const auto& b : backends) {
        bool used = false;
        for (NodeId n = 0; n < g.num_nodes() && !used; ++n)
            used = !g.node(n).dead && g.node(n).backend == b->name();
        if (!used) continue;
        for (Layout l : b->auto_layouts(g))
            if (std::find(out.begin(), out.end(), l) == out.end()) out.push_back(l);
    }
    if (out.empty()) out.push_back(Layout::Plain);
    return out;
}

struct PlanRequest {
    const BuildOptions& options;
    const std::string& model_name;
    const std::string& model_sha256;
    const std::vector<std::unique_ptr<Backend>>& backends;
    const std::map<std::string, Backend*>& by_name;
};

// Constants every reader of which runs from its packed copy are left out of the plan.
void elide_packed_constants(Graph& g, const std::vector<NodeId>& order,
                            const std::map<std::string, Backend*>& by_name) {
    std::vector<int> uses(g.num_values(), 0), packed_uses(g.num_values(), 0);
    for (NodeId n : order) {
        const Node& node = g.node(n);
        const std::vector<size_t> packed = by_name.at(node.backend)->packed_inputs(g, n);
        for (size_t i = 0; i < node.inputs.size(); ++i) {
            ++uses[node.inputs[i]];
            if (std::find(packed.begin(), packed.end(), i) != packed.end()) ++packed_uses[node.inputs[i]];
        }
    }
    for (ValueId v = 0; v < g.num_values(); ++v) {
        Value& val = g.value(v);
        if (!val.constant || val.is_graph_output || uses[v] == 0 || uses[v] != packed_uses[v]) continue;
        val.constant = std::make_shared<const Tensor>(elided_constant(val.desc.dtype, val.desc.shape));
    }
}

// Layouts, memory plan and packed weights for one activation layout: a complete plan.
PlanContents finish_plan(Graph g, Layout layout, const PlanRequest& r) {
    std::vector<Backend*> ordered;
    for (const auto& b : r.backends) ordered.push_back(b.get());
    // Convs the backend runs two at a time become ConvPair nodes first: layouts, memory, packing and
    // the plan's layers then see one node (engine/builder/conv_pairs.h).
    (void)fuse_backend_conv_pairs(g, ordered, r.options.disabled_passes);
    const int reorders = assign_layouts(g, layout, ordered);
    const std::vector<NodeId> order = g.topo_order();

    PlanContents c;
    c.memory = plan_memory(g, order, kPlanBlobAlignment);
    // Kernels derive a slice's batch stride from ConcatParams::in_place, so a Concat the planner
    // could not place in its output runs as a copy for everyone.
    bool cleared = false;
    for (NodeId n : order) {
        auto* p = std::get_if<ConcatParams>(&g.node(n).params);
        if (g.node(n).op == OpType::Concat && p != nullptr && p->in_place && !c.memory.skip[n]) {
            p->in_place = false;
            cleared = true;
        }
    }
    if (cleared) c.memory = plan_memory(g, order, kPlanBlobAlignment);

    c.info.model_name = r.model_name;
    c.info.model_sha256 = r.model_sha256;
    c.info.device = r.options.device;
    c.info.precision = std::string(precision_name(r.options.precision));
    c.info.max_batch = r.options.max_batch;
    c.info.fixed_batch = compute_fixed_batch(g, order, r.options.max_batch);
    c.info.metadata = g.metadata;
    for (const auto& b : r.backends) {
        bool used = false;
        for (NodeId n : order) used = used || g.node(n).backend == b->name();
        if (used) c.backends.push_back({std::string(b->name()), b->device_signature()});
    }
    c.info.build_options_json = build_options_json(r.options);
    PackContext pack;
    pack.threads = r.options.threads;
    pack.timing_cache = r.options.timing_cache;
    pack.cudnn_graph_api = r.options.cudnn_graph_api;
    pack.time_tactics = r.options.time_tactics;
    c.packed.resize(g.num_nodes());
    for (NodeId n : order) {
        try {
            c.packed[n] = r.by_name.at(g.node(n).backend)->pack(g, n, pack);
        } catch (const Error& e) {
            ENGINE_THROW("packing ", node_desc(g.node(n)), " for backend '", g.node(n).backend,
                         "' failed: ", e.what());
        }
    }
    elide_packed_constants(g, order, r.by_name);
    c.order = order;
    c.graph = std::move(g);
    engine::logger().debug("{}: layout {}: {} layers ({} reorders), arena {} bytes, max batch {}{}",
                           r.model_name, layout_name(layout), order.size(), reorders, c.memory.arena_bytes,
                           r.options.max_batch, c.info.fixed_batch ? " (fixed)" : "");
    return c;
}

// A plan loaded to be timed at max batch (zero inputs), with device I/O where it has a device backend
// (the host copies are the same for every candidate and only add noise).
struct TimedPlan {
    std::shared_ptr<Engine> engine;
    std::unique_ptr<ExecutionContext> ctx;
    IoMemory io = IoMemory::Host;
    int batch = 1;

    TimedPlan(const PlanContents& c, const BuildOptions& options, bool profile) {
        engine = Engine::load(Plan::from_bytes(write_plan(c), c.info.model_name));
        ContextOptions co;
        co.threads = options.threads;
        co.device_graphs = !profile;  // a profile times each launch
        ctx = engine->create_context(co);
        io = ctx->stream() != nullptr ? IoMemory::Device : IoMemory::Host;
        batch = c.info.max_batch;
        ctx->run(batch, io);
        ctx->run(batch, io);  // a device backend records its graph at the second run
        ctx->set_profiling(profile);
    }
    double run_ms() {
        const auto t0 = std::chrono::steady_clock::now();
        ctx->run(batch, io);
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
};

// Best time of a few runs of the plan at max batch, in ms.
double time_plan(const PlanContents& c, const BuildOptions& options) {
    TimedPlan t(c, options, false);
    double best = 1e30;
    for (int i = 0; i < 3; ++i) best = std::min(best, t.run_ms());
    return best;
}

// Each plan's best time over `rounds` rounds that run the plans in turn (a slow spell of a shared
// machine then hits every plan alike), in ms.
std::vector<double> time_plans(const std::vector<const PlanContents*>& plans, const BuildOptions& options,
                               int rounds) {
    std::vector<std::unique_ptr<TimedPlan>> timed;
    for (const PlanContents* c : plans) timed.push_back(std::make_unique<TimedPlan>(*c, options, false));
    std::vector<double> best(plans.size(), 1e30);
    for (int r = 0; r < rounds; ++r)
        for (size_t i = 0; i < timed.size(); ++i) best[i] = std::min(best[i], timed[i]->run_ms());
    return best;
}

// Per-layer times at max batch, by layer name: the best of `rounds` runs, each layer timed alone
// (a device is synchronized after each). Two plans are profiled in turn.
std::array<std::map<std::string, double>, 2> profile_layers(const PlanContents& a, const PlanContents& b,
                                                            const BuildOptions& options, int rounds) {
    std::array<std::unique_ptr<TimedPlan>, 2> timed{std::make_unique<TimedPlan>(a, options, true),
                                                    std::make_unique<TimedPlan>(b, options, true)};
    std::array<std::map<std::string, double>, 2> out;
    std::array<std::vector<double>, 2> before;
    for (int r = 0; r < rounds; ++r)
        for (size_t p = 0; p < 2; ++p) {
            (void)timed[p]->run_ms();
            const std::vector<LayerTiming>& prof = timed[p]->ctx->profile();
            before[p].resize(prof.size(), 0.0);
            for (size_t i = 0; i < prof.size(); ++i) {
                const double ms = prof[i].total_ms - before[p][i];
                before[p][i] = prof[i].total_ms;
                auto [it, fresh] = out[p].emplace(prof[i].name, ms);
                if (!fresh) it->second = std::min(it->second, ms);
            }
        }
    return out;
}

struct PrecisionCounts {
    int reduced = 0;      // nodes assign_precision set to the reduced type
    int int8_layers = 0;  // assign_int8's rewrites
    int convs = 0, int8_convs = 0;
};

// Every node's precision: `reduced` where its backend has the kernel (FP32 elsewhere), then INT8 where
// `int8`, except the layers named in `keep_float`.
PrecisionCounts assign_precisions(Graph& g, DataType reduced, const PrecisionSupport& supports, bool int8,
                                  const std::set<std::string>& keep_float) {
    const PrecisionSupport s = [&](const Graph& gr, NodeId n, DataType dt) {
        if (dt == DataType::I8 && keep_float.count(gr.node(n).name) != 0) return false;
        return supports(gr, n, dt);
    };
    PrecisionCounts c;
    c.reduced = assign_precision(g, reduced, s).rewrites;
    if (int8) c.int8_layers = assign_int8(g, s).rewrites;
    for (NodeId n = 0; n < g.num_nodes(); ++n) {
        if (g.node(n).dead || g.node(n).op != OpType::Conv) continue;
        ++c.convs;
        c.int8_convs += g.node(n).precision == DataType::I8 ? 1 : 0;
    }
    if (g.num_live_nodes() != g.num_nodes()) g.compact();
    return c;
}

struct MeasuredPrecision {
    Graph graph;                                 // the chosen precisions
    PlanContents plan;                           // its plan in the layout measured
    std::map<std::string, std::string> tactics;  // what was measured, for PlanInfo::tactics
};

// The INT8 convolution layers of `plan` (an INT8 plan's graph, made by finish_plan from `before`): each
// I8 Conv, and each I8 ConvPair with the two convs of `before` it runs, found by its middle value
// (ConvPairParams::mid_name): the first conv produces it, the second reads it.
std::vector<Int8Layer> int8_conv_layers(const Graph& plan, const Graph& before) {
    std::vector<Int8Layer> out;
    for (NodeId n = 0; n < plan.num_nodes(); ++n) {
        const Node& node = plan.node(n);
        if (node.dead || node.precision != DataType::I8) continue;
        if (node.op == OpType::Conv) out.push_back({node.name, {node.name}});
        const auto* pp = std::get_if<ConvPairParams>(&node.params);
        if (node.op != OpType::ConvPair || pp == nullptr) continue;
        const ValueId mid = before.find_value(pp->mid_name);
        ENGINE_CHECK(mid != kNoValue && before.value(mid).producer != kNoNode &&
                         before.value(mid).consumers.size() == 1,
                     node_desc(node), ": its middle value '", pp->mid_name,
                     "' is not one conv's output read by one conv in the graph it was made from");
        out.push_back({node.name,
                       {before.node(before.value(mid).producer).name,
                        before.node(before.value(mid).consumers[0]).name}});
    }
    return out;
}

// `best` with INT8 layers (TensorRT's rule: INT8 where it is faster). `all_int8` has INT8 wherever it
// can run (assign_precisions on `base` with no layer kept float). Its plan and the plan without INT8
// are profiled per layer at max batch. The convs whose float kernel beat their INT8 one by a margin
// (float < ratio x INT8, for each ratio of kRatios) make the mixed candidates. Every candidate is then
// timed whole, in turn, so the reorders a float layer between INT8 ones adds are counted, and the
// fastest wins. A ConvPair of the INT8 plan is weighed as one layer (int8_slower_convs): its time
// against the float plan's pair of the same name, or the sum of its two convs there; both its convs
// go to float together or stay in INT8 together. A conv that is alone in the INT8 plan but paired in
// the float one has no float time of its own and stays in INT8 (int8_slower_layers' rule).
MeasuredPrecision choose_int8_by_time(const Graph& all_int8, const Graph& base, DataType reduced,
                                      const PrecisionSupport& supports, Layout layout, const PlanRequest& r) {
    constexpr int kProfileRounds = 5, kWholeRounds = 7;
    constexpr std::array<double, 3> kRatios{1.0, 0.75, 0.5};
    struct Candidate {
        std::string name;
        Graph graph;
        PlanContents plan;
        std::vector<std::string> float_convs;
    };
    std::vector<Candidate> cands;
    cands.push_back({"int8", all_int8, finish_plan(all_int8, layout, r), {}});
    Graph no_int8 = base;
    // Named by what its layers compute: FP32 where the device has no kernels of the reduced type.
    const bool any_reduced = assign_precisions(no_int8, reduced, supports, false, {}).reduced > 0;
    PlanContents b = finish_plan(no_int8, layout, r);
    cands.push_back({std::string(dtype_name(any_reduced ? reduced : DataType::F32)),
                     std::move(no_int8),
                     std::move(b),
                     {}});
    const auto prof = profile_layers(cands[0].plan, cands[1].plan, r.options, kProfileRounds);
    const std::vector<Int8Layer> int8_layers = int8_conv_layers(cands[0].plan.graph, all_int8);
    std::vector<std::string> int8_convs;
    for (const Int8Layer& l : int8_layers)
        int8_convs.insert(int8_convs.end(), l.convs.begin(), l.convs.end());
    for (double ratio : kRatios) {
        std::map<std::string, double> scaled = prof[0];
        for (auto& [name, ms] : scaled) ms *= ratio;
        std::vector<std::string> slower = int8_slower_convs(int8_layers, scaled, prof[1]);
        if (slower.empty() || slower.size() == int8_convs.size()) continue;
        if (cands.back().float_convs == slower) continue;  // the same set as the last ratio's
        Graph mixed = base;
        (void)assign_precisions(mixed, reduced, supports, true,
                                std::set<std::string>(slower.begin(), slower.end()));
        PlanContents c = finish_plan(mixed, layout, r);
        cands.push_back({concat("mixed", slower.size()), std::move(mixed), std::move(c), std::move(slower)});
    }
    std::vector<const PlanContents*> plans;
    for (const Candidate& c : cands) plans.push_back(&c.plan);
    const std::vector<double> ms = time_plans(plans, r.options, kWholeRounds);
    const size_t win = static_cast<size_t>(std::min_element(ms.begin(), ms.end()) - ms.begin());

    MeasuredPrecision m;
    std::string timings;
    for (size_t i = 0; i < cands.size(); ++i) {
        m.tactics[concat("precision.ms.", cands[i].name)] = concat(ms[i]);
        timings += concat(i ? ", " : "", cands[i].name, " ", fmt::format("{:.3f}", ms[i]), " ms");
    }
    std::string listed;
    for (size_t i = 0; i < cands[win].float_convs.size(); ++i)
        listed += concat(i ? " " : "", cands[win].float_convs[i]);
    m.tactics["precision"] = cands[win].name;
    m.tactics["precision.float_convs"] = listed;
    const std::vector<std::string>& kept = cands[win].float_convs;
    std::string shown;
    for (size_t i = 0; i < kept.size() && i < 8; ++i) shown += concat(i ? ", " : "; float: ", kept[i]);
    if (kept.size() > 8) shown += ", ...";
    engine::logger().info(
        "{}: best: timed at batch {}: {} -> {} ({} of {} INT8-capable convolutions in INT8{})", r.model_name,
        r.options.max_batch, timings, cands[win].name, win == 1 ? size_t{0} : int8_convs.size() - kept.size(),
        int8_convs.size(), shown);
    const auto ms_of = [](const std::map<std::string, double>& p, const std::string& name) {
        const auto it = p.find(name);
        return it == p.end() ? -1.0 : it->second;
    };
    for (const Int8Layer& l : int8_layers)
        engine::logger().debug("{}: {}: int8 {:.4f} ms, {} {:.4f} ms", r.model_name, l.name,
                               ms_of(prof[0], l.name), cands[1].name,
                               layer_float_ms(l, prof[1]).value_or(-1.0));
    m.graph = std::move(cands[win].graph);
    m.plan = std::move(cands[win].plan);
    return m;
}

}  // namespace

Plan build_plan(Graph graph, const BuildOptions& options, const std::string& model_name,
                const std::string& model_sha256) {
    ENGINE_CHECK(options.max_batch >= 1 && options.max_batch <= kMaxBatch, "max batch ", options.max_batch,
                 " out of range (1..", kMaxBatch, ")");
    ENGINE_CHECK(options.layout == "auto" || options.layout == "plain" || options.layout == "nhwc" ||
                     options.layout == "blocked16",
                 "unknown layout '", options.layout, "' (expected auto, plain, nhwc or blocked16)");
    std::vector<std::unique_ptr<Backend>> backends = make_device_backends(options.device);
    std::map<std::string, Backend*> by_name;
    for (auto& b : backends) by_name[std::string(b->name())] = b.get();
    for (auto& b : backends) b->set_threads(options.threads);

    Graph& g = graph;
    ENGINE_CHECK(!g.outputs().empty(), "model '", model_name, "' has no outputs");
    // The passes that turn a QDQ model's own quantization into INT8 ranges run where INT8 is allowed.
    const bool int8_allowed = options.precision == Precision::INT8 || options.precision == Precision::Best;
    run_passes(g, options.disabled_passes, PipelineOptions{.int8 = int8_allowed});
    // INT8: ranges gathered on the equalized graph need the same equalization here.
    const std::shared_ptr<const CalibrationTable> calibration = load_calibration(options);
    if (options.equalize || (calibration && calibration->equalize)) equalize_channels(g);
    g.compact();
    check_runtime_types(g);
    std::vector<NodeId> order = g.topo_order();

    // Backends: the first in priority order that supports the node.
    for (NodeId n : order) {
        Node& node = g.node(n);
        std::string reasons;
        node.backend.clear();
        for (auto& b : backends) {
            std::string why;
            if (b->supports(g, n, &why)) {
                node.backend = std::string(b->name());
                break;
            }
            reasons +=
                concat(reasons.empty() ? "" : "; ", b->name(), ": ", why.empty() ? "unsupported" : why);
        }
        ENGINE_CHECK(!node.backend.empty(), "no backend of device '", options.device, "' runs ",
                     node_desc(node), " (", reasons, ")");
        if (!reasons.empty()) engine::logger().debug("{} -> {} ({})", node_desc(node), node.backend, reasons);
    }

    // Precision: reduced where the node's backend has the kernel, FP32 elsewhere; then INT8 where
    // allowed, calibrated and the backend has the kernel.
    const std::set<std::string> float_layers = apply_calibration(g, calibration.get(), options, model_name);
    const PrecisionSupport supports = [&](const Graph& gr, NodeId n, DataType dt) {
        if (dt == DataType::I8 && float_layers.count(gr.node(n).name) != 0) return false;
        return by_name.at(gr.node(n).backend)->supports_precision(gr, n, dt);
    };
    DataType reduced = reduced_type(options.precision, g, order, by_name, model_name, options.device);
    bool int8 = int8_allowed;
    if (options.precision == Precision::INT8) {
        ENGINE_CHECK(
            any_calibrated(g), model_name,
            ": precision int8 needs activation ranges: a calibration (`rtdet build --calib IMAGES` or ",
            "--calib-cache FILE) or a model with QuantizeLinear/DequantizeLinear nodes");
        bool any = false;
        for (NodeId n : order) any = any || supports(g, n, DataType::I8);
        if (!any) {
            int8 = false;
            reduced = reduced_type(Precision::Best, g, order, by_name, model_name, options.device);
            bool any_reduced = false;
            for (NodeId n : order) any_reduced = any_reduced || supports(g, n, reduced);
            if (!any_reduced) reduced = DataType::F32;
            std::string devices;
            for (const auto& b : backends)
                devices += concat(devices.empty() ? "" : ", ", b->device_signature());
            engine::logger().info(
                "{}: device '{}' ({}) has no INT8 kernels for this model (INT8 convolutions need "
                "VNNI or AMX); precision int8 builds {} where it can instead",
                model_name, options.device, devices, dtype_name(reduced));
        }
    }
    // best with INT8 measures its precisions below, assigning them again from the graph as it is now.
    const bool measure = options.precision == Precision::Best && options.time_tactics && int8;
    std::optional<Graph> base;
    if (measure) base = g;
    const PrecisionCounts counts = assign_precisions(g, reduced, supports, int8, {});
    if (int8 && (options.precision == Precision::INT8 || counts.int8_layers > 0))
        engine::logger().info("{}: INT8: {} of {} convolutions, {} layers in all", model_name,
                              counts.int8_convs, counts.convs, counts.int8_layers);
    if (reduced != DataType::F32 && counts.reduced == 0)
        engine::logger().info(
            "{}: device '{}' has no {} kernels for this model; precision {} falls back to FP32", model_name,
            options.device, dtype_name(reduced), precision_name(options.precision));

    // Activation layout: each candidate gives a complete plan; with several, the fastest wins.
    const PlanRequest request{options, model_name, model_sha256, backends, by_name};
    std::vector<Layout> candidates = layout_candidates(options, g, backends);
    std::map<std::string, std::string> tactics;
    // best with INT8 layers: INT8 only where it measures faster, decided in the first layout; the
    // layouts are then those of the chosen precisions (INT8 plans have fewer), the measured one first.
    std::optional<PlanContents> first;
    const Layout measured = candidates.front();
    if (measure && counts.int8_convs > 0) {
        MeasuredPrecision m = choose_int8_by_time(g, *base, reduced, supports, measured, request);
        g = std::move(m.graph);
        first = std::move(m.plan);
        tactics.merge(m.tactics);
        candidates = layout_candidates(options, g, backends);
        std::erase(candidates, measured);
        candidates.insert(candidates.begin(), measured);
    }
    PlanContents best;
    double best_ms = 1e30;
    Layout chosen = candidates.front();
    for (Layout l : candidates) {
        PlanContents c = first && l == measured ? std::move(*first) : finish_plan(g, l, request);
        if (candidates.size() == 1) {
            best = std::move(c);
            break;
        }
        const double ms = time_plan(c, options);
        tactics[concat("ms.", layout_name(l))] = concat(ms);
        engine::logger().debug("{}: activation layout {}: {:.3f} ms", model_name, layout_name(l), ms);
        if (ms < best_ms) {
            best_ms = ms;
            chosen = l;
            best = std::move(c);
        }
    }
    tactics["activation_layout"] = std::string(layout_name(chosen));
    if (candidates.size() > 1) {
        std::string timings;
        for (Layout l : candidates)
            timings += concat(timings.empty() ? "" : ", ", layout_name(l), " ",
                              tactics[concat("ms.", layout_name(l))], " ms");
        engine::logger().info("{}: activation layout {} ({})", model_name, layout_name(chosen), timings);
    }
    best.info.tactics = std::move(tactics);
    return Plan::from_bytes(write_plan(best), model_name);
}

Plan build_plan_from_onnx(const std::string& onnx_path, const BuildOptions& options) {
    const std::vector<std::byte> bytes = read_file(onnx_path);
    const std::string sha = sha256_hex(bytes);
    ENGINE_CHECK(options.max_batch >= 1 && options.max_batch <= kMaxBatch, "max batch ", options.max_batch,
                 " out of range (1..", kMaxBatch, ")");
    onnx::ImportOptions io;
    io.batch = options.max_batch;
    Graph g = onnx::import_file(onnx_path, io);
    return build_plan(std::move(g), options, std::filesystem::path(onnx_path).stem().string(), sha);
}

}  // namespace engine
