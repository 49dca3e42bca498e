#include "tests/testing/tensor_compare.h"

#include <cmath>
#include <random>
#include <sstream>

#include "detector/resources.h"

namespace testing_util {

std::string Diff::describe() const {
    std::ostringstream os;
    os << "max_abs=" << max_abs << " ref_max_abs=" << ref_max_abs << " max_rel=" << max_rel
       << (shape_equal ? "" : " SHAPE MISMATCH") << (nan_mismatch ? " NAN MISMATCH" : "");
    return os.str();
}

Diff compare(const engine::Tensor& a, const engine::Tensor& b) {
    Diff d;
    if (a.shape() != b.shape() || a.dtype() != engine::DataType::F32 || b.dtype() != engine::DataType::F32) {
        d.shape_equal = false;
        d.max_rel = INFINITY;
        return d;
    }
    const float* pa = a.data_as<float>();
    const float* pb = b.data_as<float>();
    for (int64_t i = 0; i < a.numel(); ++i) {
        if (std::isnan(pa[i]) != std::isnan(pb[i])) d.nan_mismatch = true;
        if (std::isnan(pb[i])) continue;
        d.max_abs = std::max(d.max_abs, static_cast<double>(std::fabs(pa[i] - pb[i])));
        d.ref_max_abs = std::max(d.ref_max_abs, static_cast<double>(std::fabs(pb[i])));
    }
    d.max_rel = d.max_abs / std::max(d.ref_max_abs, 1e-30);
    if (d.nan_mismatch) d.max_rel = INFINITY;
    return d;
}

engine::Tensor random_tensor(const engine::Shape& shape, uint32_t seed, float lo, float hi) {
    engine::Tensor t(engine::DataType::F32, shape);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (float& v : t.f32()) v = dist(rng);
    return t;
}

std::string data_dir() { return detector::data_dir().string(); }

}  // namespace testing_util
