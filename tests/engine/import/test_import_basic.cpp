// Importer driver: graph inputs and outputs, batch and shape overrides, metadata, node naming,
// ordering, op counts and the params of Conv.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "engine/core/error.h"
#include "engine/ir/graph.h"
#include "tests/engine/import/onnx_model_builder.h"

namespace {

using engine::Graph;
using engine::OpType;
using engine::Shape;
using import_test::OnnxModelBuilder;
using import_test::producer_of;
using import_test::shape_of;

// x[1,3,8,8] -> Conv(4x3x3x3, stride 2, pad 1) -> Relu
OnnxModelBuilder conv_relu_model(int opset = 13) {
    OnnxModelBuilder m(opset);
    m.input("x", {1, 3, 8, 8});
    m.init_f32("W", {4, 3, 3, 3}, 0.5f);
    m.node("Conv", {"x", "W"}, {"c"}, "conv1").ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1});
    m.node("Relu", {"c"}, {"y"}, "relu1");
    m.output("y");
    return m;
}

TEST(ImportBasic, ConvReluOpsParamsAndShapes) {
    const Graph g = conv_relu_model().import();
    EXPECT_EQ(g.num_live_nodes(), 2u);
    EXPECT_EQ(engine::count_ops(g, OpType::Conv), 1u);
    EXPECT_EQ(engine::count_ops(g, OpType::Relu), 1u);
    const engine::Node& conv = producer_of(g, "c");
    EXPECT_EQ(conv.name, "conv1");
    const auto& p = std::get<engine::ConvParams>(conv.params);
    EXPECT_EQ(p.kernel, (std::array<int32_t, 2>{3, 3}));
    EXPECT_EQ(p.stride, (std::array<int32_t, 2>{2, 2}));
    EXPECT_EQ(p.dilation, (std::array<int32_t, 2>{1, 1}));
    EXPECT_EQ(p.pads, (std::array<int32_t, 4>{1, 1, 1, 1}));
    EXPECT_EQ(p.group, 1);
    // (8 + 1 + 1 - 3) / 2 + 1 = 4
    EXPECT_EQ(shape_of(g, "c"), (Shape{1, 4, 4, 4}));
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 4, 4, 4}));
    EXPECT_TRUE(g.value(g.find_value("y")).batched);
    ASSERT_EQ(g.inputs().size(), 1u);
    ASSERT_EQ(g.outputs().size(), 1u);
    EXPECT_EQ(g.value(g.outputs()[0]).name, "y");
    EXPECT_EQ(g.opset, 13);
}

TEST(ImportBasic, ConvWithoutBiasGetsZeroBiasConstant) {
    const Graph g = conv_relu_model().import();
    const engine::Node& conv = producer_of(g, "c");
    ASSERT_EQ(conv.inputs.size(), 3u);
    const engine::ValueId b = conv.inputs[2];
    ASSERT_TRUE(g.is_constant(b));
    const engine::Tensor& t = g.constant(b);
    EXPECT_EQ(t.shape(), (Shape{4}));
    for (float v : t.to_f32()) EXPECT_EQ(v, 0.f);
    // The weight is the initializer, values intact.
    const engine::Tensor& w = g.constant(conv.inputs[1]);
    EXPECT_EQ(w.shape(), (Shape{4, 3, 3, 3}));
    EXPECT_EQ(w.to_f32()[17], 0.5f);
}

TEST(ImportBasic, ConvWithBiasKeepsIt) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 5, 5});
    m.init_f32("W", {3, 2, 1, 1}, 1.f);
    m.init_f32("B", {3}, {1.f, 2.f, 3.f});
    m.node("Conv", {"x", "W", "B"}, {"y"}, "conv");
    m.output("y");
    const Graph g = m.import();
    const engine::Node& conv = producer_of(g, "y");
    EXPECT_EQ(g.constant(conv.inputs[2]).to_f32(), (std::vector<float>{1.f, 2.f, 3.f}));
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 3, 5, 5}));
}

TEST(ImportBasic, DepthwiseGroupedConv) {
    OnnxModelBuilder m;
    m.input("x", {1, 8, 10, 10});
    m.init_f32("W", {8, 1, 3, 3}, 0.1f);
    m.node("Conv", {"x", "W"}, {"y"}, "dw")
        .i("group", 8)
        .ints("kernel_shape", {3, 3})
        .ints("dilations", {2, 2});
    m.output("y");
    const Graph g = m.import();
    const auto& p = std::get<engine::ConvParams>(producer_of(g, "y").params);
    EXPECT_EQ(p.group, 8);
    EXPECT_EQ(p.dilation, (std::array<int32_t, 2>{2, 2}));
    // 10 - 2*(3-1) = 6
    EXPECT_EQ(shape_of(g, "y"), (Shape{1, 8, 6, 6}));
}

