// Config loading and validation: one test per rule (unknown key, wrong type, out of range, missing
// file, bad source), CLI overrides, and the repository's own configs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <utility>
#include <vector>

#include "app/config.h"
#include "engine/core/error.h"
#include "tests/app/app_test_util.h"

namespace {

namespace fs = std::filesystem;
using app::AppConfig;

using app_test::error_of;

std::string load_error(const std::string& yaml) {
    return error_of([&] {
        AppConfig c;
        app::load_config_text(yaml, "test.yaml", c);
    });
}

TEST(Config, LoadsEveryKindOfKey) {
    AppConfig c;
    app::load_config_text(R"(
model:
  path: m.onnx
  input_width: 416
  input_height: 416
  resize: letterbox
  random_weights: 3
detector:
  conf_threshold: 0.3
  iou_threshold: 0.5
  nms: agnostic
  max_detections: 50
engine:
  precision: bf16
  threads: 2
source: "0"
outputs:
  video: out/a.mp4
  video_codec: mjpg
  show: false
pipeline:
  queue_depth: 8
  max_batch: 4
  realtime: yes
reconnect:
  attempts: 3
  interval_ms: 250
)",
                          "test.yaml", c);
    EXPECT_EQ(c.model, "m.onnx");
    EXPECT_EQ(c.input_width, 416);
    EXPECT_EQ(c.input_height, 416);
    EXPECT_EQ(c.resize, "letterbox");
    EXPECT_EQ(c.random_weights, 3);
    EXPECT_FLOAT_EQ(c.conf_threshold, 0.3f);
    EXPECT_FLOAT_EQ(c.iou_threshold, 0.5f);
    EXPECT_EQ(c.nms, "agnostic");
    EXPECT_EQ(c.max_detections, 50);
    EXPECT_EQ(c.precision, "bf16");
    EXPECT_EQ(c.threads, 2);
    EXPECT_EQ(c.source, "0");
    EXPECT_EQ(c.outputs.video, "out/a.mp4");
    EXPECT_EQ(c.outputs.video_codec, "MJPG")
        << "enum values are matched case-insensitively, stored canonical";
    EXPECT_EQ(c.outputs.show, 0);
    EXPECT_EQ(c.queue_depth, 8);
    EXPECT_EQ(c.max_batch, 4);
    EXPECT_TRUE(c.realtime);
    EXPECT_EQ(c.reconnect.attempts, 3);
    EXPECT_EQ(c.reconnect.interval_ms, 250);
    // Untouched keys keep their defaults.
    EXPECT_EQ(c.device, "cpu");
    EXPECT_EQ(c.reconnect.timeout_ms, AppConfig{}.reconnect.timeout_ms);
}

TEST(Config, EmptyFileKeepsDefaults) {
    AppConfig c;
    app::load_config_text("", "empty.yaml", c);
    EXPECT_EQ(c.queue_depth, AppConfig{}.queue_depth);
    EXPECT_FLOAT_EQ(c.conf_threshold, AppConfig{}.conf_threshold);
}

// ---- rule: unknown keys (with the closest valid key) ----

TEST(Config, UnknownKeyNamesItAndSuggestsTheClosest) {
    const std::string e = load_error("detector:\n  conf_treshold: 0.3\n");
    EXPECT_NE(e.find("test.yaml:2"), std::string::npos) << e;
    EXPECT_NE(e.find("unknown key 'detector.conf_treshold'"), std::string::npos) << e;
    EXPECT_NE(e.find("did you mean 'detector.conf_threshold'"), std::string::npos) << e;

    const std::string top = load_error("sorce: video.mp4\n");
    EXPECT_NE(top.find("unknown key 'sorce'"), std::string::npos) << top;
    EXPECT_NE(top.find("did you mean 'source'"), std::string::npos) << top;

    // A key put in the wrong section is found by its own name.
    const std::string misplaced = load_error("model:\n  max_batch: 2\n");
    EXPECT_NE(misplaced.find("did you mean 'pipeline.max_batch'"), std::string::npos) << misplaced;
    EXPECT_EQ(app::closest_config_key("iou"), "detector.iou_threshold");
}

