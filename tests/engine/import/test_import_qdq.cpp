// ONNX QuantizeLinear / DequantizeLinear import (opsets 10 and 13): params, dtypes and default zero
// points as the spec says, Cast of a quantized tensor to float, and every bad input as a one-line
// error that names the node.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/ir/graph.h"
#include "tests/engine/import/onnx_model_builder.h"

namespace {

using engine::DataType;
using engine::Graph;
using engine::OpType;
using engine::QuantParams;
using engine::Shape;
using import_test::contains_all;
using import_test::import_error;
using import_test::OnnxModelBuilder;
using import_test::producer_of;

::onnx::TensorProto make_int(const std::string& name, int32_t type, const std::vector<int64_t>& dims,
                             const std::vector<int32_t>& values) {
    ::onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(type);
    for (int64_t d : dims) t.add_dims(d);
    for (int32_t v : values) t.add_int32_data(v);
    return t;
}

constexpr int32_t kI8 = ::onnx::TensorProto::INT8;
constexpr int32_t kU8 = ::onnx::TensorProto::UINT8;
constexpr int32_t kI32 = ::onnx::TensorProto::INT32;

const QuantParams& quant_params(const Graph& g, const std::string& out) {
    return std::get<QuantParams>(producer_of(g, out).params);
}

DataType dtype_of(const Graph& g, const std::string& name) { return g.value(g.find_value(name)).desc.dtype; }

// x [1, 4, 2, 2] -> QuantizeLinear -> q -> DequantizeLinear -> y, per tensor.
OnnxModelBuilder qdq_model(int opset = 13) {
    OnnxModelBuilder m(opset);
    m.input("x", {1, 4, 2, 2});
    m.init_f32("s", {}, {0.5f});
    m.init(make_int("z", kI8, {}, {0}));
    m.node("QuantizeLinear", {"x", "s", "z"}, {"q"}, "quant");
    m.node("DequantizeLinear", {"q", "s", "z"}, {"y"}, "dequant");
    m.output("y");
    return m;
}

TEST(ImportQdq, PairPerTensor) {
    const Graph g = qdq_model().import();
    EXPECT_EQ(producer_of(g, "q").op, OpType::QuantizeLinear);
    EXPECT_EQ(producer_of(g, "y").op, OpType::DequantizeLinear);
    EXPECT_EQ(dtype_of(g, "q"), DataType::I8);
    EXPECT_EQ(dtype_of(g, "y"), DataType::F32);
    EXPECT_EQ(quant_params(g, "q").qtype, DataType::I8);
    EXPECT_EQ(quant_params(g, "y").qtype, DataType::I8);
    EXPECT_EQ(import_test::shape_of(g, "q"), (Shape{1, 4, 2, 2}));
    EXPECT_TRUE(g.value(g.find_value("q")).batched);
}

TEST(ImportQdq, Opset10PerTensor) {
    const Graph g = qdq_model(10).import();
    EXPECT_EQ(producer_of(g, "q").op, OpType::QuantizeLinear);
    EXPECT_EQ(count_ops(g, OpType::DequantizeLinear), 1u);
}

TEST(ImportQdq, MissingZeroPointIsUint8Zero) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 4});
    m.init_f32("s", {}, {0.25f});
    m.node("QuantizeLinear", {"x", "s"}, {"q"}, "quant");
    m.node("DequantizeLinear", {"q", "s"}, {"y"}, "dequant");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(dtype_of(g, "q"), DataType::U8);
    const engine::Node& q = producer_of(g, "q");
    ASSERT_EQ(q.inputs.size(), 3u);
    const engine::Tensor& z = g.constant(q.inputs[2]);
    EXPECT_EQ(z.dtype(), DataType::U8);
    EXPECT_EQ(z.to_i64(), (std::vector<int64_t>{0}));
    // The DequantizeLinear's default zero point has its input's type.
    EXPECT_EQ(g.constant(producer_of(g, "y").inputs[2]).dtype(), DataType::U8);
}

TEST(ImportQdq, PerAxisWeightsAndNegativeAxis) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 2, 3, 3});
    m.init(make_int("wq", kI8, {4, 2, 1, 1}, {1, -2, 3, -4, 5, -6, 7, -127}));
    m.init_f32("ws", {4}, {0.5f, 0.25f, 0.125f, 1.f});
    m.init(make_int("wz", kI8, {4}, {0, 0, 0, 0}));
    m.init(make_int("bq", kI32, {4}, {10, -20, 30, -40}));
    m.init_f32("bs", {4}, {0.1f, 0.1f, 0.1f, 0.1f});
    m.node("DequantizeLinear", {"wq", "ws", "wz"}, {"w"}, "w_dq").i("axis", 0);
    m.node("DequantizeLinear", {"bq", "bs"}, {"b"}, "b_dq").i("axis", -1);
    m.node("Conv", {"x", "w", "b"}, {"y"}, "conv");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(quant_params(g, "w").axis, 0);
    EXPECT_EQ(quant_params(g, "w").qtype, DataType::I8);
    EXPECT_EQ(quant_params(g, "b").axis, 0);  // -1 of rank 1
    EXPECT_EQ(quant_params(g, "b").qtype, DataType::I32);
    EXPECT_EQ(dtype_of(g, "w"), DataType::F32);
    EXPECT_EQ(producer_of(g, "y").op, OpType::Conv);  // the weights are static: the Conv imports
}