TEST(ImportBasic, ConvAutoPadSameUpperAndLower) {
    // in 7, k 4, s 2: out = ceil(7/2) = 4, total pad = (4-1)*2 + 4 - 7 = 3 -> UPPER 1|2, LOWER 2|1.
    for (const std::string mode : {"SAME_UPPER", "SAME_LOWER"}) {
        OnnxModelBuilder m(11);
        m.input("x", {1, 3, 7, 7});
        m.init_f32("W", {2, 3, 4, 4}, 1.f);
        m.node("Conv", {"x", "W"}, {"y"}, "conv").s("auto_pad", mode).ints("strides", {2, 2});
        m.output("y");
        const Graph g = m.import();
        const auto& p = std::get<engine::ConvParams>(producer_of(g, "y").params);
        if (mode == "SAME_UPPER") {
            EXPECT_EQ(p.pads, (std::array<int32_t, 4>{1, 1, 2, 2}));
        } else {
            EXPECT_EQ(p.pads, (std::array<int32_t, 4>{2, 2, 1, 1}));
        }
        EXPECT_EQ(shape_of(g, "y"), (Shape{1, 2, 4, 4}));
    }
}

TEST(ImportBasic, ConvAsymmetricPadsAndValid) {
    OnnxModelBuilder m;
    m.input("x", {1, 1, 6, 6});
    m.init_f32("W", {1, 1, 3, 3}, 1.f);
    // ONNX order: H_begin, W_begin, H_end, W_end == IR top, left, bottom, right.
    m.node("Conv", {"x", "W"}, {"a"}, "asym").ints("pads", {0, 1, 2, 3});
    m.node("Conv", {"a", "W"}, {"b"}, "valid").s("auto_pad", "VALID");
    m.output("b");
    const Graph g = m.import();
    EXPECT_EQ(std::get<engine::ConvParams>(producer_of(g, "a").params).pads,
              (std::array<int32_t, 4>{0, 1, 2, 3}));
    // H: 6+0+2-3+1 = 6, W: 6+1+3-3+1 = 8
    EXPECT_EQ(shape_of(g, "a"), (Shape{1, 1, 6, 8}));
    EXPECT_EQ(std::get<engine::ConvParams>(producer_of(g, "b").params).pads,
              (std::array<int32_t, 4>{0, 0, 0, 0}));
    EXPECT_EQ(shape_of(g, "b"), (Shape{1, 1, 4, 6}));
}

TEST(ImportBasic, InitializerListedAsInputIsAConstant) {
    OnnxModelBuilder m = conv_relu_model();
    m.input("W", {4, 3, 3, 3});  // old exporters list initializers among the inputs
    const Graph g = m.import();
    ASSERT_EQ(g.inputs().size(), 1u);
    EXPECT_EQ(g.value(g.inputs()[0]).name, "x");
    EXPECT_TRUE(g.is_constant(g.find_value("W")));
}

TEST(ImportBasic, BatchOverrideSetsDimZero) {
    engine::onnx::ImportOptions opt;
    opt.batch = 4;
    const Graph g = conv_relu_model().import(opt);
    EXPECT_EQ(g.value(g.inputs()[0]).desc.shape, (Shape{4, 3, 8, 8}));
    EXPECT_TRUE(g.value(g.inputs()[0]).batched);
    EXPECT_EQ(shape_of(g, "y"), (Shape{4, 4, 4, 4}));
    EXPECT_TRUE(g.value(g.find_value("y")).batched);
}

TEST(ImportBasic, SymbolicBatchDefaultsToOneOrTheOption) {
    OnnxModelBuilder m;
    m.input("x", {-1, 3, 4, 4});
    m.node("Relu", {"x"}, {"y"});
    m.output("y");
    EXPECT_EQ(shape_of(m.import(), "y"), (Shape{1, 3, 4, 4}));
    engine::onnx::ImportOptions opt;
    opt.batch = 3;
    EXPECT_EQ(shape_of(m.import(opt), "y"), (Shape{3, 3, 4, 4}));
}

TEST(ImportBasic, InputShapesOverrideSymbolicSpatialDims) {
    OnnxModelBuilder m;
    m.input("x", {1, 3, -1, -1}, ::onnx::TensorProto::FLOAT, "H");
    m.node("Relu", {"x"}, {"y"});
    m.output("y");
    engine::onnx::ImportOptions opt;
    opt.input_shapes["x"] = {2, 3, 32, 48};
    const Graph g = m.import(opt);
    EXPECT_EQ(shape_of(g, "y"), (Shape{2, 3, 32, 48}));
}

TEST(ImportBasic, MetadataProducerAndOpset) {
    OnnxModelBuilder m = conv_relu_model(11);
    m.metadata("yolo.anchors", "10,14, 23,27");
    m.metadata("yolo.classes", "80");
    m.model().set_producer_name("pytorch");
    m.model().set_producer_version("1.13.1");
    const Graph g = m.import();
    EXPECT_EQ(g.metadata.at("yolo.anchors"), "10,14, 23,27");
    EXPECT_EQ(g.metadata.at("yolo.classes"), "80");
    EXPECT_EQ(g.metadata.at("onnx.producer"), "pytorch 1.13.1");
    EXPECT_EQ(g.opset, 11);
}

