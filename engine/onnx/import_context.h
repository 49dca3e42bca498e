// State shared by the import driver (importer.cpp) and the per-op importers (op_importers.cpp):
// the graph being built, ONNX name -> value bindings, and helpers that turn node inputs into values,
// constants or attribute-like lists with errors that name the input.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/ir/graph.h"

namespace engine::onnx {

class ImportContext {
  public:
    ImportContext(Graph& g, int opset) : graph_(g), opset_(opset) {}

    Graph& graph() { return graph_; }
    int opset() const { return opset_; }

    // --- names ---
    // Value bound to an ONNX name, kNoValue when none. `resolve_initializer` (set by the driver)
    // materialises initializers on first use.
    ValueId lookup(const std::string& name);
    void bind(const std::string& name, ValueId v);
    std::function<ValueId(const std::string&)> resolve_initializer;
    // Names used anywhere in the model; generated names avoid them.
    void reserve_name(const std::string& name) { used_names_.insert(name); }
    std::string unique_name(const std::string& base);
    // Names some node reads or the graph outputs (to know whether an optional output matters).
    std::unordered_set<std::string> consumed_names;

    // --- the node being imported ---
    void begin_node(std::string name) { node_name_ = std::move(name); }
    const std::string& node_name() const { return node_name_; }

    // Input slot i is present (listed and non-empty).
    bool has_input(const ::onnx::NodeProto& node, int i) const {
        return i < node.input_size() && !node.input(i).empty();
    }
    // The value of input i; throws naming the slot when it is absent or undefined.
    ValueId input(const ::onnx::NodeProto& node, int i);
    // Copies: adding values (initializers materialise lazily) may move the graph's value storage.
    TensorDesc desc(ValueId v) const { return graph_.value(v).desc; }
    Shape shape(ValueId v) const { return graph_.value(v).desc.shape; }
    bool is_constant(ValueId v) const { return graph_.is_constant(v); }
    // Constant value of input i; throws ("must be a constant") when it is computed at run time.
    const Tensor& const_input(const ::onnx::NodeProto& node, int i, std::string_view what);
    // Integer list / float list from a constant input.
    std::vector<int64_t> const_ints(const ::onnx::NodeProto& node, int i, std::string_view what);
    std::vector<float> const_floats(const ::onnx::NodeProto& node, int i, std::string_view what);
    // The value is a constant or computed only from constants (weights behind float constant ops
    // that fold_constants evaluates later).
    bool is_static(ValueId v) const;
    // Throws unless input i is static (weights, BN statistics).
    ValueId static_input(const ::onnx::NodeProto& node, int i, std::string_view what);

    // --- outputs ---
    // Binds output slot i to a new constant holding t.
    void bind_constant(const ::onnx::NodeProto& node, int i, Tensor t);
    // Adds an IR node reading `inputs` and producing one value per ONNX output (outputs of `num_outputs`
    // slots; empty names are errors), then runs shape inference on it. `out_shapes` presets the output
    // shapes for ops whose shapes are not derivable from params (Reshape, Slice).
    NodeId emit(OpType op, const ::onnx::NodeProto& node, std::vector<ValueId> inputs, OpParams params = {},
                int num_outputs = 1, const std::vector<Shape>& out_shapes = {});
    // A fresh constant with a generated name (e.g. the zero bias of a Conv without one).
    ValueId add_constant(const std::string& base_name, Tensor t);
    // Output i is named and some later node or the graph output uses it.
    bool output_used(const ::onnx::NodeProto& node, int i) const {
        return i < node.output_size() && !node.output(i).empty() && consumed_names.count(node.output(i)) > 0;
    }

  private:
    Graph& graph_;
    int opset_;
    std::unordered_map<std::string, ValueId> names_;
    std::unordered_set<std::string> used_names_;
    std::unordered_set<ValueId> static_values_;
    std::string node_name_;
};

using ImportFn = void (*)(ImportContext&, const ::onnx::NodeProto&);

inline constexpr int64_t kShapeLikeMaxElements = 64;

// When the driver evaluates a node at import instead of calling its run-time importer.
enum class FoldWhen : uint8_t {
    Never,          // always an IR node
    AllConst,       // every present input is a constant (shape-only ops)
    AllConstSmall,  // every present input is a constant, and input 0 is not a float type or every
                    // input is shape-sized (rank <= 1, at most kShapeLikeMaxElements): index math
                    // is folded here, float weight math stays IR nodes for fold_constants
    Always,         // no run-time form (Constant; Shape reads only the input's shape)
};

struct OpImporter {
    std::string_view op;
    ImportFn import;  // run-time form (emits IR nodes); throws for ops that exist only as constants
    ImportFn fold;    // constant form (binds constant outputs); nullptr when FoldWhen::Never
    FoldWhen fold_when;
};

// The dispatch table entry for an ONNX op of the default domain, nullptr when unsupported.
const OpImporter* find_op_importer(std::string_view op_type);
// The whole table (every op rtdet imports), e.g. for fuzz_onnx's structure-aware mutator.
std::span<const OpImporter> op_importers();

}  // namespace engine::onnx