TEST(ImportQdq, CastOfAQuantizedTensorIsADequantize) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 3});
    m.init_f32("s", {}, {0.5f});
    m.init(make_int("z", kU8, {}, {128}));
    m.node("QuantizeLinear", {"x", "s", "z"}, {"q"}, "quant");
    m.node("Cast", {"q"}, {"y"}, "to_float").i("to", ::onnx::TensorProto::FLOAT);
    m.output("y");
    const Graph g = m.import();
    const engine::Node& cast = producer_of(g, "y");
    EXPECT_EQ(cast.op, OpType::DequantizeLinear);
    EXPECT_EQ(g.constant(cast.inputs[1]).to_f32(), (std::vector<float>{1.f}));
    EXPECT_EQ(g.constant(cast.inputs[2]).dtype(), DataType::U8);
    EXPECT_EQ(g.constant(cast.inputs[2]).to_i64(), (std::vector<int64_t>{0}));
}

// A QuantizeLinear 'quant' on x [1, 4, 2, 2] with the given inputs and attributes, then a
// DequantizeLinear of scale 1: `inits` adds the initializers the inputs name.
using ModelSetup = std::function<void(OnnxModelBuilder&)>;
ModelSetup quant_case(ModelSetup inits, std::vector<std::string> inputs,
                      std::function<void(import_test::NodeRef&)> attrs = {}) {
    return [=](OnnxModelBuilder& m) {
        m.input("x", {1, 4, 2, 2});
        m.init_f32("one", {}, {1.f});
        inits(m);
        import_test::NodeRef n = m.node("QuantizeLinear", inputs, {"q"}, "quant");
        if (attrs) attrs(n);
        m.node("DequantizeLinear", {"q", "one"}, {"y"}, "dequant");
        m.output("y");
    };
}

// A DequantizeLinear 'dq' of weights wq (added by `inits`, scale 1) feeding a 1x1 Conv.
ModelSetup dequant_case(ModelSetup inits, std::vector<std::string> inputs) {
    return [=](OnnxModelBuilder& m) {
        m.input("x", {1, 4, 1, 1});
        m.init_f32("ws", {}, {1.f});
        inits(m);
        m.node("DequantizeLinear", inputs, {"w"}, "dq");
        m.node("Conv", {"x", "w"}, {"y"}, "conv");
        m.output("y");
    };
}

ModelSetup scale(std::vector<int64_t> dims, std::vector<float> values) {
    return [=](OnnxModelBuilder& m) { m.init_f32("s", dims, values); };
}

ModelSetup scale_and_zero(std::vector<int64_t> dims, int32_t zero_type, std::vector<int64_t> zero_dims) {
    return [=](OnnxModelBuilder& m) {
        m.init_f32("s", dims, std::vector<float>(static_cast<size_t>(import_test::numel(dims)), 1.f));
        m.init(make_int("z", zero_type, zero_dims,
                        std::vector<int32_t>(static_cast<size_t>(import_test::numel(zero_dims)), 0)));
    };
}

ModelSetup int_weights(int32_t type, int32_t zero_type, int32_t zero) {
    return [=](OnnxModelBuilder& m) {
        m.init(make_int("wq", type, {4, 4, 1, 1}, std::vector<int32_t>(16, 1)));
        m.init(make_int("z", zero_type, {}, {zero}));
    };
}

struct BadCase {
    const char* what;
    ModelSetup build;
    std::vector<std::string> words;
    int opset = 13;
};

