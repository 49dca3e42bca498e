// assign_layouts: see the contract in assign_layout.h.
#include "engine/builder/assign_layout.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/passes/assign_precision.h"

namespace engine {
namespace {

struct Storage {
    Layout layout = Layout::Plain;
    DataType dtype = DataType::F32;
    bool operator==(const Storage&) const = default;
};

class LayoutAssigner {
  public:
    LayoutAssigner(Graph& g, Layout layout, std::span<Backend* const> backends)
        : g_(g), layout_(layout), backends_(backends) {}

    int run() {
        set_written_storage();
        split_graph_outputs();
        check_in_place_concats();
        insert_reorders();
        verify(g_);
        return reorders_;
    }

  private:
    Backend* backend_of(NodeId n) const {
        for (Backend* b : backends_)
            if (b->name() == g_.node(n).backend) return b;
        ENGINE_THROW("node '", g_.node(n).name, "' is assigned to backend '", g_.node(n).backend,
                     "', which this plan does not use");
    }

    // Whether node n's backend keeps its 4-D activations in the plan's layout.
    bool keeps_layout(NodeId n) const {
        if (layout_ == Layout::Plain) return false;
        const std::vector<Layout> ls = backend_of(n)->activation_layouts();
        return std::find(ls.begin(), ls.end(), layout_) != ls.end();
    }

    bool is_activation_4d(ValueId v) const {
        const Value& val = g_.value(v);
        return val.constant == nullptr && val.desc.shape.size() == 4 && is_float(val.desc.dtype);
    }

    Storage written_by(NodeId p, ValueId v) const {
        const Value& val = g_.value(v);
        if (!is_float(val.desc.dtype)) return {Layout::Plain, val.desc.dtype};
        return {keeps_layout(p) && is_activation_4d(v) ? layout_ : Layout::Plain, written_dtype(g_, p, v)};
    }

    void set_storage(ValueId v, Storage s) {
        g_.value(v).layout = s.layout;
        g_.value(v).storage_dtype = s.dtype;
    }

    // 1. Every runtime value is stored the way its producer writes it; graph inputs Plain F32.
    void set_written_storage() {
        for (ValueId v = 0; v < g_.num_values(); ++v) {
            const Value& val = g_.value(v);
            if (val.constant != nullptr) continue;
            if (val.is_graph_input || val.producer == kNoNode || g_.node(val.producer).dead)
                set_storage(v, {Layout::Plain, val.desc.dtype});
            else
                set_storage(v, written_by(val.producer, v));
        }
    }

    // 2. Graph outputs must be Plain F32: the producer writes a new value, a Reorder writes the output
    // (or the producer writes it Plain F32 itself, where its backend can: F32 written in another layout).
    void split_graph_outputs() {
        const std::vector<ValueId> outputs = g_.outputs();
        for (ValueId v : outputs) {
            const Value& val = g_.value(v);
            if (val.constant != nullptr || val.is_graph_input || val.producer == kNoNode) continue;
            if (!is_float(val.desc.dtype) ||
                Storage{val.layout, val.storage_dtype} == Storage{Layout::Plain, DataType::F32})
                continue;
            const NodeId p = val.producer;
            if (val.storage_dtype == DataType::F32 && backend_of(p)->writes_plain_f32_output(g_, p, v)) {
                set_storage(v, {Layout::Plain, DataType::F32});
                continue;
            }
            Value stored;
            stored.name = val.name + "/stored";
            stored.desc = val.desc;
            stored.batched = val.batched;
            stored.layout = val.layout;
            stored.storage_dtype = val.storage_dtype;
            stored.amax = val.amax;
            const ValueId s = g_.add_value(std::move(stored));
            const auto& outs = g_.node(p).outputs;
            const size_t slot = static_cast<size_t>(std::find(outs.begin(), outs.end(), v) - outs.begin());
            g_.set_output(p, slot, s);
            // Nodes reading the output read the stored value (step 4 converts where needed).
            const std::vector<NodeId> consumers = g_.value(v).consumers;
            for (NodeId c : consumers)
                for (size_t i = 0; i < g_.node(c).inputs.size(); ++i)
                    if (g_.node(c).inputs[i] == v) g_.set_input(c, i, s);
            set_storage(v, {Layout::Plain, DataType::F32});
            add_reorder(s, v);
        }
    }

