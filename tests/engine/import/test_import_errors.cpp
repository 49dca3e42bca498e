// Every bad-input case fails with one engine::Error whose message names the file, node, op and reason.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "engine/core/error.h"
#include "engine/ir/graph.h"
#include "tests/engine/import/onnx_model_builder.h"

namespace {

using import_test::contains_all;
using import_test::import_error;
using import_test::OnnxModelBuilder;

std::string bytes_error(const std::string& bytes) {
    try {
        (void)engine::onnx::import_bytes(bytes.data(), bytes.size(), "model.onnx");
    } catch (const engine::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected the import to fail";
    return {};
}

OnnxModelBuilder relu_model(int opset = 13) {
    OnnxModelBuilder m(opset);
    m.input("x", {1, 3, 4, 4});
    m.node("Relu", {"x"}, {"y"}, "relu1");
    m.output("y");
    return m;
}

// --- the file itself ---

TEST(ImportErrors, EmptyBytes) {
    const std::string msg = bytes_error("");
    EXPECT_TRUE(contains_all(msg, {"model.onnx", "empty"}));
}

TEST(ImportErrors, GarbageBytes) {
    // 0xff opens field 31 with wire type 7, which does not exist: protobuf rejects it.
    const std::string msg = bytes_error(std::string("\xff\xff\xff\xff garbage, not a model", 26));
    EXPECT_TRUE(contains_all(msg, {"model.onnx", "not a valid ONNX model"}));
}

TEST(ImportErrors, TruncatedModel) {
    OnnxModelBuilder m;
    m.input("x", {1, 16, 8, 8});
    m.init_f32("W", {16, 16, 3, 3}, 0.25f);  // 9 KB of weights: a cut lands inside them
    m.node("Conv", {"x", "W"}, {"y"}, "conv");
    m.output("y");
    const std::string full = m.bytes();
    const std::string msg = bytes_error(full.substr(0, full.size() / 2));
    EXPECT_TRUE(contains_all(msg, {"model.onnx", "truncated"}));
}

TEST(ImportErrors, MissingGraph) {
    OnnxModelBuilder m;
    m.model().clear_graph();
    EXPECT_TRUE(contains_all(import_error(m), {"model.onnx", "no graph"}));
}

TEST(ImportErrors, MissingFile) {
    try {
        (void)engine::onnx::import_file("/nonexistent/dir/model.onnx");
        ADD_FAILURE() << "expected an error";
    } catch (const engine::Error& e) {
        EXPECT_TRUE(contains_all(e.what(), {"cannot open", "/nonexistent/dir/model.onnx"}));
    }
}

// --- opsets and domains ---

TEST(ImportErrors, UnsupportedOpsetsAreNamed) {
    for (int opset : {7, 8, 18, 20}) {
        const std::string msg = import_error(relu_model(opset));
        EXPECT_TRUE(contains_all(msg, {"model.onnx", "opset " + std::to_string(opset), "9-17"})) << opset;
    }
}

TEST(ImportErrors, NoDefaultDomainOpset) {
    OnnxModelBuilder m = relu_model();
    m.model().mutable_opset_import(0)->set_domain("com.example");
    EXPECT_TRUE(contains_all(import_error(m), {"model.onnx", "default ONNX domain"}));
}

TEST(ImportErrors, UnsupportedOpsListedTogether) {
    OnnxModelBuilder m(13);
    m.input("boxes", {1, 10, 4});
    m.input("scores", {1, 1, 10});
    m.node("NonMaxSuppression", {"boxes", "scores"}, {"sel"}, "nms1");
    m.node("RoiAlign", {"boxes", "sel"}, {"r"}, "roi1");
    m.node("NonMaxSuppression", {"boxes", "scores"}, {"sel2"}, "nms2");
    m.node("Relu", {"undefined_input"}, {"y"}, "relu");  // the op list comes before node errors
    m.output("y");
    const std::string msg = import_error(m);
    EXPECT_TRUE(contains_all(
        msg, {"model.onnx: unsupported ops: ", "NonMaxSuppression (node 'nms1' and 1 more, opset 13)",
              "RoiAlign (node 'roi1', opset 13)"}));
    EXPECT_EQ(msg.find("undefined_input"), std::string::npos) << msg;
}

TEST(ImportErrors, CustomDomainOpIsUnsupported) {
    OnnxModelBuilder m = relu_model();
    auto* imp = m.model().add_opset_import();
    imp->set_domain("com.microsoft");
    imp->set_version(1);
    m.node("FusedConv", {"y"}, {"z"}, "fused").domain("com.microsoft");
    const std::string msg = import_error(m);
    EXPECT_TRUE(contains_all(msg, {"unsupported ops", "FusedConv", "fused", "com.microsoft"}));
}

// --- names ---

TEST(ImportErrors, MissingInitializerNamesNodeAndInput) {
    OnnxModelBuilder m;
    m.input("x", {1, 3, 4, 4});
    m.node("Conv", {"x", "conv1.weight"}, {"y"}, "conv1");
    m.output("y");
    const std::string msg = import_error(m);
    EXPECT_TRUE(contains_all(msg, {"model.onnx: import failed at node #0 'conv1' [Conv] (opset 13)",
                                   "input 1", "'conv1.weight'", "not defined"}));
}

TEST(ImportErrors, UndefinedGraphOutput) {
    OnnxModelBuilder m = relu_model();
    m.output("nowhere");
    EXPECT_TRUE(contains_all(import_error(m), {"model.onnx", "graph output 'nowhere'", "not produced"}));
}

TEST(ImportErrors, ValueDefinedTwice) {
    OnnxModelBuilder m;
    m.input("x", {1, 3, 4, 4});
    m.node("Relu", {"x"}, {"y"}, "first");
    m.node("Sigmoid", {"x"}, {"y"}, "second");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'second'", "[Sigmoid]", "'y'", "defined twice"}));
}

TEST(ImportErrors, Cycle) {
    OnnxModelBuilder m;
    m.input("x", {1, 3, 4, 4});
    m.node("Add", {"x", "b"}, {"a"}, "add");
    m.node("Relu", {"a"}, {"b"}, "relu");
    m.output("b");
    EXPECT_TRUE(contains_all(import_error(m), {"model.onnx", "cycle", "'add'"}));
}

// --- inconsistent shapes ---

TEST(ImportErrors, ConvChannelMismatch) {
    OnnxModelBuilder m;
    m.input("x", {1, 3, 8, 8});
    m.init_f32("W", {4, 2, 3, 3}, 1.f);
    m.node("Conv", {"x", "W"}, {"y"}, "conv1");
    m.output("y");
    EXPECT_TRUE(
        contains_all(import_error(m), {"model.onnx", "'conv1'", "[Conv]", "3 channels", "expects 2"}));
}

TEST(ImportErrors, ConvBiasOfWrongSize) {
    OnnxModelBuilder m;
    m.input("x", {1, 3, 8, 8});
    m.init_f32("W", {4, 3, 3, 3}, 1.f);
    m.init_f32("B", {5}, 0.f);
    m.node("Conv", {"x", "W", "B"}, {"y"}, "conv1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'conv1'", "[Conv]", "bias", "[5]", "expected [4]"}));
}

