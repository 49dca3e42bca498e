// The builder computes descs on its own; shape inference must agree with it on every value.
#include "tests/engine/passes/pass_test_util.h"

namespace {

using namespace engine;
using testing_util::ConvSpec;
using testing_util::GraphBuilder;

TEST(GraphBuilder, DescsAgreeWithShapeInference) {
    GraphBuilder b;
    const ValueId x = b.input({2, 4, 9, 9});
    ConvSpec spec;
    spec.out_channels = 6;
    spec.kernel = 3;
    spec.stride = 2;
    spec.dilation = 2;
    spec.group = 2;
    const ValueId c = b.leaky_relu(b.batch_norm(b.conv(x, spec)));
    const ValueId p = b.maxpool(c, 2, 2, 1);
    const ValueId u = b.upsample(p, 2);
    const ValueId cat = b.concat({u, b.conv(u, 2, 1)});
    const ValueId broadcast = b.add(cat, b.random_constant({8, 1, 1}));
    const ValueId r = b.reshape(broadcast, {2, 8, 9, 4});
    b.output(b.mish(b.clip(r, -1.f, 1.f)));
    b.output(b.split(b.silu(x), 1, {1, 3})[1]);
    Graph built = b.build();
    Graph inferred = b.build();
    infer_shapes(inferred);
    verify(inferred);
    ASSERT_EQ(built.num_values(), inferred.num_values());
    for (ValueId v = 0; v < built.num_values(); ++v) {
        EXPECT_EQ(inferred.value(v).desc.shape, built.value(v).desc.shape) << built.value(v).name;
        EXPECT_EQ(inferred.value(v).desc.dtype, built.value(v).desc.dtype) << built.value(v).name;
        EXPECT_EQ(inferred.value(v).batched, built.value(v).batched) << built.value(v).name;
    }
    EXPECT_EQ(built.value(c).desc.shape, (Shape{2, 6, 5, 5}));
    EXPECT_EQ(built.value(p).desc.shape, (Shape{2, 6, 3, 3}));
    EXPECT_EQ(built.value(cat).desc.shape, (Shape{2, 8, 6, 6}));
}

}  // namespace