    // 3. In-place Concats whose inputs are not all stored like the output copy instead.
    void check_in_place_concats() {
        for (NodeId n : g_.nodes_of(OpType::Concat)) {
            auto* p = std::get_if<ConcatParams>(&g_.node(n).params);
            if (p == nullptr || !p->in_place) continue;
            const Node& node = g_.node(n);
            const Value& out = g_.value(node.outputs[0]);
            std::string why;
            if (out.layout == Layout::NHWC) why = "nhwc channel slices are not contiguous";
            int64_t channel = 0;
            for (ValueId v : node.inputs) {
                const Value& in = g_.value(v);
                if (why.empty() && (in.layout != out.layout || in.storage_dtype != out.storage_dtype))
                    why = concat("input '", in.name, "' is stored as ", layout_name(in.layout), " ",
                                 dtype_name(in.storage_dtype), ", the output as ", layout_name(out.layout),
                                 " ", dtype_name(out.storage_dtype));
                if (why.empty() && out.layout == Layout::Blocked16 && channel % kBlockedChannels != 0)
                    why = "a blocked16 slice does not start at a multiple of 16 channels";
                if (in.desc.shape.size() > 1) channel += in.desc.shape[1];
            }
            if (why.empty()) continue;
            engine::logger().debug("layout {}: Concat '{}' copies instead of running in place ({})",
                                   layout_name(layout_), node.name, why);
            p->in_place = false;
        }
    }

    static bool is_in_place_concat(const Node& node) {
        const auto* p = std::get_if<ConcatParams>(&node.params);
        return node.op == OpType::Concat && p != nullptr && p->in_place;
    }

    // 4. Reorders where a node reads another storage than the value has.
    void insert_reorders() {
        const std::vector<NodeId> order = g_.topo_order();
        std::map<std::tuple<ValueId, Layout, DataType>, ValueId> made;
        for (NodeId c : order) {
            if (g_.node(c).op == OpType::Reorder || is_in_place_concat(g_.node(c))) continue;
            const bool keeps = keeps_layout(c);
            for (size_t i = 0; i < g_.node(c).inputs.size(); ++i) {
                const ValueId v = g_.node(c).inputs[i];
                const Value& val = g_.value(v);
                if (val.constant != nullptr || !is_float(val.desc.dtype)) continue;
                const Storage need{keeps ? backend_of(c)->input_layout(g_, c, i, layout_) : Layout::Plain,
                                   g_.node(c).precision};
                if (need == Storage{val.layout, val.storage_dtype}) continue;
                // A graph input the node converts itself (Backend::reads_plain_f32_input).
                if (val.is_graph_input &&
                    Storage{val.layout, val.storage_dtype} == Storage{Layout::Plain, DataType::F32} &&
                    backend_of(c)->reads_plain_f32_input(g_, c, i))
                    continue;
                const auto key = std::make_tuple(v, need.layout, need.dtype);
                auto it = made.find(key);
                if (it == made.end()) {
                    Value r;
                    r.name = concat(val.name, "/", layout_name(need.layout), "_", dtype_name(need.dtype));
                    r.desc = val.desc;
                    r.batched = val.batched;
                    r.layout = need.layout;
                    r.storage_dtype = need.dtype;
                    r.amax = val.amax;
                    const ValueId rid = g_.add_value(std::move(r));
                    add_reorder(v, rid);
                    it = made.emplace(key, rid).first;
                }
                g_.set_input(c, i, it->second);
            }
        }
    }

    void add_reorder(ValueId from, ValueId to) {
        const NodeId n = g_.add_node(OpType::Reorder, concat("reorder:", g_.value(to).name), {from}, {to});
        g_.node(n).precision = g_.value(to).storage_dtype;
        std::string reasons;
        for (Backend* b : backends_) {
            std::string why;
            if (b->supports(g_, n, &why)) {
                g_.node(n).backend = std::string(b->name());
                ++reorders_;
                return;
            }
            reasons += concat(reasons.empty() ? "" : "; ", b->name(), ": ", why);
        }
        const Value& f = g_.value(from);
        const Value& t = g_.value(to);
        ENGINE_THROW("value '", f.name, "' is stored as ", layout_name(f.layout), " ",
                     dtype_name(f.storage_dtype), " but is needed as ", layout_name(t.layout), " ",
                     dtype_name(t.storage_dtype), ", and no backend of the plan runs Reorder (", reasons,
                     ")");
    }

    Graph& g_;
    Layout layout_;
    std::span<Backend* const> backends_;
    int reorders_ = 0;
};

}  // namespace

int assign_layouts(Graph& g, Layout layout, std::span<Backend* const> backends) {
    return LayoutAssigner(g, layout, backends).run();
}

}  // namespace engine
