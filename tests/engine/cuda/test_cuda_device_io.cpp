// ExecutionContext's device I/O (device_input / device_output / stream, run(batch, IoMemory::Device)):
// the same plan run with its inputs handed over in device memory gives the same outputs as the normal
// run through the host buffers (the oracle), at FP32 and FP16, full and partial batches, with repeated
// runs in both modes interleaved (each mode's CUDA graph recorded and replayed separately). Reference
// plans have no device I/O at all.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/builder/builder.h"
#include "engine/runtime/runtime.h"
#include "tests/engine/cuda/cuda_test_util.h"
#include "tests/testing/build_options.h"
#include "tests/testing/graph_builder.h"

namespace {

using engine::IoMemory;
using engine::Precision;
using engine::Tensor;
using namespace cuda_test;

using testing_util::build_options;

engine::Graph small_net(int batch) {
    testing_util::GraphBuilder b(11);
    const auto x = b.input({batch, 3, 16, 20}, true, "images");
    const auto c0 = b.leaky_relu(b.batch_norm(b.conv(x, 8, 3)), 0.1f);
    const auto c1 = b.leaky_relu(b.conv(c0, 16, 3, 2), 0.1f);
    const auto u = b.upsample(b.conv(c1, 8, 1), 2);
    b.output(b.conv(b.concat({u, c0}, 1), 12, 1));
    b.output(b.conv(c1, 6, 1));
    return b.build();
}

// Runs `batch` samples through the host buffers (input(0) / output(i)).
std::vector<Tensor> run_host(engine::ExecutionContext& ctx, const Tensor& in, int batch) {
    std::memcpy(ctx.input(0), in.data(), in.bytes());
    ctx.run(batch);
    std::vector<Tensor> outs;
    for (size_t i = 0; i < ctx.num_outputs(); ++i) {
        const engine::Shape s = ctx.output_shape(i, batch);
        outs.push_back(Tensor::from_bytes(engine::DataType::F32, s, ctx.output(i),
                                          static_cast<size_t>(engine::shape_numel(s)) * sizeof(float)));
    }
    return outs;
}

void expect_equal(const std::vector<Tensor>& a, const std::vector<Tensor>& b, const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].shape(), b[i].shape()) << what << " output " << i;
        const auto d = testing_util::compare(a[i], b[i]);
        // The same kernels on the same numbers: equal up to cuDNN's run-to-run summation order.
        EXPECT_LE(d.max_abs, 1e-6) << what << " output " << i << ": " << d.describe();
    }
}

class CudaDeviceIo : public ::testing::TestWithParam<Precision> {
  protected:
    void SetUp() override { SKIP_WITHOUT_CUDA(); }
};

TEST_P(CudaDeviceIo, MatchesHostIo) {
    const Precision prec = GetParam();
    const engine::Plan plan = engine::build_plan(small_net(3), build_options("cuda", prec, 3), "small", "0");
    auto ctx = engine::Engine::load(plan)->create_context(cuda_test::context_options());
    ASSERT_NE(ctx->stream(), nullptr);
    ASSERT_NE(ctx->device_input(0), nullptr);
    // Stable pointers.
    EXPECT_EQ(ctx->device_input(0), ctx->device_input(0));
    EXPECT_EQ(ctx->device_output(1), ctx->device_output(1));
    for (int batch : {3, 1, 2}) {
        const Tensor in = testing_util::random_tensor({batch, 3, 16, 20}, 40 + batch, 0.f, 1.f);
        const Tensor other = testing_util::random_tensor({batch, 3, 16, 20}, 90 + batch, 0.f, 1.f);
        const auto want = run_host(*ctx, in, batch);
        const auto want_other = run_host(*ctx, other, batch);
        // Interleaved, three times each: the first run is direct, the second recorded, the third replayed.
        for (int rep = 0; rep < 3; ++rep) {
            const std::string what =
                engine::concat(engine::precision_name(prec), " batch ", batch, " rep ", rep);
            expect_equal(run_device(*ctx, in, batch), want, what + " device");
            // The host run must read the host input (not the device one, which holds `in`).
            expect_equal(run_host(*ctx, other, batch), want_other, what + " host");
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaDeviceIo, ::testing::Values(Precision::FP32, Precision::FP16),
                         [](const ::testing::TestParamInfo<Precision>& p) {
                             return std::string(engine::precision_name(p.param));
                         });

// Plans without a device backend have no device I/O: no stream, no device buffers, and a device-I/O
// run is an error. (A host kernel at a boundary also gives nullptr there, but `--device cuda` plans
// run every node on the cuda backend, so no plan of this build mixes them.)
TEST(CudaDeviceIoLimits, ReferencePlansHaveNone) {
    SKIP_WITHOUT_CUDA();
    const engine::Plan ref =
        engine::build_plan(small_net(1), build_options("reference", Precision::FP32, 1), "r", "0");
    auto rctx = engine::Engine::load(ref)->create_context(cuda_test::context_options());
    EXPECT_EQ(rctx->stream(), nullptr);
    EXPECT_EQ(rctx->device_input(0), nullptr);
    EXPECT_EQ(rctx->device_output(0), nullptr);
    EXPECT_THROW(rctx->run(1, IoMemory::Device), engine::Error);
    EXPECT_THROW((void)rctx->device_input(1), engine::Error);  // out of range: one input
}

}  // namespace
