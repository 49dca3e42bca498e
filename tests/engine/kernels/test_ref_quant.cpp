// Reference QuantizeLinear, DequantizeLinear and FakeQuant (engine/refmath/ref_quant.h): values worked
// out by hand from the ONNX spec (round half to even, the zero point added after rounding,
// saturation, per-axis scales on any axis), FakeQuant equal to the pair, strided batches, bad operands.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "engine/refmath/ref_quant.h"
#include "tests/engine/kernels/kernel_test_util.h"
#include "tests/testing/error_of.h"

namespace {

using namespace engine;

Tensor ints(DataType dt, const Shape& shape, const std::vector<int32_t>& v) {
    Tensor t(dt, shape);
    for (size_t i = 0; i < v.size(); ++i) {
        if (dt == DataType::I8)
            t.data_as<int8_t>()[i] = static_cast<int8_t>(v[i]);
        else if (dt == DataType::U8)
            t.data_as<uint8_t>()[i] = static_cast<uint8_t>(v[i]);
        else
            t.data_as<int32_t>()[i] = v[i];
    }
    return t;
}

std::vector<int64_t> values(const Tensor& t) { return t.to_i64(); }

Tensor quantize(const Tensor& x, const Tensor& scale, const Tensor& zero, DataType qtype, int axis = 1) {
    return std::move(kt::run_op(OpType::QuantizeLinear, QuantParams{axis, qtype}, {x, scale, zero},
                                {x.shape()}, qtype)[0]);
}

Tensor dequantize(const Tensor& q, const Tensor& scale, const Tensor& zero, int axis = 1) {
    return kt::run1(OpType::DequantizeLinear, QuantParams{axis, q.dtype()}, {q, scale, zero}, q.shape());
}

Tensor scalar(float v) { return Tensor::from_f32({}, std::vector<float>{v}); }

TEST(RefQuantizeLinear, Uint8ByHand) {
    // ONNX's QuantizeLinear example: scale 2, zero point 128. 3 / 2 = 1.5 rounds to 2 (even);
    // 1000 / 2 + 128 saturates at 255, -1000 / 2 + 128 at 0.
    const Tensor x = kt::f32({6}, {0, 2, 3, 1000, -254, -1000});
    const Tensor q = quantize(x, scalar(2), ints(DataType::U8, {}, {128}), DataType::U8);
    EXPECT_EQ(q.dtype(), DataType::U8);
    EXPECT_EQ(values(q), (std::vector<int64_t>{128, 129, 130, 255, 1, 0}));
}

TEST(RefQuantizeLinear, RoundsHalfToEvenThenAddsTheZeroPoint) {
    const Tensor x = kt::f32({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, 3.5f});
    EXPECT_EQ(values(quantize(x, scalar(1), ints(DataType::I8, {}, {0}), DataType::I8)),
              (std::vector<int64_t>{0, 2, 2, 0, -2, -2, 0, 4}));
    // Zero point 1: round(0.5) + 1 = 1, not round(0.5 + 1) = 2; round(2.5) + 1 = 3, not 4.
    EXPECT_EQ(values(quantize(x, scalar(1), ints(DataType::I8, {}, {1}), DataType::I8)),
              (std::vector<int64_t>{1, 3, 3, 1, -1, -1, 1, 5}));
    // Quotients in float32: 0.3f / 0.1f -> 3; 0.25f / 0.1f = 2.4999999 rounds to the float 2.5, a tie
    // -> 2 (a float64 division would give 2.4999999... -> 2 as well, but 0.35f / 0.1f shows the
    // difference: 3.4999999 in float64, 3.5 in float32 -> 4).
    EXPECT_EQ(values(quantize(kt::f32({3}, {0.3f, 0.25f, 0.35f}), scalar(0.1f), ints(DataType::I8, {}, {0}),
                              DataType::I8)),
              (std::vector<int64_t>{3, 2, 4}));
    EXPECT_EQ(
        values(quantize(kt::f32({1}, {0.25f}), scalar(0.5f), ints(DataType::I8, {}, {0}), DataType::I8)),
        (std::vector<int64_t>{0}));
}

TEST(RefQuantizeLinear, SaturatesAndMapsNanToTheZeroPoint) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    const Tensor x = kt::f32({7}, {200.f, -200.f, -50.f, 127.49f, -128.5f, kInf, -kInf});
    EXPECT_EQ(values(quantize(x, scalar(1), ints(DataType::I8, {}, {0}), DataType::I8)),
              (std::vector<int64_t>{127, -128, -50, 127, -128, 127, -128}));
    // Zero point -100: -50 - 100 = -150 saturates at -128; 200 - 100 = 100.
    EXPECT_EQ(values(quantize(x, scalar(1), ints(DataType::I8, {}, {-100}), DataType::I8)),
              (std::vector<int64_t>{100, -128, -128, 27, -128, 127, -128}));
    EXPECT_EQ(values(quantize(kt::f32({3}, {-3.f, 300.f, NAN}), scalar(1), ints(DataType::U8, {}, {0}),
                              DataType::U8)),
              (std::vector<int64_t>{0, 255, 0}));
    EXPECT_EQ(
        values(quantize(kt::f32({2}, {NAN, -NAN}), scalar(1), ints(DataType::U8, {}, {7}), DataType::U8)),
        (std::vector<int64_t>{7, 7}));
}

