// Constant chains evaluated at import: Shape/Gather/Unsqueeze/Concat/Cast/Slice/arithmetic/Range/
// ConstantOfShape/Equal/Where never reach the IR; their consumers see constants. Expected values are
// hand-computed.
#include <gtest/gtest.h>

#include <limits>

#include "engine/core/error.h"
#include "engine/ir/graph.h"
#include "engine/onnx/const_eval.h"
#include "tests/engine/import/onnx_model_builder.h"

namespace {

using engine::DataType;
using engine::Graph;
using engine::OpType;
using engine::Shape;
using engine::Tensor;
using import_test::OnnxModelBuilder;
using import_test::producer_of;
using import_test::shape_of;

std::vector<int64_t> const_i64(const Graph& g, const std::string& name) {
    return g.constant(g.find_value(name)).to_i64();
}

// x -> Conv -> y[N,6,4,4]; Reshape(y, Concat(Unsqueeze(Gather(Shape(y), 0)), [2,3,16])): the dynamic-batch
// reshape of YOLO heads.
OnnxModelBuilder dynamic_reshape_model() {
    OnnxModelBuilder m(13);
    m.input("x", {-1, 3, 4, 4});
    m.init_f32("W", {6, 3, 1, 1}, 1.f);
    m.init_i64("zero", {}, {0});
    m.init_i64("axes0", {1}, {0});
    m.init_i64("tail", {3}, {2, 3, 16});
    m.node("Conv", {"x", "W"}, {"y"}, "conv");
    m.node("Shape", {"y"}, {"s"}, "shape");
    m.node("Gather", {"s", "zero"}, {"n"}, "gather").i("axis", 0);
    m.node("Unsqueeze", {"n", "axes0"}, {"n1"}, "unsqueeze");
    m.node("Concat", {"n1", "tail"}, {"target"}, "concat").i("axis", 0);
    m.node("Reshape", {"y", "target"}, {"out"}, "reshape");
    m.output("out");
    return m;
}

TEST(ImportConstEval, ShapeGatherUnsqueezeConcatReshapeFolds) {
    const Graph g = dynamic_reshape_model().import();
    EXPECT_EQ(g.num_live_nodes(), 2u);  // Conv and Reshape only
    EXPECT_EQ(engine::count_ops(g, OpType::Conv), 1u);
    EXPECT_EQ(engine::count_ops(g, OpType::Reshape), 1u);
    EXPECT_EQ(const_i64(g, "s"), (std::vector<int64_t>{1, 6, 4, 4}));
    EXPECT_EQ(g.constant(g.find_value("n")).shape(), Shape{});
    EXPECT_EQ(const_i64(g, "target"), (std::vector<int64_t>{1, 2, 3, 16}));
    EXPECT_EQ(shape_of(g, "out"), (Shape{1, 2, 3, 16}));
    const engine::Node& r = producer_of(g, "out");
    ASSERT_EQ(r.inputs.size(), 1u);
    EXPECT_EQ(g.value(r.inputs[0]).name, "y");
}

TEST(ImportConstEval, FoldedReshapeFollowsTheBatchOption) {
    engine::onnx::ImportOptions opt;
    opt.batch = 4;
    const Graph g = dynamic_reshape_model().import(opt);
    EXPECT_EQ(shape_of(g, "out"), (Shape{4, 2, 3, 16}));
    EXPECT_TRUE(g.value(g.find_value("out")).batched);
}

TEST(ImportConstEval, ResizeSizesFromShapeArithmetic) {
    // sizes = Concat(Slice(Shape(x), 0:2), Slice(Shape(x), 2:4) * 2)
    OnnxModelBuilder m(13);
    m.input("x", {1, 3, 4, 5});
    m.init_i64("s0", {1}, {0});
    m.init_i64("s2", {1}, {2});
    m.init_i64("s4", {1}, {4});
    m.init_i64("two", {2}, {2, 2});
    m.node("Shape", {"x"}, {"shp"}, "shape");
    m.node("Slice", {"shp", "s0", "s2"}, {"nc"}, "slice_nc");
    m.node("Slice", {"shp", "s2", "s4"}, {"hw"}, "slice_hw");
    m.node("Mul", {"hw", "two"}, {"hw2"}, "mul");
    m.node("Concat", {"nc", "hw2"}, {"sizes"}, "concat").i("axis", 0);
    m.node("Resize", {"x", "", "", "sizes"}, {"y"}, "resize")
        .s("coordinate_transformation_mode", "asymmetric");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(g.num_live_nodes(), 1u);
    EXPECT_EQ(const_i64(g, "sizes"), (std::vector<int64_t>{1, 3, 8, 10}));
    EXPECT_EQ(std::get<engine::ResizeParams>(producer_of(g, "y").params).scales,
              (std::vector<float>{1.f, 1.f, 2.f, 2.f}));
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 3, 8, 10}));
}

