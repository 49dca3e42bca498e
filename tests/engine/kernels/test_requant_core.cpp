// The CUDA kernels' quantization to s8 (engine/backends/cuda/kernels/requant_core.h), compiled here as
// plain C++: the same source the device runs (its division and multiplication are IEEE's there too).
// Against the reference's quantize_s8 (engine/refmath/ref_int8.h): the division form on special values,
// and the multiplication by 1 / scale, which the conv epilogue uses, bit for bit the division's on
// values packed next to every half step of the s8 range, for scales across nine decades.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/backends/cuda/kernels/requant_core.h"
#include "engine/refmath/ref_int8.h"

namespace {

using engine::cuda::biased_acc_to_f32;
using engine::cuda::int8_sums_small;
using engine::cuda::kRoundMagicBits;
using engine::cuda::quantize_s8_div;
using engine::cuda::quantize_s8_fast;
using engine::cuda::quantize_s8_mul;
using engine::cuda::s8x4_to_f32;

TEST(RequantCore, DivisionIsTheReferenceOnSpecialValues) {
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    struct Case {
        float x, scale;
        int want;  // by hand
    };
    const Case cases[] = {{0.5f, 1.f, 0},     {1.5f, 1.f, 2},       {2.5f, 1.f, 2},     {-0.5f, 1.f, 0},
                          {-1.5f, 1.f, -2},   {-2.5f, 1.f, -2},     {127.5f, 1.f, 127}, {-128.5f, 1.f, -128},
                          {1e30f, 0.1f, 127}, {-1e30f, 0.1f, -128}, {inf, 1.f, 127},    {-inf, 1.f, -128},
                          {nan, 1.f, 0},      {0.3f, 0.1f, 3},      {-0.f, 1.f, 0},     {12.f, 4.f, 3}};
    for (const Case& c : cases) {
        EXPECT_EQ(quantize_s8_div(c.x, c.scale), c.want) << c.x << " / " << c.scale;
        EXPECT_EQ(quantize_s8_div(c.x, c.scale), engine::quantize_s8(c.x, c.scale))
            << c.x << " / " << c.scale;
        EXPECT_EQ(quantize_s8_mul(c.x, c.scale, 1.f / c.scale), c.want) << c.x << " * 1/" << c.scale;
        EXPECT_EQ(quantize_s8_fast(c.x, c.scale, 1.f / c.scale), c.want) << c.x << " fast, 1/" << c.scale;
    }
}

TEST(RequantCore, MultiplicationIsTheDivisionBitForBit) {
    std::mt19937 rng(20261205);
    std::vector<float> scales = {1.f, 0.1f, 1.f / 3, 1.f / 127, 0.0078125f, 3.f, 1e-6f, 1e3f};
    std::uniform_real_distribution<float> decade(-6.f, 3.f);
    while (scales.size() < 300) scales.push_back(std::pow(10.f, decade(rng)));
    size_t checked = 0, by_division = 0, wrong = 0;
    for (const float s : scales) {
        const float inv = 1.f / s;
        auto check = [&](float x) {
            const int8_t got = quantize_s8_mul(x, s, inv), want = engine::quantize_s8(x, s);
            // The kernels' form without conversions: the same result.
            const int8_t fast = quantize_s8_fast(x, s, inv);
            ++checked;
            const float q = x * inv;
            by_division += !(std::fabs(q - std::rint(q)) < 0.4999f);
            if ((got != want || fast != want) && ++wrong <= 5)
                ADD_FAILURE() << "x " << x << " scale " << s << ": " << int{got} << " (fast " << int{fast}
                              << "), the division gives " << int{want};
        };
        for (int k = -300; k <= 300; ++k) {
            // The half step k + 0.5 and the integer k in real units, and 12 floats either side of each.
            for (const float centre : {(k + 0.5f) * s, k * s}) {
                float lo = centre, hi = centre;
                check(centre);
                for (int u = 0; u < 12; ++u) {
                    lo = std::nextafter(lo, -std::numeric_limits<float>::infinity());
                    hi = std::nextafter(hi, std::numeric_limits<float>::infinity());
                    check(lo);
                    check(hi);
                }
            }
        }
        std::uniform_real_distribution<float> any(-400.f * s, 400.f * s);
        for (int i = 0; i < 2000; ++i) check(any(rng));
    }
    EXPECT_EQ(wrong, 0u) << "of " << checked;
    // Both paths ran: most values by the multiplication, those next to a half step by the division.
    EXPECT_GT(by_division, checked / 100) << "of " << checked;
    EXPECT_LT(by_division, checked / 2) << "of " << checked;
}

TEST(RequantCore, FastFormSaturatesAndKeepsNaNAtZero) {
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    // By hand: past the range both ways, the clamp's bounds themselves, half steps at the ends.
    EXPECT_EQ(quantize_s8_fast(1e30f, 0.1f, 10.f), 127);
    EXPECT_EQ(quantize_s8_fast(-1e30f, 0.1f, 10.f), -128);
    EXPECT_EQ(quantize_s8_fast(inf, 1.f, 1.f), 127);
    EXPECT_EQ(quantize_s8_fast(-inf, 1.f, 1.f), -128);
    EXPECT_EQ(quantize_s8_fast(nan, 1.f, 1.f), 0);
    EXPECT_EQ(quantize_s8_fast(127.f, 1.f, 1.f), 127);
    EXPECT_EQ(quantize_s8_fast(-128.f, 1.f, 1.f), -128);
    EXPECT_EQ(quantize_s8_fast(126.5f, 1.f, 1.f), 126);
    EXPECT_EQ(quantize_s8_fast(-127.5f, 1.f, 1.f), -128);
    EXPECT_EQ(quantize_s8_fast(5e6f, 1.f, 1.f), 127);  // past 2^22, where kRoundMagic alone would fail
    EXPECT_EQ(quantize_s8_fast(-2e7f, 1.f, 1.f), -128);
}

TEST(RequantCore, BiasedAccumulatorIsTheConversion) {
    // Every sum within +-2^22 (the small form), as the kernel's accumulators hold them: kRoundMagicBits
    // plus the sum, wrapping as int32 arithmetic does.
    size_t wrong = 0;
    const int32_t lim = (1 << 22) - 1;
    for (int32_t sum = -lim; sum <= lim; ++sum) {
        const auto acc = static_cast<int32_t>(kRoundMagicBits + static_cast<uint32_t>(sum));
        if (biased_acc_to_f32(acc, true) != static_cast<float>(sum) && ++wrong <= 5)
            ADD_FAILURE() << "sum " << sum << ": " << biased_acc_to_f32(acc, true);
    }
    // Any sum by the conversion, the wrap included (a sum near INT32_MIN makes the biased value wrap).
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> any(
        std::numeric_limits<int32_t>::min(),
        std::numeric_limits<int32_t>::max() - static_cast<int32_t>(kRoundMagicBits));
    for (int i = 0; i < 200000; ++i) {
        const int32_t sum = i == 0 ? std::numeric_limits<int32_t>::min() : any(rng);
        const auto acc = static_cast<int32_t>(kRoundMagicBits + static_cast<uint32_t>(sum));
        if (biased_acc_to_f32(acc, false) != static_cast<float>(sum) && ++wrong <= 5)
            ADD_FAILURE() << "sum " << sum << " (not small): " << biased_acc_to_f32(acc, false);
    }
    EXPECT_EQ(wrong, 0u);
    // The small form is wrong past 2^22 (the reason for the flag): 2^22 + 1 comes back as something else.
    const int32_t big = (1 << 22) + 1;
    EXPECT_NE(biased_acc_to_f32(static_cast<int32_t>(kRoundMagicBits + big), true), static_cast<float>(big));
}

TEST(RequantCore, S8WordToFloatsIsEveryByte) {
    for (int b = 0; b < 256; ++b)
        for (int pos = 0; pos < 4; ++pos) {
            const auto q = static_cast<int8_t>(b);
            // The byte at `pos`, other bytes set to a pattern that must not leak in.
            const uint32_t word =
                (0xA5C3E1F7u & ~(0xffu << (8 * pos))) | (static_cast<uint32_t>(b) << (8 * pos));
            float out[4];
            s8x4_to_f32(word, out);
            EXPECT_EQ(out[pos], static_cast<float>(q)) << "byte " << b << " at " << pos;
            for (int o = 0; o < 4; ++o)
                EXPECT_EQ(out[o], static_cast<float>(static_cast<int8_t>((word >> (8 * o)) & 0xffu)));
        }
}

TEST(RequantCore, SumsSmallByHand) {
    // 128 * sum|w| against 2^22 = 4194304: 32767 * 128 = 4194176 is below it, 32768 * 128 is not.
    std::vector<int8_t> w(300, 0);
    for (int i = 0; i < 258; ++i)
        w[static_cast<size_t>(i)] = static_cast<int8_t>(i % 2 ? -127 : 127);  // 32766
    w[258] = 1;                                                               // 32767
    EXPECT_TRUE(int8_sums_small(w.data(), 1, 300));
    w[259] = -1;  // 32768
    EXPECT_FALSE(int8_sums_small(w.data(), 1, 300));
    // The largest row decides: two rows of 150, the second holding the big values.
    EXPECT_TRUE(int8_sums_small(w.data(), 2, 150));
    std::vector<int8_t> rows(600, 0);
    for (int i = 0; i < 300; ++i) rows[static_cast<size_t>(300 + i)] = w[static_cast<size_t>(i)];
    EXPECT_FALSE(int8_sums_small(rows.data(), 2, 300));
    EXPECT_TRUE(int8_sums_small(rows.data(), 1, 300));
}

}  // namespace
