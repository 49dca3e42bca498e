// The IR: an index-based graph of Values (tensors) and Nodes (ops), XNNPACK-style.
// Passes tombstone nodes (Node::dead) and compact() drops them and renumbers.
//
// Ownership: the Graph owns values and nodes by value. Constants are immutable tensors shared by
// std::shared_ptr, so copying a Graph (tests run a model with and without a pass) is cheap.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/core/shape.h"
#include "engine/core/tensor.h"
#include "engine/ir/layout.h"
#include "engine/ir/op_type.h"
#include "engine/ir/params.h"

namespace engine {

using ValueId = uint32_t;
using NodeId = uint32_t;
inline constexpr ValueId kNoValue = UINT32_MAX;
inline constexpr NodeId kNoNode = UINT32_MAX;

struct TensorDesc {
    DataType dtype = DataType::F32;
    Shape shape;  // at the plan's max batch
    bool operator==(const TensorDesc&) const = default;
};

struct Value {
    std::string name;
    TensorDesc desc;
    NodeId producer = kNoNode;               // none for graph inputs and constants
    std::vector<NodeId> consumers;           // one entry per use (a node using it twice appears twice)
    std::shared_ptr<const Tensor> constant;  // non-null for initializers and folded values
    bool is_graph_input = false;
    bool is_graph_output = false;
    // Dim 0 is the batch: at run time it is the actual batch (1..max), all other dims fixed.
    // Set by shape inference; false for constants and for values whose dim 0 is not the batch.
    bool batched = false;
    // Storage chosen by the builder for the assigned backend (precision assignment, layouts).
    DataType storage_dtype = DataType::F32;
    Layout layout = Layout::Plain;
    // INT8 (docs/int8.md): the calibrated range of a float activation, x ~ q * amax / 127 when it is
    // stored as I8. 0: not calibrated. Set from a calibration cache or the scales of ONNX QDQ nodes.
    float amax = 0;
};

struct Node {
    OpType op = OpType::Identity;
    std::string name;  // ONNX node name (or a generated one), kept for messages and profiles
    std::vector<ValueId> inputs;
    std::vector<ValueId> outputs;
    OpParams params;
    bool dead = false;
    // Assigned by the builder: backend that runs the node and the compute type it runs in.
    std::string backend;
    DataType precision = DataType::F32;
};

class Graph {
  public:
    // --- construction ---
    ValueId add_value(Value v);
    // A constant (initializer) value; desc is taken from the tensor.
    ValueId add_constant(std::string name, Tensor t);
    // Adds a node and links producer/consumer lists of its inputs and outputs.
    NodeId add_node(OpType op, std::string name, std::vector<ValueId> inputs, std::vector<ValueId> outputs,
                    OpParams params = {});
    void mark_input(ValueId v);
    void mark_output(ValueId v);

    // --- access ---
    Value& value(ValueId id) { return values_.at(id); }
    const Value& value(ValueId id) const { return values_.at(id); }
    Node& node(NodeId id) { return nodes_.at(id); }
    const Node& node(NodeId id) const { return nodes_.at(id); }
    size_t num_values() const { return values_.size(); }
    size_t num_nodes() const { return nodes_.size(); }
    size_t num_live_nodes() const;
    const std::vector<ValueId>& inputs() const { return inputs_; }
    const std::vector<ValueId>& outputs() const { return outputs_; }
    // Value by name, kNoValue when absent.
    ValueId find_value(const std::string& name) const;
    bool is_constant(ValueId id) const { return values_.at(id).constant != nullptr; }
    const Tensor& constant(ValueId id) const;
    // Live nodes of the given op, in id order.
    std::vector<NodeId> nodes_of(OpType op) const;
    // Live nodes in a topological order (stable: ties keep id order). Throws on a cycle.
    std::vector<NodeId> topo_order() const;

    // --- mutation (for passes) ---
    // Every use of `from` (node inputs and the graph-output list) now uses `to`.
    void replace_all_uses(ValueId from, ValueId to);
    // Replaces input slot `slot` of node `n`, keeping consumer lists right.
    void set_input(NodeId n, size_t slot, ValueId v);
    void add_input(NodeId n, ValueId v);
    // Makes node `n` produce `v` at output slot `slot` (the old output loses its producer).
    void set_output(NodeId n, size_t slot, ValueId v);
    // Tombstones the node and unlinks it from its inputs' consumer lists.
    void kill_node(NodeId n);
    // Turns value `v` into a constant holding `t` (its producer, if any, loses that output).
    void set_constant(ValueId v, Tensor t);
    // Drops dead nodes and values nobody uses (kept: graph inputs/outputs), renumbers ids.
    void compact();

    // ONNX metadata_props and import facts (opset, producer), carried into the plan.
    std::map<std::string, std::string> metadata;
    int opset = 0;

  private:
    std::vector<Value> values_;
    std::vector<Node> nodes_;
    std::vector<ValueId> inputs_;
    std::vector<ValueId> outputs_;
};

// Counts live nodes of an op (tests and logs).
size_t count_ops(const Graph& g, OpType op);

// --- graph-wide analyses (engine/ir/shape_inference.cpp, engine/ir/verify.cpp) ---

// Recomputes the desc (dtype, shape) and `batched` flag of every node output from its inputs and
// params, in topological order. Throws engine::Error naming the node on inconsistent shapes.
void infer_shapes(Graph& g);
// Shape inference for one node (its inputs' descs must be known).
void infer_node(Graph& g, NodeId n);
// Structural checks: ids in range, producer/consumer links consistent, arity within op limits,
// params alternative matches the op, no cycles, every graph output produced or constant/input.
// Throws engine::Error with the first problem found.
void verify(const Graph& g);
// One line per live node, ncnn-style, for `rtdet build --dump` and debugging.
std::string dump(const Graph& g);

}  // namespace engine
