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

using engine::cuda::quantize_s8_div;
using engine::cuda::quantize_s8_mul;

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
            ++checked;
            const float q = x * inv;
            by_division += !(std::fabs(q - std::rint(q)) < 0.4999f);
            if (got != want && ++wrong <= 5)
                ADD_FAILURE() << "x " << x << " scale " << s << ": " << int{got} << ", the division gives "
                              << int{want};
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

}  // namespace