TEST(ImportErrors, AddShapesNotBroadcastable) {
    OnnxModelBuilder m;
    m.input("x", {1, 3, 4, 4});
    m.init_f32("c", {1, 3, 5, 5}, 1.f);
    m.node("Add", {"x", "c"}, {"y"}, "add1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"model.onnx", "'add1'", "[Add]", "not broadcastable"}));
}

TEST(ImportErrors, ReshapeElementCountMismatch) {
    OnnxModelBuilder m;
    m.input("x", {1, 3, 4, 4});
    m.init_i64("shape", {2}, {1, 40});
    m.node("Reshape", {"x", "shape"}, {"y"}, "reshape1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m),
                             {"model.onnx", "'reshape1'", "[Reshape]", "48 elements", "40 elements"}));
}

// Issue 18's fuzz finding (tests/fuzz/regressions/fuzz_onnx/reshape_target_numel_overflow.onnx.bin): a
// Reshape target whose element count overflows int64 (4 * INT64_MAX was undefined behaviour).
TEST(ImportErrors, ReshapeTargetElementCountOverflows) {
    OnnxModelBuilder m;
    m.input("x", {1, 4, 6, 6});
    m.init_i64("shape", {3}, {1, 4, std::numeric_limits<int64_t>::max()});
    m.node("Reshape", {"x", "shape"}, {"y"}, "reshape1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"model.onnx", "'reshape1'", "[Reshape]",
                                               "[1,4,9223372036854775807]", "overflows int64"}));
}

// Sizes in params are checked where the importer computes with them: SAME padding of a huge dim.
TEST(ImportErrors, AutoPadOfAHugeDimOverflows) {
    OnnxModelBuilder m(12);
    m.input("x", {1, 1, std::numeric_limits<int64_t>::max(), 1});
    m.node("MaxPool", {"x"}, {"y"}, "pool1")
        .ints("kernel_shape", {2, 1})
        .ints("strides", {2, 1})
        .s("auto_pad", "SAME_UPPER");
    m.output("y");
    EXPECT_TRUE(
        contains_all(import_error(m), {"'pool1'", "[MaxPool]", "auto_pad output size", "overflows int64"}));
}

