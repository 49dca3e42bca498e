// engine/ir/node_checks.h: the operand checks every backend's conv/concat support starts from. Each
// case breaks one rule of a valid node and expects a rejection whose reason names that rule.
#include <gtest/gtest.h>

#include <string>

#include "engine/ir/node_checks.h"
#include "tests/testing/graph_builder.h"

namespace {

using engine::Graph;
using engine::NodeId;
using engine::Shape;
using engine::ValueId;
using testing_util::GraphBuilder;

struct ConvCase {
    GraphBuilder b;
    ValueId x, y;
    NodeId conv;
    explicit ConvCase(int group = 1) {
        x = b.input({1, 4, 8, 8});
        y = b.conv(x, 8, 3, 1, group);
        b.output(y);
        conv = b.producer(y);
    }
    Graph& g() { return b.graph(); }
    std::string why() {
        std::string w;
        EXPECT_FALSE(engine::check_conv_operands(g(), conv, &w));
        return w;
    }
};

TEST(NodeChecks, ValidConvsPass) {
    for (int group : {1, 2, 4}) {
        ConvCase c(group);
        std::string why;
        EXPECT_TRUE(engine::check_conv_operands(c.g(), c.conv, &why)) << "group " << group << ": " << why;
    }
}

TEST(NodeChecks, ConvRejectsEachBrokenRule) {
    {
        ConvCase c;  // weights that are a runtime value
        c.g().value(c.g().node(c.conv).inputs[1]).constant = nullptr;
        EXPECT_EQ(c.why(), "weights/bias not F32 constants");
    }
    {
        ConvCase c;  // weight channels that do not match the input's
        c.g().value(c.g().node(c.conv).inputs[1]).desc.shape = Shape{8, 3, 3, 3};
        EXPECT_EQ(c.why(), "weight shape does not match the input channels and group");
    }
    {
        ConvCase c;  // group 3 does not divide 8 output channels
        std::get<engine::ConvParams>(c.g().node(c.conv).params).group = 3;
        EXPECT_EQ(c.why(), "weight shape does not match the input channels and group");
    }
    {
        ConvCase c;
        c.g().value(c.g().node(c.conv).inputs[2]).desc.shape = Shape{7};
        EXPECT_EQ(c.why(), "bias is not [O]");
    }
    {
        ConvCase c;  // 3-D input
        c.g().value(c.x).desc.shape = Shape{4, 8, 8};
        EXPECT_EQ(c.why(), "input or output is not a runtime 4-D tensor");
    }
    {
        ConvCase c;  // residual flag without the residual input
        std::get<engine::ConvParams>(c.g().node(c.conv).params).residual = true;
        EXPECT_EQ(c.why(), "residual without input 3");
    }
    {
        ConvCase c;  // no weights at all
        c.g().node(c.conv).inputs.resize(1);
        EXPECT_EQ(c.why(), "needs inputs {x, W, ...} and one output");
    }
    std::string why;
    ConvCase c;
    EXPECT_FALSE(engine::check_channel_concat(c.g(), c.conv, &why)) << "a Conv is not a Concat";
    EXPECT_EQ(why, "not a Concat");
}

TEST(NodeChecks, ChannelConcat) {
    GraphBuilder b;
    const ValueId a = b.input({1, 2, 4, 4});
    const ValueId c = b.input({1, 3, 4, 4});
    const ValueId y = b.concat({a, c}, 1);
    const ValueId y_neg = b.concat({a, c}, -3);
    const ValueId h = b.concat({a, a}, 2);
    b.output(y);
    b.output(y_neg);
    b.output(h);
    std::string why;
    EXPECT_TRUE(engine::check_channel_concat(b.graph(), b.producer(y), &why)) << why;
    EXPECT_TRUE(engine::check_channel_concat(b.graph(), b.producer(y_neg), &why)) << why;
    EXPECT_FALSE(engine::check_channel_concat(b.graph(), b.producer(h), &why));
    EXPECT_EQ(why, "axis is not the channels");
    b.graph().value(a).desc.dtype = engine::DataType::I64;
    EXPECT_FALSE(engine::check_channel_concat(b.graph(), b.producer(y), &why));
    EXPECT_EQ(why, "an input is not a runtime 4-D tensor");
}

}  // namespace
