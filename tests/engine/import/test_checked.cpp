// engine/core/checked.h (the one helper every shape, stride, element-count and byte-size computation goes
// through) at hand-computed int64 boundaries, the checked shape functions built on it, and empty
// tensors (no memcpy from a null pointer: the sanitizer builds fail these tests if one comes back).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/core/checked.h"
#include "engine/core/error.h"
#include "engine/core/shape.h"
#include "engine/core/tensor.h"
#include "engine/ir/layout.h"
#include "tests/testing/error_of.h"

namespace {

using engine::DataType;
using engine::Shape;
using engine::Tensor;
using testing_util::error_of;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();  // 9223372036854775807
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
// floor(sqrt(INT64_MAX)): 3037000499^2 = 9223372030926249001 fits, 3037000500^2 = 9223372037000250000 not.
constexpr int64_t kRoot = 3037000499;

TEST(Checked, MulJustFitsAndJustOverflows) {
    EXPECT_EQ(engine::checked_mul(kMax, 1, "m"), kMax);
    EXPECT_EQ(engine::checked_mul(kRoot, kRoot, "m"), 9223372030926249001);
    EXPECT_EQ(engine::checked_mul(int64_t{1} << 62, 1, "m"), int64_t{1} << 62);
    EXPECT_EQ(engine::checked_mul(-(int64_t{1} << 62), 2, "m"), kMin);
    EXPECT_EQ(engine::checked_mul(0, kMax, "m"), 0);
    EXPECT_THROW(engine::checked_mul(kRoot + 1, kRoot + 1, "m"), engine::Error);
    EXPECT_THROW(engine::checked_mul(int64_t{1} << 62, 2, "m"), engine::Error);
    EXPECT_THROW(engine::checked_mul(kMin, -1, "m"), engine::Error);
    // The product of issue 18's fuzz finding, and the message: what, both operands, the operation.
    EXPECT_EQ(error_of([] { engine::checked_mul(4, kMax, "element count"); }),
              "element count: 4 * 9223372036854775807 overflows int64");
}

TEST(Checked, AddJustFitsAndJustOverflows) {
    EXPECT_EQ(engine::checked_add(kMax - 1, 1, "a"), kMax);
    EXPECT_EQ(engine::checked_add(kMin + 1, -1, "a"), kMin);
    EXPECT_EQ(engine::checked_add(kMax, kMin, "a"), -1);
    EXPECT_THROW(engine::checked_add(kMin, -1, "a"), engine::Error);
    EXPECT_EQ(error_of([] { engine::checked_add(kMax, 1, "padded dim"); }),
              "padded dim: 9223372036854775807 + 1 overflows int64");
}

TEST(Checked, NumelRejectsNegativeDimsAndOverflow) {
    using V = std::vector<int64_t>;
    EXPECT_EQ(engine::checked_numel(V{}, "s"), 1);
    EXPECT_EQ(engine::checked_numel(V{kMax}, "s"), kMax);
    EXPECT_EQ(engine::checked_numel(V{kMax, 1, 1}, "s"), kMax);
    EXPECT_EQ(engine::checked_numel(V{kRoot, kRoot}, "s"), 9223372030926249001);
    EXPECT_EQ(engine::checked_numel(V{int64_t{1} << 31, int64_t{1} << 31, 1}, "s"), int64_t{1} << 62);
    // A zero dim makes the tensor empty whatever the other dims (their product would overflow).
    EXPECT_EQ(engine::checked_numel(V{kMax, 2, 0}, "s"), 0);
    EXPECT_THROW(engine::checked_numel(V{kRoot + 1, kRoot + 1}, "s"), engine::Error);
    EXPECT_THROW(engine::checked_numel(V{int64_t{1} << 31, int64_t{1} << 31, 2}, "s"), engine::Error);
    EXPECT_EQ(error_of([] {
                  engine::checked_numel(V{4, kMax}, "initializer 'w'");
              }),
              "initializer 'w' [4,9223372036854775807]: the element count overflows int64");
    // Negative dims are rejected, also next to a zero.
    EXPECT_EQ(error_of([] {
                  engine::checked_numel(V{2, -3}, "shape");
              }),
              "shape [2,-3] has a negative dim -3");
    EXPECT_THROW(engine::checked_numel(V{0, -1}, "s"), engine::Error);
    EXPECT_THROW(engine::checked_numel(V{kMin}, "s"), engine::Error);
}

TEST(Checked, BytesStayWithinInt64) {
    EXPECT_EQ(engine::checked_bytes(0, 8, "b"), 0u);
    EXPECT_EQ(engine::checked_bytes(kMax, 1, "b"), static_cast<size_t>(kMax));
    EXPECT_EQ(engine::checked_bytes(kMax / 4, 4, "b"), static_cast<size_t>(kMax - 3));
    EXPECT_THROW(engine::checked_bytes(kMax / 4 + 1, 4, "b"), engine::Error);
    EXPECT_THROW(engine::checked_bytes(kMax / 8 + 1, 8, "b"), engine::Error);
    EXPECT_EQ(error_of([] { engine::checked_bytes(-1, 4, "blob 3"); }), "blob 3: negative element count -1");
    EXPECT_EQ(error_of([] { engine::checked_bytes(int64_t{1} << 62, 4, "blob 3"); }),
              "blob 3: 4611686018427387904 elements of 4 bytes overflow int64");
}

TEST(CheckedShape, NumelStridesAndSampleNumelThrowInsteadOfWrapping) {
    EXPECT_EQ(engine::shape_numel({2, 3, 4}), 24);
    EXPECT_EQ(engine::shape_numel({}), 1);
    EXPECT_EQ(error_of([] {
                  engine::shape_numel({4, kMax});
              }),
              "shape [4,9223372036854775807]: the element count overflows int64");
    EXPECT_THROW(engine::shape_numel({3, -1}), engine::Error);

    EXPECT_EQ(engine::shape_strides({2, 3, 4}), (std::vector<int64_t>{12, 4, 1}));
    // numel is 0, but the stride of dim 0 would be 4 * INT64_MAX.
    EXPECT_EQ(engine::shape_numel({0, kMax, 4}), 0);
    EXPECT_EQ(error_of([] {
                  engine::shape_strides({0, kMax, 4});
              }),
              "row-major stride: 4 * 9223372036854775807 overflows int64");

    EXPECT_EQ(engine::shape_sample_numel({kMax, 2, 3}), 6);  // dim 0 (the batch) is not part of a sample
    EXPECT_EQ(engine::shape_sample_numel({}), 1);
    EXPECT_EQ(engine::shape_sample_numel({7}), 1);
    EXPECT_THROW(engine::shape_sample_numel({1, kMax, 2}), engine::Error);
    EXPECT_EQ((engine::TensorRef{nullptr, DataType::F32, {5, 2, 3}, 0}.sample_numel()), 6);

    using engine::Layout;
    EXPECT_EQ(engine::storage_numel({2, 17, 3, 3}, Layout::Blocked16), 2 * 32 * 9);
    EXPECT_THROW(engine::storage_sample_numel({1, kMax - 3, 1, 1}, Layout::Blocked16), engine::Error);
    EXPECT_THROW(engine::storage_numel({kMax, 2}, Layout::Plain), engine::Error);
}

TEST(CheckedShape, TensorSizesAreCheckedBeforeAllocating) {
    EXPECT_EQ(error_of([] { Tensor(DataType::F32, {2, -1}); }), "shape [2,-1] has a negative dim -1");
    EXPECT_THROW(Tensor(DataType::F32, {kMax, 2}), engine::Error);
    // The count fits int64, its bytes do not: an engine::Error, not std::bad_alloc or a wrapped size.
    EXPECT_EQ(error_of([] { Tensor(DataType::F32, {int64_t{1} << 62}); }),
              "tensor byte count: 4611686018427387904 elements of 4 bytes overflow int64");
}

TEST(EmptyTensor, FromEmptyValuesCopyAndReshape) {
    // An empty span's data() is null; memcpy from null is undefined even for 0 bytes (the fuzz
    // finding of issue 18: a Shape op whose `end` is far below its `start`).
    const Tensor i = Tensor::from_i64({0}, {});
    EXPECT_EQ(i.shape(), (Shape{0}));
    EXPECT_EQ(i.numel(), 0);
    EXPECT_EQ(i.bytes(), 0u);
    EXPECT_TRUE(i.to_i64().empty());
    const Tensor f = Tensor::from_f32({3, 0}, {});
    EXPECT_EQ(f.numel(), 0);
    EXPECT_TRUE(f.to_f32().empty());
    const Tensor b = Tensor::from_bytes(DataType::U8, {0, 5}, nullptr, 0);
    EXPECT_EQ(b.bytes(), 0u);
    const Tensor copy = f;  // NOLINT(performance-unnecessary-copy-initialization): the copy is under test
    EXPECT_EQ(copy.shape(), (Shape{3, 0}));
    EXPECT_EQ(f.reshaped({0, 7}).shape(), (Shape{0, 7}));
    EXPECT_THROW(Tensor::from_i64({1}, {}), engine::Error);  // the count must still match
}

}  // namespace