TEST(ImportConstEval, FloatScalarChainIsFoldedForShapes) {
    // PyTorch-style: sizes = Cast(Cast(Shape(x)[2:4], float) * 1.5, int64) -- float math on a 1-D shape
    // vector must fold at import, or the Cast to int64 would see a run-time value.
    OnnxModelBuilder m(13);
    m.input("x", {1, 2, 4, 6});
    m.init_i64("s0", {1}, {0});
    m.init_i64("s2", {1}, {2});
    m.init_i64("s4", {1}, {4});
    m.init_f32("k", {1}, {1.5f});
    m.node("Shape", {"x"}, {"shp"}, "shape");
    m.node("Slice", {"shp", "s2", "s4"}, {"hw"}, "slice_hw");
    m.node("Slice", {"shp", "s0", "s2"}, {"nc"}, "slice_nc");
    m.node("Cast", {"hw"}, {"hwf"}, "to_float").i("to", ::onnx::TensorProto::FLOAT);
    m.node("Mul", {"hwf", "k"}, {"hwf2"}, "scale");
    m.node("Cast", {"hwf2"}, {"hw2"}, "to_int").i("to", ::onnx::TensorProto::INT64);
    m.node("Concat", {"nc", "hw2"}, {"sizes"}, "concat").i("axis", 0);
    m.node("Resize", {"x", "", "", "sizes"}, {"y"}, "resize");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(g.num_live_nodes(), 1u);
    EXPECT_EQ(g.constant(g.find_value("hwf2")).dtype(), DataType::F32);
    EXPECT_EQ(const_i64(g, "sizes"), (std::vector<int64_t>{1, 2, 6, 9}));
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 2, 6, 9}));
}

TEST(ImportConstEval, ShapeStartEndOpset15) {
    OnnxModelBuilder m(15);
    m.input("x", {2, 3, 4, 5});
    m.node("Shape", {"x"}, {"a"}, "s1").i("start", 1).i("end", -1);
    m.node("Shape", {"x"}, {"b"}, "s2").i("start", -2);
    m.node("Shape", {"x"}, {"c"}, "s3").i("start", -10).i("end", 10);  // clamped
    m.node("Relu", {"x"}, {"y"}, "relu");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(const_i64(g, "a"), (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(const_i64(g, "b"), (std::vector<int64_t>{4, 5}));
    EXPECT_EQ(const_i64(g, "c"), (std::vector<int64_t>{2, 3, 4, 5}));
}

// Issue 18's fuzz findings (tests/fuzz/regressions/fuzz_onnx/shape_selects_no_dim_*): a Shape whose
// start/end select no dim gives an empty constant; building it copied from a null pointer (UB).
TEST(ImportConstEval, ShapeSelectingNoDimIsAnEmptyConstant) {
    OnnxModelBuilder m(15);
    m.input("x", {2, 3, 4});
    m.node("Shape", {"x"}, {"a"}, "s1").i("end", -9345);
    m.node("Shape", {"x"}, {"b"}, "s2").i("start", 1).i("end", -3);
    m.node("Shape", {"x"}, {"c"}, "s3").i("start", 3);
    m.node("Relu", {"x"}, {"y"}, "relu");
    m.output("y");
    const Graph g = m.import();
    for (const char* name : {"a", "b", "c"}) {
        EXPECT_EQ(g.constant(g.find_value(name)).shape(), (Shape{0})) << name;
        EXPECT_TRUE(const_i64(g, name).empty()) << name;
    }
}

TEST(ImportConstEval, GatherAxisAndNegativeIndices) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 2});
    m.init_i64("data", {2, 3}, {10, 11, 12, 20, 21, 22});
    m.init_i64("idx", {2}, {-1, 0});
    m.node("Gather", {"data", "idx"}, {"g1"}, "gather_axis1").i("axis", 1);
    m.node("Gather", {"data", "idx"}, {"g0"}, "gather_axis0");
    m.node("Relu", {"x"}, {"y"}, "relu");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(g.constant(g.find_value("g1")).shape(), (Shape{2, 2}));
    EXPECT_EQ(const_i64(g, "g1"), (std::vector<int64_t>{12, 10, 22, 20}));
    EXPECT_EQ(const_i64(g, "g0"), (std::vector<int64_t>{20, 21, 22, 10, 11, 12}));
}

