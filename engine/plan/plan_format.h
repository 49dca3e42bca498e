// Plan file, little-endian, format version 1.
//
//   offset  size  field
//   0       4     magic "RTDP"
//   4       4     u32 format_version (1)
//   8       4     u32 header_bytes (80 in version 1; readers skip what they do not know)
//   12      4     u32 reserved (0)
//   16      8     u64 metadata_offset   (>= header_bytes)
//   24      8     u64 metadata_size
//   32      8     u64 blobs_offset      (multiple of 64, >= metadata_offset + metadata_size)
//   40      8     u64 blobs_size        (blobs_offset + blobs_size == file size)
//   48      32    sha256 of every byte after the header (bytes [header_bytes, file size))
//   80            metadata: UTF-8 JSON (below), then zero padding up to blobs_offset
//   blobs_offset  blobs: raw tensors, each starting at a multiple of 64 bytes within the file
//
// Metadata JSON (one object):
//   engine_version      string   rtdet version that wrote the plan; the runtime loads only its own
//   model               {name, sha256}
//   device, precision   strings  the build request ("cpu", "fp32"...)
//   device_signature    string   "backend=signature" of every backend used, joined by "; "
//   backends            [{name, device_signature}]  backends the plan's nodes use, priority order
//   max_batch           int      plans run any batch 1..max_batch
//   fixed_batch         bool     the plan only runs at max_batch
//   build_options       object   BuildOptions as given
//   tactics             {string: string}  the builder's timed choices ("activation_layout": "nhwc",
//                                 "ms.nhwc": "12.3", ...)
//   metadata_props      {string: string}  ONNX metadata_props (detector head description)
//   graph               {opset, values, nodes, inputs, outputs}  (engine/plan/graph_serialize.h)
//     values[i]         {name, dtype, storage_dtype, layout, shape, batched, input, output, constant?}
//                        layout: "plain" | "blocked16" | "nhwc" (engine/ir/layout.h)
//                        constant: index into blobs; elided: true instead when every node reading
//                        the constant runs from its packed copy (the data is not in the plan)
//     nodes[i]          {op, name, inputs, outputs, params, backend, precision, packed}
//                        packed: indices into blobs (Backend::pack output)
//   memory              {arena_bytes, alignment, values: [{value, offset, batch_stride, root,
//                        root_offset}], skip: [node ids]}
//                        offset in bytes from the arena start; batch_stride in elements; root is
//                        the value owning the slot (itself, or the Concat output / aliased input),
//                        root_offset the element offset in it. Skipped nodes run no kernel
//                        (in-place Concat, aliasing Identity/Dropout/Reshape).
//   layers              [{name, op, backend, precision}]  in execution order
//   blobs               [{offset, size, dtype, shape}]  offset relative to blobs_offset
//   weight_bytes        int      sum of blob sizes
//
// A reader refuses other versions: "plan format version N, this rtdet reads 1: rebuild the plan with
// `rtdet build`".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace engine {

inline constexpr std::array<char, 4> kPlanMagic = {'R', 'T', 'D', 'P'};
inline constexpr uint32_t kPlanFormatVersion = 1;
inline constexpr size_t kPlanHeaderBytes = 80;
inline constexpr size_t kPlanBlobAlignment = 64;

struct PlanHeader {
    uint32_t format_version = kPlanFormatVersion;
    uint32_t header_bytes = kPlanHeaderBytes;
    uint64_t metadata_offset = 0;
    uint64_t metadata_size = 0;
    uint64_t blobs_offset = 0;
    uint64_t blobs_size = 0;
    std::array<uint8_t, 32> sha256{};
};

// The rtdet version compiled into this library (RTDET_VERSION), recorded in and checked against plans.
std::string_view engine_version();

std::array<uint8_t, 32> sha256(std::span<const std::byte> bytes);
std::string sha256_hex(std::span<const std::byte> bytes);

// Lays out a complete plan file: header, metadata, padding, blobs section (whose internal offsets the
// metadata already states relative to the section start), and the checksum.
std::vector<std::byte> assemble_plan(std::string_view metadata_json, std::span<const std::byte> blobs);

// The validated sections of a plan file (views into the given bytes).
struct PlanSections {
    PlanHeader header;
    std::string_view metadata;
    std::span<const std::byte> blobs;
};

// Checks size, magic, version, header, section ranges and (unless told not to) the checksum. Throws
// engine::Error with one line starting "plan '<source>'".
PlanSections parse_plan_sections(std::span<const std::byte> bytes, const std::string& source,
                                 bool verify_checksum = true);

}  // namespace engine