// What a user meant, written by hand: typos (a swap is one edit), abbreviations, words added, a wrong
// or misspelt section; a key close to none gets no guess.
TEST(Config, DidYouMeanIsTheKeyMeant) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"detector.conff", "detector.conf_threshold"},  // short, and a letter too many (was detector.nms)
        {"detector.iou", "detector.iou_threshold"},     // short
        {"engine.precison", "engine.precision"},        // a letter missing
        {"pipline.max_batch", "pipeline.max_batch"},    // the section misspelt
        {"detector.conf_treshold", "detector.conf_threshold"},
        {"outputs.sohw", "outputs.show"},           // two letters swapped: one edit (plain Levenshtein: two)
        {"detector.nmss", "detector.nms"},          // a letter too many in a short key
        {"detector.nms_mode", "detector.nms"},      // a word added
        {"engine.cache", "engine.plan_cache_dir"},  // one word of the key
        {"detector.max", "detector.max_detections"},  // same start as pipeline.max_*: same section first
        {"pipeline.max", "pipeline.max_batch"},       // max_batch, max_frames: the closer whole key
        {"threads", "engine.threads"},                // no section, exact name (decode_threads too)
        {"foo.bar", ""},                              // close to nothing
        {"banana", ""},
        {"detector.score", ""},
        {"mode", ""},  // not video_codec's "codec", one edit away: later words must match exactly
        {"io", ""},    // under 3 characters
        // a key's leaf with words added, up to 60 characters; longer (a fuzzed key): no suggestion
        {"detector.conf_threshold" + std::string(40, 'x'), "detector.conf_threshold"},
        {"detector.conf_threshold" + std::string(50, 'x'), ""},
    };
    for (const auto& [written, meant] : cases) EXPECT_EQ(app::closest_config_key(written), meant) << written;
}

TEST(Config, UnknownKeyWithoutSuggestionListsWhereTheKeysAre) {
    AppConfig c;
    const auto set_error = [&](const std::string& key) {
        return error_of([&] { app::set_config_key(c, key, "1", "--set"); });
    };
    EXPECT_EQ(set_error("detector.conff"),
              "--set: unknown key 'detector.conff' (did you mean 'detector.conf_threshold'?)");
    EXPECT_EQ(load_error("detector:\n  conff: 0.3\n"),
              "test.yaml:2: unknown key 'detector.conff' (did you mean 'detector.conf_threshold'?)");
    EXPECT_EQ(set_error("detector.score"),
              "--set: unknown key 'detector.score' (keys of detector: conf_threshold, iou_threshold, nms, "
              "max_detections)");
    EXPECT_EQ(set_error("detector"),
              "--set: unknown key 'detector' (keys of detector: conf_threshold, iou_threshold, nms, "
              "max_detections)");
    EXPECT_EQ(load_error("banana: 1\n"),
              "test.yaml:1: unknown key 'banana' (rtdet run --print-config shows every key)");
}

// ---- rule: wrong types ----

TEST(Config, WrongTypeNamesKeyValueAndAllowed) {
    const std::string e = load_error("detector:\n  conf_threshold: high\n");
    EXPECT_NE(e.find("detector.conf_threshold"), std::string::npos) << e;
    EXPECT_NE(e.find("expected a number in (0, 1]"), std::string::npos) << e;
    EXPECT_NE(e.find("'high'"), std::string::npos) << e;

    const std::string i = load_error("pipeline:\n  queue_depth: 2.5\n");
    EXPECT_NE(i.find("pipeline.queue_depth: expected an integer in [1, 256] (got '2.5')"), std::string::npos)
        << i;

    const std::string b = load_error("pipeline:\n  realtime: sometimes\n");
    EXPECT_NE(b.find("pipeline.realtime: expected true or false (got 'sometimes')"), std::string::npos) << b;

    const std::string list = load_error("source: [a.mp4, b.mp4]\n");
    EXPECT_NE(list.find("source: expected a string (got a list)"), std::string::npos) << list;

    const std::string section = load_error("outputs: out.mp4\n");
    EXPECT_NE(section.find("outputs: expected a mapping of keys (video, video_codec"), std::string::npos)
        << section;

    const std::string null_num = load_error("engine:\n  threads:\n");
    EXPECT_NE(null_num.find("engine.threads: expected an integer in [0, 1024] (got nothing)"),
              std::string::npos)
        << null_num;
}

// ---- rule: out-of-range values ----