TEST(ImportConstEval, IntegerArithmeticCastRangeConstantOfShapeWhere) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 2});
    m.init_i64("a", {2}, {7, -7});
    m.init_i64("b", {1}, {2});
    m.init_i64("start", {}, {5});
    m.init_i64("limit", {}, {-1});
    m.init_i64("delta", {}, {-2});
    m.init_i64("shape", {2}, {2, 3});
    m.node("Div", {"a", "b"}, {"q"}, "div");  // truncation: 3, -3
    m.node("Sub", {"a", "b"}, {"d"}, "sub");
    m.node("Cast", {"q"}, {"qf"}, "cast").i("to", ::onnx::TensorProto::FLOAT);
    m.node("Range", {"start", "limit", "delta"}, {"r"}, "range");  // 5, 3, 1
    m.node("ConstantOfShape", {"shape"}, {"cos"}, "cos").tensor("value", import_test::make_i64("", {1}, {9}));
    m.node("Equal", {"r", "b"}, {"eq"}, "eq");  // r == 2 broadcast -> false x3
    m.node("Equal", {"a", "a"}, {"t"}, "eq_true");
    m.node("Where", {"t", "q", "d"}, {"w"}, "where");
    m.node("Relu", {"x"}, {"y"}, "relu");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(g.num_live_nodes(), 1u);
    EXPECT_EQ(const_i64(g, "q"), (std::vector<int64_t>{3, -3}));
    EXPECT_EQ(const_i64(g, "d"), (std::vector<int64_t>{5, -9}));
    EXPECT_EQ(g.constant(g.find_value("qf")).dtype(), DataType::F32);
    EXPECT_EQ(g.constant(g.find_value("qf")).to_f32(), (std::vector<float>{3.f, -3.f}));
    EXPECT_EQ(const_i64(g, "r"), (std::vector<int64_t>{5, 3, 1}));
    EXPECT_EQ(g.constant(g.find_value("cos")).shape(), (Shape{2, 3}));
    EXPECT_EQ(const_i64(g, "cos"), (std::vector<int64_t>(6, 9)));
    EXPECT_EQ(g.constant(g.find_value("eq")).dtype(), DataType::Bool);
    EXPECT_EQ(const_i64(g, "eq"), (std::vector<int64_t>{0, 0, 0}));
    EXPECT_EQ(const_i64(g, "w"), (std::vector<int64_t>{3, -3}));
}

TEST(ImportConstEval, ConstantIntSliceWithNegativeStepAndTranspose) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 2});
    m.init_i64("v", {2, 3}, {1, 2, 3, 4, 5, 6});
    m.init_i64("st", {1}, {-1});
    m.init_i64("en", {1}, {std::numeric_limits<int64_t>::min()});
    m.init_i64("ax", {1}, {1});
    m.init_i64("sp", {1}, {-1});
    m.node("Slice", {"v", "st", "en", "ax", "sp"}, {"rev"}, "slice");
    m.node("Transpose", {"v"}, {"vt"}, "transpose");
    m.node("Relu", {"x"}, {"y"}, "relu");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(const_i64(g, "rev"), (std::vector<int64_t>{3, 2, 1, 6, 5, 4}));
    EXPECT_EQ(g.constant(g.find_value("vt")).shape(), (Shape{3, 2}));
    EXPECT_EQ(const_i64(g, "vt"), (std::vector<int64_t>{1, 4, 2, 5, 3, 6}));
}

TEST(ImportConstEval, WholeGraphOfConstantsHasConstantOutputs) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 3, 2, 2});
    m.node("Shape", {"x"}, {"s"}, "shape");
    m.output("s");
    const Graph g = m.import();
    EXPECT_EQ(g.num_live_nodes(), 0u);
    ASSERT_EQ(g.outputs().size(), 1u);
    EXPECT_TRUE(g.is_constant(g.outputs()[0]));
    EXPECT_EQ(g.constant(g.outputs()[0]).to_i64(), (std::vector<int64_t>{1, 3, 2, 2}));
}

// --- the shared helpers directly ---

TEST(ConstEvalHelpers, ResolveSliceFollowsOnnxClamping) {
    using engine::onnx::resolve_slice;
    const auto big = std::numeric_limits<int64_t>::max();
    // start beyond the end: empty
    EXPECT_EQ(resolve_slice({10}, {20}, {big}, {}, {}).out, (Shape{0}));
    // negative step from the end to the beginning, every third: 9, 6, 3, 0
    const auto s = resolve_slice({10}, {-1}, {-big}, {0}, {-3});
    EXPECT_EQ(s.out, (Shape{4}));
    EXPECT_EQ(s.starts, (std::vector<int64_t>{9}));
    EXPECT_EQ(s.steps, (std::vector<int64_t>{-3}));
    // start clamped to dim-1 for negative steps: 100 -> 4, down to (exclusive) 1: 4, 3, 2
    EXPECT_EQ(resolve_slice({5}, {100}, {1}, {}, {-1}).out, (Shape{3}));
    EXPECT_THROW(resolve_slice({5}, {0}, {5}, {}, {0}), engine::Error);
    EXPECT_THROW(resolve_slice({5}, {0}, {5}, {1}, {}), engine::Error);
}

