// Checked access to plan metadata JSON: every accessor names the key path in its error
// ("metadata key 'graph.nodes[3].inputs': expected an array"), so a malformed plan fails with one
// clear line and never with a crash or an uncaught nlohmann exception.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "engine/core/dtype.h"
#include "engine/core/shape.h"

namespace engine {

class JsonView {
  public:
    JsonView(const nlohmann::json& j, std::string path) : j_(&j), path_(std::move(path)) {}

    const nlohmann::json& raw() const { return *j_; }
    const std::string& path() const { return path_; }

    bool has(std::string_view key) const;
    // Object member; throws when this is not an object or the key is missing.
    JsonView at(std::string_view key) const;
    // Array element; throws when this is not an array or i is out of range.
    JsonView at(size_t i) const;
    // Array length; throws when this is not an array.
    size_t size() const;
    void expect_object() const;

    std::string str() const;
    bool boolean() const;
    int64_t i64(int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) const;
    uint64_t u64(uint64_t hi = UINT64_MAX) const;
    int32_t i32(int32_t lo = INT32_MIN, int32_t hi = INT32_MAX) const;
    // A float, or one of the strings "inf", "-inf", "nan" (JSON has no non-finite numbers).
    float f32() const;
    DataType dtype() const;
    // Dims in [0, 2^31), numel below 2^40.
    Shape shape() const;

    [[noreturn]] void fail(std::string_view what) const;

  private:
    const nlohmann::json* j_;
    std::string path_;
};

// A float as JSON: a number when finite, else "inf" / "-inf" / "nan".
nlohmann::json f32_to_json(float x);

}  // namespace engine