TEST(Config, OutOfRangeNamesKeyValueAndRange) {
    const std::string e = load_error("detector:\n  conf_threshold: 1.5\n");
    EXPECT_NE(e.find("detector.conf_threshold: must be a number in (0, 1] (got '1.5')"), std::string::npos)
        << e;

    const std::string zero = load_error("detector:\n  iou_threshold: 0\n");
    EXPECT_NE(zero.find("must be a number in (0, 1] (got '0')"), std::string::npos) << zero;

    const std::string depth = load_error("pipeline:\n  queue_depth: 0\n");
    EXPECT_NE(depth.find("pipeline.queue_depth: must be an integer in [1, 256] (got '0')"), std::string::npos)
        << depth;

    const std::string en = load_error("detector:\n  nms: greedy\n");
    EXPECT_NE(en.find("detector.nms: must be one of per-class, agnostic (got 'greedy')"), std::string::npos)
        << en;

    const std::string prec = load_error("engine:\n  precision: int4\n");
    EXPECT_NE(prec.find("must be one of fp32, fp16, bf16, best, int8 (got 'int4')"), std::string::npos)
        << prec;
}

TEST(Config, YamlSyntaxErrorHasLine) {
    const std::string e = load_error("model:\n  path: [unclosed\n");
    EXPECT_NE(e.find("test.yaml:"), std::string::npos) << e;
    EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
}

// ---- command-line overrides go through the same checks ----

TEST(Config, CliOverrideSetsKeyAndChecksIt) {
    AppConfig c;
    app::load_config_text("detector:\n  conf_threshold: 0.5\n", "test.yaml", c);
    app::set_config_key(c, "detector.conf_threshold", "0.3", "--conf");
    EXPECT_FLOAT_EQ(c.conf_threshold, 0.3f);
    const std::string e = error_of([&] { app::set_config_key(c, "detector.conf_threshold", "2", "--conf"); });
    EXPECT_NE(e.find("--conf (detector.conf_threshold): must be a number in (0, 1] (got '2')"),
              std::string::npos)
        << e;
    const std::string u = error_of([&] { app::set_config_key(c, "detector.nmss", "agnostic", "--set"); });
    EXPECT_NE(u.find("unknown key 'detector.nmss' (did you mean 'detector.nms'?)"), std::string::npos) << u;
    app::set_config_key(c, "outputs.show", "auto", "--set");
    EXPECT_EQ(c.outputs.show, -1);
}

TEST(Config, PrintedConfigLoadsBackTheSame) {
    AppConfig a;
    a.model = "m.onnx";
    a.conf_threshold = 0.125f;
    a.nms = "agnostic";
    a.outputs.json = "x.jsonl";
    a.outputs.show = 0;
    a.max_frames = 77;
    a.reconnect.interval_ms = 321;
    AppConfig b;
    app::load_config_text(app::config_to_yaml(a), "printed", b);
    EXPECT_EQ(app::config_to_yaml(a), app::config_to_yaml(b));
    EXPECT_EQ(b.max_frames, 77);
    EXPECT_EQ(b.reconnect.interval_ms, 321);
    EXPECT_FLOAT_EQ(b.conf_threshold, 0.125f);
}

TEST(Config, PrintedStringsWithLineBreaksAndEdgeSpacesLoadBackAsWritten) {
    // fuzz_yaml_config's finding: a value ending in carriage returns was printed plain, and its last
    // '\r' and the line's '\n' read back as one CRLF line break (one character lost).
    const std::vector<std::string> values = {"x\r\r\r", "a\rb\r", "a\n\n\nb", "line\n",
                                             " lead",   "trail ", "tab\tin",  "bell\a"};
    for (const std::string& v : values) {
        AppConfig a;
        a.model = v;
        a.outputs.json = v;
        AppConfig b;
        app::load_config_text(app::config_to_yaml(a), "printed", b);
        EXPECT_EQ(b.model, v);
        EXPECT_EQ(b.outputs.json, v);
    }
    AppConfig plain;
    plain.model = "m.onnx";
    EXPECT_NE(app::config_to_yaml(plain).find("path: m.onnx\n"), std::string::npos);  // still unquoted
}

// ---- rule: files not found ----

