// Helpers shared by the runtime tests: small graphs, plan building, running, comparing.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/builder/builder.h"
#include "engine/core/error.h"
#include "engine/refmath/reference_executor.h"
#include "engine/runtime/runtime.h"
#include "tests/testing/build_options.h"
#include "tests/testing/graph_builder.h"
#include "tests/testing/tensor_compare.h"

namespace runtime_test {

// The message of the engine::Error `f` throws; a test failure when it throws nothing or another type.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const engine::Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected engine::Error, got std::exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << "expected an engine::Error";
    return {};
}

inline ::testing::AssertionResult contains(const std::string& msg, const std::string& word) {
    if (msg.find(word) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "message lacks '" << word << "': " << msg;
}

// Conv/BN/activations, a pool, a concat, an upsample, a residual add, two outputs.
inline engine::Graph small_net(int batch, uint32_t seed = 3) {
    testing_util::GraphBuilder b(seed);
    const auto x = b.input({batch, 3, 8, 8}, true, "images");
    const auto a = b.leaky_relu(b.batch_norm(b.conv(x, 8, 3)), 0.1f);
    const auto p = b.maxpool(a, 2, 2);
    const auto c1 = b.conv(p, 4, 1);
    const auto c2 = b.silu(b.conv(p, 4, 3));
    const auto cat = b.concat({c1, c2}, 1);
    const auto u = b.upsample(cat, 2);
    const auto y = b.add(u, b.conv(a, 8, 1));
    b.output(b.sigmoid(y));
    b.output(b.conv(p, 2, 1));
    engine::Graph g = b.build();
    g.metadata["yolo.anchors"] = "10,13, 16,30";
    return g;
}

inline engine::BuildOptions reference_options(int max_batch) {
    return testing_util::build_options("reference", engine::Precision::FP32, max_batch);
}

inline std::vector<engine::Tensor> run_plan(const engine::Plan& plan,
                                            const std::vector<engine::Tensor>& inputs) {
    auto eng = engine::Engine::load(plan);
    auto ctx = eng->create_context();
    return ctx->run(inputs);
}

inline void expect_bit_equal(const std::vector<engine::Tensor>& a, const std::vector<engine::Tensor>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].shape(), b[i].shape()) << "output " << i;
        ASSERT_EQ(a[i].dtype(), b[i].dtype()) << "output " << i;
        EXPECT_EQ(std::memcmp(a[i].data(), b[i].data(), a[i].bytes()), 0) << "output " << i << " differs";
    }
}

inline void expect_close(const std::vector<engine::Tensor>& got, const std::vector<engine::Tensor>& want,
                         double rel = 1e-5) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        const testing_util::Diff d = testing_util::compare(got[i], want[i]);
        EXPECT_TRUE(d.shape_equal) << "output " << i << ": " << engine::shape_str(got[i].shape()) << " vs "
                                   << engine::shape_str(want[i].shape());
        EXPECT_LE(d.max_rel, rel) << "output " << i << ": " << d.describe();
    }
}

// Sample `s` of a batched tensor, as a batch-1 tensor.
inline engine::Tensor sample_of(const engine::Tensor& t, int64_t s) {
    engine::Shape shape = t.shape();
    const int64_t per = t.numel() / shape[0];
    shape[0] = 1;
    return engine::Tensor::from_bytes(engine::DataType::F32, shape, t.data_as<float>() + s * per,
                                      static_cast<size_t>(per) * sizeof(float));
}

// A fresh path in the test temp dir.
inline std::string temp_path(const std::string& name) {
    return (std::filesystem::path(::testing::TempDir()) /
            ("rtdet_rt_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

}  // namespace runtime_test
