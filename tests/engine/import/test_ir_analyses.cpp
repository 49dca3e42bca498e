// engine/ir analyses on graphs built by hand: shape inference (shapes, `batched`, errors naming the
// node), verify() (each structural rule), dump().
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/ir/graph.h"

namespace {

using engine::Graph;
using engine::NodeId;
using engine::OpType;
using engine::Shape;
using engine::Tensor;
using engine::ValueId;

ValueId add_input(Graph& g, const std::string& name, const Shape& shape, bool batched = true) {
    engine::Value v;
    v.name = name;
    v.desc = {engine::DataType::F32, shape};
    v.batched = batched;
    const ValueId id = g.add_value(std::move(v));
    g.mark_input(id);
    return id;
}

ValueId add_out(Graph& g, const std::string& name, const Shape& preset = {}) {
    engine::Value v;
    v.name = name;
    v.desc.shape = preset;
    return g.add_value(std::move(v));
}

ValueId add_const(Graph& g, const std::string& name, const Shape& shape) {
    return g.add_constant(name, Tensor(engine::DataType::F32, shape));
}

std::string infer_error(Graph& g) {
    try {
        engine::infer_shapes(g);
    } catch (const engine::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected shape inference to fail";
    return {};
}

bool contains(const std::string& s, const std::string& w) { return s.find(w) != std::string::npos; }

// x[2,4,8,8] -> Conv(8x4x3x3, pad 1, stride 2) -> Relu -> y
struct ConvGraph {
    Graph g;
    ValueId x, w, b, c, y;
    NodeId conv, relu;
    ConvGraph() {
        x = add_input(g, "x", {2, 4, 8, 8});
        w = add_const(g, "W", {8, 4, 3, 3});
        b = add_const(g, "B", {8});
        c = add_out(g, "c");
        y = add_out(g, "y");
        engine::ConvParams p;
        p.kernel = {3, 3};
        p.stride = {2, 2};
        p.pads = {1, 1, 1, 1};
        conv = g.add_node(OpType::Conv, "conv", {x, w, b}, {c}, p);
        relu = g.add_node(OpType::Relu, "relu", {c}, {y});
        g.mark_output(y);
    }
};

TEST(ShapeInference, ConvAndActivation) {
    ConvGraph cg;
    engine::infer_shapes(cg.g);
    EXPECT_EQ(cg.g.value(cg.c).desc.shape, (Shape{2, 8, 4, 4}));
    EXPECT_EQ(cg.g.value(cg.y).desc.shape, (Shape{2, 8, 4, 4}));
    EXPECT_EQ(cg.g.value(cg.y).desc.dtype, engine::DataType::F32);
    EXPECT_TRUE(cg.g.value(cg.y).batched);
    EXPECT_NO_THROW(engine::verify(cg.g));
}

TEST(ShapeInference, ConstantsKeepTheirDesc) {
    ConvGraph cg;
    engine::infer_shapes(cg.g);
    EXPECT_EQ(cg.g.value(cg.w).desc.shape, (Shape{8, 4, 3, 3}));
    EXPECT_FALSE(cg.g.value(cg.w).batched);
}

TEST(ShapeInference, ConvChannelMismatchNamesNode) {
    Graph g;
    const ValueId x = add_input(g, "x", {1, 3, 8, 8});
    const ValueId w = add_const(g, "W", {4, 2, 3, 3});
    const ValueId b = add_const(g, "B", {4});
    engine::ConvParams p;
    p.kernel = {3, 3};
    g.add_node(OpType::Conv, "bad_conv", {x, w, b}, {add_out(g, "y")}, p);
    const std::string msg = infer_error(g);
    EXPECT_TRUE(contains(msg, "'bad_conv'") && contains(msg, "[Conv]") && contains(msg, "channels")) << msg;
}

TEST(ShapeInference, WrongParamsAlternativeNamesNode) {
    Graph g;
    const ValueId x = add_input(g, "x", {1, 3, 8, 8});
    g.add_node(OpType::MaxPool, "pool", {x}, {add_out(g, "y")}, engine::ConcatParams{});
    const std::string msg = infer_error(g);
    EXPECT_TRUE(contains(msg, "'pool'") && contains(msg, "params")) << msg;
}

// Found by fuzzing (tests/fuzz/regressions/fuzz_onnx/resize_scale_dim_overflow_*): a huge Resize scale
// made the computed dim a double outside int64's range (undefined behaviour in the cast).
TEST(ShapeInference, ResizeScaleBeyondDimLimitIsAnError) {
    for (const float scale : {1e30f, 3e12f}) {  // 8 * 3e12 = 2.4e13 > 2^40 (1.1e12)
        Graph g;
        const ValueId x = add_input(g, "x", {1, 3, 8, 8});
        engine::ResizeParams p;
        p.scales = {1.f, 1.f, scale, 1.f};
        g.add_node(OpType::Resize, "up", {x}, {add_out(g, "y")}, p);
        const std::string msg = infer_error(g);
        EXPECT_TRUE(contains(msg, "'up'") && contains(msg, "2^40")) << msg;
    }
    Graph g;  // 8 * 1e11 = 8e11 < 2^40: allowed
    const ValueId x = add_input(g, "x", {1, 3, 8, 8});
    engine::ResizeParams p;
    p.scales = {1.f, 1.f, 1e11f, 1.f};
    const ValueId y = add_out(g, "y");
    g.add_node(OpType::Resize, "up", {x}, {y}, p);
    engine::infer_shapes(g);
    EXPECT_EQ(g.value(y).desc.shape[2], static_cast<int64_t>(std::floor(8.0 * static_cast<double>(1e11f))));
}

TEST(ShapeInference, ConcatBeyondDimLimitIsAnError) {
    Graph g;
    const int64_t big = int64_t{1} << 40;
    const ValueId a = add_input(g, "a", {1, big});
    const ValueId b = add_input(g, "b", {1, big});
    engine::ConcatParams p;
    p.axis = 1;
    g.add_node(OpType::Concat, "cat", {a, b}, {add_out(g, "y")}, p);
    const std::string msg = infer_error(g);
    EXPECT_TRUE(contains(msg, "'cat'") && contains(msg, "2^40")) << msg;
}

// Params a plan or model can set to anything (pads, slice steps, split sizes, a reshape target): their
// arithmetic is checked (engine/core/checked.h) and an overflow is an error that names the node.
TEST(ShapeInference, OverflowingParamsAreErrorsNamingTheNode) {
    const int64_t max = std::numeric_limits<int64_t>::max();
    {
        Graph g;
        const ValueId x = add_input(g, "x", {1, 3});
        engine::PadParams p;
        p.pads = {0, max, 0, 1};  // 3 + INT64_MAX
        g.add_node(OpType::Pad, "pad", {x}, {add_out(g, "y")}, p);
        const std::string msg = infer_error(g);
        EXPECT_TRUE(contains(msg, "node 'pad' [Pad]: padded dim: 3 + 9223372036854775807 overflows int64"))
            << msg;
    }
    {
        Graph g;
        const ValueId x = add_input(g, "x", {1, 8});
        engine::SliceParams p{{0, 0}, {1, max}};  // 3 elements from 0 with step INT64_MAX
        g.add_node(OpType::Slice, "slice", {x}, {add_out(g, "y", {1, 3})}, p);
        const std::string msg = infer_error(g);
        EXPECT_TRUE(contains(msg, "node 'slice' [Slice]: slice extent: 2 * 9223372036854775807")) << msg;
    }
    {
        Graph g;
        const ValueId x = add_input(g, "x", {1, 8});
        engine::SplitParams p{1, {max, 1}};
        g.add_node(OpType::Split, "split", {x}, {add_out(g, "a"), add_out(g, "b")}, p);
        const std::string msg = infer_error(g);
        EXPECT_TRUE(contains(msg, "node 'split' [Split]: sum of split sizes")) << msg;
    }
    {
        Graph g;  // a preset Reshape output whose element count overflows
        const ValueId x = add_input(g, "x", {1, 8});
        g.add_node(OpType::Reshape, "reshape", {x}, {add_out(g, "y", {4, max})});
        const std::string msg = infer_error(g);
        EXPECT_TRUE(
            contains(msg, "node 'reshape' [Reshape]: shape [4,9223372036854775807]: the element count"))
            << msg;
    }
    {
        Graph g;  // an input dim near INT64_MAX under a window op's padding
        const ValueId x = add_input(g, "x", {1, 1, max - 1, 4});
        engine::MaxPoolParams p;
        p.kernel = {2, 2};
        p.stride = {1, 1};
        p.pads = {2, 0, 0, 0};
        g.add_node(OpType::MaxPool, "pool", {x}, {add_out(g, "y")}, p);
        const std::string msg = infer_error(g);
        EXPECT_TRUE(contains(msg, "node 'pool' [MaxPool]: padded input")) << msg;
    }
}

TEST(ShapeInference, BinaryBatchedRules) {
    Graph g;
    const ValueId x = add_input(g, "x", {4, 3});
    const ValueId row = add_const(g, "row", {1, 3});
    const ValueId full = add_const(g, "full", {4, 3});
    const ValueId vec = add_const(g, "vec", {3});
    const ValueId a = add_out(g, "a"), b = add_out(g, "b"), c = add_out(g, "c");
    g.add_node(OpType::Add, "add_row", {x, row}, {a});
    g.add_node(OpType::Mul, "mul_full", {x, full}, {b});
    g.add_node(OpType::Sub, "sub_vec", {vec, x}, {c});
    engine::infer_shapes(g);
    EXPECT_TRUE(g.value(a).batched);   // [1,3] broadcasts over the batch
    EXPECT_FALSE(g.value(b).batched);  // a fixed [4,3] operand pins dim 0
    EXPECT_TRUE(g.value(c).batched);   // lower rank never reaches dim 0
    EXPECT_EQ(g.value(c).desc.shape, (Shape{4, 3}));
    Graph bad;
    const ValueId p = add_input(bad, "p", {4, 3});
    bad.add_node(OpType::Div, "div", {p, add_const(bad, "q", {2, 3})}, {add_out(bad, "r")});
    const std::string msg = infer_error(bad);
    EXPECT_TRUE(contains(msg, "'div'") && contains(msg, "not broadcastable")) << msg;
}

TEST(ShapeInference, LayoutOpsBatchedRules) {
    Graph g;
    const ValueId x = add_input(g, "x", {2, 6, 4, 4});
    const ValueId t0 = add_out(g, "t0"), t1 = add_out(g, "t1");
    g.add_node(OpType::Transpose, "nhwc", {x}, {t0}, engine::TransposeParams{{0, 2, 3, 1}});
    g.add_node(OpType::Transpose, "swap", {x}, {t1}, engine::TransposeParams{{1, 0, 2, 3}});
    const ValueId r0 = add_out(g, "r0", {2, 96}), r1 = add_out(g, "r1", {12, 16});
    g.add_node(OpType::Reshape, "keep", {x}, {r0});
    g.add_node(OpType::Reshape, "merge", {x}, {r1});
    const ValueId c0 = add_out(g, "c0"), c1 = add_out(g, "c1");
    g.add_node(OpType::Concat, "cat1", {x, x}, {c0}, engine::ConcatParams{1, false});
    g.add_node(OpType::Concat, "cat0", {x, x}, {c1}, engine::ConcatParams{0, false});
    const ValueId s0 = add_out(g, "s0"), s1 = add_out(g, "s1");
    g.add_node(OpType::Split, "split", {x}, {s0, s1}, engine::SplitParams{1, {2, 4}});
    const ValueId z0 = add_out(g, "z0"), z1 = add_out(g, "z1");
    g.add_node(OpType::Resize, "up", {x}, {z0}, engine::ResizeParams{{1.f, 1.f, 2.f, 2.f}, {}, {}});
    g.add_node(OpType::Resize, "batch_up", {x}, {z1}, engine::ResizeParams{{2.f, 1.f, 1.f, 1.f}, {}, {}});
    const ValueId sm0 = add_out(g, "sm0"), sm1 = add_out(g, "sm1");
    g.add_node(OpType::Softmax, "sm_c", {x}, {sm0}, engine::SoftmaxParams{1, false});
    g.add_node(OpType::Softmax, "sm_n", {x}, {sm1}, engine::SoftmaxParams{0, false});
    const ValueId p0 = add_out(g, "p0"), p1 = add_out(g, "p1");
    g.add_node(OpType::Pad, "pad_hw", {x}, {p0},
               engine::PadParams{engine::PadMode::Constant, {0, 0, 1, 1, 0, 0, 1, 1}, 0.f});
    g.add_node(OpType::Pad, "pad_n", {x}, {p1},
               engine::PadParams{engine::PadMode::Edge, {1, 0, 0, 0, 0, 0, 0, 0}, 0.f});
    const ValueId sl0 = add_out(g, "sl0", {2, 3, 4, 4}), sl1 = add_out(g, "sl1", {1, 6, 4, 4});
    g.add_node(OpType::Slice, "slice_c", {x}, {sl0}, engine::SliceParams{{0, 5, 0, 0}, {1, -2, 1, 1}});
    g.add_node(OpType::Slice, "slice_n", {x}, {sl1}, engine::SliceParams{{1, 0, 0, 0}, {1, 1, 1, 1}});
    engine::infer_shapes(g);
    auto check = [&](ValueId v, const Shape& s, bool batched) {
        EXPECT_EQ(g.value(v).desc.shape, s) << g.value(v).name;
        EXPECT_EQ(g.value(v).batched, batched) << g.value(v).name;
    };
    check(t0, {2, 4, 4, 6}, true);
    check(t1, {6, 2, 4, 4}, false);
    check(r0, {2, 96}, true);
    check(r1, {12, 16}, false);
    check(c0, {2, 12, 4, 4}, true);
    check(c1, {4, 6, 4, 4}, false);
    check(s0, {2, 2, 4, 4}, true);
    check(s1, {2, 4, 4, 4}, true);
    check(z0, {2, 6, 8, 8}, true);
    check(z1, {4, 6, 4, 4}, false);
    check(sm0, {2, 6, 4, 4}, true);
    check(sm1, {2, 6, 4, 4}, false);
    check(p0, {2, 6, 6, 6}, true);
    check(p1, {3, 6, 4, 4}, false);
    check(sl0, {2, 3, 4, 4}, true);
    check(sl1, {1, 6, 4, 4}, false);
}

TEST(ShapeInference, PresetShapesAreChecked) {
    Graph g;
    const ValueId x = add_input(g, "x", {2, 6});
    g.add_node(OpType::Reshape, "reshape_bad", {x}, {add_out(g, "r", {5, 2})});
    EXPECT_TRUE(contains(infer_error(g), "'reshape_bad'"));
    Graph g2;
    const ValueId x2 = add_input(g2, "x", {2, 6});
    // 4 elements from 3 with step 2 reach index 9 >= 6.
    g2.add_node(OpType::Slice, "slice_bad", {x2}, {add_out(g2, "s", {2, 4})},
                engine::SliceParams{{0, 3}, {1, 2}});
    const std::string msg = infer_error(g2);
    EXPECT_TRUE(contains(msg, "'slice_bad'") && contains(msg, "dim 1")) << msg;
}

TEST(ShapeInference, MaxPoolCeilModeAndBatchNorm) {
    Graph g;
    const ValueId x = add_input(g, "x", {1, 2, 5, 5});
    engine::MaxPoolParams p;
    p.kernel = {2, 2};
    p.stride = {2, 2};
    p.ceil_mode = true;
    const ValueId y = add_out(g, "y");
    g.add_node(OpType::MaxPool, "pool", {x}, {y}, p);
    std::vector<ValueId> bn_in{y};
    for (const char* n : {"s", "b", "m", "v"}) bn_in.push_back(add_const(g, n, {2}));
    const ValueId z = add_out(g, "z");
    g.add_node(OpType::BatchNorm, "bn", bn_in, {z}, engine::BatchNormParams{});
    engine::infer_shapes(g);
    EXPECT_EQ(g.value(y).desc.shape, (Shape{1, 2, 3, 3}));  // ceil((5-2)/2)+1
    EXPECT_EQ(g.value(z).desc.shape, (Shape{1, 2, 3, 3}));
}

// --- verify ---

std::string verify_error(const Graph& g) {
    try {
        engine::verify(g);
    } catch (const engine::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected verify to fail";
    return {};
}

// x [1, 3, 2, 2] -> QuantizeLinear(scale, zero point) -> q; the operands' dtypes and shapes as given.
struct QuantGraph {
    Graph g;
    ValueId x, q;
    NodeId n;
    QuantGraph(engine::DataType zero_dtype, const Shape& scale_shape, engine::QuantParams p,
               OpType op = OpType::QuantizeLinear) {
        x = add_input(g, "x", {1, 3, 2, 2});
        const ValueId s = g.add_constant("s", Tensor(engine::DataType::F32, scale_shape));
        const ValueId z = g.add_constant("z", Tensor(zero_dtype, scale_shape));
        q = add_out(g, "q");
        std::vector<ValueId> ins = {x, s, z};
        if (op == OpType::FakeQuant) ins = {x, s, z, s, z};
        n = g.add_node(op, "quant", ins, {q}, p);
        g.mark_output(q);
    }
};

TEST(ShapeInference, QuantizationOpsCheckTheirDtypes) {
    using engine::DataType;
    using engine::QuantParams;
    {
        QuantGraph ok(DataType::U8, {3}, QuantParams{1, DataType::U8});
        engine::infer_shapes(ok.g);
        EXPECT_EQ(ok.g.value(ok.q).desc.dtype, DataType::U8);
        EXPECT_EQ(ok.g.value(ok.q).desc.shape, (Shape{1, 3, 2, 2}));
        EXPECT_TRUE(ok.g.value(ok.q).batched);
        EXPECT_TRUE(contains(engine::dump(ok.g), "axis=1 q=u8"));
    }
    QuantGraph f32_zero(DataType::F32, {}, QuantParams{1, DataType::I8});
    EXPECT_TRUE(contains(infer_error(f32_zero.g),
                         "node 'quant' [QuantizeLinear]: zero point 'z' has type f32, "
                         "expected i8"));
    QuantGraph per_axis(DataType::I8, {2}, QuantParams{1, DataType::I8});
    EXPECT_TRUE(
        contains(infer_error(per_axis.g), "per-axis scale 's' [2] must have dim 1 of input [1,3,2,2]"));
    QuantGraph bad_axis(DataType::I8, {3}, QuantParams{4, DataType::I8});
    EXPECT_TRUE(contains(infer_error(bad_axis.g), "axis 4 is out of range"));
    QuantGraph i32(DataType::I32, {}, QuantParams{1, DataType::I32});
    EXPECT_TRUE(contains(infer_error(i32.g), "quantized type i32 is not supported"));
    // DequantizeLinear reads its quantized type: an f32 input is refused.
    QuantGraph dq(DataType::I8, {}, QuantParams{1, DataType::I8}, OpType::DequantizeLinear);
    EXPECT_TRUE(contains(infer_error(dq.g), "[DequantizeLinear]: input 'x' has type f32, expected i8"));
    // FakeQuant is all f32: integer zero points are refused.
    QuantGraph fq(DataType::I8, {}, QuantParams{1, DataType::I8}, OpType::FakeQuant);
    EXPECT_TRUE(contains(infer_error(fq.g), "[FakeQuant]: zero point 'z' has type i8, expected f32"));
    // Other ops still take float tensors only.
    Graph g;
    const ValueId x = g.add_constant("i", Tensor(engine::DataType::I8, {2}));
    g.mark_output(add_out(g, "y"));
    g.add_node(OpType::Relu, "relu", {x}, {g.outputs()[0]});
    EXPECT_TRUE(contains(infer_error(g), "expected a float type"));
}

TEST(Verify, AcceptsAWellFormedGraphAndAfterKillAndCompact) {
    ConvGraph cg;
    engine::infer_shapes(cg.g);
    EXPECT_NO_THROW(engine::verify(cg.g));
    cg.g.replace_all_uses(cg.y, cg.c);
    cg.g.kill_node(cg.relu);
    EXPECT_NO_THROW(engine::verify(cg.g));
    cg.g.compact();
    EXPECT_NO_THROW(engine::verify(cg.g));
}

TEST(Verify, ArityOutOfOpLimits) {
    Graph g;
    const ValueId x = add_input(g, "x", {1, 2});
    g.add_node(OpType::Relu, "relu2", {x, x}, {add_out(g, "y")});
    EXPECT_TRUE(contains(verify_error(g), "'relu2'"));
}

TEST(Verify, ParamsOfTheWrongOp) {
    Graph g;
    const ValueId x = add_input(g, "x", {1, 2});
    g.add_node(OpType::Softmax, "sm", {x}, {add_out(g, "y")}, engine::ConcatParams{});
    const std::string msg = verify_error(g);
    EXPECT_TRUE(contains(msg, "'sm'") && contains(msg, "params")) << msg;
}

// The op descriptors' params rules (engine/ir/op_list.h), as the importer and passes make the nodes:
// Add carries no params, Clip and LeakyRelu need UnaryParams (their bounds / slope), plain activations
// take UnaryParams or nothing. verify() and the reference backend read the same rule.
TEST(Verify, ParamsRulesOfAddClipAndActivations) {
    auto verify_one = [](OpType op, const engine::OpParams& p) {
        Graph g;
        const ValueId x = add_input(g, "x", {1, 2});
        std::vector<ValueId> ins{x};
        if (op == OpType::Add) ins.push_back(x);
        const ValueId y = add_out(g, "y", {1, 2});
        g.add_node(op, "n", ins, {y}, p);
        g.mark_output(y);
        try {
            engine::verify(g);
            return true;
        } catch (const engine::Error&) {
            return false;
        }
    };
    EXPECT_TRUE(verify_one(OpType::Add, std::monostate{}));
    EXPECT_FALSE(verify_one(OpType::Add, engine::UnaryParams{}));
    EXPECT_TRUE(verify_one(OpType::Clip, engine::UnaryParams{0.f, 6.f}));
    EXPECT_FALSE(verify_one(OpType::Clip, std::monostate{}));
    EXPECT_FALSE(verify_one(OpType::LeakyRelu, std::monostate{}));
    EXPECT_TRUE(verify_one(OpType::Relu, std::monostate{}));
    EXPECT_TRUE(verify_one(OpType::Silu, engine::UnaryParams{}));  // fuse_activation's Silu
    EXPECT_FALSE(verify_one(OpType::Relu, engine::ConcatParams{}));
}

TEST(OpDesc, EveryOpRoundTripsItsNameAndTakesItsOwnParams) {
    for (size_t i = 0; i < static_cast<size_t>(OpType::Count); ++i) {
        const auto op = static_cast<OpType>(i);
        const engine::OpDesc& d = engine::op_desc(op);
        EXPECT_EQ(engine::op_type_from_name(d.name), op);
        EXPECT_LE(d.min_inputs, d.max_inputs);
        EXPECT_LE(d.min_outputs, d.max_outputs);
        EXPECT_EQ(engine::op_is_activation(op), d.act != engine::ActKind::None) << d.name;
        EXPECT_EQ(engine::op_is_quantization(op),
                  op == OpType::QuantizeLinear || op == OpType::DequantizeLinear || op == OpType::FakeQuant)
            << d.name;
        if (d.act != engine::ActKind::None) {
            EXPECT_EQ(engine::act_kind_name(d.act), d.name);
        }
    }
    EXPECT_EQ(engine::op_activation(OpType::Clip, {1.f, 2.f}),
              (engine::Act{engine::ActKind::Clip, 1.f, 2.f}));
    EXPECT_EQ(engine::op_activation(OpType::LeakyRelu, {0.1f, 5.f}),
              (engine::Act{engine::ActKind::LeakyRelu, 0.1f, 0.f}));
    EXPECT_EQ(engine::op_activation(OpType::Add, {}).kind, engine::ActKind::None);
}

TEST(Verify, ConsumerListsMustMatchUses) {
    ConvGraph cg;
    cg.g.value(cg.x).consumers.push_back(cg.relu);  // relu does not read x
    EXPECT_TRUE(contains(verify_error(cg.g), "'x'"));
    ConvGraph cg2;
    cg2.g.value(cg2.c).consumers.clear();  // relu reads c, but c forgot it
    EXPECT_TRUE(contains(verify_error(cg2.g), "'c'"));
}

TEST(Verify, ProducerLinksAndUnproducedInputs) {
    ConvGraph cg;
    cg.g.value(cg.c).producer = cg.relu;
    EXPECT_TRUE(contains(verify_error(cg.g), "'c'"));
    ConvGraph cg2;
    cg2.g.kill_node(cg2.conv);  // relu now reads a value nobody produces
    const std::string msg = verify_error(cg2.g);
    EXPECT_TRUE(contains(msg, "'relu'") && contains(msg, "'c'")) << msg;
}

TEST(Verify, GraphOutputMustBeProduced) {
    Graph g;
    add_input(g, "x", {1, 2});
    g.mark_output(add_out(g, "orphan"));
    EXPECT_TRUE(contains(verify_error(g), "'orphan'"));
}

TEST(Verify, CycleIsReported) {
    Graph g;
    const ValueId x = add_input(g, "x", {1, 2});
    const ValueId a = add_out(g, "a"), b = add_out(g, "b");
    g.add_node(OpType::Add, "add", {x, b}, {a});
    g.add_node(OpType::Relu, "relu", {a}, {b});
    g.mark_output(b);
    EXPECT_TRUE(contains(verify_error(g), "cycle"));
}

TEST(Verify, ResidualFlagMatchesInputs) {
    ConvGraph cg;
    std::get<engine::ConvParams>(cg.g.node(cg.conv).params).residual = true;  // but only 3 inputs
    EXPECT_TRUE(contains(verify_error(cg.g), "residual"));
}

// --- dump ---

TEST(Dump, LinePerNodeWithParamsShapesAndBackend) {
    ConvGraph cg;
    auto& p = std::get<engine::ConvParams>(cg.g.node(cg.conv).params);
    p.act = {engine::ActKind::LeakyRelu, 0.1f, 0.f};
    cg.g.node(cg.conv).backend = "cpu";
    engine::infer_shapes(cg.g);
    const std::string d = engine::dump(cg.g);
    EXPECT_TRUE(
        contains(d,
                 "Conv  conv  in: x[2,4,8,8]*,W=[8,4,3,3],B=[8]  out: c[2,8,4,4]*  k=3x3 s=2 p=1,1,1,1 g=1 "
                 "act=LeakyRelu(0.1) [cpu]\n"))
        << d;
    EXPECT_TRUE(contains(d, "Relu  relu  in: c[2,8,4,4]*  out: y[2,8,4,4]*\n")) << d;
    size_t lines = 0;
    for (char ch : d) lines += ch == '\n';
    EXPECT_EQ(lines, 4u);  // inputs, 2 nodes, outputs
    cg.g.kill_node(cg.relu);
    EXPECT_FALSE(contains(engine::dump(cg.g), "Relu  relu"));
}

}  // namespace
