// Text dump of a graph, one line per live node (ncnn-style):
//   Conv  conv1  in: x[1,3,8,8],W[16,3,3,3],B[16]  out: y[1,16,8,8]  k=3x3 s=1 p=1,1,1,1 g=1
//   act=LeakyRelu(0.1) [cpu]
// Constants are marked with '=' (W=[16,3,3,3]), batched values with '*' after the shape.
#include <sstream>
#include <variant>

#include "engine/ir/graph.h"

namespace engine {
namespace {

std::string value_str(const Graph& g, ValueId v) {
    const Value& val = g.value(v);
    std::ostringstream os;
    os << val.name << (val.constant ? "=" : "") << shape_str(val.desc.shape) << (val.batched ? "*" : "");
    if (val.desc.dtype != DataType::F32) os << ":" << dtype_name(val.desc.dtype);
    return os.str();
}

template <typename T>
std::string join(const T& v, const char* sep = ",") {
    std::ostringstream os;
    for (size_t i = 0; i < v.size(); ++i) os << (i ? sep : "") << v[i];
    return os.str();
}

std::string pair_str(const std::array<int32_t, 2>& a) {
    return a[0] == a[1] ? std::to_string(a[0]) : std::to_string(a[0]) + "x" + std::to_string(a[1]);
}

std::string act_str(const Act& a) {
    std::ostringstream os;
    os << act_kind_name(a.kind);
    // The fields the activation op of that name reads: LeakyRelu(alpha), Clip(min,max).
    const auto op = op_type_from_name(act_kind_name(a.kind));
    if (!op) return os.str();
    const OpDesc& d = op_desc(*op);
    if (!d.attr_a.empty() && !d.attr_b.empty())
        os << "(" << a.alpha << "," << a.beta << ")";
    else if (!d.attr_a.empty())
        os << "(" << a.alpha << ")";
    return os.str();
}

struct ParamsPrinter {
    OpType op;
    std::ostringstream& os;
    void operator()(const std::monostate&) const {}
    void operator()(const ConvParams& p) const {
        os << "k=" << p.kernel[0] << "x" << p.kernel[1] << " s=" << pair_str(p.stride)
           << " p=" << join(p.pads);
        if (p.dilation[0] != 1 || p.dilation[1] != 1) os << " d=" << pair_str(p.dilation);
        os << " g=" << p.group;
        if (p.act.kind != ActKind::None) os << " act=" << act_str(p.act);
        if (p.residual) os << " +residual";
        if (p.post_act.kind != ActKind::None) os << " post_act=" << act_str(p.post_act);
    }
    // first(k=3x3 s=1 ...) second(k=3x3 s=2 ...) mid=name amax=...: each conv as a Conv prints.
    void operator()(const ConvPairParams& p) const {
        os << "first(";
        (*this)(p.first);
        os << ") second(";
        (*this)(p.second);
        os << ") mid=" << p.mid_name;
        if (p.mid_amax > 0) os << " amax=" << p.mid_amax;
    }
    void operator()(const BatchNormParams& p) const { os << "eps=" << p.epsilon; }
    void operator()(const UnaryParams& p) const {
        const OpDesc& d = op_desc(op);
        if (!d.attr_a.empty()) os << d.attr_a << "=" << p.alpha;
        if (!d.attr_b.empty()) os << (d.attr_a.empty() ? "" : " ") << d.attr_b << "=" << p.beta;
    }
    void operator()(const ConcatParams& p) const {
        os << "axis=" << p.axis << (p.in_place ? " in_place" : "");
    }
    void operator()(const ResizeParams& p) const {
        os << "scales=" << join(p.scales) << " coord=" << enum_key(p.coord)
           << " nearest=" << enum_key(p.nearest);
    }
    void operator()(const MaxPoolParams& p) const {
        os << "k=" << p.kernel[0] << "x" << p.kernel[1] << " s=" << pair_str(p.stride)
           << " p=" << join(p.pads);
        if (p.dilation[0] != 1 || p.dilation[1] != 1) os << " d=" << pair_str(p.dilation);
        if (p.ceil_mode) os << " ceil";
    }
    void operator()(const TransposeParams& p) const { os << "perm=" << join(p.perm); }
    void operator()(const SliceParams& p) const {
        os << "starts=" << join(p.starts) << " steps=" << join(p.steps);
    }
    void operator()(const SplitParams& p) const { os << "axis=" << p.axis << " sizes=" << join(p.sizes); }
    void operator()(const SoftmaxParams& p) const {
        os << "axis=" << p.axis << (p.coerce_2d ? " coerce_2d" : "");
    }
    void operator()(const QuantParams& p) const { os << "axis=" << p.axis << " q=" << dtype_name(p.qtype); }
    void operator()(const PadParams& p) const {
        os << "mode=" << enum_key(p.mode) << " pads=" << join(p.pads);
        if (p.mode == PadMode::Constant) os << " value=" << p.value;
    }
};

}  // namespace

std::string dump(const Graph& g) {
    std::ostringstream os;
    os << "inputs:";
    for (ValueId v : g.inputs()) os << " " << value_str(g, v);
    os << "\n";
    std::vector<NodeId> order;
    try {
        order = g.topo_order();
    } catch (const std::exception&) {
        for (NodeId n = 0; n < g.num_nodes(); ++n)
            if (!g.node(n).dead) order.push_back(n);  // a broken graph still dumps, in id order
    }
    for (NodeId n : order) {
        const Node& node = g.node(n);
        os << op_type_name(node.op) << "  " << node.name << "  in: ";
        for (size_t i = 0; i < node.inputs.size(); ++i) os << (i ? "," : "") << value_str(g, node.inputs[i]);
        os << "  out: ";
        for (size_t i = 0; i < node.outputs.size(); ++i)
            os << (i ? "," : "") << value_str(g, node.outputs[i]);
        std::ostringstream ps;
        std::visit(ParamsPrinter{node.op, ps}, node.params);
        if (!ps.str().empty()) os << "  " << ps.str();
        if (!node.backend.empty()) {
            os << " [" << node.backend;
            if (node.precision != DataType::F32) os << " " << dtype_name(node.precision);
            os << "]";
        }
        os << "\n";
    }
    os << "outputs:";
    for (ValueId v : g.outputs()) os << " " << value_str(g, v);
    os << "\n";
    return os.str();
}

}  // namespace engine