TEST(ImportErrors, GraphInputElementCountOverflows) {
    OnnxModelBuilder m;
    m.input("x", {int64_t{1} << 32, int64_t{1} << 32});
    m.node("Relu", {"x"}, {"y"}, "relu1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"model.onnx", "graph input 'x' shape", "overflows int64"}));
}

TEST(ImportErrors, ConcatDimMismatch) {
    OnnxModelBuilder m;
    m.input("a", {1, 3, 4, 4});
    m.input("b", {1, 3, 5, 4});
    m.node("Concat", {"a", "b"}, {"y"}, "cat1").i("axis", 1);
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'cat1'", "[Concat]", "differ in dim 2"}));
}

TEST(ImportErrors, SplitSizesDoNotSum) {
    OnnxModelBuilder m(11);
    m.input("x", {1, 4, 2, 2});
    m.node("Split", {"x"}, {"a", "b"}, "split1").i("axis", 1).ints("split", {1, 2});
    m.output("a");
    EXPECT_TRUE(contains_all(import_error(m), {"'split1'", "[Split]", "sum to 3"}));
    OnnxModelBuilder m2(13);
    m2.input("x", {1, 4, 2, 2});
    m2.node("Split", {"x"}, {"a", "b", "c"}, "split3").i("axis", 1);
    m2.output("a");
    EXPECT_TRUE(contains_all(import_error(m2), {"'split3'", "3 equal parts"}));
}

TEST(ImportErrors, ReflectPadLargerThanInput) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 1, 2, 2});
    m.init_i64("pads", {8}, {0, 0, 2, 0, 0, 0, 0, 0});
    m.node("Pad", {"x", "pads"}, {"y"}, "pad1").s("mode", "reflect");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'pad1'", "[Pad]", "reflect"}));
}

TEST(ImportErrors, MaxPoolInputTooSmall) {
    OnnxModelBuilder m(12);
    m.input("x", {1, 1, 2, 2});
    m.node("MaxPool", {"x"}, {"y"}, "pool1").ints("kernel_shape", {3, 3});
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'pool1'", "[MaxPool]", "too small"}));
}

// --- unsupported variants of supported ops ---

TEST(ImportErrors, ResizeLinearAndCubicModes) {
    for (const std::string mode : {"linear", "cubic"}) {
        OnnxModelBuilder m(13);
        m.input("x", {1, 1, 2, 2});
        m.init_f32("scales", {4}, {1.f, 1.f, 2.f, 2.f});
        m.node("Resize", {"x", "", "scales"}, {"y"}, "resize1").s("mode", mode);
        m.output("y");
        EXPECT_TRUE(contains_all(import_error(m), {"model.onnx", "'resize1'", "[Resize]", "opset 13",
                                                   "mode '" + mode + "'", "unsupported"}));
    }
}

TEST(ImportErrors, UpsampleLinearAndResizeTfCrop) {
    OnnxModelBuilder m(9);
    m.input("x", {1, 1, 2, 2});
    m.init_f32("scales", {4}, {1.f, 1.f, 2.f, 2.f});
    m.node("Upsample", {"x", "scales"}, {"y"}, "up1").s("mode", "linear");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'up1'", "[Upsample]", "linear", "unsupported"}));
    OnnxModelBuilder m2(13);
    m2.input("x", {1, 1, 2, 2});
    m2.init_i64("sizes", {4}, {1, 1, 4, 4});
    m2.node("Resize", {"x", "", "", "sizes"}, {"y"}, "crop")
        .s("coordinate_transformation_mode", "tf_crop_and_resize");
    m2.output("y");
    EXPECT_TRUE(contains_all(import_error(m2), {"'crop'", "tf_crop_and_resize", "unsupported"}));
}

TEST(ImportErrors, ResizeScalesComputedAtRunTime) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 1, 2, 2});
    m.input("scales", {4});
    m.node("Resize", {"x", "", "scales"}, {"y"}, "resize1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'resize1'", "scales", "must be a constant"}));
}

TEST(ImportErrors, ConvNot2D) {
    OnnxModelBuilder m;
    m.input("x", {1, 3, 10});
    m.init_f32("W", {2, 3, 3}, 1.f);
    m.node("Conv", {"x", "W"}, {"y"}, "conv1d");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'conv1d'", "[Conv]", "2-D"}));
}

TEST(ImportErrors, ConvWeightFromGraphInput) {
    OnnxModelBuilder m;
    m.input("x", {1, 3, 4, 4});
    m.input("W", {2, 3, 1, 1});
    m.node("Conv", {"x", "W"}, {"y"}, "conv1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'conv1'", "weight", "'W'", "constant"}));
}

TEST(ImportErrors, MaxPoolIndicesOutput) {
    OnnxModelBuilder m(12);
    m.input("x", {1, 1, 4, 4});
    m.node("MaxPool", {"x"}, {"y", "idx"}, "pool1").ints("kernel_shape", {2, 2});
    m.output("y");
    m.output("idx");
    EXPECT_TRUE(contains_all(import_error(m), {"'pool1'", "[MaxPool]", "Indices"}));
}

