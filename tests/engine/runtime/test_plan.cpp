#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/plan/graph_serialize.h"
#include "engine/plan/plan_format.h"
#include "engine/plan/plan_io.h"
#include "tests/engine/runtime/runtime_test_util.h"

namespace engine {
namespace {

using nlohmann::json;
using runtime_test::contains;
using runtime_test::error_of;

// Rewrites the metadata JSON of a plan and reassembles it with a valid checksum, so only the
// metadata checks can catch the change.
std::vector<std::byte> rewrite(const std::vector<std::byte>& bytes, const std::function<void(json&)>& edit) {
    const PlanSections s = parse_plan_sections(bytes, "test");
    json j = json::parse(s.metadata);
    edit(j);
    return assemble_plan(j.dump(), s.blobs);
}

std::vector<std::byte> with_metadata(const std::vector<std::byte>& bytes, const std::string& text) {
    const PlanSections s = parse_plan_sections(bytes, "test");
    return assemble_plan(text, s.blobs);
}

class PlanTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        graph_ = new Graph(runtime_test::small_net(2));
        plan_ = new Plan(build_plan(*graph_, runtime_test::reference_options(2), "small_net", "feedface"));
    }
    static void TearDownTestSuite() {
        delete plan_;
        delete graph_;
    }
    static const std::vector<std::byte>& bytes() { return plan_->bytes(); }
    static std::string load_error(const std::vector<std::byte>& b) {
        return error_of([&] { (void)Plan::from_bytes(b, "bad.plan"); });
    }
    static Graph* graph_;
    static Plan* plan_;
};
Graph* PlanTest::graph_ = nullptr;
Plan* PlanTest::plan_ = nullptr;

