#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "engine/plan/graph_serialize.h"
#include "engine/plan/json_util.h"
#include "engine/plan/plan_format.h"
#include "engine/plan/plan_io.h"

namespace engine {
namespace {

using nlohmann::json;

constexpr int kMaxBatch = 1 << 16;
constexpr uint64_t kMaxArenaBytes = uint64_t{1} << 40;

uint32_t get_u32(const std::byte* p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
    return v;
}

uint64_t get_u64(const std::byte* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
}

std::vector<Tensor> read_blobs(const JsonView& jb, std::span<const std::byte> section,
                               const std::shared_ptr<const void>& owner) {
    std::vector<Tensor> blobs;
    const size_t count = jb.size();
    blobs.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        const JsonView b = jb.at(i);
        const uint64_t offset = b.at("offset").u64();
        const uint64_t size = b.at("size").u64();
        const DataType dt = b.at("dtype").dtype();
        const Shape shape = b.at("shape").shape();
        if (offset % kPlanBlobAlignment != 0) b.at("offset").fail("blob is not 64-byte aligned");
        if (offset > section.size() || size > section.size() - offset)
            b.fail(concat("blob ", i, " [", offset, ", +", size, ") is out of range of the ", section.size(),
                          "-byte blob section (truncated plan?)"));
        const uint64_t expected = checked_bytes(shape_numel(shape), dtype_size(dt), concat("blob ", i));
        if (size != expected)
            b.fail(concat("blob ", i, " has ", size, " bytes but ", dtype_name(dt), " ", shape_str(shape),
                          " needs ", expected, " (dtype size mismatch)"));
        blobs.push_back(Tensor::wrap(dt, shape, owner, section.data() + offset));
    }
    return blobs;
}

MemoryPlan read_memory(const JsonView& jm, const Graph& g, int max_batch) {
    (void)max_batch;
    MemoryPlan mp;
    mp.arena_bytes = jm.at("arena_bytes").u64(kMaxArenaBytes);
    mp.alignment = jm.at("alignment").u64(4096);
    if (mp.alignment == 0 || (mp.alignment & (mp.alignment - 1)) != 0)
        jm.at("alignment").fail("alignment must be a power of two");
    mp.values.assign(g.num_values(), {});
    mp.skip.assign(g.num_nodes(), 0);

    const JsonView jv = jm.at("values");
    for (size_t i = 0; i < jv.size(); ++i) {
        const JsonView e = jv.at(i);
        const uint64_t id = e.at("value").u64();
        if (id >= g.num_values())
            e.at("value").fail(concat("value id ", id, " out of range (", g.num_values(), " values)"));
        const Value& v = g.value(static_cast<ValueId>(id));
        ValueLocation& loc = mp.values[id];
        if (loc.valid) e.at("value").fail(concat("value '", v.name, "' has two locations"));
        loc.valid = true;
        loc.offset = e.at("offset").u64();
        if (loc.offset > mp.arena_bytes)
            e.at("offset").fail(
                concat("offset ", loc.offset, " is past the ", mp.arena_bytes, "-byte arena"));
        loc.batch_stride = e.at("batch_stride").i64(0);
        const uint64_t root = e.at("root").u64();
        if (root >= g.num_values()) e.at("root").fail(concat("value id ", root, " out of range"));
        loc.root = static_cast<ValueId>(root);
        loc.root_offset = e.at("root_offset").i64(0);
        const DataType dt = v.constant ? v.desc.dtype : v.storage_dtype;
        const size_t dsize = dtype_size(dt);
        if (loc.offset % dsize != 0) e.at("offset").fail(concat("offset not aligned to ", dtype_name(dt)));
        const int64_t sample = storage_sample_numel(v.desc.shape, v.layout);
        if (v.batched ? loc.batch_stride < sample : loc.batch_stride != sample)
            e.at("batch_stride")
                .fail(concat("batch stride ", loc.batch_stride, " invalid for '", v.name, "' ",
                             shape_str(v.desc.shape)));
        if (loc.batch_stride > (int64_t{1} << 40)) e.at("batch_stride").fail("batch stride too large");
        const uint64_t extent = checked_bytes(located_extent(v, loc), dsize, concat("value '", v.name, "'"));
        if (extent > mp.arena_bytes - loc.offset)
            e.fail(concat("value '", v.name, "' at offset ", loc.offset, " (", extent,
                          " bytes) extends past the ", mp.arena_bytes, "-byte arena"));
    }

    const JsonView js = jm.at("skip");
    for (size_t i = 0; i < js.size(); ++i) {
        const uint64_t n = js.at(i).u64();
        if (n >= g.num_nodes())
            js.at(i).fail(concat("node id ", n, " out of range (", g.num_nodes(), " nodes)"));
        const Node& node = g.node(static_cast<NodeId>(n));
        const auto* cp = std::get_if<ConcatParams>(&node.params);
        const bool ok = node.op == OpType::Identity || node.op == OpType::Dropout ||
                        node.op == OpType::Reshape || (node.op == OpType::Concat && cp && cp->in_place);
        if (!ok)
            js.at(i).fail(concat("node '", node.name, "' [", op_type_name(node.op), "] cannot be skipped"));
        mp.skip[n] = 1;
    }

    // Every value a node touches, and every graph input/output, needs a location.
    auto need = [&](ValueId v) {
        const Value& val = g.value(v);
        if (val.constant && !val.is_graph_output) return;
        if (!mp.values[v].valid)
            jm.at("values").fail(concat("value '", val.name, "' has no memory location"));
    };
    for (size_t n = 0; n < g.num_nodes(); ++n) {
        for (ValueId v : g.node(static_cast<NodeId>(n)).inputs) need(v);
        for (ValueId v : g.node(static_cast<NodeId>(n)).outputs) need(v);
    }
    for (ValueId v : g.inputs()) need(v);
    for (ValueId v : g.outputs()) need(v);
    return mp;
}

void check_graph(const Graph& g, int max_batch) {
    verify(g);
    // Shapes must be what shape inference derives: kernels trust them.
    Graph inferred = g;
    infer_shapes(inferred);
    for (size_t i = 0; i < g.num_values(); ++i) {
        const Value& v = g.value(static_cast<ValueId>(i));
        const Value& w = inferred.value(static_cast<ValueId>(i));
        if (v.desc.shape != w.desc.shape || v.batched != w.batched)
            ENGINE_THROW("value '", v.name, "' is recorded as ", shape_str(v.desc.shape),
                         v.batched ? " batched" : "", " but its node gives ", shape_str(w.desc.shape),
                         w.batched ? " batched" : "");
        if (v.batched && v.desc.shape[0] != max_batch)
            ENGINE_THROW("batched value '", v.name, "' ", shape_str(v.desc.shape),
                         " does not have the max batch ", max_batch, " as dim 0");
        if (!v.constant && v.desc.dtype != DataType::F32)
            ENGINE_THROW("runtime value '", v.name, "' is ", dtype_name(v.desc.dtype), ", expected f32");
    }
    for (const auto* list : {&g.inputs(), &g.outputs()})
        for (ValueId v : *list) {
            const Value& val = g.value(v);
            const DataType dt = val.constant ? val.desc.dtype : val.storage_dtype;
            if (dt != DataType::F32 || val.layout != Layout::Plain)
                ENGINE_THROW("graph input/output '", val.name, "' is stored as ", dtype_name(dt), " ",
                             layout_name(val.layout), ", expected f32 plain");
        }
}

PlanContents parse_metadata(const PlanSections& s, const std::shared_ptr<const void>& owner) {
    json meta;
    try {
        meta = json::parse(s.metadata.begin(), s.metadata.end());
    } catch (const json::exception& e) {
        ENGINE_THROW("metadata is not valid JSON (", e.what(), ")");
    }
    const JsonView root(meta, "");
    root.expect_object();

    PlanContents c;
    PlanInfo& info = c.info;
    info.format_version = s.header.format_version;
    info.engine_version = root.at("engine_version").str();
    info.model_name = root.at("model").at("name").str();
    info.model_sha256 = root.at("model").at("sha256").str();
    info.device = root.at("device").str();
    info.device_signature = root.at("device_signature").str();
    info.precision = root.at("precision").str();
    info.max_batch = root.at("max_batch").i32(1, kMaxBatch);
    info.fixed_batch = root.at("fixed_batch").boolean();
    const JsonView bo = root.at("build_options");
    bo.expect_object();
    info.build_options_json = bo.raw().dump(-1, ' ', false, json::error_handler_t::replace);
    const JsonView tactics = root.at("tactics");
    tactics.expect_object();
    for (const auto& [k, v] : tactics.raw().items())
        info.tactics[k] = JsonView(v, concat("tactics.", k)).str();
    const JsonView props = root.at("metadata_props");
    props.expect_object();
    for (const auto& [k, v] : props.raw().items())
        info.metadata[k] = JsonView(v, concat("metadata_props.", k)).str();

    const JsonView jb = root.at("backends");
    std::set<std::string> backend_names;
    for (size_t i = 0; i < jb.size(); ++i) {
        BackendRecord r{jb.at(i).at("name").str(), jb.at(i).at("device_signature").str()};
        if (!backend_names.insert(r.name).second)
            jb.at(i).fail(concat("backend '", r.name, "' listed twice"));
        c.backends.push_back(std::move(r));
    }

    const std::vector<Tensor> blobs = read_blobs(root.at("blobs"), s.blobs, owner);
    info.weight_bytes = root.at("weight_bytes").u64();

    std::vector<std::vector<size_t>> packed_idx;
    c.graph = graph_from_json(root.at("graph"), blobs, packed_idx);
    Graph& g = c.graph;
    g.metadata = info.metadata;
    for (size_t n = 0; n < g.num_nodes(); ++n) {
        const Node& node = g.node(static_cast<NodeId>(n));
        if (!backend_names.count(node.backend))
            ENGINE_THROW("node '", node.name, "' uses backend '", node.backend,
                         "', which the plan does not list");
    }
    check_graph(g, info.max_batch);
    c.order = g.topo_order();
    c.packed.resize(g.num_nodes());
    for (size_t n = 0; n < g.num_nodes(); ++n)
        for (size_t b : packed_idx[n]) c.packed[n].push_back(blobs[b]);

    c.memory = read_memory(root.at("memory"), g, info.max_batch);
    info.arena_bytes = c.memory.arena_bytes;

    for (ValueId v : g.inputs())
        info.inputs.push_back({g.value(v).name, g.value(v).desc.shape, g.value(v).batched});
    for (ValueId v : g.outputs())
        info.outputs.push_back({g.value(v).name, g.value(v).desc.shape, g.value(v).batched});
    for (NodeId n : c.order) {
        const Node& node = g.node(n);
        info.layers.push_back({node.name, std::string(op_type_name(node.op)), node.backend,
                               std::string(dtype_name(node.precision))});
    }
    return c;
}

}  // namespace

