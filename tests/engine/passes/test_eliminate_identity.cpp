#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using pass_test::apply_and_compare;
using testing_util::GraphBuilder;

TEST(EliminateIdentity, RemovesIdentityAndDropoutInAChain) {
    GraphBuilder b;
    const ValueId x = b.input({2, 3, 4, 4});
    const ValueId r = b.relu(x);
    const ValueId s = b.sigmoid(b.dropout(b.identity(r)));
    b.output(s);
    const std::string r_name = b.graph().value(r).name;
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_identity, b.random_inputs(1)), 2);
    EXPECT_EQ(count_ops(g, OpType::Identity), 0u);
    EXPECT_EQ(count_ops(g, OpType::Dropout), 0u);
    ASSERT_EQ(count_ops(g, OpType::Sigmoid), 1u);
    EXPECT_EQ(g.value(g.node(g.nodes_of(OpType::Sigmoid)[0]).inputs[0]).name, r_name);
}

TEST(EliminateIdentity, RemovesReshapeToTheSameShape) {
    GraphBuilder b;
    const ValueId x = b.input({2, 4, 3, 3});
    b.output(b.sigmoid(b.reshape(b.relu(x), {2, 4, 3, 3})));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_identity, b.random_inputs(2)), 1);
    EXPECT_EQ(count_ops(g, OpType::Reshape), 0u);
    EXPECT_EQ(g.num_live_nodes(), 2u);
}

TEST(EliminateIdentity, KeepsReshapeThatChangesTheShape) {
    GraphBuilder b;
    const ValueId x = b.input({2, 4, 3, 3});
    b.output(b.sigmoid(b.reshape(b.relu(x), {2, 4, 9, 1})));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_identity, b.random_inputs(3)), 0);
    EXPECT_EQ(count_ops(g, OpType::Reshape), 1u);
}

TEST(EliminateIdentity, IdentityBeforeGraphOutputRewiresItsProducer) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId y = b.identity(b.relu(x));
    b.output(y);
    const std::string y_name = b.graph().value(y).name;
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_identity, b.random_inputs(4)), 1);
    EXPECT_EQ(count_ops(g, OpType::Identity), 0u);
    ASSERT_EQ(g.outputs().size(), 1u);
    EXPECT_EQ(g.value(g.outputs()[0]).name, y_name);  // the graph output keeps its name
    const NodeId p = g.value(g.outputs()[0]).producer;
    ASSERT_NE(p, kNoNode);
    EXPECT_EQ(g.node(p).op, OpType::Relu);
}

TEST(EliminateIdentity, GraphOutputThatIsAlsoConsumedStaysConnected) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId y = b.identity(b.relu(x));
    b.output(y);
    b.output(b.sigmoid(y));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_identity, b.random_inputs(5)), 1);
    EXPECT_EQ(g.num_live_nodes(), 2u);
    const Node& sig = g.node(g.nodes_of(OpType::Sigmoid)[0]);
    EXPECT_EQ(sig.inputs[0], g.outputs()[0]);
}

TEST(EliminateIdentity, KeepsIdentityFromGraphInputToGraphOutput) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    b.output(b.identity(x));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_identity, b.random_inputs(6)), 0);
    EXPECT_EQ(count_ops(g, OpType::Identity), 1u);
}

TEST(EliminateIdentity, KeepsIdentityToGraphOutputWhenItsInputHasOtherConsumers) {
    GraphBuilder b;
    const ValueId x = b.input({1, 3, 4, 4});
    const ValueId r = b.relu(x);
    b.output(b.identity(r));
    b.output(b.sigmoid(r));
    Graph g = b.build();

    EXPECT_EQ(apply_and_compare(g, eliminate_identity, b.random_inputs(7)), 0);
    EXPECT_EQ(count_ops(g, OpType::Identity), 1u);
}

}  // namespace
