// The conformance driver's TensorProto reader: raw_data and every typed field it decodes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "tests/engine/conformance/tensor_proto.h"

namespace conformance {
namespace {

onnx::TensorProto make(onnx::TensorProto::DataType dtype, std::vector<int64_t> dims) {
    onnx::TensorProto p;
    p.set_data_type(dtype);
    for (int64_t d : dims) p.add_dims(d);
    return p;
}

TEST(TensorProtoReader, RawDataFloat) {
    onnx::TensorProto p = make(onnx::TensorProto::FLOAT, {2, 2});
    const float values[] = {1.5f, -2.f, 3.25f, 0.f};
    p.set_raw_data(std::string(reinterpret_cast<const char*>(values), sizeof values));
    const engine::Tensor t = tensor_from_proto(p, "raw");
    ASSERT_EQ(t.dtype(), engine::DataType::F32);
    ASSERT_EQ(t.shape(), (engine::Shape{2, 2}));
    EXPECT_FLOAT_EQ(t.data_as<float>()[0], 1.5f);
    EXPECT_FLOAT_EQ(t.data_as<float>()[1], -2.f);
    EXPECT_FLOAT_EQ(t.data_as<float>()[2], 3.25f);
    EXPECT_FLOAT_EQ(t.data_as<float>()[3], 0.f);
}

TEST(TensorProtoReader, RawDataInt64AndBool) {
    onnx::TensorProto p = make(onnx::TensorProto::INT64, {3});
    const int64_t values[] = {-1, 7, int64_t{1} << 40};
    p.set_raw_data(std::string(reinterpret_cast<const char*>(values), sizeof values));
    const engine::Tensor t = tensor_from_proto(p, "raw i64");
    ASSERT_EQ(t.dtype(), engine::DataType::I64);
    EXPECT_EQ(t.data_as<int64_t>()[0], -1);
    EXPECT_EQ(t.data_as<int64_t>()[1], 7);
    EXPECT_EQ(t.data_as<int64_t>()[2], int64_t{1} << 40);

    onnx::TensorProto b = make(onnx::TensorProto::BOOL, {3});
    b.set_raw_data(std::string("\x00\x01\x01", 3));
    const engine::Tensor tb = tensor_from_proto(b, "raw bool");
    ASSERT_EQ(tb.dtype(), engine::DataType::Bool);
    EXPECT_EQ(tb.data_as<uint8_t>()[0], 0);
    EXPECT_EQ(tb.data_as<uint8_t>()[1], 1);
    EXPECT_EQ(tb.data_as<uint8_t>()[2], 1);
}

TEST(TensorProtoReader, FloatData) {
    onnx::TensorProto p = make(onnx::TensorProto::FLOAT, {3});
    for (float v : {0.5f, -1.25f, 8.f}) p.add_float_data(v);
    const engine::Tensor t = tensor_from_proto(p, "float_data");
    ASSERT_EQ(t.shape(), (engine::Shape{3}));
    EXPECT_FLOAT_EQ(t.data_as<float>()[0], 0.5f);
    EXPECT_FLOAT_EQ(t.data_as<float>()[1], -1.25f);
    EXPECT_FLOAT_EQ(t.data_as<float>()[2], 8.f);
}

TEST(TensorProtoReader, Int64Data) {
    onnx::TensorProto p = make(onnx::TensorProto::INT64, {2});
    p.add_int64_data(-9000000000LL);
    p.add_int64_data(3);
    const engine::Tensor t = tensor_from_proto(p, "int64_data");
    ASSERT_EQ(t.dtype(), engine::DataType::I64);
    EXPECT_EQ(t.data_as<int64_t>()[0], -9000000000LL);
    EXPECT_EQ(t.data_as<int64_t>()[1], 3);
}

TEST(TensorProtoReader, Int32DataForNarrowTypes) {
    onnx::TensorProto i32 = make(onnx::TensorProto::INT32, {2});
    i32.add_int32_data(-70000);
    i32.add_int32_data(5);
    const engine::Tensor t32 = tensor_from_proto(i32, "int32");
    ASSERT_EQ(t32.dtype(), engine::DataType::I32);
    EXPECT_EQ(t32.data_as<int32_t>()[0], -70000);
    EXPECT_EQ(t32.data_as<int32_t>()[1], 5);

    onnx::TensorProto u8 = make(onnx::TensorProto::UINT8, {2});
    u8.add_int32_data(200);
    u8.add_int32_data(0);
    const engine::Tensor tu8 = tensor_from_proto(u8, "uint8");
    ASSERT_EQ(tu8.dtype(), engine::DataType::U8);
    EXPECT_EQ(tu8.data_as<uint8_t>()[0], 200);

    onnx::TensorProto i8 = make(onnx::TensorProto::INT8, {1});
    i8.add_int32_data(-5);
    const engine::Tensor ti8 = tensor_from_proto(i8, "int8");
    ASSERT_EQ(ti8.dtype(), engine::DataType::I8);
    EXPECT_EQ(ti8.data_as<int8_t>()[0], -5);

    // FLOAT16 values travel as their bit patterns: 0x3C00 is 1.0, 0xC000 is -2.0.
    onnx::TensorProto f16 = make(onnx::TensorProto::FLOAT16, {2});
    f16.add_int32_data(0x3C00);
    f16.add_int32_data(0xC000);
    const engine::Tensor tf16 = tensor_from_proto(f16, "float16");
    ASSERT_EQ(tf16.dtype(), engine::DataType::F16);
    EXPECT_EQ(tf16.data_as<uint16_t>()[0], 0x3C00);
    EXPECT_EQ(tf16.data_as<uint16_t>()[1], 0xC000);
}

TEST(TensorProtoReader, DoubleDataAndScalar) {
    onnx::TensorProto p = make(onnx::TensorProto::DOUBLE, {});
    p.add_double_data(0.1);
    const engine::Tensor t = tensor_from_proto(p, "double scalar");
    ASSERT_EQ(t.dtype(), engine::DataType::F64);
    ASSERT_TRUE(t.shape().empty());
    EXPECT_EQ(t.data_as<double>()[0], 0.1);
}

TEST(TensorProtoReader, RejectsBadInput) {
    onnx::TensorProto short_raw = make(onnx::TensorProto::FLOAT, {3});
    short_raw.set_raw_data(std::string(8, '\0'));
    EXPECT_THROW(tensor_from_proto(short_raw, "short raw"), engine::Error);

    onnx::TensorProto short_typed = make(onnx::TensorProto::INT64, {3});
    short_typed.add_int64_data(1);
    EXPECT_THROW(tensor_from_proto(short_typed, "short typed"), engine::Error);

    onnx::TensorProto str = make(onnx::TensorProto::STRING, {1});
    str.add_string_data("x");
    EXPECT_THROW(tensor_from_proto(str, "string"), engine::Error);

    EXPECT_THROW(read_tensor_proto("/nonexistent/rtdet/input_0.pb"), engine::Error);
}

TEST(TensorProtoReader, FileRoundTrip) {
    onnx::TensorProto p = make(onnx::TensorProto::FLOAT, {1, 2});
    p.add_float_data(4.f);
    p.add_float_data(-4.f);
    const std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("rtdet_tensor_proto_" + std::to_string(::getpid()) + ".pb");
    {
        std::ofstream out(path, std::ios::binary);
        ASSERT_TRUE(p.SerializeToOstream(&out));
    }
    const engine::Tensor t = tensor_from_proto(read_tensor_proto(path.string()), path.string());
    std::filesystem::remove(path);
    ASSERT_EQ(t.shape(), (engine::Shape{1, 2}));
    EXPECT_FLOAT_EQ(t.data_as<float>()[1], -4.f);
}

}  // namespace
}  // namespace conformance
