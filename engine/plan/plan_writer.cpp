#include <openssl/evp.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/plan/graph_serialize.h"
#include "engine/plan/plan_format.h"
#include "engine/plan/plan_io.h"

#ifndef RTDET_VERSION
#define RTDET_VERSION "unknown"
#endif

namespace engine {
namespace {

using nlohmann::json;

size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

void put_u32(std::byte* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

void put_u64(std::byte* p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

// header | metadata | zero padding to a multiple of 64 | blobs (filled by the caller) ; the header
// (with checksum) is written by finish_plan once the blobs are in place.
std::vector<std::byte> start_plan(std::string_view metadata, size_t blobs_size, PlanHeader& h) {
    h.metadata_offset = kPlanHeaderBytes;
    h.metadata_size = metadata.size();
    h.blobs_offset = round_up(kPlanHeaderBytes + metadata.size(), kPlanBlobAlignment);
    h.blobs_size = blobs_size;
    std::vector<std::byte> out(h.blobs_offset + h.blobs_size);
    std::memcpy(out.data() + h.metadata_offset, metadata.data(), metadata.size());
    return out;
}

void finish_plan(std::vector<std::byte>& out, PlanHeader& h) {
    h.sha256 = sha256(std::span<const std::byte>(out).subspan(kPlanHeaderBytes));
    std::byte* p = out.data();
    std::memcpy(p, kPlanMagic.data(), 4);
    put_u32(p + 4, h.format_version);
    put_u32(p + 8, h.header_bytes);
    put_u32(p + 12, 0);
    put_u64(p + 16, h.metadata_offset);
    put_u64(p + 24, h.metadata_size);
    put_u64(p + 32, h.blobs_offset);
    put_u64(p + 40, h.blobs_size);
    std::memcpy(p + 48, h.sha256.data(), 32);
}

json build_options_to_json(const BuildOptions& o) {
    json j = {{"device", o.device},
              {"precision", precision_name(o.precision)},
              {"max_batch", o.max_batch},
              {"threads", o.threads},
              {"timing_cache", o.timing_cache},
              {"disabled_passes", o.disabled_passes},
              {"layout", o.layout}};
    if (!o.cudnn_graph_api) j["cudnn_graph_api"] = false;  // only when set: default plans stay as they were
    return j;
}

}  // namespace

std::string_view engine_version() { return RTDET_VERSION; }

std::array<uint8_t, 32> sha256(std::span<const std::byte> bytes) {
    std::array<uint8_t, 32> out{};
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ENGINE_CHECK(ctx != nullptr, "sha256: out of memory");
    unsigned int len = 0;
    const bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                    EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx, out.data(), &len) == 1 && len == out.size();
    EVP_MD_CTX_free(ctx);
    ENGINE_CHECK(ok, "sha256: OpenSSL digest failed");
    return out;
}

std::string sha256_hex(std::span<const std::byte> bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (uint8_t b : sha256(bytes)) {
        s += kHex[b >> 4];
        s += kHex[b & 15];
    }
    return s;
}

std::vector<std::byte> assemble_plan(std::string_view metadata_json, std::span<const std::byte> blobs) {
    PlanHeader h;
    std::vector<std::byte> out = start_plan(metadata_json, blobs.size(), h);
    if (!blobs.empty()) std::memcpy(out.data() + h.blobs_offset, blobs.data(), blobs.size());
    finish_plan(out, h);
    return out;
}

std::vector<std::byte> write_plan(const PlanContents& c, const BuildOptions& options) {
    const Graph& g = c.graph;

    // Blob table: every constant, then every node's packed tensors, each 64-byte aligned.
    std::vector<const Tensor*> blobs;
    std::vector<size_t> constant_blob(g.num_values(), 0);
    for (size_t i = 0; i < g.num_values(); ++i) {
        const Value& v = g.value(static_cast<ValueId>(i));
        if (!v.constant) continue;
        if (is_elided(*v.constant)) {
            constant_blob[i] = kElidedBlob;
            continue;
        }
        constant_blob[i] = blobs.size();
        blobs.push_back(v.constant.get());
    }
    std::vector<std::vector<size_t>> packed_blobs(g.num_nodes());
    for (size_t n = 0; n < c.packed.size() && n < g.num_nodes(); ++n)
        for (const Tensor& t : c.packed[n]) {
            packed_blobs[n].push_back(blobs.size());
            blobs.push_back(&t);
        }
    json blob_table = json::array();
    std::vector<size_t> blob_offsets;
    size_t cursor = 0;
    size_t weight_bytes = 0;
    for (const Tensor* t : blobs) {
        weight_bytes += t->bytes();
        cursor = round_up(cursor, kPlanBlobAlignment);
        blob_offsets.push_back(cursor);
        blob_table.push_back({{"offset", cursor},
                              {"size", t->bytes()},
                              {"dtype", dtype_name(t->dtype())},
                              {"shape", t->shape()}});
        cursor += t->bytes();
    }
    const size_t blobs_size = cursor;

    json mem_values = json::array();
    for (size_t i = 0; i < c.memory.values.size(); ++i) {
        const ValueLocation& l = c.memory.values[i];
        if (!l.valid) continue;
        mem_values.push_back({{"value", i},
                              {"offset", l.offset},
                              {"batch_stride", l.batch_stride},
                              {"root", l.root},
                              {"root_offset", l.root_offset}});
    }
    json skip = json::array();
    for (size_t n = 0; n < c.memory.skip.size(); ++n)
        if (c.memory.skip[n]) skip.push_back(n);

    json layers = json::array();
    for (NodeId n : c.order) {
        const Node& node = g.node(n);
        layers.push_back({{"name", node.name},
                          {"op", op_type_name(node.op)},
                          {"backend", node.backend},
                          {"precision", dtype_name(node.precision)}});
    }
    json backends = json::array();
    std::string signature;
    for (const BackendRecord& b : c.backends) {
        backends.push_back({{"name", b.name}, {"device_signature", b.device_signature}});
        signature += concat(signature.empty() ? "" : "; ", b.name, "=", b.device_signature);
    }

    const PlanInfo& info = c.info;
    json meta = {
        {"engine_version", engine_version()},
        {"model", {{"name", info.model_name}, {"sha256", info.model_sha256}}},
        {"device", info.device},
        {"device_signature", signature},
        {"backends", backends},
        {"precision", info.precision},
        {"max_batch", info.max_batch},
        {"fixed_batch", info.fixed_batch},
        {"build_options", build_options_to_json(options)},
        {"tactics", info.tactics},
        {"metadata_props", info.metadata},
        {"graph", graph_to_json(g, constant_blob, packed_blobs)},
        {"memory",
         {{"arena_bytes", c.memory.arena_bytes},
          {"alignment", c.memory.alignment},
          {"values", mem_values},
          {"skip", skip}}},
        {"layers", layers},
        {"blobs", blob_table},
        {"weight_bytes", weight_bytes},
    };
    const std::string text = meta.dump(-1, ' ', false, json::error_handler_t::replace);

    PlanHeader h;
    std::vector<std::byte> out = start_plan(text, blobs_size, h);
    for (size_t i = 0; i < blobs.size(); ++i)
        if (blobs[i]->bytes())
            std::memcpy(out.data() + h.blobs_offset + blob_offsets[i], blobs[i]->data(), blobs[i]->bytes());
    finish_plan(out, h);
    return out;
}

}  // namespace engine
