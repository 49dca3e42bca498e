// Darknet cfg parser: real cfgs (layer counts, shapes and parameter counts checked against the
// published weights-file sizes), and every kind of bad input naming file, line and key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "detector/darknet/cfg_parser.h"
#include "engine/core/error.h"
#include "tests/testing/require.h"
#include "tests/testing/tensor_compare.h"

namespace {

namespace fs = std::filesystem;
using detector::DarknetActivation;
using detector::DarknetLayerType;
using detector::DarknetModel;

// Message of the engine::Error that `fn` throws ("" and a test failure when it does not throw).
template <typename Fn>
std::string error_of(Fn fn) {
    try {
        fn();
    } catch (const engine::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected engine::Error";
    return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

constexpr const char* kNet = "[net]\nwidth=16\nheight=16\nchannels=3\n";  // lines 1-4

DarknetModel parse(const std::string& body) {
    return detector::parse_cfg_text(std::string(kNet) + body, "t.cfg");
}
std::string parse_error(const std::string& body) {
    return error_of([&] { parse(body); });
}

std::string shared_file(const std::string& rel) {
    const std::string dir = testing_util::data_dir();
    if (dir.empty() || !fs::exists(fs::path(dir) / rel)) return "";
    return (fs::path(dir) / rel).string();
}

int count_type(const DarknetModel& m, DarknetLayerType t) {
    int n = 0;
    for (const auto& l : m.layers) n += l.type == t;
    return n;
}

TEST(DarknetCfg, Yolov3MatchesOfficialWeightsSize) {
    const std::string cfg = shared_file("models/darknet_cfg/yolov3.cfg");
    if (cfg.empty()) RTDET_SKIP_OR_FAIL("data dir (../shared or $RTDET_DATA) missing: yolov3.cfg");
    const DarknetModel m = detector::parse_cfg(cfg);
    EXPECT_EQ(m.width, 608);
    EXPECT_EQ(m.height, 608);
    EXPECT_EQ(m.channels, 3);
    ASSERT_EQ(m.layers.size(), 107u);
    EXPECT_EQ(count_type(m, DarknetLayerType::Convolutional), 75);
    EXPECT_EQ(count_type(m, DarknetLayerType::Shortcut), 23);
    EXPECT_EQ(count_type(m, DarknetLayerType::Yolo), 3);
    // Official yolov3.weights is 248,007,048 bytes = 20-byte header + 4 x params.
    EXPECT_EQ(detector::darknet_param_count(m), (248007048 - 20) / 4);
    // Heads at layers 82, 94, 106 on 19x19, 38x38, 76x76 grids with 255 channels.
    for (auto [idx, grid] : std::vector<std::pair<int, int>>{{82, 19}, {94, 38}, {106, 76}}) {
        const auto& l = m.layers[idx];
        EXPECT_EQ(l.type, DarknetLayerType::Yolo);
        EXPECT_EQ(l.in_c, 255);
        EXPECT_EQ(l.in_h, grid);
        EXPECT_EQ(l.in_w, grid);
    }
    EXPECT_EQ(m.layers[82].mask, (std::vector<int>{6, 7, 8}));
    EXPECT_EQ(m.layers[82].anchors.size(), 18u);
    EXPECT_EQ(m.layers[82].anchors[16], 373.f);
    EXPECT_EQ(m.layers[83].inputs, (std::vector<int>{79}));      // route -4
    EXPECT_EQ(m.layers[86].inputs, (std::vector<int>{85, 61}));  // route -1, 61
    EXPECT_EQ(m.layers[4].inputs, (std::vector<int>{1}));        // shortcut from=-3
}

TEST(DarknetCfg, Yolov3TinyMatchesOfficialWeightsSize) {
    const std::string cfg = shared_file("models/darknet_cfg/yolov3-tiny.cfg");
    if (cfg.empty()) RTDET_SKIP_OR_FAIL("data dir (../shared or $RTDET_DATA) missing: yolov3-tiny.cfg");
    const DarknetModel m = detector::parse_cfg(cfg);
    ASSERT_EQ(m.layers.size(), 24u);
    EXPECT_EQ(detector::darknet_param_count(m), (35434956 - 20) / 4);
    // Layer 11: maxpool size=2 stride=1 keeps 13x13 (darknet pads 0 before, 1 after).
    const auto& pool = m.layers[11];
    EXPECT_EQ(pool.type, DarknetLayerType::Maxpool);
    EXPECT_EQ(pool.size, 2);
    EXPECT_EQ(pool.padding, 1);
    EXPECT_EQ(pool.in_h, 13);
    EXPECT_EQ(pool.out_h, 13);
    EXPECT_EQ(m.layers[16].in_h, 13);
    EXPECT_EQ(m.layers[23].in_h, 26);
    EXPECT_EQ(m.layers[20].out_c, 128 + 256);  // route -1, 8
}

TEST(DarknetCfg, Yolov4TinyRouteGroups) {
    const std::string cfg = shared_file("models/darknet_cfg/yolov4-tiny.cfg");
    if (cfg.empty()) RTDET_SKIP_OR_FAIL("data dir (../shared or $RTDET_DATA) missing: yolov4-tiny.cfg");
    const DarknetModel m = detector::parse_cfg(cfg);
    EXPECT_EQ(detector::darknet_param_count(m), (24251276 - 20) / 4);
    const auto& split = m.layers[3];  // route layers=-1 groups=2 group_id=1 of a 64-channel conv
    EXPECT_EQ(split.type, DarknetLayerType::Route);
    EXPECT_EQ(split.groups, 2);
    EXPECT_EQ(split.group_id, 1);
    EXPECT_EQ(split.out_c, 32);
    EXPECT_EQ(m.layers[30].scale_x_y, 1.05f);
    EXPECT_EQ(m.layers[30].in_h, 13);
    EXPECT_EQ(m.layers[37].in_h, 26);
}

TEST(DarknetCfg, YoloFastestParamCountsMatchTheirWeights) {
    // Parameter counts of the published weights files (MANIFEST: params = cfg exactly).
    const std::vector<std::pair<std::string, int64_t>> models = {
        {"models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg", 346062},
        {"models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg", 923486},
        {"models/yolo-fastest/yolo-fastest-1.1_body/yolo-fastest-1.1_body.cfg", 294396},
        {"models/yolo-fastest/yolo-fastest-1.0_coco/yolo-fastest.cfg", 356406},
        {"models/yolo-fastest/yolo-fastest-1.0_coco/yolo-fastest-xl.cfg", 912686},
    };
    for (const auto& [rel, params] : models) {
        const std::string cfg = shared_file(rel);
        if (cfg.empty()) RTDET_SKIP_OR_FAIL("data dir (../shared or $RTDET_DATA) missing: " << rel);
        const DarknetModel m = detector::parse_cfg(cfg);
        EXPECT_EQ(detector::darknet_param_count(m), params) << rel;
        EXPECT_EQ(count_type(m, DarknetLayerType::Yolo), 2) << rel;
    }
}

TEST(DarknetCfg, ShapesAndDefaults) {
    const DarknetModel m = parse(
        "[convolutional]\nfilters=8\nsize=3\nstride=2\npad=1\n"  // 0: 8x8x8, default activation logistic
        "[maxpool]\nsize=3\nstride=2\n"                          // 1: (8+2-3)/2+1 = 4
        "[maxpool]\nsize=2\nstride=1\n"                          // 2: (4+1-2)/1+1 = 4
        "[convolutional]\nfilters=4\nsize=3\npadding=2\nactivation=leaky\n"  // 3: 4+4-3+1 = 6
        "[upsample]\n"                                                       // 4: default stride 2 -> 12
        "[route]\nlayers=0\ngroups=4\ngroup_id=3\n"                          // 5: 2 channels of 8x8
        "[convolutional]\nfilters=7\nsize=1\nactivation=linear\n"            // 6
        "[yolo]\nanchors=1,2\nclasses=2\n");                                 // 7: num=1, mask 0
    ASSERT_EQ(m.layers.size(), 8u);
    EXPECT_EQ(m.layers[0].activation, DarknetActivation::Logistic);
    EXPECT_EQ(m.layers[0].out_h, 8);
    EXPECT_EQ(m.layers[1].out_h, 4);
    EXPECT_EQ(m.layers[1].padding, 2);
    EXPECT_EQ(m.layers[2].out_w, 4);
    EXPECT_EQ(m.layers[3].out_h, 6);
    EXPECT_EQ(m.layers[3].padding, 2);
    EXPECT_EQ(m.layers[4].out_h, 12);
    EXPECT_EQ(m.layers[5].out_c, 2);
    EXPECT_EQ(m.layers[5].out_h, 8);
    EXPECT_EQ(m.layers[7].mask, (std::vector<int>{0}));
    EXPECT_EQ(m.layers[7].in_h, 8);
    EXPECT_EQ(detector::darknet_param_count(m), (8 + 8 * 3 * 9) + (4 + 4 * 8 * 9) + (7 + 7 * 2));
    // Other input size.
    DarknetModel m2 = m;
    detector::infer_darknet_shapes(m2, 32, 24);
    EXPECT_EQ(m2.layers[0].out_w, 16);
    EXPECT_EQ(m2.layers[0].out_h, 12);
}

TEST(DarknetCfg, TrainingKeysAreIgnored) {
    const DarknetModel m = detector::parse_cfg_text(
        "[net]\nbatch=64\nsubdivisions=16\nwidth=16\nheight=16\nchannels=3\nmomentum=0.9\ndecay=0.0005\n"
        "mosaic=1\nletter_box=1\nlearning_rate=0.001\nsteps=1,2\nscales=.1,.1\n"
        "[convolutional]\nfilters=7\nsize=1\nactivation=linear\nstopbackward=1\n"
        "[dropout]\nprobability=.2\n"
        "[yolo]\nmask=0\nanchors=1,2\nclasses=2\nnum=1\njitter=.3\nignore_thresh=.7\ntruth_thresh=1\n"
        "random=1\niou_thresh=0.2\ncls_normalizer=1.0\niou_normalizer=0.07\niou_loss=ciou\nnms_kind="
        "greedynms\n"
        "beta_nms=0.6\nmax_delta=5\nresize=1.5\ncounters_per_class=1,2\n",
        "train.cfg");
    EXPECT_TRUE(m.letterbox);
    EXPECT_EQ(m.layers.size(), 3u);
}

TEST(DarknetCfg, UnknownSectionNamesFileAndLine) {
    const std::string msg = parse_error("[convolutional]\nfilters=1\n[foo]\nbar=1\n");
    EXPECT_CONTAINS(msg, "t.cfg:7:");
    EXPECT_CONTAINS(msg, "unknown section [foo]");
    const std::string region = parse_error("[region]\n");
    EXPECT_CONTAINS(region, "t.cfg:5:");
    EXPECT_CONTAINS(region, "unsupported section [region]");
}

TEST(DarknetCfg, UnknownKeyNamesFileLineAndKey) {
    const std::string msg = parse_error("[convolutional]\nfilters=4\nfoo=3\nsize=1\n");
    EXPECT_CONTAINS(msg, "t.cfg:7: unknown key 'foo' in [convolutional]");
    // A key darknet knows but that changes the network in a way we do not model.
    EXPECT_CONTAINS(
        parse_error("[convolutional]\nfilters=3\n[shortcut]\nfrom=-1\nweights_type=per_channel\n"),
        "t.cfg:9: unknown key 'weights_type' in [shortcut]");
    EXPECT_CONTAINS(error_of([] {
                        detector::parse_cfg_text(
                            "[net]\nwidth=8\nheight=8\nchannels=3\ninputs=5\n[dropout]\n", "n.cfg");
                    }),
                    "n.cfg:5: unknown key 'inputs' in [net]");
}

TEST(DarknetCfg, BadValues) {
    EXPECT_CONTAINS(parse_error("[convolutional]\nsize=abc\n"),
                    "t.cfg:6: bad value size=abc in [convolutional]: expected an integer");
    EXPECT_CONTAINS(parse_error("[convolutional]\nfilters=0\n"),
                    "t.cfg:6: bad value filters=0 in [convolutional], must be >= 1");
    EXPECT_CONTAINS(parse_error("[convolutional]\nactivation=elu\n"), "t.cfg:6: bad value activation=elu");
    EXPECT_CONTAINS(parse_error("[convolutional]\ndilation=2\n"), "t.cfg:6: unsupported value dilation=2");
    EXPECT_CONTAINS(
        parse_error("[convolutional]\nfilters=7\nsize=1\nactivation=linear\n[yolo]\nanchors=1,2,x\n"),
        "t.cfg:10: bad value anchors=1,2,x in [yolo]: expected a number");
    EXPECT_CONTAINS(parse_error("[convolutional]\nfilters=14\nsize=1\nactivation=linear\n[yolo]\nanchors=1,"
                                "2\nmask=0,1\nclasses=2\n"),
                    "t.cfg:11: bad value mask=0,1 in [yolo]: mask 1 is outside 0..num-1");
    EXPECT_CONTAINS(
        parse_error(
            "[convolutional]\nfilters=7\nsize=1\nactivation=linear\n[yolo]\nanchors=1,2,3\nclasses=2\n"),
        "expected num*2 = 2 numbers, got 3");
    EXPECT_CONTAINS(parse_error("[convolutional]\nfilters=4\nfilters=5\n"),
                    "t.cfg:7: duplicate key 'filters'");
    EXPECT_CONTAINS(parse_error("[convolutional]\nfilters=4\nthis line has no equals sign\n"),
                    "t.cfg:7: expected 'key=value'");
    EXPECT_CONTAINS(error_of([] { detector::parse_cfg_text("width=3\n[net]\n", "k.cfg"); }),
                    "k.cfg:1: key 'width' before the first [section]");
    EXPECT_CONTAINS(error_of([] { detector::parse_cfg_text("[convolutional]\nfilters=1\n", "f.cfg"); }),
                    "f.cfg:1: the first section must be [net]");
    EXPECT_CONTAINS(
        error_of([] { detector::parse_cfg_text("[net]\nwidth=8\nheight=8\n[dropout]\n", "c.cfg"); }),
        "c.cfg:1: missing key 'channels' in [net], must be >= 1");
}

TEST(DarknetCfg, BadLayerReferences) {
    EXPECT_CONTAINS(parse_error("[convolutional]\nfilters=2\n[route]\nlayers=5\n"),
                    "t.cfg:8: [route] layers=5 refers to layer 5, which does not exist before this layer");
    EXPECT_CONTAINS(parse_error("[convolutional]\nfilters=2\n[route]\nlayers=-1,-3\n"),
                    "t.cfg:8: [route] layers=-3 refers to layer -2");
    EXPECT_CONTAINS(parse_error("[convolutional]\nfilters=2\n[route]\nlayers=1\n"),
                    "refers to layer 1");  // itself
    EXPECT_CONTAINS(parse_error("[shortcut]\nfrom=-1\n"), "t.cfg:6: [shortcut] from=-1 refers to layer -1");
    EXPECT_CONTAINS(parse_error("[route]\n"), "t.cfg:5: [route]: missing 'layers'");
}

TEST(DarknetCfg, ShapeErrorsNameTheLayer) {
    // Shortcut of 4-channel conv onto 2-channel conv.
    EXPECT_CONTAINS(
        parse_error("[convolutional]\nfilters=4\n[convolutional]\nfilters=2\n[shortcut]\nfrom=-2\n"),
        "t.cfg:9: [shortcut] (layer 2): layer 0 output 4x16x16 differs");
    // Route joining 16x16 and 8x8.
    EXPECT_CONTAINS(
        parse_error(
            "[convolutional]\nfilters=4\n[convolutional]\nfilters=4\nstride=2\n[route]\nlayers=0,1\n"),
        "t.cfg:10: [route] (layer 2): layer 1 is 8x8 but layer 0 is 16x16");
    // Yolo head with the wrong channel count: 1 anchor x (5 + 2) = 7 expected.
    EXPECT_CONTAINS(parse_error("[convolutional]\nfilters=8\n[yolo]\nanchors=1,2\nclasses=2\n"),
                    "t.cfg:7: [yolo] (layer 1): input has 8 channels, expected len(mask)*(classes+5) = 7");
    EXPECT_CONTAINS(parse_error("[convolutional]\nfilters=4\ngroups=3\n"), "groups=3");
    EXPECT_CONTAINS(parse_error("[convolutional]\nfilters=4\nsize=40\n"), "output is empty at input 16x16");
}

TEST(DarknetCfg, MissingFile) {
    const std::string msg = error_of([] { detector::parse_cfg("/nonexistent/dir/model.cfg"); });
    EXPECT_CONTAINS(msg, "/nonexistent/dir/model.cfg: cannot open darknet cfg file");
}

TEST(DarknetCfg, WhitespaceAndCommentsAsDarknet) {
    const DarknetModel m = detector::parse_cfg_text(
        "# comment\n[net]\n width = 16 \nheight=16\nchannels=3\n; other comment\n\n"
        "[convolutional]\nfilters = 7 # trailing\nsize=1\nactivation = linear\n"
        "[yolo]\nmask = 0\nanchors = 10, 14\nclasses=2\nnum=1\n",
        "ws.cfg");
    ASSERT_EQ(m.layers.size(), 2u);
    EXPECT_EQ(m.layers[0].filters, 7);
    EXPECT_EQ(m.layers[0].line, 8);
    EXPECT_EQ(m.layers[1].anchors, (std::vector<float>{10.f, 14.f}));
}

}  // namespace