TEST(ImportBasic, AiOnnxDomainNameIsTheDefaultDomain) {
    OnnxModelBuilder m = conv_relu_model();
    m.model().mutable_opset_import(0)->set_domain("ai.onnx");
    m.model().mutable_graph()->mutable_node(0)->set_domain("ai.onnx");
    EXPECT_EQ(engine::count_ops(m.import(), OpType::Conv), 1u);
}

TEST(ImportBasic, EmptyNodeNamesAreGenerated) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 4, 4});
    m.node("Relu", {"x"}, {"a"});
    m.node("Sigmoid", {"a"}, {"y"});
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(producer_of(g, "a").name, "Relu_0");
    EXPECT_EQ(producer_of(g, "y").name, "Sigmoid_1");
}

TEST(ImportBasic, NodesOutOfOrderAreSorted) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 4, 4});
    m.node("Tanh", {"b"}, {"y"}, "third");
    m.node("Sigmoid", {"a"}, {"b"}, "second");
    m.node("Relu", {"x"}, {"a"}, "first");
    m.output("y");
    const Graph g = m.import();
    const auto order = g.topo_order();
    ASSERT_EQ(order.size(), 3u);
    EXPECT_EQ(g.node(order[0]).name, "first");
    EXPECT_EQ(g.node(order[1]).name, "second");
    EXPECT_EQ(g.node(order[2]).name, "third");
}

TEST(ImportBasic, GraphInputCanBeAnOutputAndMultipleOutputs) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 4, 4});
    m.node("Relu", {"x"}, {"y"}, "r");
    m.output("y");
    m.output("x");
    const Graph g = m.import();
    ASSERT_EQ(g.outputs().size(), 2u);
    EXPECT_EQ(g.value(g.outputs()[1]).name, "x");
    EXPECT_TRUE(g.value(g.outputs()[1]).is_graph_input);
}

TEST(ImportBasic, InputsDifferingInDimZeroAreNotBatched) {
    // A broadcast operand as second input: dim 0 is no batch.
    OnnxModelBuilder m;
    m.input("x", {3, 4, 5});
    m.input("y", {5});
    m.node("Add", {"x", "y"}, {"z"}, "add");
    m.output("z");
    const Graph g = m.import();
    EXPECT_FALSE(g.value(g.find_value("x")).batched);
    EXPECT_FALSE(g.value(g.find_value("y")).batched);
    EXPECT_EQ(shape_of(g, "z"), (Shape{3, 4, 5}));
    // With the batch option every input has the batch.
    engine::onnx::ImportOptions opt;
    opt.batch = 2;
    OnnxModelBuilder m2;
    m2.input("a", {1, 4});
    m2.input("b", {1, 4});
    m2.node("Mul", {"a", "b"}, {"c"}, "mul");
    m2.output("c");
    const Graph g2 = m2.import(opt);
    EXPECT_TRUE(g2.value(g2.find_value("c")).batched);
    EXPECT_EQ(shape_of(g2, "c"), (Shape{2, 4}));
}

TEST(ImportBasic, RawDataInitializers) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 1, 1});
    ::onnx::TensorProto w;
    w.set_name("W");
    w.set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : {2, 2, 1, 1}) w.add_dims(d);
    const float vals[4] = {1.f, -2.f, 3.5f, 0.25f};
    w.set_raw_data(std::string(reinterpret_cast<const char*>(vals), sizeof(vals)));
    m.init(w);
    m.node("Conv", {"x", "W"}, {"y"}, "conv");
    m.output("y");
    const Graph g = m.import();
    EXPECT_EQ(g.constant(g.find_value("W")).to_f32(), (std::vector<float>{1.f, -2.f, 3.5f, 0.25f}));
}

TEST(ImportBasic, ImportFileReadsFromDisk) {
    const std::string path = testing::TempDir() + "/rtdet_import_basic.onnx";
    {
        std::ofstream f(path, std::ios::binary);
        f << conv_relu_model().bytes();
    }
    const Graph g = engine::onnx::import_file(path);
    EXPECT_EQ(g.num_live_nodes(), 2u);
    std::remove(path.c_str());
}

TEST(ImportBasic, DumpShowsOneLinePerNodeWithParams) {
    const Graph g = conv_relu_model().import();
    const std::string d = engine::dump(g);
    EXPECT_NE(d.find("Conv  conv1  in: x[1,3,8,8]*,W=[4,3,3,3],conv1_zero_bias=[4]  out: c[1,4,4,4]*  "
                     "k=3x3 s=2 p=1,1,1,1 g=1"),
              std::string::npos)
        << d;
    EXPECT_NE(d.find("Relu  relu1  in: c[1,4,4,4]*  out: y[1,4,4,4]*"), std::string::npos) << d;
}

}  // namespace
