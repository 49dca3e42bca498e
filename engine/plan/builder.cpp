#include "engine/plan/builder.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/onnx/importer.h"
#include "engine/passes/assign_precision.h"
#include "engine/passes/pass.h"
#include "engine/plan/memory_planner.h"
#include "engine/plan/plan_format.h"
#include "engine/plan/plan_io.h"
#include "engine/runtime/backend_registry.h"

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

std::string node_desc(const Node& n) { return concat("node '", n.name, "' [", op_type_name(n.op), "]"); }

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
                spdlog::debug("{}: output '{}' is not batched: the plan runs only at max batch {}",
                              node_desc(node), g.value(v).name, max_batch);
                return true;
            }
    }
    return false;
}

// The reduced type to try for a precision request, or F32.
DataType reduced_type(Precision p, const Graph& g, const std::vector<NodeId>& order,
                      const std::map<std::string, Backend*>& by_name) {
    switch (p) {
        case Precision::FP32:
            return DataType::F32;
        case Precision::FP16:
            return DataType::F16;
        case Precision::BF16:
            return DataType::BF16;
        case Precision::Best:
            break;
    }
    // Best: the reduced type most nodes have kernels for; BF16 on a tie (it keeps FP32's range).
    int bf16 = 0, f16 = 0;
    for (NodeId n : order) {
        Backend* b = by_name.at(g.node(n).backend);
        bf16 += b->supports_precision(g, n, DataType::BF16) ? 1 : 0;
        f16 += b->supports_precision(g, n, DataType::F16) ? 1 : 0;
    }
    return f16 > bf16 ? DataType::F16 : DataType::BF16;
}

}  // namespace

Plan build_plan(Graph graph, const BuildOptions& options, const std::string& model_name,
                const std::string& model_sha256) {
    ENGINE_CHECK(options.max_batch >= 1 && options.max_batch <= kMaxBatch, "max batch ", options.max_batch,
                 " out of range (1..", kMaxBatch, ")");
    std::vector<std::unique_ptr<Backend>> backends = make_device_backends(options.device);
    std::map<std::string, Backend*> by_name;
    for (auto& b : backends) by_name[std::string(b->name())] = b.get();

    Graph& g = graph;
    ENGINE_CHECK(!g.outputs().empty(), "model '", model_name, "' has no outputs");
    run_passes(g, options.disabled_passes);
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
        if (!reasons.empty()) spdlog::debug("{} -> {} ({})", node_desc(node), node.backend, reasons);
    }

    // Precision: reduced where the node's backend has the kernel, FP32 elsewhere.
    const DataType reduced = reduced_type(options.precision, g, order, by_name);
    const PassStats ps = assign_precision(g, reduced, [&](const Graph& gr, NodeId n, DataType dt) {
        return by_name.at(gr.node(n).backend)->supports_precision(gr, n, dt);
    });
    if (reduced != DataType::F32 && ps.rewrites == 0)
        spdlog::info("{}: device '{}' has no {} kernels for this model; precision {} falls back to FP32",
                     model_name, options.device, dtype_name(reduced), precision_name(options.precision));
    if (g.num_live_nodes() != g.num_nodes()) {
        g.compact();
        order = g.topo_order();
    }

    PlanContents c;
    c.info.model_name = model_name;
    c.info.model_sha256 = model_sha256;
    c.info.device = options.device;
    c.info.precision = std::string(precision_name(options.precision));
    c.info.max_batch = options.max_batch;
    c.info.fixed_batch = compute_fixed_batch(g, order, options.max_batch);
    c.info.metadata = g.metadata;
    for (auto& b : backends) {
        bool used = false;
        for (NodeId n : order) used = used || g.node(n).backend == b->name();
        if (used) c.backends.push_back({std::string(b->name()), b->device_signature()});
    }

    c.packed.resize(g.num_nodes());
    for (NodeId n : order) {
        try {
            c.packed[n] = by_name.at(g.node(n).backend)->pack(g, n, options);
        } catch (const Error& e) {
            ENGINE_THROW("packing ", node_desc(g.node(n)), " for backend '", g.node(n).backend,
                         "' failed: ", e.what());
        }
    }
    c.memory = plan_memory(g, order, kPlanBlobAlignment);
    c.order = order;
    c.graph = std::move(graph);

    spdlog::debug("{}: {} layers, arena {} bytes, max batch {}{}", model_name, order.size(),
                  c.memory.arena_bytes, options.max_batch, c.info.fixed_batch ? " (fixed)" : "");
    return Plan::from_bytes(write_plan(c, options), model_name);
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