PlanSections parse_plan_sections(std::span<const std::byte> bytes, const std::string& source,
                                 bool verify_checksum) {
    const size_t size = bytes.size();
    ENGINE_CHECK(size > 0, "plan '", source, "' is empty");
    ENGINE_CHECK(size >= 4, "plan '", source, "' is too short (", size, " bytes) to be an rtdet plan");
    ENGINE_CHECK(std::memcmp(bytes.data(), kPlanMagic.data(), 4) == 0, "plan '", source,
                 "' is not an rtdet plan (bad magic)");
    ENGINE_CHECK(size >= 8, "plan '", source, "' is truncated (", size, " bytes)");
    PlanSections s;
    PlanHeader& h = s.header;
    h.format_version = get_u32(bytes.data() + 4);
    ENGINE_CHECK(h.format_version == kPlanFormatVersion, "plan '", source, "': plan format version ",
                 h.format_version, ", this rtdet reads ", kPlanFormatVersion,
                 ": rebuild the plan with `rtdet build`");
    ENGINE_CHECK(size >= kPlanHeaderBytes, "plan '", source, "' is truncated (", size,
                 " bytes, the header alone is ", kPlanHeaderBytes, ")");
    h.header_bytes = get_u32(bytes.data() + 8);
    h.metadata_offset = get_u64(bytes.data() + 16);
    h.metadata_size = get_u64(bytes.data() + 24);
    h.blobs_offset = get_u64(bytes.data() + 32);
    h.blobs_size = get_u64(bytes.data() + 40);
    std::memcpy(h.sha256.data(), bytes.data() + 48, 32);
    ENGINE_CHECK(h.header_bytes >= kPlanHeaderBytes && h.header_bytes <= size, "plan '", source,
                 "' is corrupted (header size ", h.header_bytes, ")");
    ENGINE_CHECK(h.metadata_offset >= h.header_bytes && h.metadata_offset <= size &&
                     h.metadata_size <= size - h.metadata_offset,
                 "plan '", source, "' is truncated (metadata [", h.metadata_offset, ", +", h.metadata_size,
                 ") past the end of the ", size, "-byte file)");
    ENGINE_CHECK(
        h.blobs_offset % kPlanBlobAlignment == 0 && h.blobs_offset >= h.metadata_offset + h.metadata_size,
        "plan '", source, "' is corrupted (blob section offset ", h.blobs_offset, ")");
    ENGINE_CHECK(h.blobs_offset <= size && h.blobs_size <= size - h.blobs_offset, "plan '", source,
                 "' is truncated (blobs [", h.blobs_offset, ", +", h.blobs_size, ") past the end of the ",
                 size, "-byte file)");
    ENGINE_CHECK(h.blobs_offset + h.blobs_size == size, "plan '", source, "' is corrupted (",
                 size - h.blobs_offset - h.blobs_size, " unexpected bytes after the blob section)");
    if (verify_checksum) {
        const auto sum = sha256(bytes.subspan(h.header_bytes));
        ENGINE_CHECK(sum == h.sha256, "plan '", source, "' is corrupted (checksum mismatch)");
    }
    s.metadata =
        std::string_view(reinterpret_cast<const char*>(bytes.data() + h.metadata_offset), h.metadata_size);
    s.blobs = bytes.subspan(h.blobs_offset, h.blobs_size);
    return s;
}

PlanContents read_plan(std::span<const std::byte> bytes, std::shared_ptr<const void> owner,
                       const std::string& source, bool verify_checksum) {
    const PlanSections s = parse_plan_sections(bytes, source, verify_checksum);
    try {
        return parse_metadata(s, owner);
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        ENGINE_THROW("plan '", source, "': ", e.what());
    }
}

}  // namespace engine
