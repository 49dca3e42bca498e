// The rule `best` keeps a layer out of INT8 by (engine/builder/measured_precision.h), on timings given
// by hand.
#include <gtest/gtest.h>

#include "engine/builder/measured_precision.h"

namespace {

using engine::int8_slower_layers;

TEST(MeasuredPrecision, KeepsFloatOnlyWhereTheFloatKernelWasFaster) {
    const std::map<std::string, double> int8{{"a", 1.0}, {"b", 0.2}, {"c", 0.5}, {"d", 0.3}};
    const std::map<std::string, double> fp16{{"a", 0.25}, {"b", 0.4}, {"c", 0.5}, {"d", 0.299}};
    // a: 4x faster in float; b: slower in float; c: a tie stays INT8; d: just faster in float.
    EXPECT_EQ(int8_slower_layers({"a", "b", "c", "d"}, int8, fp16), (std::vector<std::string>{"a", "d"}));
    // Only the layers asked about, in the order asked.
    EXPECT_EQ(int8_slower_layers({"d", "b", "a"}, int8, fp16), (std::vector<std::string>{"d", "a"}));
}

TEST(MeasuredPrecision, AnUnmeasuredLayerStaysInt8) {
    const std::map<std::string, double> int8{{"a", 1.0}, {"b", 1.0}};
    const std::map<std::string, double> fp16{{"a", 0.1}, {"c", 0.1}};
    // b has no float time, c no INT8 time, e neither.
    EXPECT_EQ(int8_slower_layers({"a", "b", "c", "e"}, int8, fp16), (std::vector<std::string>{"a"}));
    EXPECT_TRUE(int8_slower_layers({}, int8, fp16).empty());
}

// A ConvPair of the INT8 plan (engine/builder/conv_pairs.h) is one layer there: it is weighed as a
// whole, against the float plan's pair of the same name or the sum of its two convs, and both its
// convs go to float or stay in INT8 together.
TEST(MeasuredPrecision, APairIsWeighedAsOneLayer) {
    using engine::Int8Layer;
    const std::vector<Int8Layer> layers = {{"a+b", {"a", "b"}}, {"c", {"c"}}, {"d+e", {"d", "e"}}};
    const std::map<std::string, double> int8{{"a+b", 1.0}, {"c", 0.5}, {"d+e", 1.0}};
    // a+b: 0.4 + 0.5 = 0.9 in float, faster; d+e: paired in float too, 1.5, slower; c: faster.
    const std::map<std::string, double> fp16{{"a", 0.4}, {"b", 0.5}, {"c", 0.25}, {"d+e", 1.5}};
    ASSERT_TRUE(engine::layer_float_ms(layers[0], fp16).has_value());
    EXPECT_DOUBLE_EQ(*engine::layer_float_ms(layers[0], fp16), 0.9);
    EXPECT_EQ(engine::layer_float_ms(layers[2], fp16), 1.5);
    EXPECT_EQ(engine::int8_slower_convs(layers, int8, fp16), (std::vector<std::string>{"a", "b", "c"}));
    // The float plan's pair of the same name wins over its parts (there as well as apart).
    const std::map<std::string, double> both{{"a+b", 2.0}, {"a", 0.1}, {"b", 0.1}};
    EXPECT_EQ(engine::layer_float_ms(layers[0], both), 2.0);
    EXPECT_TRUE(engine::int8_slower_convs({layers[0]}, int8, both).empty());
    // Half of a pair unmeasured in float: the pair stays INT8.
    const std::map<std::string, double> half{{"a", 0.01}};
    EXPECT_FALSE(engine::layer_float_ms(layers[0], half).has_value());
    EXPECT_TRUE(engine::int8_slower_convs(layers, int8, half).empty());
}

}  // namespace
