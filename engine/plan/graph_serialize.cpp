#include "engine/plan/graph_serialize.h"

#include <array>
#include <cmath>
#include <string_view>
#include <utility>

#include "engine/core/error.h"

namespace engine {
namespace {

using nlohmann::json;

// Enums are written as their enum_key (engine/ir/params.h): "leaky_relu", "half_pixel", ...
template <typename E>
E enum_from(const JsonView& j) {
    const std::string s = j.str();
    if (const auto e = enum_from_key<E>(s)) return *e;
    j.fail(concat("unknown value '", s, "'"));
}

json act_to_json(const Act& a) {
    return {{"kind", enum_key(a.kind)}, {"alpha", f32_to_json(a.alpha)}, {"beta", f32_to_json(a.beta)}};
}

Act act_from_json(const JsonView& j) {
    Act a;
    a.kind = enum_from<ActKind>(j.at("kind"));
    a.alpha = j.at("alpha").f32();
    a.beta = j.at("beta").f32();
    return a;
}

template <size_t N>
std::array<int32_t, N> int_array(const JsonView& j, int32_t lo, int32_t hi) {
    if (j.size() != N) j.fail(concat("expected ", N, " integers"));
    std::array<int32_t, N> out{};
    for (size_t i = 0; i < N; ++i) out[i] = j.at(i).i32(lo, hi);
    return out;
}

std::vector<int64_t> i64_vector(const JsonView& j, int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) {
    std::vector<int64_t> out(j.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = j.at(i).i64(lo, hi);
    return out;
}

constexpr int32_t kMaxWindow = 1 << 16;

// The fields of each params type; params_to_json adds "kind" (params_kind_key).
struct ToJson {
    json operator()(const NoParams&) const { return json::object(); }
    json operator()(const ConvParams& p) const {
        return {{"kernel", p.kernel},     {"stride", p.stride},
                {"dilation", p.dilation}, {"pads", p.pads},
                {"group", p.group},       {"act", act_to_json(p.act)},
                {"residual", p.residual}, {"post_act", act_to_json(p.post_act)}};
    }
    // Each conv as a Conv's params, nested.
    json operator()(const ConvPairParams& p) const {
        return {{"first", (*this)(p.first)},
                {"second", (*this)(p.second)},
                {"mid_amax", f32_to_json(p.mid_amax)},
                {"mid_name", p.mid_name}};
    }
    json operator()(const BatchNormParams& p) const { return {{"epsilon", f32_to_json(p.epsilon)}}; }
    json operator()(const UnaryParams& p) const {
        return {{"alpha", f32_to_json(p.alpha)}, {"beta", f32_to_json(p.beta)}};
    }
    json operator()(const ConcatParams& p) const { return {{"axis", p.axis}, {"in_place", p.in_place}}; }
    json operator()(const ResizeParams& p) const {
        json scales = json::array();
        for (float s : p.scales) scales.push_back(f32_to_json(s));
        return {{"scales", scales}, {"coord", enum_key(p.coord)}, {"nearest", enum_key(p.nearest)}};
    }
    json operator()(const MaxPoolParams& p) const {
        return {{"kernel", p.kernel},
                {"stride", p.stride},
                {"dilation", p.dilation},
                {"pads", p.pads},
                {"ceil_mode", p.ceil_mode}};
    }
    json operator()(const TransposeParams& p) const { return {{"perm", p.perm}}; }
    json operator()(const SliceParams& p) const { return {{"starts", p.starts}, {"steps", p.steps}}; }
    json operator()(const SplitParams& p) const { return {{"axis", p.axis}, {"sizes", p.sizes}}; }
    json operator()(const SoftmaxParams& p) const { return {{"axis", p.axis}, {"coerce_2d", p.coerce_2d}}; }
    json operator()(const QuantParams& p) const { return {{"axis", p.axis}, {"qtype", dtype_name(p.qtype)}}; }
    json operator()(const PadParams& p) const {
        return {{"mode", enum_key(p.mode)}, {"pads", p.pads}, {"value", f32_to_json(p.value)}};
    }
};

void read(const JsonView& j, NoParams& p) { (void)j, (void)p; }
void read(const JsonView& j, ConvParams& p) {
    p.kernel = int_array<2>(j.at("kernel"), 1, kMaxWindow);
    p.stride = int_array<2>(j.at("stride"), 1, kMaxWindow);
    p.dilation = int_array<2>(j.at("dilation"), 1, kMaxWindow);
    p.pads = int_array<4>(j.at("pads"), 0, kMaxWindow);
    p.group = j.at("group").i32(1, INT32_MAX);
    p.act = act_from_json(j.at("act"));
    p.residual = j.at("residual").boolean();
    p.post_act = act_from_json(j.at("post_act"));
}

void read(const JsonView& j, ConvPairParams& p) {
    read(j.at("first"), p.first);
    read(j.at("second"), p.second);
    const JsonView ja = j.at("mid_amax");
    p.mid_amax = ja.f32();
    if (!(p.mid_amax >= 0 && std::isfinite(p.mid_amax))) ja.fail("mid_amax must be a finite number >= 0");
    p.mid_name = j.at("mid_name").str();
}

void read(const JsonView& j, BatchNormParams& p) { p.epsilon = j.at("epsilon").f32(); }

void read(const JsonView& j, UnaryParams& p) {
    p.alpha = j.at("alpha").f32();
    p.beta = j.at("beta").f32();
}

void read(const JsonView& j, ConcatParams& p) {
    p.axis = j.at("axis").i32(-16, 15);
    p.in_place = j.at("in_place").boolean();
}

void read(const JsonView& j, ResizeParams& p) {
    const JsonView scales = j.at("scales");
    for (size_t i = 0; i < scales.size(); ++i) {
        const float s = scales.at(i).f32();
        if (!(std::isfinite(s) && s > 0.f)) scales.at(i).fail("scale must be finite and positive");
        p.scales.push_back(s);
    }
    p.coord = enum_from<ResizeCoord>(j.at("coord"));
    p.nearest = enum_from<ResizeNearest>(j.at("nearest"));
}

void read(const JsonView& j, MaxPoolParams& p) {
    p.kernel = int_array<2>(j.at("kernel"), 1, kMaxWindow);
    p.stride = int_array<2>(j.at("stride"), 1, kMaxWindow);
    p.dilation = int_array<2>(j.at("dilation"), 1, kMaxWindow);
    p.pads = int_array<4>(j.at("pads"), 0, kMaxWindow);
    p.ceil_mode = j.at("ceil_mode").boolean();
}

void read(const JsonView& j, TransposeParams& p) {
    const JsonView perm = j.at("perm");
    for (size_t i = 0; i < perm.size(); ++i) p.perm.push_back(perm.at(i).i32(0, 15));
}

void read(const JsonView& j, SliceParams& p) {
    p.starts = i64_vector(j.at("starts"));
    p.steps = i64_vector(j.at("steps"));
    for (int64_t s : p.steps)
        if (s == 0) j.at("steps").fail("steps must be non-zero");
}

void read(const JsonView& j, SplitParams& p) {
    p.axis = j.at("axis").i32(-16, 15);
    p.sizes = i64_vector(j.at("sizes"), 0);
}

void read(const JsonView& j, SoftmaxParams& p) {
    p.axis = j.at("axis").i32(-16, 15);
    p.coerce_2d = j.at("coerce_2d").boolean();
}

void read(const JsonView& j, PadParams& p) {
    p.mode = enum_from<PadMode>(j.at("mode"));
    p.pads = i64_vector(j.at("pads"), -(int64_t{1} << 31), int64_t{1} << 31);
    p.value = j.at("value").f32();
}

void read(const JsonView& j, QuantParams& p) {
    p.axis = j.at("axis").i32(0, 15);
    const JsonView q = j.at("qtype");
    const std::string name = q.str();
    for (DataType dt : {DataType::I8, DataType::U8, DataType::I32})
        if (name == dtype_name(dt)) p.qtype = dt;
    if (name != dtype_name(p.qtype)) q.fail(concat("unknown quantized type '", name, "' (i8, u8, i32)"));
}

template <typename P>
OpParams read_as(const JsonView& j) {
    P p;
    read(j, p);
    return p;
}

using ParamsReader = OpParams (*)(const JsonView&);
#define ENGINE_PARAMS_READER(Name) , read_as<Name##Params>
constexpr ParamsReader kReaders[] = {read_as<NoParams> ENGINE_PARAMS_LIST(ENGINE_PARAMS_READER)};
#undef ENGINE_PARAMS_READER
static_assert(std::size(kReaders) == std::variant_size_v<OpParams>);

}  // namespace

json params_to_json(const OpParams& params) {
    json j = std::visit(ToJson{}, params);
    j["kind"] = params_kind_key(params.index());
    return j;
}

OpParams params_from_json(const JsonView& j) {
    const JsonView jk = j.at("kind");
    const std::string kind = jk.str();
    const auto index = params_index_of_key(kind);
    if (!index) jk.fail(concat("unknown params kind '", kind, "'"));
    return kReaders[*index](j);
}

json graph_to_json(const Graph& g, const std::vector<size_t>& constant_blob,
                   const std::vector<std::vector<size_t>>& packed_blobs) {
    json values = json::array();
    for (size_t i = 0; i < g.num_values(); ++i) {
        const Value& v = g.value(static_cast<ValueId>(i));
        json jv = {{"name", v.name},
                   {"dtype", dtype_name(v.desc.dtype)},
                   {"storage_dtype", dtype_name(v.storage_dtype)},
                   {"layout", layout_name(v.layout)},
                   {"shape", v.desc.shape},
                   {"batched", v.batched},
                   {"input", v.is_graph_input},
                   {"output", v.is_graph_output}};
        if (v.amax > 0) jv["amax"] = v.amax;
        if (v.constant && constant_blob.at(i) == kElidedBlob)
            jv["elided"] = true;
        else if (v.constant)
            jv["constant"] = constant_blob.at(i);
        values.push_back(std::move(jv));
    }
    json nodes = json::array();
    for (size_t i = 0; i < g.num_nodes(); ++i) {
        const Node& n = g.node(static_cast<NodeId>(i));
        ENGINE_ASSERT(!n.dead);
        nodes.push_back({{"op", op_type_name(n.op)},
                         {"name", n.name},
                         {"inputs", n.inputs},
                         {"outputs", n.outputs},
                         {"params", params_to_json(n.params)},
                         {"backend", n.backend},
                         {"precision", dtype_name(n.precision)},
                         {"packed", packed_blobs.at(i)}});
    }
    return {{"opset", g.opset},
            {"values", values},
            {"nodes", nodes},
            {"inputs", g.inputs()},
            {"outputs", g.outputs()}};
}

namespace {

ValueId value_id(const JsonView& j, size_t num_values) {
    const uint64_t id = j.u64();
    if (id >= num_values) j.fail(concat("value id ", id, " out of range (", num_values, " values)"));
    return static_cast<ValueId>(id);
}

}  // namespace

Graph graph_from_json(const JsonView& j, const std::vector<Tensor>& blobs,
                      std::vector<std::vector<size_t>>& packed_blobs) {
    Graph g;
    g.opset = j.at("opset").i32(0, 10000);
    const JsonView values = j.at("values");
    const size_t num_values = values.size();
    if (num_values >= kNoValue) values.fail("too many values");
    for (size_t i = 0; i < num_values; ++i) {
        const JsonView jv = values.at(i);
        Value v;
        v.name = jv.at("name").str();
        v.desc.dtype = jv.at("dtype").dtype();
        v.storage_dtype = jv.at("storage_dtype").dtype();
        v.desc.shape = jv.at("shape").shape();
        {
            const JsonView jl = jv.at("layout");
            const std::string l = jl.str();
            if (l != layout_name(Layout::Plain) && l != layout_name(Layout::Blocked16) &&
                l != layout_name(Layout::NHWC))
                jl.fail(concat("unknown layout '", l, "'"));
            v.layout = layout_from_name(l);
            if (v.layout != Layout::Plain && v.desc.shape.size() != 4)
                jl.fail("a non-plain layout needs a 4-D value");
        }
        if (jv.has("amax")) {
            const JsonView ja = jv.at("amax");
            v.amax = ja.f32();
            if (!(v.amax > 0 && std::isfinite(v.amax))) ja.fail("amax must be a finite number > 0");
        }
        v.batched = jv.at("batched").boolean();
        if (v.batched && v.desc.shape.empty()) jv.at("batched").fail("a batched value needs rank >= 1");
        if (jv.has("constant")) {
            const JsonView jc = jv.at("constant");
            const uint64_t b = jc.u64();
            if (b >= blobs.size())
                jc.fail(concat("blob index ", b, " out of range (", blobs.size(), " blobs)"));
            const Tensor& t = blobs[b];
            if (t.dtype() != v.desc.dtype || t.shape() != v.desc.shape)
                jc.fail(concat("blob ", b, " is ", dtype_name(t.dtype()), " ", shape_str(t.shape()),
                               " but value '", v.name, "' is ", dtype_name(v.desc.dtype), " ",
                               shape_str(v.desc.shape)));
            if (v.batched) jv.at("batched").fail("a constant cannot be batched");
            v.constant = std::make_shared<const Tensor>(t);
        } else if (jv.has("elided")) {
            if (!jv.at("elided").boolean()) jv.at("elided").fail("expected true");
            if (v.batched) jv.at("batched").fail("a constant cannot be batched");
            v.constant =
                std::make_shared<const Tensor>(Tensor::wrap(v.desc.dtype, v.desc.shape, nullptr, nullptr));
        }
        g.add_value(std::move(v));
    }

    const JsonView inputs = j.at("inputs");
    for (size_t i = 0; i < inputs.size(); ++i) {
        const ValueId v = value_id(inputs.at(i), num_values);
        if (g.value(v).is_graph_input) inputs.at(i).fail("value listed twice as a graph input");
        if (g.is_constant(v)) inputs.at(i).fail("a graph input cannot be a constant");
        g.mark_input(v);
    }

    const JsonView nodes = j.at("nodes");
    const size_t num_nodes = nodes.size();
    if (num_nodes >= kNoNode) nodes.fail("too many nodes");
    packed_blobs.assign(num_nodes, {});
    for (size_t i = 0; i < num_nodes; ++i) {
        const JsonView jn = nodes.at(i);
        const std::string op_name = jn.at("op").str();
        const auto op = op_type_from_name(op_name);
        if (!op) jn.at("op").fail(concat("unknown op '", op_name, "'"));
        std::vector<ValueId> ins, outs;
        const JsonView jin = jn.at("inputs");
        for (size_t k = 0; k < jin.size(); ++k) ins.push_back(value_id(jin.at(k), num_values));
        const JsonView jout = jn.at("outputs");
        for (size_t k = 0; k < jout.size(); ++k) {
            const ValueId v = value_id(jout.at(k), num_values);
            const Value& val = g.value(v);
            if (val.producer != kNoNode || val.constant || val.is_graph_input)
                jout.at(k).fail(
                    concat("value '", val.name, "' already has a producer or is a constant/input"));
            outs.push_back(v);
        }
        if (outs.empty()) jout.fail("a node needs at least one output");
        if (static_cast<int64_t>(ins.size()) < op_min_inputs(*op) ||
            static_cast<int64_t>(ins.size()) > op_max_inputs(*op))
            jin.fail(concat(op_name, " takes ", op_min_inputs(*op), "..", op_max_inputs(*op), " inputs, got ",
                            ins.size()));
        OpParams params = params_from_json(jn.at("params"));
        const NodeId id =
            g.add_node(*op, jn.at("name").str(), std::move(ins), std::move(outs), std::move(params));
        Node& node = g.node(id);
        node.backend = jn.at("backend").str();
        node.precision = jn.at("precision").dtype();
        const JsonView jp = jn.at("packed");
        for (size_t k = 0; k < jp.size(); ++k) {
            const uint64_t b = jp.at(k).u64();
            if (b >= blobs.size())
                jp.at(k).fail(concat("blob index ", b, " out of range (", blobs.size(), " blobs)"));
            packed_blobs[i].push_back(static_cast<size_t>(b));
        }
    }

    const JsonView outputs = j.at("outputs");
    for (size_t i = 0; i < outputs.size(); ++i) g.mark_output(value_id(outputs.at(i), num_values));
    return g;
}

}  // namespace engine