TEST(ConstEvalHelpers, ResolveReshape) {
    using engine::onnx::resolve_reshape;
    EXPECT_EQ(resolve_reshape({2, 3, 4}, {0, -1}, false), (Shape{2, 12}));
    EXPECT_EQ(resolve_reshape({2, 3, 4}, {-1}, false), (Shape{24}));
    EXPECT_EQ(resolve_reshape({2, 0, 4}, {0, 0, 4}, false), (Shape{2, 0, 4}));
    EXPECT_THROW(resolve_reshape({2, 0, 4}, {0, 0, -1}, false), engine::Error);  // -1 of zero elements
    EXPECT_EQ(resolve_reshape({3, 0}, {0, 3}, true), (Shape{0, 3}));
    EXPECT_THROW(resolve_reshape({2, 3}, {-1, -1}, false), engine::Error);
    EXPECT_THROW(resolve_reshape({2, 3}, {4, 2}, false), engine::Error);
    EXPECT_THROW(resolve_reshape({2, 3}, {5, -1}, false), engine::Error);
}

TEST(ConstEvalHelpers, SqueezeUnsqueezeFlattenBroadcast) {
    using namespace engine::onnx;
    EXPECT_EQ(squeeze_shape({1, 3, 1, 2}, {}), (Shape{3, 2}));
    EXPECT_EQ(squeeze_shape({1, 3, 1, 2}, {-2}), (Shape{1, 3, 2}));
    EXPECT_THROW(squeeze_shape({1, 3}, {1}), engine::Error);
    EXPECT_EQ(unsqueeze_shape({3, 4}, {0, 3}), (Shape{1, 3, 4, 1}));
    EXPECT_EQ(unsqueeze_shape({3, 4}, {-1}), (Shape{3, 4, 1}));
    EXPECT_EQ(flatten_shape({2, 3, 4}, 0), (Shape{1, 24}));
    EXPECT_EQ(flatten_shape({2, 3, 4}, -1), (Shape{6, 4}));
    EXPECT_EQ(broadcast_shapes({2, 1, 4}, {3, 1}), (Shape{2, 3, 4}));
    EXPECT_THROW(broadcast_shapes({2, 3}, {4}), engine::Error);
}

// Integer Range over int64's whole span: limit - start and the values start + i * delta do not fit
// int64 arithmetic (undefined behaviour before issue 18); the values themselves all do.
TEST(ConstEvalHelpers, RangeAcrossTheWholeInt64Span) {
    using engine::onnx::eval_range;
    const int64_t min = std::numeric_limits<int64_t>::min(), max = std::numeric_limits<int64_t>::max();
    auto scalar = [](int64_t v) { return Tensor::from_i64({}, std::vector<int64_t>{v}); };
    const int64_t q = int64_t{1} << 62;
    EXPECT_EQ(eval_range(scalar(min), scalar(max), scalar(q)).to_i64(),
              (std::vector<int64_t>{min, min + q, 0, q}));
    EXPECT_EQ(eval_range(scalar(max), scalar(min), scalar(-q)).to_i64(),
              (std::vector<int64_t>{max, max - q, -1, -1 - q}));
    // delta INT64_MIN: one step from max down past min + 1
    EXPECT_EQ(eval_range(scalar(max), scalar(min), scalar(min)).to_i64(), (std::vector<int64_t>{max, -1}));
    EXPECT_THROW(eval_range(scalar(min), scalar(max), scalar(1)), engine::Error);  // 2^64 elements
}

TEST(ConstEvalHelpers, CastConvertsBetweenTypes) {
    using engine::onnx::eval_cast;
    const std::vector<float> f{1.9f, -1.9f, 0.f, 3.f};
    const Tensor t = Tensor::from_f32({4}, f);
    EXPECT_EQ(eval_cast(t, DataType::I64).to_i64(), (std::vector<int64_t>{1, -1, 0, 3}));  // truncation
    EXPECT_EQ(eval_cast(t, DataType::Bool).to_i64(), (std::vector<int64_t>{1, 1, 0, 1}));
    const Tensor h = eval_cast(t, DataType::F16);
    EXPECT_EQ(h.dtype(), DataType::F16);
    const Tensor back = eval_cast(h, DataType::F32);
    EXPECT_NEAR(back.to_f32()[0], 1.9f, 1e-3f);
    EXPECT_EQ(back.to_f32()[3], 3.f);
}

}  // namespace
