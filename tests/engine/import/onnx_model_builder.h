// Tiny ONNX models built in C++ with the protobuf classes of libonnx-dev, for importer tests:
//
//   OnnxModelBuilder m(13);
//   m.input("x", {1, 3, 8, 8});
//   m.init_f32("W", {4, 3, 3, 3}, 0.5f);
//   m.node("Conv", {"x", "W"}, {"y"}, "conv1").ints("pads", {1, 1, 1, 1});
//   m.output("y");
//   engine::Graph g = m.import();
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/ir/graph.h"
#include "engine/onnx/importer.h"

namespace import_test {

// Fluent attribute setter on a node of the model.
class NodeRef {
  public:
    explicit NodeRef(::onnx::NodeProto* n) : n_(n) {}
    NodeRef& i(const std::string& name, int64_t v) {
        auto* a = add(name, ::onnx::AttributeProto::INT);
        a->set_i(v);
        return *this;
    }
    NodeRef& f(const std::string& name, float v) {
        auto* a = add(name, ::onnx::AttributeProto::FLOAT);
        a->set_f(v);
        return *this;
    }
    NodeRef& s(const std::string& name, const std::string& v) {
        auto* a = add(name, ::onnx::AttributeProto::STRING);
        a->set_s(v);
        return *this;
    }
    NodeRef& ints(const std::string& name, const std::vector<int64_t>& v) {
        auto* a = add(name, ::onnx::AttributeProto::INTS);
        for (int64_t x : v) a->add_ints(x);
        return *this;
    }
    NodeRef& floats(const std::string& name, const std::vector<float>& v) {
        auto* a = add(name, ::onnx::AttributeProto::FLOATS);
        for (float x : v) a->add_floats(x);
        return *this;
    }
    NodeRef& tensor(const std::string& name, const ::onnx::TensorProto& t) {
        auto* a = add(name, ::onnx::AttributeProto::TENSOR);
        *a->mutable_t() = t;
        return *this;
    }
    NodeRef& domain(const std::string& d) {
        n_->set_domain(d);
        return *this;
    }
    ::onnx::NodeProto* proto() { return n_; }

  private:
    ::onnx::AttributeProto* add(const std::string& name, ::onnx::AttributeProto::AttributeType type) {
        auto* a = n_->add_attribute();
        a->set_name(name);
        a->set_type(type);
        return a;
    }
    ::onnx::NodeProto* n_;
};

inline ::onnx::TensorProto make_f32(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<float>& values) {
    ::onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t.add_dims(d);
    for (float v : values) t.add_float_data(v);
    return t;
}

inline ::onnx::TensorProto make_i64(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<int64_t>& values) {
    ::onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(::onnx::TensorProto::INT64);
    for (int64_t d : dims) t.add_dims(d);
    for (int64_t v : values) t.add_int64_data(v);
    return t;
}

inline int64_t numel(const std::vector<int64_t>& dims) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
}

class OnnxModelBuilder {
  public:
    explicit OnnxModelBuilder(int opset = 13) {
        model_.set_ir_version(7);
        model_.set_producer_name("rtdet-tests");
        auto* op = model_.add_opset_import();
        op->set_domain("");
        op->set_version(opset);
        model_.mutable_graph()->set_name("test");
    }

    ::onnx::ModelProto& model() { return model_; }
    ::onnx::GraphProto* graph() { return model_.mutable_graph(); }

    // A float graph input; a negative dim becomes a symbolic dim named `sym`.
    void input(const std::string& name, const std::vector<int64_t>& dims,
               int32_t elem_type = ::onnx::TensorProto::FLOAT, const std::string& sym = "N") {
        auto* vi = graph()->add_input();
        vi->set_name(name);
        auto* tt = vi->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(elem_type);
        auto* shape = tt->mutable_shape();
        for (int64_t d : dims) {
            auto* dim = shape->add_dim();
            if (d >= 0) {
                dim->set_dim_value(d);
            } else {
                dim->set_dim_param(sym);
            }
        }
    }
    void output(const std::string& name) {
        auto* vi = graph()->add_output();
        vi->set_name(name);
        vi->mutable_type()->mutable_tensor_type()->set_elem_type(::onnx::TensorProto::FLOAT);
    }
    void init(const ::onnx::TensorProto& t) { *graph()->add_initializer() = t; }
    // Float initializer: `values` as given, or `fill` repeated.
    void init_f32(const std::string& name, const std::vector<int64_t>& dims,
                  const std::vector<float>& values) {
        init(make_f32(name, dims, values));
    }
    void init_f32(const std::string& name, const std::vector<int64_t>& dims, float fill) {
        init(make_f32(name, dims, std::vector<float>(static_cast<size_t>(numel(dims)), fill)));
    }
    void init_i64(const std::string& name, const std::vector<int64_t>& dims,
                  const std::vector<int64_t>& values) {
        init(make_i64(name, dims, values));
    }
    NodeRef node(const std::string& op, const std::vector<std::string>& inputs,
                 const std::vector<std::string>& outputs, const std::string& name = "") {
        auto* n = graph()->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (const auto& s : inputs) n->add_input(s);
        for (const auto& s : outputs) n->add_output(s);
        return NodeRef(n);
    }
    void metadata(const std::string& key, const std::string& value) {
        auto* p = model_.add_metadata_props();
        p->set_key(key);
        p->set_value(value);
    }

    std::string bytes() const { return model_.SerializeAsString(); }
    engine::Graph import(const engine::onnx::ImportOptions& options = {}) const {
        const std::string b = bytes();
        return engine::onnx::import_bytes(b.data(), b.size(), "model.onnx", options);
    }

  private:
    ::onnx::ModelProto model_;
};

// The import error message (fails the test when the import succeeds or throws something else).
inline std::string import_error(const OnnxModelBuilder& m, const engine::onnx::ImportOptions& options = {}) {
    try {
        (void)m.import(options);
    } catch (const engine::Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected engine::Error, got std::exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << "expected the import to fail";
    return {};
}

// Every key word must appear in the message.
inline ::testing::AssertionResult contains_all(const std::string& msg,
                                               std::initializer_list<std::string> words) {
    for (const auto& w : words)
        if (msg.find(w) == std::string::npos)
            return ::testing::AssertionFailure() << "message lacks '" << w << "': " << msg;
    return ::testing::AssertionSuccess();
}

// The single live node producing the value named `name`.
inline const engine::Node& producer_of(const engine::Graph& g, const std::string& name) {
    const engine::ValueId v = g.find_value(name);
    if (v == engine::kNoValue) throw engine::Error("no value named " + name);
    const engine::NodeId n = g.value(v).producer;
    if (n == engine::kNoNode) throw engine::Error("value " + name + " has no producer");
    return g.node(n);
}

inline const engine::Shape& shape_of(const engine::Graph& g, const std::string& name) {
    const engine::ValueId v = g.find_value(name);
    if (v == engine::kNoValue) throw engine::Error("no value named " + name);
    return g.value(v).desc.shape;
}

}  // namespace import_test
