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

}  // namespace
