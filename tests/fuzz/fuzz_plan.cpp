// Fuzz target: plan loading (engine::Plan::from_bytes + Engine::load), as `rtdet bench/info/run`
// read a .plan file; a plan that loads with a small arena also gets a context and one run at batch 1.
//
// The header's sha256 (of every byte after the header) is recomputed before loading: otherwise
// nearly every mutation would stop at the checksum, and the parsers behind it would never be reached.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "engine/core/error.h"
#include "engine/plan/plan.h"
#include "engine/plan/plan_format.h"
#include "engine/runtime/runtime.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

constexpr size_t kChecksumOffset = 48;
constexpr size_t kHeaderBytesOffset = 8;
// Contexts are created only for plans whose activation arena is at most this (libFuzzer's default
// malloc limit is 2 GiB; a plan may legitimately ask for more).
constexpr size_t kMaxArenaBytes = size_t{64} << 20;

void fix_checksum(std::vector<std::byte>& bytes) {
    if (bytes.size() < engine::kPlanHeaderBytes) return;
    uint32_t header_bytes = 0;
    for (int i = 0; i < 4; ++i)
        header_bytes |= static_cast<uint32_t>(bytes[kHeaderBytesOffset + i]) << (8 * i);
    if (header_bytes < engine::kPlanHeaderBytes || header_bytes > bytes.size()) return;
    const std::array<uint8_t, 32> digest =
        engine::sha256(std::span<const std::byte>(bytes).subspan(header_bytes));
    std::memcpy(bytes.data() + kChecksumOffset, digest.data(), digest.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_util::init_once();
    std::vector<std::byte> bytes(size);
    if (size > 0) std::memcpy(bytes.data(), data, size);
    fix_checksum(bytes);
    try {
        const engine::Plan plan = engine::Plan::from_bytes(std::move(bytes), "fuzz.plan");
        const std::shared_ptr<engine::Engine> eng = engine::Engine::load(plan);
        if (plan.info().arena_bytes <= kMaxArenaBytes) {
            const std::unique_ptr<engine::ExecutionContext> ctx = eng->create_context(1);
            ctx->run(plan.info().fixed_batch ? plan.info().max_batch : 1);
        }
    } catch (const engine::Error& e) {
        fuzz_util::expected_error(e);
    }
    return 0;
}