TEST(RefQuantizeLinear, PerAxisOnAnyAxis) {
    // x [2, 3, 2], axis 1: scales {1, 0.5, 0.25}, zero points {0, 1, -1}.
    const Tensor x = kt::f32({2, 3, 2}, {1, 2, 1, 2, 1, 2, -1, -2, -1, -2, -1, -2});
    const Tensor q =
        quantize(x, kt::f32({3}, {1, 0.5f, 0.25f}), ints(DataType::I8, {3}, {0, 1, -1}), DataType::I8, 1);
    EXPECT_EQ(values(q), (std::vector<int64_t>{1, 2, 3, 5, 3, 7, -1, -2, -1, -3, -5, -9}));
    // Axis 0 (weights [O, ...]): per output channel.
    const Tensor w = kt::f32({3, 2}, {1, -1, 1, -1, 1, -1});
    EXPECT_EQ(values(quantize(w, kt::f32({3}, {1, 0.5f, 0.125f}), ints(DataType::I8, {3}, {0, 0, 0}),
                              DataType::I8, 0)),
              (std::vector<int64_t>{1, -1, 2, -2, 8, -8}));
    // The last axis.
    EXPECT_EQ(
        values(quantize(w, kt::f32({2}, {1, 0.25f}), ints(DataType::U8, {2}, {10, 20}), DataType::U8, 1)),
        (std::vector<int64_t>{11, 16, 11, 16, 11, 16}));
}

TEST(RefDequantizeLinear, ByHand) {
    // ONNX's example: uint8 {0, 3, 128, 255}, scale 2, zero point 128 -> {-256, -250, 0, 254}.
    kt::expect_values(
        dequantize(ints(DataType::U8, {4}, {0, 3, 128, 255}), scalar(2), ints(DataType::U8, {}, {128})), {4},
        {-256, -250, 0, 254}, 0);
    kt::expect_values(
        dequantize(ints(DataType::I8, {3}, {-128, 0, 127}), scalar(0.5f), ints(DataType::I8, {}, {-1})), {3},
        {-63.5f, 0.5f, 64}, 0);
    // int32 (quantized biases): zero point 0, large values.
    kt::expect_values(
        dequantize(ints(DataType::I32, {2}, {1 << 20, -123456}), scalar(0.25f), ints(DataType::I32, {}, {0})),
        {2}, {262144.f, -30864.f}, 0);
    // Per axis 1 of [1, 2, 2].
    kt::expect_values(dequantize(ints(DataType::I8, {1, 2, 2}, {1, 2, 3, 4}), kt::f32({2}, {0.5f, 2}),
                                 ints(DataType::I8, {2}, {1, -1}), 1),
                      {1, 2, 2}, {0, 0.5f, 8, 10}, 0);
}

TEST(RefFakeQuant, EqualsQuantizeThenDequantize) {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-6.f, 6.f);
    std::vector<float> xv(2 * 3 * 4 * 5);
    for (float& v : xv) v = u(rng);
    xv[0] = 0.0625f * 2.5f;  // a tie: 2.5 -> 2
    const Tensor x = kt::f32({2, 3, 4, 5}, xv);
    struct Case {
        std::vector<float> qs;
        std::vector<int32_t> qz;
        std::vector<float> ds;
        std::vector<int32_t> dz;
        DataType qtype;
        int axis;
    };
    const std::vector<Case> cases = {
        {{0.0625f}, {0}, {0.0625f}, {0}, DataType::I8, 1},  // symmetric int8
        {{0.03f}, {128}, {0.03f}, {128}, DataType::U8, 1},  // uint8 around 128
        {{0.05f}, {3}, {0.05f}, {3}, DataType::U8, 1},      // asymmetric
        {{0.1f, 0.02f, 0.3f}, {0, 5, -7}, {0.1f, 0.02f, 0.3f}, {0, 5, -7}, DataType::I8, 1},  // per axis
        {{0.1f, 0.2f, 0.3f, 0.4f}, {0, 0, 0, 0}, {1}, {0}, DataType::I8, 2},  // per axis Q, DQ (1, 0)
        {{0.07f}, {0}, {0.1f, 0.2f}, {1, 2}, DataType::I8, 0},                // per tensor Q, axis-0 DQ
    };
    for (const Case& c : cases) {
        const bool qscalar = c.qs.size() == 1, dscalar = c.ds.size() == 1;
        const Tensor qs =
            Tensor::from_f32(qscalar ? Shape{} : Shape{static_cast<int64_t>(c.qs.size())}, c.qs);
        const Tensor qz = ints(c.qtype, qs.shape(), c.qz);
        const Tensor ds =
            Tensor::from_f32(dscalar ? Shape{} : Shape{static_cast<int64_t>(c.ds.size())}, c.ds);
        const Tensor dz = ints(c.qtype, ds.shape(), c.dz);
        const Tensor want = dequantize(quantize(x, qs, qz, c.qtype, c.axis), ds, dz, c.axis);
        std::vector<float> qzf(c.qz.begin(), c.qz.end()), dzf(c.dz.begin(), c.dz.end());
        const Tensor got = kt::run1(
            OpType::FakeQuant, QuantParams{c.axis, c.qtype},
            {x, qs, Tensor::from_f32(qs.shape(), qzf), ds, Tensor::from_f32(ds.shape(), dzf)}, x.shape());
        for (int64_t i = 0; i < x.numel(); ++i)
            ASSERT_EQ(got.data_as<float>()[i], want.data_as<float>()[i])
                << "element " << i << ", case with " << c.qs.size() << "/" << c.ds.size() << " scales";
    }
    // The tie, by hand: 0.15625 / 0.0625 = 2.5 -> 2 -> 0.125.
    const Tensor got =
        kt::run1(OpType::FakeQuant, QuantParams{1, DataType::I8},
                 {kt::f32({1}, {0.15625f}), scalar(0.0625f), scalar(0), scalar(0.0625f), scalar(0)}, {1});
    EXPECT_EQ(got.data_as<float>()[0], 0.125f);
}

