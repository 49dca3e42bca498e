#include "engine/plan/json_util.h"

#include <cmath>
#include <limits>

#include "engine/core/error.h"

namespace engine {

void JsonView::fail(std::string_view what) const { ENGINE_THROW("metadata key '", path_, "': ", what); }

bool JsonView::has(std::string_view key) const { return j_->is_object() && j_->contains(key); }

void JsonView::expect_object() const {
    if (!j_->is_object()) fail("expected an object");
}

JsonView JsonView::at(std::string_view key) const {
    expect_object();
    const auto it = j_->find(key);
    const std::string sub = path_.empty() ? std::string(key) : concat(path_, ".", key);
    if (it == j_->end()) ENGINE_THROW("metadata key '", sub, "' is missing");
    return JsonView(*it, sub);
}

JsonView JsonView::at(size_t i) const {
    if (!j_->is_array()) fail("expected an array");
    if (i >= j_->size()) fail(concat("index ", i, " out of range (size ", j_->size(), ")"));
    return JsonView((*j_)[i], concat(path_, "[", i, "]"));
}

size_t JsonView::size() const {
    if (!j_->is_array()) fail("expected an array");
    return j_->size();
}

std::string JsonView::str() const {
    if (!j_->is_string()) fail("expected a string");
    return j_->get<std::string>();
}

bool JsonView::boolean() const {
    if (!j_->is_boolean()) fail("expected true or false");
    return j_->get<bool>();
}

int64_t JsonView::i64(int64_t lo, int64_t hi) const {
    int64_t v = 0;
    if (j_->is_number_unsigned()) {
        const uint64_t u = j_->get<uint64_t>();
        if (u > static_cast<uint64_t>(INT64_MAX)) fail("integer out of range");
        v = static_cast<int64_t>(u);
    } else if (j_->is_number_integer()) {
        v = j_->get<int64_t>();
    } else {
        fail("expected an integer");
    }
    if (v < lo || v > hi) fail(concat("value ", v, " out of range [", lo, ", ", hi, "]"));
    return v;
}

uint64_t JsonView::u64(uint64_t hi) const {
    uint64_t v = 0;
    if (j_->is_number_unsigned()) {
        v = j_->get<uint64_t>();
    } else if (j_->is_number_integer()) {
        const int64_t s = j_->get<int64_t>();
        if (s < 0) fail("expected a non-negative integer");
        v = static_cast<uint64_t>(s);
    } else {
        fail("expected a non-negative integer");
    }
    if (v > hi) fail(concat("value ", v, " out of range [0, ", hi, "]"));
    return v;
}

int32_t JsonView::i32(int32_t lo, int32_t hi) const { return static_cast<int32_t>(i64(lo, hi)); }

float JsonView::f32() const {
    if (j_->is_number()) {
        const double d = j_->get<double>();
        if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max()))
            fail("number out of float range");
        return static_cast<float>(d);
    }
    if (j_->is_string()) {
        const auto& s = j_->get_ref<const std::string&>();
        if (s == "inf") return std::numeric_limits<float>::infinity();
        if (s == "-inf") return -std::numeric_limits<float>::infinity();
        if (s == "nan") return std::numeric_limits<float>::quiet_NaN();
    }
    fail("expected a number (or \"inf\", \"-inf\", \"nan\")");
}

DataType JsonView::dtype() const {
    const std::string s = str();
    try {
        return dtype_from_name(s);
    } catch (const Error&) {
        fail(concat("unknown data type '", s, "'"));
    }
}

Shape JsonView::shape() const {
    constexpr int64_t kMaxDim = int64_t{1} << 31;
    constexpr int64_t kMaxNumel = int64_t{1} << 40;
    const size_t rank = size();
    if (rank > 16) fail(concat("rank ", rank, " above 16"));
    Shape s(rank);
    int64_t numel = 1;
    for (size_t i = 0; i < rank; ++i) {
        s[i] = at(i).i64(0, kMaxDim - 1);
        if (s[i] != 0 && numel > kMaxNumel / s[i]) fail("tensor too large");
        numel *= s[i];
    }
    return s;
}

nlohmann::json f32_to_json(float x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    return static_cast<double>(x);
}

}  // namespace engine
