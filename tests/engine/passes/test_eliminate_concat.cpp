#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using pass_test::apply_and_compare;
using testing_util::GraphBuilder;

bool in_place(const Graph& g, const std::string& output_name) {
    const NodeId n = pass_test::producer_of(g, output_name);
    return n != kNoNode && g.node(n).op == OpType::Concat &&
           std::get<ConcatParams>(g.node(n).params).in_place;
}

std::string name_of(const GraphBuilder& b, ValueId v) { return b.graph().value(v).name; }

TEST(EliminateConcat, ConcatOfConvOutputsBecomesInPlace) {
    GraphBuilder b;
    const ValueId x = b.input({2, 3, 6, 6});
    const ValueId cat = b.concat({b.conv(x, 4, 3), b.leaky_relu(b.conv(x, 2, 1))});
    b.output(b.conv(cat, 2, 1));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_concat, b.random_inputs(1)), 1);
    EXPECT_TRUE(in_place(g, name_of(b, cat)));
    EXPECT_EQ(count_ops(g, OpType::Concat), 1u);  // stays as a no-op for the memory planner
}

TEST(EliminateConcat, RouteInputWithSeveralConsumersQualifies) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 8, 8});
    const ValueId a = b.conv(x, 4, 3);
    const ValueId up = b.upsample(b.conv(b.maxpool(a, 2, 2), 2, 1), 2);
    const ValueId cat = b.concat({up, a});
    b.output(b.conv(cat, 3, 1));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_concat, b.random_inputs(2)), 1);
    EXPECT_TRUE(in_place(g, name_of(b, cat)));
}

TEST(EliminateConcat, SkipsGraphInputOperand) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId cat = b.concat({x, b.conv(x, 2, 1)});
    b.output(b.relu(cat));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_concat, b.random_inputs(3)), 0);
    EXPECT_FALSE(in_place(g, name_of(b, cat)));
}

TEST(EliminateConcat, SkipsOperandThatIsAGraphOutput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId a = b.conv(x, 2, 1);
    b.output(a);
    b.output(b.relu(b.concat({a, b.conv(x, 2, 3)})));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_concat, b.random_inputs(4)), 0);
}

TEST(EliminateConcat, SkipsConcatThatIsAGraphOutput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    b.output(b.concat({b.conv(x, 2, 1), b.conv(x, 2, 3)}));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_concat, b.random_inputs(5)), 0);
}

TEST(EliminateConcat, SkipsAxisOtherThanChannels) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    b.output(b.relu(b.concat({b.conv(x, 2, 1), b.conv(x, 2, 3)}, /*axis=*/2)));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_concat, b.random_inputs(6)), 0);
}

TEST(EliminateConcat, SkipsTheSameValueTwice) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId a = b.conv(x, 2, 1);
    b.output(b.relu(b.concat({a, a})));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_concat, b.random_inputs(7)), 0);
}

TEST(EliminateConcat, NestedConcatOnlyTheInnerOneIsInPlace) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId inner = b.concat({b.conv(x, 2, 1), b.conv(x, 2, 3)});
    const ValueId outer = b.concat({inner, b.conv(x, 1, 1)});
    b.output(b.relu(outer));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_concat, b.random_inputs(8)), 1);
    EXPECT_TRUE(in_place(g, name_of(b, inner)));
    EXPECT_FALSE(in_place(g, name_of(b, outer)));
}

TEST(EliminateConcat, AValueJoinsAtMostOneInPlaceConcat) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId shared = b.conv(x, 2, 1);
    const ValueId first = b.concat({shared, b.conv(x, 2, 3)});
    const ValueId second = b.concat({b.conv(x, 3, 3), shared});
    b.output(b.add(b.relu(first), b.sigmoid(b.conv(second, 4, 1))));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_concat, b.random_inputs(9)), 1);
    EXPECT_TRUE(in_place(g, name_of(b, first)));
    EXPECT_FALSE(in_place(g, name_of(b, second)));
}

TEST(EliminateConcat, SkipsOperandReadByAReshape) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId a = b.conv(x, 2, 1);
    b.output(b.relu(b.concat({a, b.conv(x, 2, 3)})));
    b.output(b.reshape(a, {1, 2, 16, 1}));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_concat, b.random_inputs(10)), 0);
}

}  // namespace