TEST(Sha256, MatchesKnownVector) {
    const std::string abc = "abc";
    EXPECT_EQ(sha256_hex(std::as_bytes(std::span(abc.data(), abc.size()))),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(PrecisionNames, RoundTripAndReject) {
    for (Precision p : {Precision::FP32, Precision::FP16, Precision::BF16, Precision::Best, Precision::INT8})
        EXPECT_EQ(precision_from_name(precision_name(p)), p);
    EXPECT_EQ(precision_name(Precision::BF16), "bf16");
    EXPECT_EQ(precision_name(Precision::INT8), "int8");
    const std::string e = error_of([] { (void)precision_from_name("int4"); });
    EXPECT_TRUE(contains(e, "int4") && contains(e, "int8")) << e;
}

TEST(ParamsJson, EveryAlternativeRoundTripsExactly) {
    const float inf = std::numeric_limits<float>::infinity();
    ConvParams conv;
    conv.kernel = {3, 5};
    conv.stride = {2, 1};
    conv.dilation = {1, 2};
    conv.pads = {1, 2, 3, 4};
    conv.group = 4;
    conv.act = {ActKind::LeakyRelu, 0.1f, 0.f};
    conv.residual = true;
    conv.post_act = {ActKind::Clip, -inf, 6.000001f};
    ResizeParams resize;
    resize.scales = {1.f, 1.f, 2.f, 1.f / 3.f};
    resize.coord = ResizeCoord::TfHalfPixelForNearest;
    resize.nearest = ResizeNearest::Ceil;
    MaxPoolParams pool;
    pool.kernel = {3, 3};
    pool.stride = {2, 2};
    pool.pads = {0, 1, 1, 0};
    pool.ceil_mode = true;
    PadParams pad;
    pad.mode = PadMode::Reflect;
    pad.pads = {0, 0, -1, 2, 0, 0, 3, -4};
    pad.value = 1e-30f;
    const std::vector<OpParams> all = {
        std::monostate{},
        conv,
        BatchNormParams{1.2345e-7f},
        UnaryParams{-inf, inf},
        ConcatParams{2, true},
        resize,
        pool,
        TransposeParams{{0, 2, 3, 1}},
        SliceParams{{0, -5, 7, INT64_MAX}, {1, -1, 2, 3}},
        SplitParams{1, {3, 0, 5}},
        SoftmaxParams{-1, true},
        pad,
    };
    for (size_t i = 0; i < all.size(); ++i) {
        const json j = json::parse(params_to_json(all[i]).dump());  // through text, as in a plan
        const OpParams back = params_from_json(JsonView(j, "params"));
        EXPECT_EQ(back.index(), all[i].index());
        EXPECT_TRUE(back == all[i]) << "alternative " << i << ": " << j.dump();
    }
    // A NaN survives too (compared by class, as NaN != NaN).
    const json jn = json::parse(params_to_json(UnaryParams{std::nanf(""), 0.f}).dump());
    EXPECT_TRUE(std::isnan(std::get<UnaryParams>(params_from_json(JsonView(jn, "p"))).alpha));
}

// The plan file's spellings, as plans written before the op descriptors (engine/ir/op_list.h) have
// them: a renamed enumerator or params type must not change the format.
TEST(ParamsJson, KeepsThePlanFileSpellings) {
    const std::vector<std::string> kinds = {"none",    "conv",     "batch_norm", "unary",    "concat",
                                            "resize",  "max_pool", "transpose",  "slice",    "split",
                                            "softmax", "pad",      "quant",      "conv_pair"};
    ASSERT_EQ(kinds.size(), std::variant_size_v<OpParams>);
    for (size_t i = 0; i < kinds.size(); ++i) {
        EXPECT_EQ(engine::params_kind_key(i), kinds[i]);
        EXPECT_EQ(engine::params_index_of_key(kinds[i]), i);
    }
    const std::vector<std::string> acts = {"none",     "relu", "leaky_relu", "sigmoid", "tanh",
                                           "softplus", "mish", "silu",       "clip"};
    for (size_t i = 0; i < acts.size(); ++i) {
        EXPECT_EQ(engine::enum_key(static_cast<ActKind>(i)), acts[i]);
        EXPECT_EQ(engine::enum_from_key<ActKind>(acts[i]), static_cast<ActKind>(i));
    }
    EXPECT_EQ(engine::enum_name(ActKind::LeakyRelu), "LeakyRelu");  // messages, timing-cache keys
    const std::vector<std::string> coords = {"half_pixel", "asymmetric", "align_corners",
                                             "pytorch_half_pixel", "tf_half_pixel_for_nearest"};
    for (size_t i = 0; i < coords.size(); ++i)
        EXPECT_EQ(engine::enum_key(static_cast<ResizeCoord>(i)), coords[i]);
    const std::vector<std::string> nearest = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    for (size_t i = 0; i < nearest.size(); ++i)
        EXPECT_EQ(engine::enum_key(static_cast<ResizeNearest>(i)), nearest[i]);
    const std::vector<std::string> pads = {"constant", "reflect", "edge"};
    for (size_t i = 0; i < pads.size(); ++i) EXPECT_EQ(engine::enum_key(static_cast<PadMode>(i)), pads[i]);
    EXPECT_FALSE(engine::enum_from_key<PadMode>("Constant").has_value());
    // One params object, byte for byte as before.
    EXPECT_EQ(params_to_json(UnaryParams{0.1f, 0.f}).dump(),
              R"({"alpha":0.10000000149011612,"beta":0.0,"kind":"unary"})");
    EXPECT_EQ(params_to_json(std::monostate{}).dump(), R"({"kind":"none"})");
    EXPECT_EQ(params_to_json(QuantParams{0, DataType::U8}).dump(),
              R"({"axis":0,"kind":"quant","qtype":"u8"})");
}

TEST(ParamsJson, RejectsNonsense) {
    json j = params_to_json(ConvParams{});
    j["stride"] = {0, 1};
    EXPECT_TRUE(contains(error_of([&] { (void)params_from_json(JsonView(j, "p")); }), "p.stride[0]"));
    json k = {{"kind", "warp"}};
    EXPECT_TRUE(contains(error_of([&] { (void)params_from_json(JsonView(k, "p")); }), "warp"));
    json s = params_to_json(SliceParams{{0}, {0}});
    EXPECT_TRUE(contains(error_of([&] { (void)params_from_json(JsonView(s, "p")); }), "non-zero"));
    json q = params_to_json(QuantParams{1, DataType::I8});
    EXPECT_EQ(std::get<QuantParams>(params_from_json(JsonView(q, "p"))), (QuantParams{1, DataType::I8}));
    q["qtype"] = "f32";
    EXPECT_TRUE(contains(error_of([&] { (void)params_from_json(JsonView(q, "p")); }),
                         "unknown quantized type 'f32'"));
    q["qtype"] = "i32";
    q["axis"] = -1;
    EXPECT_TRUE(contains(error_of([&] { (void)params_from_json(JsonView(q, "p")); }), "p.axis"));
}

TEST_F(PlanTest, HeaderLayout) {
    const auto& b = bytes();
    ASSERT_GE(b.size(), kPlanHeaderBytes);
    EXPECT_EQ(std::memcmp(b.data(), "RTDP", 4), 0);
    auto u32 = [&](size_t o) {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(b[o + i]) << (8 * i);
        return v;
    };
    auto u64 = [&](size_t o) { return uint64_t{u32(o)} | (uint64_t{u32(o + 4)} << 32); };
    EXPECT_EQ(u32(4), 1u);
    EXPECT_EQ(u32(8), 80u);
    const uint64_t meta_off = u64(16), meta_size = u64(24), blobs_off = u64(32), blobs_size = u64(40);
    EXPECT_EQ(meta_off, 80u);
    EXPECT_EQ(blobs_off % 64, 0u);
    EXPECT_GE(blobs_off, meta_off + meta_size);
    EXPECT_EQ(blobs_off + blobs_size, b.size());
    // The checksum is SHA-256 of everything after the header.
    const auto sum = sha256(std::span<const std::byte>(b).subspan(80));
    EXPECT_EQ(std::memcmp(sum.data(), b.data() + 48, 32), 0);
    // Every blob starts 64-byte aligned within the file, and constants match the graph's.
    const json j = json::parse(std::string(reinterpret_cast<const char*>(b.data() + meta_off), meta_size));
    ASSERT_GT(j.at("blobs").size(), 0u);
    for (const auto& blob : j.at("blobs"))
        EXPECT_EQ((blobs_off + blob.at("offset").get<uint64_t>()) % 64, 0u);
}

TEST_F(PlanTest, InfoDescribesTheModel) {
    const PlanInfo& i = plan_->info();
    EXPECT_EQ(i.format_version, 1u);
    EXPECT_EQ(i.engine_version, engine_version());
    EXPECT_EQ(i.model_name, "small_net");
    EXPECT_EQ(i.model_sha256, "feedface");
    EXPECT_EQ(i.device, "reference");
    EXPECT_EQ(i.precision, "fp32");
    EXPECT_EQ(i.max_batch, 2);
    EXPECT_FALSE(i.fixed_batch);
    ASSERT_EQ(i.inputs.size(), 1u);
    EXPECT_EQ(i.inputs[0].name, "images");
    EXPECT_EQ(i.inputs[0].shape, (Shape{2, 3, 8, 8}));
    EXPECT_TRUE(i.inputs[0].batched);
    ASSERT_EQ(i.outputs.size(), 2u);
    EXPECT_EQ(i.outputs[0].shape, (Shape{2, 8, 8, 8}));
    EXPECT_EQ(i.outputs[1].shape, (Shape{2, 2, 4, 4}));
    EXPECT_EQ(i.metadata.at("yolo.anchors"), "10,13, 16,30");
    EXPECT_GT(i.arena_bytes, 0u);
    EXPECT_GT(i.weight_bytes, 0u);
    EXPECT_TRUE(contains(i.device_signature, "reference="));
    EXPECT_TRUE(contains(i.build_options_json, "\"max_batch\":2"));
    ASSERT_FALSE(i.layers.empty());
    for (const LayerInfo& l : i.layers) {
        EXPECT_EQ(l.backend, "reference");
        EXPECT_EQ(l.precision, "f32");
    }
}

TEST_F(PlanTest, SaveLoadRunIsBitIdenticalAndMatchesReference) {
    const std::string path = runtime_test::temp_path("roundtrip.plan");
    plan_->save(path);
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
        EXPECT_EQ(e.path().filename().string().rfind("roundtrip.plan.tmp", 0), std::string::npos) << e.path();
    const Plan loaded = Plan::load(path);
    EXPECT_EQ(loaded.bytes(), bytes());
    std::filesystem::remove(path);

    for (int batch : {1, 2}) {
        const std::vector<Tensor> in = {testing_util::random_tensor({batch, 3, 8, 8}, 11u + batch)};
        const auto before = runtime_test::run_plan(*plan_, in);
        const auto after = runtime_test::run_plan(loaded, in);
        runtime_test::expect_bit_equal(after, before);
        runtime_test::expect_close(after, run_reference(*graph_, in));
    }
}

TEST_F(PlanTest, FileErrorsNameThePath) {
    const std::string missing = runtime_test::temp_path("missing.plan");
    EXPECT_TRUE(contains(error_of([&] { (void)Plan::load(missing); }), missing));
    const std::string bad_dir = runtime_test::temp_path("no_such_dir") + "/x.plan";
    EXPECT_TRUE(contains(error_of([&] { plan_->save(bad_dir); }), bad_dir));
    EXPECT_TRUE(contains(error_of([] { Plan().save("x.plan"); }), "empty"));
    EXPECT_TRUE(contains(error_of([] { (void)Engine::load(Plan()); }), "empty"));
    // A file that is not a plan, through load: the message names the file.
    const std::string text = runtime_test::temp_path("text.plan");
    std::ofstream(text) << "hello, this is not a plan at all";
    const std::string e = error_of([&] { (void)Plan::load(text); });
    EXPECT_TRUE(contains(e, text));
    EXPECT_TRUE(contains(e, "not an rtdet plan"));
    std::filesystem::remove(text);
}

TEST_F(PlanTest, RejectsEmptyShortAndForeignFiles) {
    EXPECT_TRUE(contains(load_error({}), "empty"));
    EXPECT_TRUE(contains(load_error({std::byte{'R'}, std::byte{'T'}, std::byte{'D'}}), "too short"));
    auto b = bytes();
    b[0] = std::byte{'X'};
    EXPECT_TRUE(contains(load_error(b), "not an rtdet plan"));
    EXPECT_TRUE(contains(load_error(b), "bad.plan"));
}

TEST_F(PlanTest, RejectsOtherFormatVersions) {
    auto b = bytes();
    b[4] = std::byte{2};
    const std::string e = load_error(b);
    EXPECT_TRUE(contains(e, "plan format version 2, this rtdet reads 1"));
    EXPECT_TRUE(contains(e, "rtdet build"));
}

TEST_F(PlanTest, RejectsFlippedBytes) {
    const auto& good = bytes();
    const PlanSections s = parse_plan_sections(good, "t");
    const size_t meta_at = s.header.metadata_offset + s.header.metadata_size / 2;
    const size_t blob_at = s.header.blobs_offset + s.header.blobs_size / 2;
    for (size_t at : {meta_at, blob_at, good.size() - 1, size_t{60} /* in the stored checksum */}) {
        auto b = good;
        b[at] ^= std::byte{0x10};
        EXPECT_TRUE(contains(load_error(b), "corrupted")) << "flipped byte " << at;
    }
}

TEST_F(PlanTest, RejectsTruncatedFiles) {
    const auto& good = bytes();
    const PlanSections s = parse_plan_sections(good, "t");
    for (size_t len : {size_t{5}, size_t{40}, size_t{79}, size_t{80}, size_t(s.header.metadata_offset + 7),
                       size_t(s.header.blobs_offset), size_t(s.header.blobs_offset + 1), good.size() - 1}) {
        std::vector<std::byte> b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
        EXPECT_TRUE(contains(load_error(b), "truncated")) << "length " << len;
    }
}

TEST_F(PlanTest, UnchangedRewriteStillLoads) {
    // The rewrite helper itself produces valid plans: the failures below come from the edits.
    const auto b = rewrite(bytes(), [](json&) {});
    EXPECT_NO_THROW((void)Plan::from_bytes(b));
}

TEST_F(PlanTest, RejectsBadMetadata) {
    struct Case {
        const char* what;
        std::function<void(json&)> edit;
        const char* expect;
    };
    const std::vector<Case> cases = {
        {"unknown op", [](json& j) { j["graph"]["nodes"][0]["op"] = "Frobnicate"; },
         "unknown op 'Frobnicate'"},
        {"input id out of range", [](json& j) { j["graph"]["nodes"][0]["inputs"][0] = 100000; },
         "out of range"},
        {"output id out of range", [](json& j) { j["graph"]["nodes"][1]["outputs"][0] = 4000000000u; },
         "out of range"},
        {"graph output out of range", [](json& j) { j["graph"]["outputs"][0] = -1; }, "graph.outputs[0]"},
        {"blob out of range", [](json& j) { j["blobs"][0]["offset"] = 64ull << 30; }, "out of range"},
        {"blob size wrong", [](json& j) { j["blobs"][0]["size"] = 4; }, "dtype size mismatch"},
        {"blob dtype wrong", [](json& j) { j["blobs"][0]["dtype"] = "f16"; }, "dtype size mismatch"},
        {"constant blob index",
         [](json& j) {
             for (auto& v : j["graph"]["values"])
                 if (v.contains("constant")) v["constant"] = 99999;
         },
         "blob index"},
        {"missing key", [](json& j) { j["graph"]["values"][0].erase("shape"); },
         "'graph.values[0].shape' is missing"},
        {"missing section", [](json& j) { j.erase("memory"); }, "'memory' is missing"},
        {"wrong type", [](json& j) { j["max_batch"] = "four"; }, "max_batch"},
        {"bad max batch", [](json& j) { j["max_batch"] = 0; }, "max_batch"},
        {"unknown dtype", [](json& j) { j["graph"]["values"][0]["dtype"] = "f128"; }, "f128"},
        {"shape tampered",
         [](json& j) {
             for (auto& v : j["graph"]["values"])
                 if (!v.contains("constant") && !v["input"].get<bool>() && v["output"].get<bool>()) {
                     v["shape"][1] = 9;
                     break;
                 }
         },
         "recorded as"},
        {"arena too small", [](json& j) { j["memory"]["arena_bytes"] = 64; }, "arena"},
        {"value without location", [](json& j) { j["memory"]["values"].erase(0); }, "no memory location"},
        {"conv skipped",
         [](json& j) {
             for (size_t n = 0; n < j["graph"]["nodes"].size(); ++n)
                 if (j["graph"]["nodes"][n]["op"] == "Conv") {
                     j["memory"]["skip"].push_back(n);
                     break;
                 }
         },
         "cannot be skipped"},
        {"unlisted backend", [](json& j) { j["graph"]["nodes"][0]["backend"] = "tpu"; }, "'tpu'"},
        {"two producers",
         [](json& j) { j["graph"]["nodes"][1]["outputs"] = j["graph"]["nodes"][0]["outputs"]; },
         "already has a producer"},
        {"params mismatch",
         [](json& j) {
             j["graph"]["nodes"][0]["params"] = {{"kind", "none"}};
         },
         "plan 'bad.plan'"},
        {"bad metadata props", [](json& j) { j["metadata_props"]["k"] = 3; }, "metadata_props.k"},
    };
    for (const Case& c : cases) {
        const std::string e = load_error(rewrite(bytes(), c.edit));
        EXPECT_TRUE(contains(e, c.expect)) << c.what;
        EXPECT_TRUE(contains(e, "bad.plan")) << c.what;
        EXPECT_EQ(e.find('\n'), std::string::npos) << c.what << ": not one line";
    }
}

TEST_F(PlanTest, RejectsMalformedJson) {
    EXPECT_TRUE(contains(load_error(with_metadata(bytes(), "{\"engine_version\": ")), "not valid JSON"));
    EXPECT_TRUE(contains(load_error(with_metadata(bytes(), "[1, 2, 3]")), "expected an object"));
    EXPECT_TRUE(contains(load_error(with_metadata(bytes(), "")), "not valid JSON"));
}

TEST_F(PlanTest, EngineRejectsForeignDevicesAndVersions) {
    const auto foreign = rewrite(bytes(), [](json& j) { j["backends"][0]["device_signature"] = "cpu z80"; });
    const Plan p = Plan::from_bytes(foreign);  // a valid plan, for another machine
    const std::string e = error_of([&] { (void)Engine::load(p); });
    EXPECT_TRUE(contains(e, "was built for 'cpu z80'"));
    EXPECT_TRUE(contains(e, "this machine is"));

    const auto old = rewrite(bytes(), [](json& j) { j["engine_version"] = "0.0.1-old"; });
    EXPECT_TRUE(
        contains(error_of([&] { (void)Engine::load(Plan::from_bytes(old)); }), "built by rtdet 0.0.1-old"));

    const auto tpu = rewrite(bytes(), [](json& j) {
        j["backends"][0]["name"] = "tpu";
        for (auto& n : j["graph"]["nodes"]) n["backend"] = "tpu";
    });
    EXPECT_TRUE(
        contains(error_of([&] { (void)Engine::load(Plan::from_bytes(tpu)); }), "needs backend 'tpu'"));
}

// Random single-field edits with a valid checksum: every outcome is a clean engine::Error or a plan
// that loads and runs; never a crash or another exception type.
TEST_F(PlanTest, SurvivesRandomMetadataEdits) {
    const PlanSections s = parse_plan_sections(bytes(), "t");
    const json base = json::parse(s.metadata);
    std::vector<json::json_pointer> leaves;
    std::function<void(const json&, const json::json_pointer&)> walk = [&](const json& j,
                                                                           const json::json_pointer& p) {
        if (j.is_object()) {
            for (auto it = j.begin(); it != j.end(); ++it) walk(it.value(), p / it.key());
        } else if (j.is_array()) {
            for (size_t i = 0; i < j.size(); ++i) walk(j[i], p / i);
        } else {
            leaves.push_back(p);
        }
    };
    walk(base, json::json_pointer());
    const std::vector<json> replacements = {0,
                                            1,
                                            -1,
                                            2,
                                            3,
                                            7,
                                            64,
                                            1000,
                                            -100000,
                                            1ll << 40,
                                            4294967295ull,
                                            "x",
                                            "inf",
                                            true,
                                            false,
                                            nullptr,
                                            json::array(),
                                            json::object(),
                                            0.5};
    std::mt19937 rng(1234);
    const std::vector<Tensor> in = {testing_util::random_tensor({1, 3, 8, 8}, 5)};
    int loaded = 0;
    for (int iter = 0; iter < 400; ++iter) {
        json j = base;
        std::string edited;
        for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k) {
            const auto& leaf = leaves[rng() % leaves.size()];
            j[leaf] = replacements[rng() % replacements.size()];
            edited += leaf.to_string() + " ";
        }
        const auto b = assemble_plan(j.dump(), s.blobs);
        try {
            const Plan p = Plan::from_bytes(b, "fuzz");
            auto eng = Engine::load(p);
            auto ctx = eng->create_context();
            (void)ctx->run(in);
            ++loaded;
        } catch (const Error&) {
        } catch (const std::exception& e) {
            ADD_FAILURE() << "edit of " << edited << "threw a non-engine exception: " << e.what();
        }
    }
    EXPECT_GT(loaded, 0);  // harmless edits (names, build options) still load
}

// Random byte flips inside the metadata, past the checksum (as a fuzzer with the checksum disabled
// would do): the reader answers with engine::Error or a valid plan, nothing else.
TEST_F(PlanTest, ReaderSurvivesMetadataByteFlips) {
    const PlanSections s = parse_plan_sections(bytes(), "t");
    std::mt19937 rng(99);
    int parsed = 0;
    for (int iter = 0; iter < 1500; ++iter) {
        std::vector<std::byte> b = bytes();
        for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) {
            const size_t at = s.header.metadata_offset + rng() % s.header.metadata_size;
            b[at] = static_cast<std::byte>(rng() % 2 ? (rng() % 256) : "0123456789-[]{},:\"e"[rng() % 17]);
        }
        auto owner = std::make_shared<std::vector<std::byte>>(b);
        try {
            (void)read_plan(*owner, owner, "fuzz", /*verify_checksum=*/false);
            ++parsed;
        } catch (const Error&) {
        } catch (const std::exception& e) {
            ADD_FAILURE() << "iteration " << iter << ": non-engine exception: " << e.what();
        }
    }
    EXPECT_GT(parsed, 0);
}

