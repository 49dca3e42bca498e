// A Plan is the serialized, optimized engine: built once by the Builder (engine/builder/builder.h),
// saved to a file, loaded by the runtime (engine/runtime/runtime.h). The byte layout is specified in
// engine/plan/plan_format.h.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/shape.h"

namespace engine {

struct IoDesc {
    std::string name;
    Shape shape;  // at max batch; dim 0 is the batch when `batched`
    bool batched = true;
};

struct LayerInfo {
    std::string name;
    std::string op;
    std::string backend;
    std::string precision;  // compute type: "f32", "bf16", "f16", "i8"
};

// Everything the plan's metadata section says, parsed and validated.
struct PlanInfo {
    uint32_t format_version = 0;
    std::string engine_version;
    std::string model_sha256;
    std::string model_name;
    std::string device;            // BuildOptions::device
    std::string device_signature;  // Backend::device_signature() of every backend used, joined
    std::string precision;         // requested precision
    int max_batch = 1;
    bool fixed_batch = false;  // the model cannot run below max_batch (dim 0 not a batch somewhere)
    std::vector<IoDesc> inputs, outputs;
    std::vector<LayerInfo> layers;
    std::map<std::string, std::string> metadata;  // ONNX metadata_props (detector head description)
    size_t arena_bytes = 0;
    size_t weight_bytes = 0;
    std::string build_options_json;
    // The builder's measured choices, e.g. "activation_layout" -> "nhwc", "ms.nhwc" -> "12.3".
    std::map<std::string, std::string> tactics;
};

class Plan {
  public:
    Plan() = default;
    // Validates the header, version, checksum and metadata. `source` names the origin in errors.
    static Plan from_bytes(std::vector<std::byte> bytes, const std::string& source = "<memory>");
    // Reads and validates a plan file; errors name the path.
    static Plan load(const std::string& path);
    // Writes atomically (temp file + rename); errors name the path.
    void save(const std::string& path) const;

    const std::vector<std::byte>& bytes() const { return *bytes_; }
    std::shared_ptr<const std::vector<std::byte>> shared_bytes() const { return bytes_; }
    const PlanInfo& info() const { return info_; }

  private:
    std::shared_ptr<const std::vector<std::byte>> bytes_;
    PlanInfo info_;
};

}  // namespace engine
