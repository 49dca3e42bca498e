// The import driver: parse, check opset and op support (one message for every unsupported op), bind
// graph inputs, import nodes in topological order with errors wrapped at the node boundary, bind
// graph outputs, copy metadata.
#include "engine/onnx/importer.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <functional>
#include <queue>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/onnx/attributes.h"
#include "engine/onnx/import_context.h"

namespace engine::onnx {
namespace {

constexpr int kMinOpset = 9;
constexpr int kMaxOpset = 17;

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

std::string node_display_name(const ::onnx::NodeProto& node, int index) {
    return node.name().empty() ? concat(node.op_type(), "_", index) : node.name();
}

int default_opset(const ::onnx::ModelProto& model, const std::string& source) {
    int opset = -1;
    for (const auto& imp : model.opset_import())
        if (is_default_domain(imp.domain())) opset = static_cast<int>(imp.version());
    ENGINE_CHECK(opset >= 0, source,
                 ": the model imports no opset of the default ONNX domain (opset_import lists ",
                 model.opset_import_size(), " other domains)");
    ENGINE_CHECK(opset >= kMinOpset && opset <= kMaxOpset, source, ": opset ", opset,
                 " is not supported (supported: default-domain opsets ", kMinOpset, "-", kMaxOpset,
                 "); convert the model with onnx.version_converter or re-export it");
    return opset;
}

// Every unsupported (op, domain) of the model in one message.
void check_ops(const ::onnx::ModelProto& model, const std::string& source, int opset) {
    std::unordered_map<std::string, int64_t> domain_versions;
    for (const auto& imp : model.opset_import()) domain_versions[imp.domain()] = imp.version();
    struct Bad {
        std::string key;
        std::string first_node;
        std::string where;
        int count = 0;
    };
    std::vector<Bad> bad;
    const auto& nodes = model.graph().node();
    for (int i = 0; i < nodes.size(); ++i) {
        const auto& node = nodes[i];
        std::string where;
        if (is_default_domain(node.domain())) {
            if (find_op_importer(node.op_type()) != nullptr) continue;
            where = concat("opset ", opset);
        } else {
            auto it = domain_versions.find(node.domain());
            where = it == domain_versions.end() ? concat("domain '", node.domain(), "' (not in opset_import)")
                                                : concat("domain '", node.domain(), "' opset ", it->second);
        }
        const std::string key = node.domain().empty() ? node.op_type() : node.domain() + "." + node.op_type();
        auto it = std::find_if(bad.begin(), bad.end(), [&](const Bad& b) { return b.key == key; });
        if (it != bad.end()) {
            ++it->count;
            continue;
        }
        bad.push_back({key, node_display_name(node, i), where, 1});
    }
    if (bad.empty()) return;
    std::ostringstream os;
    os << source << ": unsupported ops: ";
    for (size_t k = 0; k < bad.size(); ++k) {
        if (k) os << ", ";
        os << bad[k].key << " (node '" << bad[k].first_node << "'";
        if (bad[k].count > 1) os << " and " << bad[k].count - 1 << " more";
        os << ", " << bad[k].where << ")";
    }
    throw Error(os.str());
}

// Nodes in a topological order, stable (ties keep file order). Inputs nobody defines do not block a node:
// importing it reports the undefined name.
std::vector<int> topo_sort_nodes(const ::onnx::GraphProto& graph, const std::string& source) {
    const int n = graph.node_size();
    std::unordered_map<std::string, int> producer;
    for (int i = 0; i < n; ++i)
        for (const auto& out : graph.node(i).output())
            if (!out.empty()) producer.emplace(out, i);
    std::vector<int> pending(static_cast<size_t>(n), 0);
    std::vector<std::vector<int>> users(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        for (const auto& in : graph.node(i).input()) {
            auto it = producer.find(in);
            if (in.empty() || it == producer.end()) continue;
            ++pending[i];
            users[it->second].push_back(i);
        }
    }
    std::priority_queue<int, std::vector<int>, std::greater<>> ready;
    for (int i = 0; i < n; ++i)
        if (pending[i] == 0) ready.push(i);
    std::vector<int> order;
    while (!ready.empty()) {
        const int i = ready.top();
        ready.pop();
        order.push_back(i);
        for (int u : users[i])
            if (--pending[u] == 0) ready.push(u);
    }
    if (static_cast<int>(order.size()) != n) {
        for (int i = 0; i < n; ++i)
            if (pending[i] > 0)
                ENGINE_THROW(source, ": the graph has a cycle through node #", i, " '",
                             node_display_name(graph.node(i), i), "' [", graph.node(i).op_type(), "]");
    }
    return order;
}

void add_graph_inputs(ImportContext& ctx, const ::onnx::GraphProto& graph,
                      const std::unordered_set<std::string>& initializer_names, const ImportOptions& options,
                      const std::string& source) {
    std::unordered_set<std::string> input_names;
    for (const auto& in : graph.input()) {
        if (initializer_names.count(in.name())) continue;  // an initializer listed as input: a constant
        input_names.insert(in.name());
        const std::string what = concat(source, ": graph input '", in.name(), "'");
        ENGINE_CHECK(in.type().has_tensor_type(), what,
                     " is not a tensor (sequences, maps and optionals are "
                     "unsupported)");
        const auto& tt = in.type().tensor_type();
        ENGINE_CHECK(tt.elem_type() == ::onnx::TensorProto::FLOAT, what, " has element type ",
                     onnx_type_name(tt.elem_type()), "; only float32 graph inputs are supported");
        Shape shape;
        auto ov = options.input_shapes.find(in.name());
        if (ov != options.input_shapes.end()) {
            shape = ov->second;
            for (int64_t d : shape)
                ENGINE_CHECK(d > 0, what, ": override shape ", shape_str(shape), " is invalid");
        } else {
            ENGINE_CHECK(tt.has_shape(), what, " has no shape; give one with the input shape option");
            for (int d = 0; d < tt.shape().dim_size(); ++d) {
                const auto& dim = tt.shape().dim(d);
                const bool known = dim.has_dim_value() && dim.dim_value() >= 0;
                if (d == 0 && !known) {
                    shape.push_back(1);  // symbolic batch: 1 unless the batch option says otherwise
                    continue;
                }
                ENGINE_CHECK(known, what, " dim ", d, " is ",
                             dim.has_dim_param() ? concat("symbolic ('", dim.dim_param(), "')")
                                                 : std::string("unknown"),
                             "; give the full shape with the input shape option");
                shape.push_back(dim.dim_value());
            }
        }
        if (options.batch > 0 && !shape.empty()) shape[0] = options.batch;
        (void)checked_numel(shape, concat(what, " shape"));
        Value v;
        v.name = in.name();
        v.desc = {DataType::F32, shape};
        const ValueId id = ctx.graph().add_value(std::move(v));
        ctx.graph().mark_input(id);
        ctx.bind(in.name(), id);
    }
    // Dim 0 is the batch of every input when the batch option set it, or when all inputs agree on it
    // (a model whose inputs differ in dim 0, like a tensor and a broadcast operand, has no batch).
    Graph& g = ctx.graph();
    bool same_dim0 = true;
    for (ValueId v : g.inputs()) {
        const Shape& s = g.value(v).desc.shape;
        same_dim0 = same_dim0 && !s.empty() && s[0] == g.value(g.inputs()[0]).desc.shape[0];
    }
    for (ValueId v : g.inputs())
        g.value(v).batched = !g.value(v).desc.shape.empty() && (options.batch > 0 || same_dim0);
    for (const auto& [name, shape] : options.input_shapes)
        ENGINE_CHECK(input_names.count(name), source, ": input shape given for '", name,
                     "', which is not a graph input of the model");
}

// Shape inference names the node itself ("node 'x' [Op]: ..."); the wrapper already does.
std::string without_node_prefix(const std::string& msg, const std::string& name) {
    const std::string prefix = "node '" + name + "' [";
    if (msg.rfind(prefix, 0) != 0) return msg;
    const size_t end = msg.find("]: ", prefix.size());
    return end == std::string::npos ? msg : msg.substr(end + 3);
}

void import_node(ImportContext& ctx, const ::onnx::NodeProto& node) {
    const OpImporter* imp = find_op_importer(node.op_type());
    ENGINE_ASSERT(imp != nullptr);  // check_ops ran first
    // Resolve every input first: undefined names fail here, naming the slot, and lazily materialised
    // initializers are all in the graph before the op importer looks at shapes.
    for (int i = 0; i < node.input_size(); ++i)
        if (ctx.has_input(node, i)) (void)ctx.input(node, i);
    bool fold = false;
    switch (imp->fold_when) {
        case FoldWhen::Never:
            break;
        case FoldWhen::Always:
            fold = true;
            break;
        case FoldWhen::AllConst:
        case FoldWhen::AllConstSmall: {
            fold = true;
            bool shape_like = true;
            for (int i = 0; i < node.input_size(); ++i) {
                if (!ctx.has_input(node, i)) continue;
                const ValueId v = ctx.input(node, i);
                fold = fold && ctx.is_constant(v);
                const Shape s = ctx.shape(v);
                shape_like = shape_like && s.size() <= 1 && shape_numel(s) <= kShapeLikeMaxElements;
            }
            if (fold && imp->fold_when == FoldWhen::AllConstSmall && ctx.has_input(node, 0))
                fold = !is_float(ctx.desc(ctx.input(node, 0)).dtype) || shape_like;
            break;
        }
    }
    if (fold) {
        imp->fold(ctx, node);
    } else {
        imp->import(ctx, node);
    }
}

Graph import_model(const ::onnx::ModelProto& model, const std::string& source, const ImportOptions& options) {
    ENGINE_CHECK(model.has_graph(), source, ": the model has no graph (not an ONNX model, or an empty one)");
    const int opset = default_opset(model, source);
    const auto& graph = model.graph();
    check_ops(model, source, opset);
    ENGINE_CHECK(graph.sparse_initializer_size() == 0, source, ": sparse initializers are not supported");

    Graph g;
    ImportContext ctx(g, opset);

    std::unordered_map<std::string, const ::onnx::TensorProto*> initializers;
    std::unordered_set<std::string> initializer_names;
    for (const auto& t : graph.initializer()) {
        initializers[t.name()] = &t;
        initializer_names.insert(t.name());
        ctx.reserve_name(t.name());
    }
    for (const auto& node : graph.node()) {
        for (const auto& in : node.input()) ctx.consumed_names.insert(in);
        for (const auto& out : node.output()) ctx.reserve_name(out);
    }
    for (const auto& out : graph.output()) ctx.consumed_names.insert(out.name());
    for (const auto& in : graph.input()) ctx.reserve_name(in.name());
    ctx.resolve_initializer = [&](const std::string& name) -> ValueId {
        auto it = initializers.find(name);
        if (it == initializers.end()) return kNoValue;
        return g.add_constant(name, tensor_from_proto(*it->second, concat("initializer '", name, "'")));
    };

    add_graph_inputs(ctx, graph, initializer_names, options, source);

    for (int i : topo_sort_nodes(graph, source)) {
        const auto& node = graph.node(i);
        const std::string name = node_display_name(node, i);
        ctx.begin_node(name);
        try {
            import_node(ctx, node);
        } catch (const std::exception& e) {
            ENGINE_THROW(source, ": import failed at node #", i, " '", name, "' [", node.op_type(),
                         "] (opset ", opset, "): ", without_node_prefix(e.what(), name));
        }
    }

    for (const auto& out : graph.output()) {
        ValueId v = kNoValue;
        try {
            v = ctx.lookup(out.name());
        } catch (const std::exception& e) {
            ENGINE_THROW(source, ": graph output '", out.name(), "': ", e.what());
        }
        ENGINE_CHECK(v != kNoValue, source, ": graph output '", out.name(), "' is not produced by any node");
        g.mark_output(v);
    }
    ENGINE_CHECK(g.outputs().size() > 0, source, ": the graph has no outputs");

    for (const auto& kv : model.metadata_props()) g.metadata[kv.key()] = kv.value();
    std::string producer = model.producer_name();
    if (!model.producer_version().empty())
        producer += (producer.empty() ? "" : " ") + model.producer_version();
    g.metadata["onnx.producer"] = producer;
    g.opset = opset;

    try {
        verify(g);
    } catch (const std::exception& e) {
        ENGINE_THROW(source, ": imported graph is inconsistent: ", e.what());
    }
    engine::logger().debug("{}: imported {} nodes, {} values (opset {})", source, g.num_live_nodes(),
                           g.num_values(), opset);
    return g;
}

}  // namespace

Graph import_bytes(const void* data, size_t size, const std::string& source, const ImportOptions& options) {
    ENGINE_CHECK(size > 0, source, ": empty file (0 bytes), not an ONNX model");
    ENGINE_CHECK(size <= static_cast<size_t>(INT_MAX), source, ": model of ", size,
                 " bytes exceeds the 2 GiB protobuf limit (external data is not supported)");
    ::onnx::ModelProto model;
    ENGINE_CHECK(
        model.ParseFromArray(data, static_cast<int>(size)), source,
        ": not a valid ONNX model (protobuf parsing failed: the file is truncated, corrupt or not ONNX)");
    return import_model(model, source, options);
}

Graph import_file(const std::string& path, const ImportOptions& options) {
    std::ifstream f(path, std::ios::binary);
    ENGINE_CHECK(f.good(), "cannot open ONNX model '", path, "': ", std::strerror(errno));
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ENGINE_CHECK(!f.bad(), "cannot read ONNX model '", path, "'");
    return import_bytes(bytes.data(), bytes.size(), path, options);
}

}  // namespace engine::onnx