TEST(Builder, RejectsUnavailableDevicesAndBadOptions) {
    const Graph g = runtime_test::small_net(1);
    BuildOptions o = runtime_test::reference_options(1);
    o.device = "cuda";
    // A build without CUDA says so; one with CUDA on a machine without a GPU names what is missing;
    // on a GPU machine the plan builds.
    const std::string cuda_error = error_of([&] { (void)build_plan(g, o, "m", ""); });
    EXPECT_TRUE(cuda_error.empty() || contains(cuda_error, "device 'cuda' not available in this build") ||
                contains(cuda_error, "cuda: no CUDA"))
        << cuda_error;
    o.device = "tpu";
    EXPECT_TRUE(contains(error_of([&] { (void)build_plan(g, o, "m", ""); }), "unknown device 'tpu'"));
    o = runtime_test::reference_options(0);
    EXPECT_TRUE(contains(error_of([&] { (void)build_plan(g, o, "m", ""); }), "max batch"));
    o = runtime_test::reference_options(1);
    o.disabled_passes = {"no_such_pass"};
    EXPECT_TRUE(contains(error_of([&] { (void)build_plan(g, o, "m", ""); }), "no_such_pass"));
    EXPECT_TRUE(contains(error_of([&] { (void)build_plan_from_onnx("/nonexistent/model.onnx", o); }),
                         "/nonexistent/model.onnx"));
}