TEST(ImportErrors, BatchNormTrainingOutputs) {
    OnnxModelBuilder m(9);
    m.input("x", {1, 2, 2, 2});
    for (const char* n : {"s", "b", "mean", "var"}) m.init_f32(n, {2}, 1.f);
    m.node("BatchNormalization", {"x", "s", "b", "mean", "var"}, {"y", "running_mean"}, "bn1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'bn1'", "[BatchNormalization]", "training"}));
}

TEST(ImportErrors, DropoutMaskUsed) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 4});
    m.node("Dropout", {"x"}, {"y", "mask"}, "drop1");
    m.output("y");
    m.output("mask");
    EXPECT_TRUE(contains_all(import_error(m), {"'drop1'", "[Dropout]", "mask"}));
}

TEST(ImportErrors, ShapeOpOnRunTimeData) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 4});
    m.init_i64("idx", {1}, {0});
    m.node("Gather", {"x", "idx"}, {"y"}, "gather1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'gather1'", "[Gather]", "run-time", "'x'"}));
}

TEST(ImportErrors, ReshapeShapeComputedAtRunTime) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 4});
    m.init_f32("W", {1, 2}, 1.f);
    m.node("Reshape", {"x", "x"}, {"y"}, "reshape1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'reshape1'", "[Reshape]", "shape", "must be a constant"}));
}

TEST(ImportErrors, CastOfRunTimeTensorToInteger) {
    OnnxModelBuilder m(13);
    m.input("x", {1, 4});
    m.node("Cast", {"x"}, {"y"}, "cast1").i("to", ::onnx::TensorProto::INT64);
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'cast1'", "[Cast]", "not supported"}));
}

TEST(ImportErrors, AttributeOfWrongType) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 4, 4});
    m.init_f32("W", {2, 1, 1, 1}, 1.f);
    m.node("Conv", {"x", "W"}, {"y"}, "conv1").f("group", 2.f);
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'conv1'", "attribute 'group'", "FLOAT", "expected INT"}));
}

// --- inputs and tensors ---

TEST(ImportErrors, SymbolicNonBatchDimNeedsOverride) {
    OnnxModelBuilder m;
    m.input("images", {1, 3, -1, 416}, ::onnx::TensorProto::FLOAT, "height");
    m.node("Relu", {"images"}, {"y"}, "relu");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"model.onnx", "graph input 'images'", "dim 2", "'height'"}));
}

TEST(ImportErrors, InputShapeForUnknownInput) {
    engine::onnx::ImportOptions opt;
    opt.input_shapes["imgs"] = {1, 3, 8, 8};
    EXPECT_TRUE(contains_all(import_error(relu_model(), opt), {"model.onnx", "'imgs'", "not a graph input"}));
}

TEST(ImportErrors, NonFloatGraphInput) {
    OnnxModelBuilder m;
    m.input("x", {1, 4}, ::onnx::TensorProto::INT64);
    m.node("Relu", {"x"}, {"y"}, "relu");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"graph input 'x'", "INT64", "float32"}));
}

TEST(ImportErrors, ExternalDataInitializer) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 4, 4});
    ::onnx::TensorProto w;
    w.set_name("W");
    w.set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : {2, 2, 1, 1}) w.add_dims(d);
    w.set_data_location(::onnx::TensorProto::EXTERNAL);
    auto* kv = w.add_external_data();
    kv->set_key("location");
    kv->set_value("weights.bin");
    m.init(w);
    m.node("Conv", {"x", "W"}, {"y"}, "conv1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'conv1'", "initializer 'W'", "external", "weights.bin"}));
}

TEST(ImportErrors, InitializerSizeMismatch) {
    OnnxModelBuilder m;
    m.input("x", {1, 2, 4, 4});
    m.init(import_test::make_f32("W", {2, 2, 1, 1}, {1.f, 2.f, 3.f}));
    m.node("Conv", {"x", "W"}, {"y"}, "conv1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'conv1'", "initializer 'W'", "3 values", "needs 4"}));
}

TEST(ImportErrors, UnsupportedInitializerType) {
    OnnxModelBuilder m;
    m.input("x", {1, 2});
    ::onnx::TensorProto t;
    t.set_name("s");
    t.set_data_type(::onnx::TensorProto::STRING);
    t.add_string_data("hello");
    t.add_dims(1);
    m.init(t);
    m.node("Add", {"x", "s"}, {"y"}, "add1");
    m.output("y");
    EXPECT_TRUE(contains_all(import_error(m), {"'add1'", "initializer 's'", "STRING"}));
}

}  // namespace