TEST(Config, MissingFilesAreNamed) {
    EXPECT_EQ(error_of([] {
                  AppConfig c;
                  app::load_config_file("no/such/config.yaml", c);
              }),
              "config file not found: no/such/config.yaml");

    const fs::path dir = app_test::scratch_dir("config_missing");
    AppConfig c;
    c.source = "0";
    c.model = (dir / "absent.onnx").string();
    EXPECT_EQ(error_of([&] { app::validate_config(c); }), "model.path: file not found: " + c.model);

    // A darknet cfg without its weights.
    c.model = (dir / "net.cfg").string();
    std::ofstream(c.model) << "[net]\n";
    const std::string w = error_of([&] { app::validate_config(c); });
    EXPECT_NE(w.find("darknet weights not found: " + (dir / "net.weights").string()), std::string::npos) << w;
    c.random_weights = 1;  // ... fine with random weights
    EXPECT_EQ(error_of([&] { app::validate_config(c); }), "");

    c.names = (dir / "absent.names").string();
    EXPECT_EQ(error_of([&] { app::validate_config(c); }), "model.names: file not found: " + c.names);
}

// ---- rule: bad sources ----

TEST(Config, LoopAppliesOnlyToVideoFiles) {
    const fs::path dir = app_test::scratch_dir("config_loop");
    AppConfig c;
    c.model = (dir / "m.onnx").string();
    std::ofstream(c.model) << "x";
    fs::create_directories(dir / "images");
    std::ofstream(dir / "images" / "a.jpg") << "x";
    c.source = (dir / "images").string();
    c.loop = true;
    const std::string e = error_of([&] { app::validate_config(c); });
    EXPECT_NE(e.find("pipeline.loop: only a video file can be looped; " + c.source), std::string::npos) << e;
    c.loop = false;
    EXPECT_EQ(error_of([&] { app::validate_config(c); }), "");
}

TEST(Config, BadSourcesAreNamed) {
    const fs::path dir = app_test::scratch_dir("config_source");
    AppConfig c;
    c.model = (dir / "m.onnx").string();
    std::ofstream(c.model) << "x";
    c.source = (dir / "missing.mp4").string();
    const std::string e = error_of([&] { app::validate_config(c); });
    EXPECT_NE(e.find("source: not found: " + c.source), std::string::npos) << e;

    c.source = "ftp://example.com/a.mp4";
    const std::string s = error_of([&] { app::validate_config(c); });
    EXPECT_NE(s.find("source: unsupported URL scheme 'ftp'"), std::string::npos) << s;

    c.source = "";
    EXPECT_NE(error_of([&] { app::validate_config(c); }).find("source: none given"), std::string::npos);

    c.source = "/dev/video99";
    EXPECT_EQ(error_of([&] { app::validate_config(c); }), "source: device not found: /dev/video99");

    fs::create_directories(dir / "empty_folder");
    c.source = (dir / "empty_folder").string();
    EXPECT_EQ(error_of([&] { app::validate_config(c); }), "");  // a folder is a valid source...
    EXPECT_NE(error_of([&] { app::list_images(app::classify_source(c.source)); }).find("has no files"),
              std::string::npos);  // ... that fails when listed empty
}

TEST(Config, OtherCrossKeyRules) {
    const fs::path dir = app_test::scratch_dir("config_cross");
    AppConfig c;
    c.model = (dir / "m.onnx").string();
    std::ofstream(c.model) << "x";
    c.source = "0";
    c.random_weights = 5;
    EXPECT_NE(
        error_of([&] { app::validate_config(c); }).find("model.random_weights: only for a darknet .cfg"),
        std::string::npos);
    c.random_weights = -1;
    c.input_width = 416;
    EXPECT_NE(error_of([&] { app::validate_config(c); }).find("set both or neither"), std::string::npos);
    c.input_height = 400;
    EXPECT_EQ(error_of([&] { app::validate_config(c); }),
              "model.input_height: must be 0 (the model's) or a multiple of 32 >= 32 (got 400)");
    c.input_height = 416;
    EXPECT_EQ(error_of([&] { app::validate_config(c); }), "");

    // --show without a display.
    const char* saved = std::getenv("DISPLAY");
    const std::string saved_display = saved ? saved : "";
    ::unsetenv("DISPLAY");
    c.outputs.show = 1;
    EXPECT_NE(error_of([&] { app::validate_config(c); }).find("outputs.show: true, but there is no display"),
              std::string::npos);
    c.outputs.show = -1;
    EXPECT_FALSE(app::show_window(c)) << "auto: headless without $DISPLAY";
    if (saved) ::setenv("DISPLAY", saved_display.c_str(), 1);
}