TEST(Builder, CpuDeviceBuildsAndRuns) {
    const Graph g = runtime_test::small_net(1);
    BuildOptions o = runtime_test::reference_options(1);
    o.device = "cpu";
    const Plan p = build_plan(g, o, "m", "");
    EXPECT_EQ(p.info().device, "cpu");
    const std::vector<Tensor> in = {testing_util::random_tensor({1, 3, 8, 8}, 2)};
    runtime_test::expect_close(runtime_test::run_plan(p, in), run_reference(g, in));
}

TEST(Builder, ReducedPrecisionFallsBackToFp32WhereUnsupported) {
    const Graph g = runtime_test::small_net(1);
    BuildOptions o = runtime_test::reference_options(1);
    const std::vector<Tensor> in = {testing_util::random_tensor({1, 3, 8, 8}, 4)};
    const auto fp32 = runtime_test::run_plan(build_plan(g, o, "m", ""), in);
    for (Precision p : {Precision::BF16, Precision::FP16, Precision::Best}) {
        o.precision = p;
        const Plan plan = build_plan(g, o, "m", "");
        EXPECT_EQ(plan.info().precision, precision_name(p));
        for (const LayerInfo& l : plan.info().layers) EXPECT_EQ(l.precision, "f32") << l.name;
        runtime_test::expect_bit_equal(runtime_test::run_plan(plan, in), fp32);
    }
}

TEST(Builder, RejectsIntegerRuntimeTensors) {
    // An int64 tensor flowing at run time (a shape computation left unfolded).
    testing_util::GraphBuilder b;
    const ValueId x = b.input({1, 4}, true, "x");
    const ValueId k = b.constant(Tensor::from_i64({1, 4}, std::vector<int64_t>{1, 2, 3, 4}), "k");
    const ValueId id = b.identity(k);
    b.output(b.relu(x));
    b.output(id);
    BuildOptions o = runtime_test::reference_options(1);
    o.disabled_passes = {"fold_constants", "eliminate_identity"};
    const Graph g = b.build();
    const std::string e = error_of([&] { (void)build_plan(g, o, "m", ""); });
    // Named: the node and the type (verify() or the builder's own check, whichever sees it first).
    EXPECT_TRUE(contains(e, "i64"));
    EXPECT_TRUE(contains(e, "Identity"));
}

}  // namespace
}  // namespace engine