TEST(RefFakeQuant, StridedBatchOnlyTouchesItsSlices) {
    // Input and output are samples of size 4 inside rows of 6 (a Concat slice): the gaps stay.
    std::vector<float> in(12, 0.f), out(12, -99.f);
    for (int b = 0; b < 2; ++b)
        for (int i = 0; i < 4; ++i) in[b * 6 + i] = 0.3f * static_cast<float>(i + 4 * b);
    TensorRef x{in.data(), DataType::F32, {2, 2, 2}, 6};
    TensorRef y{out.data(), DataType::F32, {2, 2, 2}, 6};
    const Tensor s = kt::f32({2}, {0.5f, 0.25f}), z = kt::f32({2}, {0, 0});
    const TensorRef refs[] = {x, kt::dense_ref(s), kt::dense_ref(z), kt::dense_ref(s), kt::dense_ref(z)};
    KernelArgs args;
    args.inputs = refs;
    args.outputs = std::span<const TensorRef>(&y, 1);
    ref_run(OpType::FakeQuant, QuantParams{1, DataType::I8}, args);
    // Channel 0 (scale 0.5): 0, 0.3 -> 0, 0.5; channel 1 (0.25): 0.6, 0.9 -> 0.5, 1.0; sample 1 alike.
    const std::vector<float> want = {0, 0.5f, 0.5f, 1.0f, -99, -99, 1, 1.5f, 1.75f, 2.0f, -99, -99};
    for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(out[i], want[i]) << i;
}

TEST(RefQuant, BadOperandsAreOneLineErrors) {
    const Tensor x = kt::f32({2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor z = ints(DataType::I8, {}, {0});
    for (float bad : {0.f, -1.f, NAN, std::numeric_limits<float>::infinity()}) {
        const std::string msg = testing_util::error_of([&] { quantize(x, scalar(bad), z, DataType::I8); });
        EXPECT_NE(msg.find("QuantizeLinear: scale"), std::string::npos) << msg;
        EXPECT_NE(msg.find("is not a finite value > 0"), std::string::npos) << msg;
    }
    EXPECT_NE(testing_util::error_of([&] {
                  quantize(x, kt::f32({2}, {1, 1}), ints(DataType::I8, {2}, {0, 0}), DataType::I8, 1);
              }).find("does not match dim 1 of [2,3]"),
              std::string::npos);
    EXPECT_NE(testing_util::error_of([&] {
                  quantize(x, kt::f32({3}, {1, 1, 1}), z, DataType::I8, 1);
              }).find("must have the same number of elements"),
              std::string::npos);
    EXPECT_NE(testing_util::error_of([&] {
                  kt::run_op(OpType::QuantizeLinear, QuantParams{1, DataType::I32},
                             {x, scalar(1), ints(DataType::I32, {}, {0})}, {x.shape()}, DataType::I32);
              }).find("(i8 or u8)"),
              std::string::npos);
    EXPECT_NE(testing_util::error_of([&] {
                  kt::run1(OpType::FakeQuant, QuantParams{1, DataType::I8},
                           {x, scalar(1), scalar(300), scalar(1), scalar(0)}, x.shape());
              }).find("zero point 300 is outside the range of i8"),
              std::string::npos);
    EXPECT_NE(testing_util::error_of([&] {
                  kt::run1(OpType::FakeQuant, QuantParams{1, DataType::I8},
                           {x, scalar(1), scalar(0.5f), scalar(1), scalar(0)}, x.shape());
              }).find("zero point 0.5 is not an integer"),
              std::string::npos);
    EXPECT_NE(testing_util::error_of([&] {
                  dequantize(ints(DataType::I8, {2}, {1, 2}), scalar(1), ints(DataType::U8, {}, {0}));
              }).find("DequantizeLinear: zero point is u8, expected i8"),
              std::string::npos);
}

}  // namespace