// INT8 from a model needs its calibration cache; the cache must exist and goes with int8 or best only.
TEST(Config, Int8NeedsACalibrationCache) {
    const fs::path dir = app_test::scratch_dir("config_int8");
    AppConfig c;
    c.model = (dir / "m.onnx").string();
    std::ofstream(c.model) << "x";
    c.source = "0";
    app::set_config_key(c, "engine.precision", "int8", "--precision");
    EXPECT_NE(error_of([&] {
                  app::validate_config(c);
              }).find("engine.precision int8 needs engine.calibration (--calib-cache)"),
              std::string::npos);
    app::set_config_key(c, "engine.calibration", (dir / "absent.json").string(), "--calib-cache");
    EXPECT_EQ(error_of([&] { app::validate_config(c); }),
              "engine.calibration: file not found: " + (dir / "absent.json").string());
    std::ofstream(dir / "c.json") << "{}";
    c.calib_cache = (dir / "c.json").string();
    EXPECT_EQ(error_of([&] { app::validate_config(c); }), "");
    c.precision = "fp16";
    EXPECT_NE(
        error_of([&] {
            app::validate_config(c);
        }).find("engine.calibration: the cache is for precision int8 or best (engine.precision is fp16)"),
        std::string::npos);
    c.precision = "best";
    EXPECT_EQ(error_of([&] { app::validate_config(c); }), "");
    // A plan carries its own ranges.
    c.model = (dir / "m.plan").string();
    std::ofstream(c.model) << "x";
    c.precision = "int8";
    c.calib_cache.clear();
    EXPECT_EQ(error_of([&] { app::validate_config(c); }), "");
    EXPECT_NE(
        error_of([&] { app::set_config_key(c, "engine.precision", "int4", "--precision"); }).find("int8"),
        std::string::npos);
}

// ---- the repository's configs ----

TEST(Config, RepositoryConfigsLoadAndValidate) {
    const fs::path configs = fs::path(RTDET_SOURCE_DIR) / "configs";
    ASSERT_TRUE(fs::is_directory(configs));
    int n = 0;
    for (const auto& entry : fs::directory_iterator(configs)) {
        if (entry.path().extension() != ".yaml") continue;
        ++n;
        SCOPED_TRACE(entry.path().string());
        AppConfig c;
        ASSERT_NO_THROW(app::load_config_file(entry.path().string(), c));
        if (app_test::data_dir().empty()) {
            // $DATA cannot expand without the data folder: validation must say so.
            const std::string e = error_of([&] { app::validate_config(c); });
            EXPECT_NE(e.find("RTDET_DATA"), std::string::npos) << e;
            continue;
        }
        EXPECT_EQ(error_of([&] { app::validate_config(c); }), "");
    }
    EXPECT_GE(n, 4);
}

// Without a data folder a config's $DATA paths stay as written (the command line may replace them);
// the ones still needed are reported by key, naming the flag and RTDET_DATA.
TEST(Config, DataPathsWithoutDataFolderAreReportedByKey) {
    const char* saved = std::getenv("RTDET_DATA");
    const std::string saved_data = saved ? saved : "";
    ::setenv("RTDET_DATA", "/nonexistent-rtdet-data", 1);
    AppConfig c;
    app::load_config_file((fs::path(RTDET_SOURCE_DIR) / "configs" / "yolo-fastest-xl.yaml").string(), c);
    EXPECT_EQ(c.model.rfind("$DATA/models/", 0), 0u) << c.model;
    std::string e = error_of([&] { app::validate_config(c); });
    EXPECT_EQ(e.rfind("model.path: $DATA/models/", 0), 0u) << e;
    EXPECT_NE(e.find("pass --model or set RTDET_DATA"), std::string::npos) << e;
    app::set_config_key(c, "model.path", (fs::path(RTDET_SOURCE_DIR) / "CMakeLists.txt").string(), "--model");
    e = error_of([&] { app::validate_config(c); });
    EXPECT_EQ(e.rfind("source: $DATA/videos/", 0), 0u) << e;
    EXPECT_NE(e.find("pass --source or set RTDET_DATA"), std::string::npos) << e;
    if (saved)
        ::setenv("RTDET_DATA", saved_data.c_str(), 1);
    else
        ::unsetenv("RTDET_DATA");
}

}  // namespace