TEST(ImportQdq, BadInputsAreOneLineErrorsNamingTheNode) {
    const float inf = std::numeric_limits<float>::infinity();
    const ModelSetup none = [](OnnxModelBuilder&) {};
    const ModelSetup f16_scale = [](OnnxModelBuilder& m) {
        ::onnx::TensorProto t;
        t.set_name("s");
        t.set_data_type(::onnx::TensorProto::FLOAT16);
        t.add_int32_data(0x3c00);
        m.init(t);
    };
    const std::vector<BadCase> cases = {
        {"missing scale",
         quant_case(none, {"x"}),
         {"'quant' [QuantizeLinear]", "required input 1 is missing"}},
        {"zero scale",
         quant_case(scale({}, {0.f}), {"x", "s"}),
         {"'quant' [QuantizeLinear]", "y_scale 's' element 0 is 0", "finite and > 0"}},
        {"negative scale",
         quant_case(scale({}, {-0.5f}), {"x", "s"}),
         {"'quant'", "is -0.5", "finite and > 0"}},
        {"NaN scale", quant_case(scale({}, {NAN}), {"x", "s"}), {"'quant'", "is nan", "finite and > 0"}},
        {"infinite scale", quant_case(scale({1}, {inf}), {"x", "s"}), {"'quant'", "is inf"}},
        {"a bad element of per-axis scales",
         quant_case(scale({4}, {1.f, 2.f, 0.f, 1.f}), {"x", "s"}),
         {"'quant'", "element 2 is 0"}},
        {"run-time scale",
         quant_case(
             [](OnnxModelBuilder& m) {
                 m.input("s", {1, 4, 2, 2});
             },
             {"x", "s"}),
         {"'quant'", "y_scale", "must be a constant"}},
        {"per-axis scale of the wrong length",
         quant_case(scale({3}, {1.f, 1.f, 1.f}), {"x", "s"}),
         {"'quant'", "has 3 elements, but dim 1 (the axis) of the input [1,4,2,2] has 4"}},
        {"per-axis scale at opset 10",
         quant_case(scale({4}, {1.f, 1.f, 1.f, 1.f}), {"x", "s"}),
         {"'quant'", "per-axis scales need opset 13"},
         10},
        {"2-D scale",
         quant_case(scale({2, 2}, {1.f, 1.f, 1.f, 1.f}), {"x", "s"}),
         {"'quant'", "expected a scalar or a 1-D tensor"}},
        {"float16 scale",
         quant_case(f16_scale, {"x", "s"}),
         {"'quant'", "has type f16", "only float32 scales"}},
        {"axis out of range for per-axis scales",
         quant_case(scale({4}, {1.f, 1.f, 1.f, 1.f}), {"x", "s"},
                    [](import_test::NodeRef& n) { n.i("axis", 4); }),
         {"'quant'", "axis 4 is out of range"}},
        {"blocked quantization (opset 21)",
         quant_case(scale({4}, {1.f, 1.f, 1.f, 1.f}), {"x", "s"},
                    [](import_test::NodeRef& n) { n.i("block_size", 2); }),
         {"'quant'", "block_size 2", "not supported"}},
        {"zero point of another shape",
         quant_case(scale_and_zero({4}, kI8, {2}), {"x", "s", "z"}),
         {"'quant'", "y_zero_point 'z' has shape [2], the scale [4]"}},
        {"int32 zero point to quantize",
         quant_case(scale_and_zero({}, kI32, {}), {"x", "s", "z"}),
         {"'quant'", "has type i32", "int8 and uint8"}},
        {"int16 zero point",
         quant_case(scale_and_zero({}, ::onnx::TensorProto::INT16, {}), {"x", "s", "z"}),
         {"'quant'", "INT16", "does not support"}},
        {"float zero point",
         quant_case(
             [](OnnxModelBuilder& m) {
                 m.init_f32("s", {}, {1.f});
                 m.init_f32("z", {}, {0.f});
             },
             {"x", "s", "z"}),
         {"'quant'", "has type f32", "int8 and uint8"}},
        {"float input to DequantizeLinear",
         dequant_case(
             [](OnnxModelBuilder& m) {
                 m.init_f32("wq", {4, 4, 1, 1}, 1.f);
             },
             {"wq", "ws"}),
         {"'dq' [DequantizeLinear]", "has type f32", "reads int8, uint8 or int32"}},
        {"zero point type differs from the input",
         dequant_case(int_weights(kI8, kU8, 0), {"wq", "ws", "z"}),
         {"'dq'", "x_zero_point 'z' has type u8, the input 'wq' i8"}},
        {"nonzero int32 zero point",
         dequant_case(int_weights(kI32, kI32, 3), {"wq", "ws", "z"}),
         {"'dq'", "is 3; an int32 zero point must be 0"}},
        {"quantized tensor read by a float op",
         [](OnnxModelBuilder& m) {
             m.input("x", {1, 4});
             m.init_f32("s", {}, {1.f});
             m.node("QuantizeLinear", {"x", "s"}, {"q"}, "quant");
             m.node("Relu", {"q"}, {"y"}, "relu");
             m.output("y");
         },
         {"'relu' [Relu]", "input 'q' has type u8", "float32 tensors only"}},
    };
    for (const BadCase& c : cases) {
        OnnxModelBuilder m(c.opset);
        c.build(m);
        const std::string msg = import_error(m);
        EXPECT_EQ(msg.find('\n'), std::string::npos) << c.what << ": " << msg;
        EXPECT_TRUE(contains_all(msg, {"import failed at node"})) << c.what;
        for (const std::string& w : c.words) EXPECT_TRUE(contains_all(msg, {w})) << c.what;
    }
}

}  // namespace
