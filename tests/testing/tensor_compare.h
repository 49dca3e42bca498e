// Comparisons for tests: errors are relative to the reference's largest magnitude, so one bound
// works for tensors of any scale.
#pragma once

#include <ostream>
#include <string>

#include "engine/core/tensor.h"
#include "engine/ir/layout.h"

namespace testing_util {

struct Diff {
    double max_abs = 0;      // max |a - b|
    double ref_max_abs = 0;  // max |b|
    double max_rel = 0;      // max_abs / max(ref_max_abs, tiny)
    bool shape_equal = true;
    bool nan_mismatch = false;
    std::string describe() const;
};

// a: candidate, b: reference. Both F32.
Diff compare(const engine::Tensor& a, const engine::Tensor& b);
// A deterministic uniform [lo, hi) F32 tensor.
engine::Tensor random_tensor(const engine::Shape& shape, uint32_t seed, float lo = -1.f, float hi = 1.f);
// The data folder (../shared or $RTDET_DATA), empty when absent.
std::string data_dir();

}  // namespace testing_util

// GoogleTest prints parameters with these (ctest test lists then read "GetParam() = nhwc", not bytes).
namespace engine {
inline void PrintTo(DataType d, std::ostream* os) { *os << dtype_name(d); }
inline void PrintTo(Layout l, std::ostream* os) { *os << layout_name(l); }
}  // namespace engine
