#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <variant>

#include "app/detector_options.h"
#include "app/media.h"
#include "detector/resources.h"
#include "engine/core/error.h"

namespace app {
namespace fs = std::filesystem;

namespace {

// ---- the schema: one row per key ----

// How a key's text is read. Each kind fills one type of field: String, Path and Enum a std::string,
// Int and AutoBool (1 yes, 0 no, -1 auto) an int, Int64 an int64_t, Float a float, Double a double,
// Bool a bool (fits() below; checked at compile time).
enum class Kind { String, Path, Enum, Int, Int64, Float, Double, Bool, AutoBool };

// A key's field: a function that returns a reference to it in an AppConfig, typed by the field.
template <class T>
using FieldOf = T& (*)(AppConfig&);
using Field = std::variant<FieldOf<std::string>, FieldOf<int>, FieldOf<int64_t>, FieldOf<float>,
                           FieldOf<double>, FieldOf<bool>>;

struct KeySpec {
    std::string_view key;
    Kind kind;
    double lo = 0, hi = 0;
    bool lo_open = false;      // range is (lo, hi] instead of [lo, hi]
    std::string_view choices;  // Enum: "a|b|c"
    Field field;
};

// Whether the key's kind fills the type of field it has.
constexpr bool fits(const KeySpec& k) {
    switch (k.kind) {
        case Kind::String:
        case Kind::Path:
        case Kind::Enum:
            return std::holds_alternative<FieldOf<std::string>>(k.field);
        case Kind::Int:
        case Kind::AutoBool:
            return std::holds_alternative<FieldOf<int>>(k.field);
        case Kind::Int64:
            return std::holds_alternative<FieldOf<int64_t>>(k.field);
        case Kind::Float:
            return std::holds_alternative<FieldOf<float>>(k.field);
        case Kind::Double:
            return std::holds_alternative<FieldOf<double>>(k.field);
        case Kind::Bool:
            return std::holds_alternative<FieldOf<bool>>(k.field);
    }
    return false;
}

// Key k's field in cfg, as T (fits(k) holds for every key, so the alternative is always there).
template <class T>
T& field_of(const KeySpec& k, AppConfig& cfg) {
    return std::get<FieldOf<T>>(k.field)(cfg);
}

constexpr double kMaxInt64Key = 1e15;

// clang-format off
constexpr KeySpec kKeys[] = {
    {"model.path",               Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.model; }},
    {"model.names",              Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.names; }},
    {"model.input_width",        Kind::Int,    0, 8192, false, "", [](AppConfig& c) -> auto& { return c.input_width; }},
    {"model.input_height",       Kind::Int,    0, 8192, false, "", [](AppConfig& c) -> auto& { return c.input_height; }},
    {"model.resize",             Kind::Enum,   0, 0, false, "model|darknet|stretch|letterbox", [](AppConfig& c) -> auto& { return c.resize; }},
    {"model.pad_value",          Kind::Float,  0, 1, false, "", [](AppConfig& c) -> auto& { return c.pad_value; }},
    {"model.random_weights",     Kind::Int64,  -1, 4294967295.0, false, "", [](AppConfig& c) -> auto& { return c.random_weights; }},
    {"detector.conf_threshold",  Kind::Float,  0, 1, true, "", [](AppConfig& c) -> auto& { return c.conf_threshold; }},
    {"detector.iou_threshold",   Kind::Float,  0, 1, true, "", [](AppConfig& c) -> auto& { return c.iou_threshold; }},
    {"detector.nms",             Kind::Enum,   0, 0, false, "per-class|agnostic", [](AppConfig& c) -> auto& { return c.nms; }},
    {"detector.max_detections",  Kind::Int,    0, 100000, false, "", [](AppConfig& c) -> auto& { return c.max_detections; }},
    {"engine.device",            Kind::Enum,   0, 0, false, "cpu|onednn|reference|cuda", [](AppConfig& c) -> auto& { return c.device; }},
    {"engine.precision",         Kind::Enum,   0, 0, false, "fp32|fp16|bf16|best|int8", [](AppConfig& c) -> auto& { return c.precision; }},
    {"engine.calibration",       Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.calib_cache; }},
    {"engine.threads",           Kind::Int,    0, 1024, false, "", [](AppConfig& c) -> auto& { return c.threads; }},
    {"engine.plan_cache_dir",    Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.plan_cache_dir; }},
    {"engine.peer",              Kind::Enum,   0, 0, false, "none|opencv", [](AppConfig& c) -> auto& { return c.peer; }},
    {"engine.gpu_wait",          Kind::Enum,   0, 0, false, "auto|spin|block", [](AppConfig& c) -> auto& { return c.gpu_wait; }},
    {"source",                   Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.source; }},
    {"outputs.video",            Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.outputs.video; }},
    {"outputs.video_codec",      Kind::Enum,   0, 0, false, "mp4v|MJPG", [](AppConfig& c) -> auto& { return c.outputs.video_codec; }},
    {"outputs.images_dir",       Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.outputs.images_dir; }},
    {"outputs.json",             Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.outputs.json; }},
    {"outputs.show",             Kind::AutoBool, 0, 0, false, "", [](AppConfig& c) -> auto& { return c.outputs.show; }},
    {"outputs.snapshot_dir",     Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.outputs.snapshot_dir; }},
    {"outputs.summary_json",     Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.outputs.summary_json; }},
    {"pipeline.queue_depth",     Kind::Int,    1, 256, false, "", [](AppConfig& c) -> auto& { return c.queue_depth; }},
    {"pipeline.max_batch",       Kind::Int,    1, 256, false, "", [](AppConfig& c) -> auto& { return c.max_batch; }},
    {"pipeline.batch_timeout_ms", Kind::Int,   0, 60000, false, "", [](AppConfig& c) -> auto& { return c.batch_timeout_ms; }},
    {"pipeline.inference_workers", Kind::Int,  0, 16, false, "", [](AppConfig& c) -> auto& { return c.inference_workers; }},
    {"pipeline.max_frames",      Kind::Int64,  0, kMaxInt64Key, false, "", [](AppConfig& c) -> auto& { return c.max_frames; }},
    {"pipeline.realtime",        Kind::Bool,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.realtime; }},
    {"pipeline.loop",            Kind::Bool,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.loop; }},
    {"pipeline.fps",             Kind::Double, 0, 1000, false, "", [](AppConfig& c) -> auto& { return c.fps; }},
    {"pipeline.shard",           Kind::String, 0, 0, false, "", [](AppConfig& c) -> auto& { return c.shard; }},
    {"pipeline.decode_threads",  Kind::Int,    1, 64, false, "", [](AppConfig& c) -> auto& { return c.decode_threads; }},
    {"reconnect.attempts",       Kind::Int,    0, 1000000, false, "", [](AppConfig& c) -> auto& { return c.reconnect.attempts; }},
    {"reconnect.interval_ms",    Kind::Int,    1, 600000, false, "", [](AppConfig& c) -> auto& { return c.reconnect.interval_ms; }},
    {"reconnect.timeout_ms",     Kind::Int,    100, 600000, false, "", [](AppConfig& c) -> auto& { return c.reconnect.timeout_ms; }},
    {"reconnect.open_timeout_ms", Kind::Int,   100, 600000, false, "", [](AppConfig& c) -> auto& { return c.reconnect.open_timeout_ms; }},
    // MQTT publishing (docs/mqtt.md). publish.username / publish.password: not from the command line
    // (set_config_key refuses them), and --print-config shows the password as ***.
    {"publish.url",              Kind::String, 0, 0, false, "", [](AppConfig& c) -> auto& { return c.publish.url; }},
    {"publish.qos",              Kind::Int,    0, 2, false, "", [](AppConfig& c) -> auto& { return c.publish.qos; }},
    {"publish.client_id",        Kind::String, 0, 0, false, "", [](AppConfig& c) -> auto& { return c.publish.client_id; }},
    {"publish.username",         Kind::String, 0, 0, false, "", [](AppConfig& c) -> auto& { return c.publish.username; }},
    {"publish.password",         Kind::String, 0, 0, false, "", [](AppConfig& c) -> auto& { return c.publish.password; }},
    {"publish.tls_ca",           Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.publish.tls_ca; }},
    {"publish.tls_cert",         Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.publish.tls_cert; }},
    {"publish.tls_key",          Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.publish.tls_key; }},
    {"publish.spool_dir",        Kind::Path,   0, 0, false, "", [](AppConfig& c) -> auto& { return c.publish.spool_dir; }},
    {"publish.spool_max_mb",     Kind::Float,  0, 1048576, false, "", [](AppConfig& c) -> auto& { return c.publish.spool_max_mb; }},
    {"publish.keepalive_s",      Kind::Int,    5, 65535, false, "", [](AppConfig& c) -> auto& { return c.publish.keepalive_s; }},
    {"publish.flush_timeout_s",  Kind::Int,    0, 3600, false, "", [](AppConfig& c) -> auto& { return c.publish.flush_timeout_s; }},
};
// clang-format on

static_assert(std::all_of(std::begin(kKeys), std::end(kKeys), fits),
              "a key's kind does not fit its field's type");

// The flags of `rtdet run` that set one key each (cmd_run.cpp adds them; the Python API takes their
// names as keywords).
// clang-format off
constexpr ConfigFlag kFlags[] = {
    {"--model",                 "model.path",              "FILE",      "ONNX model, darknet .cfg (.weights beside it) or .plan"},
    {"--names",                 "model.names",             "FILE",      "Class names file, one per line"},
    {"--width",                 "model.input_width",       "INT",       "Network input width (0: the model's; a darknet .cfg is converted at it)"},
    {"--height",                "model.input_height",      "INT",       "Network input height (0: the model's)"},
    {"--resize",                "model.resize",            "POLICY",    "model | darknet | stretch | letterbox"},
    {"--pad-value",             "model.pad_value",         "FLOAT",     "Letterbox padding value in [0, 1]"},
    {"--random-weights",        "model.random_weights",    "SEED",      "Darknet .cfg with random weights from this seed (speed work)"},
    {"--conf",                  "detector.conf_threshold", "FLOAT",     "Confidence threshold in (0, 1]"},
    {"--iou",                   "detector.iou_threshold",  "FLOAT",     "NMS IoU threshold in (0, 1]"},
    {"--nms",                   "detector.nms",            "MODE",      "per-class | agnostic"},
    {"--max-det",               "detector.max_detections", "INT",       "Most detections per frame (0: no limit)"},
    {"--device",                "engine.device",           "DEVICE",    "cpu | onednn | reference | cuda"},
    {"--precision",             "engine.precision",        "PRECISION", "fp32 | fp16 | bf16 | best | int8 (int8 needs --calib-cache)"},
    {"--calib-cache",           "engine.calibration",      "FILE",      "INT8 calibration cache (`rtdet calibrate`) for precision int8/best"},
    {"--threads",               "engine.threads",          "INT",       "Inference threads (0: all cores)"},
    {"--cache",                 "engine.plan_cache_dir",   "DIR",       "Plan cache folder (default: $RTDET_CACHE or ~/.cache/rtdet)"},
    {"--peer",                  "engine.peer",             "PEER",      "none | opencv: run the same pipeline on OpenCV DNN (comparison)"},
    {"-o,--video",              "outputs.video",           "FILE",      "Write the annotated video here (.mp4 / .avi)"},
    {"--codec",                 "outputs.video_codec",     "CODEC",     "mp4v | MJPG"},
    {"--images-dir",            "outputs.images_dir",      "DIR",       "Write annotated images into this folder"},
    {"--json",                  "outputs.json",            "FILE",      "Write detections as JSON lines (one per frame) here"},
    {"--snapshot-dir",          "outputs.snapshot_dir",    "DIR",       "Where the window's s key saves snapshots"},
    {"--summary-json",          "outputs.summary_json",    "FILE",      "Write the end-of-run summary as JSON here"},
    {"--publish",               "publish.url",             "URL",       "Publish one JSON message per frame over MQTT: mqtt[s]://HOST[:PORT]/TOPIC, TOPIC may hold {stream} and {name} (docs/mqtt.md)"},
    {"--queue-depth",           "pipeline.queue_depth",    "INT",       "Frames queued between stages"},
    {"--max-batch",             "pipeline.max_batch",      "INT",       "Frames per inference batch, taken across streams"},
    {"--batch-timeout-ms",      "pipeline.batch_timeout_ms", "MS",      "A batch not full waits this long after its first frame (0: what is ready)"},
    {"--inference-workers",     "pipeline.inference_workers", "INT",    "Batches in flight, each on its own context (0: 1 on CPU, 2 on cuda)"},
    {"--gpu-wait",              "engine.gpu_wait",         "MODE",      "auto|spin|block: how threads wait for the GPU (auto: CUDA's choice, spin)"},
    {"--fps",                   "pipeline.fps",            "FPS",       "Play files at this rate as live cameras (newest frame, drops counted)"},
    {"--shard",                 "pipeline.shard",          "I/N",       "Run only the streams whose index % N == I (one list, several processes)"},
    {"--max-frames",            "pipeline.max_frames",     "INT",       "Stop after this many frames (0: all)"},
    {"--decode-threads",        "pipeline.decode_threads", "INT",       "Files and folders: threads decoding images ahead (order kept)"},
    {"--reconnect-attempts",    "reconnect.attempts",      "INT",       "Live sources: reopen attempts after a loss (0: none)"},
    {"--reconnect-interval-ms", "reconnect.interval_ms",   "MS",        "Live sources: first wait before reopening (doubles, up to 8x)"},
    {"--stream-timeout-ms",     "reconnect.timeout_ms",    "MS",        "Live sources: open/read timeout that counts as a loss"},
    {"--open-timeout-ms",       "reconnect.open_timeout_ms", "MS",      "Live sources: how long opening (probing) a stream may take"},
};
// clang-format on

constexpr std::string_view kSections[] = {"model",    "detector",  "engine", "outputs",
                                          "pipeline", "reconnect", "publish"};

const KeySpec* find_key(std::string_view key) {
    for (const KeySpec& k : kKeys)
        if (k.key == key) return &k;
    return nullptr;
}

bool is_section(std::string_view key) {
    return std::find(std::begin(kSections), std::end(kSections), key) != std::end(kSections);
}

std::string section_keys(std::string_view section) {
    std::string out;
    for (const KeySpec& k : kKeys) {
        if (k.key.size() > section.size() && k.key.substr(0, section.size()) == section &&
            k.key[section.size()] == '.') {
            if (!out.empty()) out += ", ";
            out += k.key.substr(section.size() + 1);
        }
    }
    return out;
}

// Damerau-Levenshtein distances (optimal string alignment: insert, delete, replace, or swap two
// neighbouring characters) of `a` and `b`: whole to whole, `a` to the closest prefix of `b`, and the
// closest prefix of `a` to `b`.
struct EditDistances {
    size_t whole, a_to_prefix_of_b, prefix_of_a_to_b;
};

EditDistances edit_distances(std::string_view a, std::string_view b) {
    const size_t w = b.size() + 1;
    std::vector<size_t> d((a.size() + 1) * w);  // d[i * w + j]: a's first i characters, b's first j
    for (size_t i = 0; i <= a.size(); ++i) {
        for (size_t j = 0; j <= b.size(); ++j) {
            size_t& v = d[i * w + j];
            if (i == 0 || j == 0) {
                v = i + j;
                continue;
            }
            v = std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1,
                          d[(i - 1) * w + j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                v = std::min(v, d[(i - 2) * w + j - 2] + 1);
        }
    }
    EditDistances r{d.back(), SIZE_MAX, SIZE_MAX};
    for (size_t j = 0; j <= b.size(); ++j)
        r.a_to_prefix_of_b = std::min(r.a_to_prefix_of_b, d[a.size() * w + j]);
    for (size_t i = 0; i <= a.size(); ++i)
        r.prefix_of_a_to_b = std::min(r.prefix_of_a_to_b, d[i * w + b.size()]);
    return r;
}

std::string_view leaf_of(std::string_view key) {
    const size_t dot = key.rfind('.');
    return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

// How far a key's leaf (the part after the last dot) is from the leaf written, for "did you mean";
// SIZE_MAX when too far to suggest. A typo counts its edits, at most a third of what was written
// ("precison", "conf_treshold"). A leaf written short counts one edit more than its own: the start
// of the key's leaf with at most a quarter of what was written wrong ("conff" -> conf_threshold,
// "iou" -> iou_threshold), or the exact start of one of its later words ("cache" -> plan_cache_dir).
// So does the key's whole leaf with words added ("nms_mode" -> nms), at most a quarter of the leaf
// wrong. Under 3 characters: nothing.
size_t leaf_distance(std::string_view written, std::string_view leaf) {
    if (written.size() < 3) return SIZE_MAX;
    size_t best = SIZE_MAX;
    const auto consider = [&best](size_t edits, size_t limit, size_t extra) {
        if (edits <= limit) best = std::min(best, edits + extra);
    };
    const EditDistances d = edit_distances(written, leaf);
    consider(d.whole, std::max<size_t>(1, written.size() / 3), 0);
    consider(d.prefix_of_a_to_b, leaf.size() / 4, 1);
    for (size_t word = 0; word != std::string_view::npos;) {
        consider(edit_distances(written, leaf.substr(word)).a_to_prefix_of_b,
                 word == 0 ? written.size() / 4 : 0, 1);
        word = leaf.find('_', word);
        if (word != std::string_view::npos) ++word;
    }
    return best;
}

std::string format_number(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

std::string allowed(const KeySpec& k) {
    switch (k.kind) {
        case Kind::String:
        case Kind::Path:
            return "a string";
        case Kind::Enum: {
            std::string s = "one of ";
            for (char c : k.choices) s += c == '|' ? std::string(", ") : std::string(1, c);
            return s;
        }
        case Kind::Int:
        case Kind::Int64:
            return engine::concat("an integer in [", format_number(k.lo), ", ", format_number(k.hi), "]");
        case Kind::Float:
        case Kind::Double:
            return engine::concat("a number in ", k.lo_open ? "(" : "[", format_number(k.lo), ", ",
                                  format_number(k.hi), "]");
        case Kind::Bool:
            return "true or false";
        case Kind::AutoBool:
            return "true, false or auto";
    }
    return "?";
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::optional<bool> parse_bool(const std::string& text) {
    const std::string t = lower(trim(text));
    if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
    if (t == "false" || t == "no" || t == "off" || t == "0") return false;
    return std::nullopt;
}

constexpr std::string_view kDataVars[] = {"$DATA", "${DATA}"};

// The length of a leading $DATA / ${DATA} (followed by '/' or the end), else 0.
size_t data_var_length(std::string_view value) {
    for (std::string_view var : kDataVars)
        if (value.rfind(var, 0) == 0 && (value.size() == var.size() || value[var.size()] == '/'))
            return var.size();
    return 0;
}

// "$DATA/x" -> <data folder>/x. Without a data folder the value stays as written: a config may name
// files there that the command line replaces (--model, --source); validate_config() reports the ones
// still needed.
std::string expand_path(const std::string& value) {
    const size_t n = data_var_length(value);
    if (n == 0) return value;
    const fs::path data = detector::data_dir();
    if (data.empty()) return value;
    const std::string rest = value.substr(n);
    return rest.empty() ? data.string() : (data / rest.substr(1)).string();
}

// Parses `text` as key `k`'s type and stores it; throws with `where` ("file:line: key" or "--flag (key)").
void assign(AppConfig& cfg, const KeySpec& k, const std::string& text, const std::string& where) {
    const auto fail = [&](const char* problem) {
        ENGINE_THROW(where, ": ", problem, " ", allowed(k), " (got '", text, "')");
    };
    switch (k.kind) {
        case Kind::String:
            field_of<std::string>(k, cfg) = text;
            return;
        case Kind::Path:
            field_of<std::string>(k, cfg) = expand_path(text);
            return;
        case Kind::Enum: {
            std::string_view rest = k.choices;
            while (!rest.empty()) {
                const size_t bar = rest.find('|');
                const std::string_view choice = rest.substr(0, bar);
                if (lower(std::string(choice)) == lower(trim(text))) {
                    field_of<std::string>(k, cfg) = std::string(choice);
                    return;
                }
                rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
            }
            fail("must be");
            return;
        }
        case Kind::Int:
        case Kind::Int64: {
            const std::string t = trim(text);
            int64_t v = 0;
            const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
            if (t.empty() || ec != std::errc() || end != t.data() + t.size()) fail("expected");
            if (static_cast<double>(v) < k.lo || static_cast<double>(v) > k.hi) fail("must be");
            if (k.kind == Kind::Int)
                field_of<int>(k, cfg) = static_cast<int>(v);
            else
                field_of<int64_t>(k, cfg) = v;
            return;
        }
        case Kind::Float:
        case Kind::Double: {
            const std::string t = trim(text);
            char* end = nullptr;
            const double v = t.empty() ? NAN : std::strtod(t.c_str(), &end);
            if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v)) fail("expected");
            if ((k.lo_open ? v <= k.lo : v < k.lo) || v > k.hi) fail("must be");
            if (k.kind == Kind::Double)
                field_of<double>(k, cfg) = v;
            else
                field_of<float>(k, cfg) = static_cast<float>(v);
            return;
        }
        case Kind::Bool: {
            const auto b = parse_bool(text);
            if (!b) fail("expected");
            field_of<bool>(k, cfg) = *b;
            return;
        }
        case Kind::AutoBool: {
            if (lower(trim(text)) == "auto") {
                field_of<int>(k, cfg) = -1;
                return;
            }
            const auto b = parse_bool(text);
            if (!b) fail("expected");
            field_of<int>(k, cfg) = *b ? 1 : 0;
            return;
        }
    }
}

// "unknown key 'x'", with the closest key; else with the keys of its section, when that one exists.
std::string unknown_key_message(std::string_view key) {
    const std::string_view near = is_section(key) ? std::string_view() : closest_config_key(key);
    if (!near.empty()) return engine::concat("unknown key '", key, "' (did you mean '", near, "'?)");
    const size_t dot = key.rfind('.');
    const std::string_view section = is_section(key) ? key : key.substr(0, dot == key.npos ? 0 : dot);
    if (is_section(section))
        return engine::concat("unknown key '", key, "' (keys of ", section, ": ", section_keys(section), ")");
    return engine::concat("unknown key '", key, "' (rtdet run --print-config shows every key)");
}

std::string node_kind(const YAML::Node& n) {
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    if (n.IsNull()) return "nothing";
    return engine::concat("'", n.Scalar(), "'");
}

// `sources:` — a list; each entry a URI, or a mapping {uri, name, realtime, loop, fps}.
void parse_sources(const YAML::Node& value, const std::string& at, const std::string& origin,
                   AppConfig& cfg) {
    cfg.sources.clear();
    if (value.IsNull()) return;
    ENGINE_CHECK(value.IsSequence(), at,
                 ": sources: expected a list of sources (each a URI, or a mapping with uri, "
                 "name, realtime, loop, fps), got ",
                 node_kind(value));
    for (const YAML::Node& e : value) {
        const std::string where =
            engine::concat(origin, ":", e.Mark().line + 1, ": sources[", cfg.sources.size(), "]");
        StreamConfig s;
        if (e.IsScalar()) {
            s.uri = expand_path(e.Scalar());
        } else {
            ENGINE_CHECK(e.IsMap(), where,
                         ": expected a URI or a mapping (uri, name, realtime, loop, fps), got ",
                         node_kind(e));
            for (const auto& kv : e) {
                const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
                const YAML::Node v = kv.second;
                const std::string w = engine::concat(where, ".", k);
                ENGINE_CHECK(v.IsScalar(), w, ": expected a value, got ", node_kind(v));
                const std::string text = v.Scalar();
                if (k == "uri") {
                    s.uri = expand_path(text);
                } else if (k == "name") {
                    s.name = text;
                } else if (k == "realtime" || k == "loop") {
                    const auto b = parse_bool(text);
                    ENGINE_CHECK(b.has_value(), w, ": expected true or false (got '", text, "')");
                    (k == "realtime" ? s.realtime : s.loop) = *b ? 1 : 0;
                } else if (k == "fps") {
                    char* end = nullptr;
                    const double f = std::strtod(text.c_str(), &end);
                    ENGINE_CHECK(!text.empty() && end == text.c_str() + text.size() && std::isfinite(f) &&
                                     f > 0 && f <= 1000,
                                 w, ": expected a number in (0, 1000] (got '", text, "')");
                    s.fps = f;
                } else {
                    ENGINE_THROW(w, ": unknown key '", k,
                                 "' (keys of a source: uri, name, realtime, loop, fps)");
                }
            }
        }
        ENGINE_CHECK(!trim(s.uri).empty(), where,
                     ": uri: empty (a camera index, device, URL, file, folder, glob, list "
                     "or .streams file)");
        cfg.sources.push_back(std::move(s));
    }
}

void walk(const YAML::Node& map, const std::string& prefix, const std::string& origin, AppConfig& cfg) {
    for (const auto& entry : map) {  // entry: a (key, value) pair of nodes, by value
        const YAML::Node key = entry.first;
        const YAML::Node value = entry.second;
        const std::string at = engine::concat(origin, ":", key.Mark().line + 1);
        ENGINE_CHECK(key.IsScalar(), at, ": keys must be plain names (got ", node_kind(key), ")");
        const std::string name = key.Scalar();
        const std::string full = prefix.empty() ? name : prefix + "." + name;
        if (const KeySpec* k = find_key(full)) {
            const std::string where = engine::concat(at, ": ", full);
            if (value.IsNull()) {
                ENGINE_CHECK(k->kind == Kind::String || k->kind == Kind::Path, where, ": expected ",
                             allowed(*k), " (got nothing)");
                assign(cfg, *k, "", where);
            } else {
                ENGINE_CHECK(value.IsScalar(), where, ": expected ", allowed(*k), " (got ", node_kind(value),
                             ")");
                assign(cfg, *k, value.Scalar(), where);
            }
        } else if (full == "sources") {
            parse_sources(value, at, origin, cfg);
        } else if (is_section(full)) {
            if (value.IsNull()) continue;
            ENGINE_CHECK(value.IsMap(), at, ": ", full, ": expected a mapping of keys (", section_keys(full),
                         "), got ", node_kind(value));
            walk(value, full, origin, cfg);
        } else {
            ENGINE_THROW(at, ": ", unknown_key_message(full));
        }
    }
}

}  // namespace

std::span<const ConfigFlag> config_flags() { return kFlags; }

std::vector<std::string_view> config_keys() {
    std::vector<std::string_view> keys;
    for (const KeySpec& k : kKeys) keys.push_back(k.key);
    return keys;
}

std::string_view closest_config_key(std::string_view key) {
    // The closest leaf first (whatever the section: a key in the wrong section, or written without
    // one, is found by its own name); among equals, the key whose whole name is closest (the section
    // written counts), then the first in alphabetical order.
    std::string_view best;
    // No key's leaf is longer than 20 characters, so a leaf written 3 times that long is no typo of
    // one; and the edit distances cost its length times each key's (a fuzzed config with a
    // kilobyte-long key spent milliseconds here per key).
    constexpr size_t kMaxLeafToMatch = 60;
    if (leaf_of(key).size() > kMaxLeafToMatch) return best;
    size_t best_leaf = SIZE_MAX, best_whole = SIZE_MAX;
    for (const KeySpec& k : kKeys) {
        const size_t d = leaf_distance(leaf_of(key), leaf_of(k.key));
        if (d == SIZE_MAX || d > best_leaf) continue;
        const size_t whole = edit_distances(key, k.key).whole;
        if (d < best_leaf || whole < best_whole || (whole == best_whole && k.key < best)) {
            best = k.key;
            best_leaf = d;
            best_whole = whole;
        }
    }
    return best;
}

void load_config_text(const std::string& yaml, const std::string& origin, AppConfig& cfg) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        ENGINE_THROW(origin, ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax error: ", e.msg);
    }
    if (root.IsNull()) return;
    ENGINE_CHECK(root.IsMap(), origin,
                 ": expected a mapping of keys at the top (model, detector, engine, source, "
                 "sources, outputs, pipeline, reconnect, publish), got ",
                 node_kind(root));
    walk(root, "", origin, cfg);
}

void load_config_file(const std::string& path, AppConfig& cfg) {
    std::error_code ec;
    ENGINE_CHECK(fs::is_regular_file(path, ec), "config file not found: ", path);
    std::ifstream in(path);
    ENGINE_CHECK(in, "cannot read config file ", path);
    std::stringstream ss;
    ss << in.rdbuf();
    load_config_text(ss.str(), path, cfg);
}

void set_config_key(AppConfig& cfg, std::string_view key, const std::string& value, std::string_view origin) {
    const KeySpec* k = find_key(key);
    ENGINE_CHECK(k != nullptr, origin, ": ", unknown_key_message(key));
    // Credentials on the command line show in the process list and shell history (the value is not
    // repeated here either).
    ENGINE_CHECK(key != "publish.password" && key != "publish.username", origin, ": ", key,
                 " cannot be given on the command line (it would show in the process list and shell "
                 "history); put it in the config file, or set ",
                 key == "publish.password" ? "RTDET_MQTT_PASSWORD" : "RTDET_MQTT_USERNAME");
    assign(cfg, *k, value, engine::concat(origin, " (", key, ")"));
}

bool show_window(const AppConfig& cfg) {
    if (cfg.outputs.show >= 0) return cfg.outputs.show == 1;
    if (!media::features().window) return false;  // no window without OpenCV (highgui): auto means headless
    const char* d = std::getenv("DISPLAY");
    return d != nullptr && *d != '\0';
}

namespace {

// A value still starting with $DATA (no data folder to expand it): names the key and what to do.
void check_data_var(const char* key, const std::string& value, const char* flag) {
    ENGINE_CHECK(data_var_length(value) == 0, key, ": ", value, ": no data folder for $DATA: pass ", flag,
                 " or set RTDET_DATA to the folder holding models/, videos/ (scripts/fetch_model.sh "
                 "downloads the default model)");
}

// The $DATA paths still needed: the model's, and a run's first source when `source`.
void check_data_vars(const AppConfig& cfg, bool source) {
    check_data_var("model.path", cfg.model, "--model");
    check_data_var("model.names", cfg.names, "--names");
    if (source) check_data_var("source", cfg.sources.empty() ? cfg.source : cfg.sources[0].uri, "--source");
}

}  // namespace

void validate_model_config(const AppConfig& cfg) {
    std::error_code ec;
    check_data_vars(cfg, false);
    ENGINE_CHECK(!cfg.model.empty(),
                 "model.path: not set (an .onnx model, a darknet .cfg or a .plan; --model)");
    ENGINE_CHECK(fs::is_regular_file(cfg.model, ec), "model.path: file not found: ", cfg.model);
    const std::string ext = lower(fs::path(cfg.model).extension().string());
    ENGINE_CHECK(ext == ".onnx" || ext == ".cfg" || ext == ".plan", "model.path: unsupported model file ",
                 cfg.model, " (expected .onnx, darknet .cfg, or .plan)");
    if (cfg.random_weights >= 0) {
        ENGINE_CHECK(ext == ".cfg", "model.random_weights: only for a darknet .cfg model (model.path is ",
                     cfg.model, ")");
    } else if (ext == ".cfg") {
        const fs::path weights = fs::path(cfg.model).replace_extension(".weights");
        ENGINE_CHECK(fs::is_regular_file(weights, ec),
                     "model.path: darknet weights not found: ", weights.string(), " (expected beside ",
                     cfg.model, "; or set model.random_weights for random weights)");
    }
    ENGINE_CHECK((cfg.input_width == 0) == (cfg.input_height == 0),
                 "model.input_width/input_height: set both or neither (got ", cfg.input_width, "x",
                 cfg.input_height, ")");
    for (const auto& [key, v] :
         {std::pair{"model.input_width", cfg.input_width}, {"model.input_height", cfg.input_height}})
        ENGINE_CHECK(v == 0 || (v >= 32 && v % 32 == 0), key,
                     ": must be 0 (the model's) or a multiple of 32 >= 32 (got ", v, ")");
    if (!cfg.names.empty())
        ENGINE_CHECK(fs::is_regular_file(cfg.names, ec), "model.names: file not found: ", cfg.names);
    if (ext == ".plan")
        ENGINE_CHECK(cfg.peer == "none",
                     "engine.peer: the OpenCV peer needs an .onnx or .cfg model (model.path is a plan)");
    check_calibration_request(cfg.precision, ext == ".plan", cfg.calib_cache, "engine.precision",
                              "engine.calibration (--calib-cache)");
    if (!cfg.calib_cache.empty())
        ENGINE_CHECK(fs::is_regular_file(cfg.calib_cache, ec),
                     "engine.calibration: file not found: ", cfg.calib_cache);
}

std::vector<StreamPlan> validate_config(const AppConfig& cfg) {
    std::error_code ec;
    check_data_vars(cfg, true);
    validate_model_config(cfg);
    // The sources: one that cannot run is a configuration error when it is the only one; among several,
    // the run goes on with the others and reports it by name (plan_streams, run_app).
    const std::vector<StreamPlan> streams = plan_streams(cfg);
    if (streams.size() == 1 && !streams[0].error.empty()) ENGINE_THROW(streams[0].error);
    if (std::all_of(streams.begin(), streams.end(), [](const StreamPlan& p) { return !p.error.empty(); })) {
        std::string all;
        for (const StreamPlan& p : streams)
            all += engine::concat("; stream ", p.index, " (", p.name, "): ", p.error);
        ENGINE_THROW("sources: none of the ", streams.size(), " sources can run", all);
    }
    if (cfg.fps > 0)
        ENGINE_CHECK(std::any_of(streams.begin(), streams.end(), [](const StreamPlan& p) { return p.paced; }),
                     "pipeline.fps: paces files and folders; every source here is live");
    // What this build's I/O (app/media.h) cannot do: the build without OpenCV writes JSON lines only.
    const media::Features& can = media::features();
    constexpr const char* kLean =
        "needs a build with OpenCV; this build (without OpenCV) writes JSON lines (outputs.json) and the "
        "summary only";
    ENGINE_CHECK(can.video || cfg.outputs.video.empty(), "outputs.video: writing a video (",
                 cfg.outputs.video, ") ", kLean);
    ENGINE_CHECK(can.drawing || cfg.outputs.images_dir.empty(),
                 "outputs.images_dir: writing annotated images (", cfg.outputs.images_dir, ") ", kLean);
    ENGINE_CHECK(can.window || cfg.outputs.show != 1, "outputs.show: the window ", kLean, "; use --headless");
    ENGINE_CHECK(can.opencv_peer || cfg.peer == "none",
                 "engine.peer: opencv needs a build with OpenCV (this build runs rtdet only)");
    if (!cfg.publish.url.empty()) {
#if !RTDET_WITH_MQTT
        ENGINE_THROW(
            "publish.url: this build has no MQTT (libmosquitto-dev was not found when it was "
            "configured; install it and configure again)");
#endif
        const MqttUrl url = parse_mqtt_url(cfg.publish.url);  // throws "publish.url: ..."
        for (const auto& [key, path] : {std::pair{"publish.tls_ca", &cfg.publish.tls_ca},
                                        {"publish.tls_cert", &cfg.publish.tls_cert},
                                        {"publish.tls_key", &cfg.publish.tls_key}}) {
            if (path->empty()) continue;
            ENGINE_CHECK(url.tls, key, ": set, but publish.url is mqtt:// (TLS needs mqtts://)");
            ENGINE_CHECK(fs::is_regular_file(*path, ec), key, ": file not found: ", *path);
        }
        ENGINE_CHECK(cfg.publish.tls_cert.empty() == cfg.publish.tls_key.empty(),
                     "publish.tls_cert/tls_key: set both (client certificate and its key) or neither");
    }
    if (show_window(cfg) && cfg.outputs.show == 1) {
        const char* d = std::getenv("DISPLAY");
        ENGINE_CHECK(d != nullptr && *d != '\0',
                     "outputs.show: true, but there is no display ($DISPLAY is not set); use --headless");
    }
    return streams;
}

// A string value for config_to_yaml: plain where YAML reads it back as written, else double-quoted
// with escapes (control characters, line breaks, spaces at either end). yaml-cpp's emitter writes a
// value ending in '\r' plain, and the '\n' after it makes a CRLF line break on reading: one
// character lost (found by fuzz_yaml_config).
namespace {

struct YamlText {
    const std::string& s;
};
YamlText yaml_text(const std::string& s) { return {s}; }
YAML::Emitter& operator<<(YAML::Emitter& out, YamlText t) {
    bool quote = !t.s.empty() && (std::isspace(static_cast<unsigned char>(t.s.front())) ||
                                  std::isspace(static_cast<unsigned char>(t.s.back())));
    for (const char ch : t.s) quote = quote || static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
    if (quote) out << YAML::DoubleQuoted;
    return out << t.s;
}

}  // namespace

std::string config_to_yaml(const AppConfig& c) {
    YAML::Emitter out;
    out.SetFloatPrecision(6);
    out << YAML::BeginMap;
    out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "path" << YAML::Value << yaml_text(c.model) << YAML::Key << "names" << YAML::Value
        << yaml_text(c.names);
    out << YAML::Key << "input_width" << YAML::Value << c.input_width << YAML::Key << "input_height"
        << YAML::Value << c.input_height;
    out << YAML::Key << "resize" << YAML::Value << yaml_text(c.resize) << YAML::Key << "pad_value"
        << YAML::Value << c.pad_value;
    out << YAML::Key << "random_weights" << YAML::Value << c.random_weights << YAML::EndMap;
    out << YAML::Key << "detector" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "conf_threshold" << YAML::Value << c.conf_threshold << YAML::Key << "iou_threshold"
        << YAML::Value << c.iou_threshold;
    out << YAML::Key << "nms" << YAML::Value << yaml_text(c.nms) << YAML::Key << "max_detections"
        << YAML::Value << c.max_detections << YAML::EndMap;
    out << YAML::Key << "engine" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "device" << YAML::Value << yaml_text(c.device) << YAML::Key << "precision"
        << YAML::Value << yaml_text(c.precision);
    out << YAML::Key << "calibration" << YAML::Value << yaml_text(c.calib_cache);
    out << YAML::Key << "threads" << YAML::Value << c.threads << YAML::Key << "plan_cache_dir" << YAML::Value
        << yaml_text(c.plan_cache_dir) << YAML::Key << "peer" << YAML::Value << yaml_text(c.peer) << YAML::Key
        << "gpu_wait" << YAML::Value << yaml_text(c.gpu_wait) << YAML::EndMap;
    out << YAML::Key << "source" << YAML::Value << yaml_text(c.source);
    if (!c.sources.empty()) {
        out << YAML::Key << "sources" << YAML::Value << YAML::BeginSeq;
        for (const StreamConfig& s : c.sources) {
            out << YAML::BeginMap << YAML::Key << "uri" << YAML::Value << yaml_text(s.uri);
            if (!s.name.empty()) out << YAML::Key << "name" << YAML::Value << yaml_text(s.name);
            if (s.realtime >= 0) out << YAML::Key << "realtime" << YAML::Value << (s.realtime == 1);
            if (s.loop >= 0) out << YAML::Key << "loop" << YAML::Value << (s.loop == 1);
            if (s.fps > 0) out << YAML::Key << "fps" << YAML::Value << s.fps;
            out << YAML::EndMap;
        }
        out << YAML::EndSeq;
    }
    out << YAML::Key << "outputs" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "video" << YAML::Value << yaml_text(c.outputs.video) << YAML::Key << "video_codec"
        << YAML::Value << yaml_text(c.outputs.video_codec);
    out << YAML::Key << "images_dir" << YAML::Value << yaml_text(c.outputs.images_dir) << YAML::Key << "json"
        << YAML::Value << yaml_text(c.outputs.json);
    out << YAML::Key << "show" << YAML::Value
        << (c.outputs.show < 0 ? "auto"
            : c.outputs.show   ? "true"
                               : "false");
    out << YAML::Key << "snapshot_dir" << YAML::Value << yaml_text(c.outputs.snapshot_dir) << YAML::Key
        << "summary_json" << YAML::Value << yaml_text(c.outputs.summary_json) << YAML::EndMap;
    out << YAML::Key << "pipeline" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "queue_depth" << YAML::Value << c.queue_depth << YAML::Key << "max_batch"
        << YAML::Value << c.max_batch << YAML::Key << "batch_timeout_ms" << YAML::Value << c.batch_timeout_ms
        << YAML::Key << "inference_workers" << YAML::Value << c.inference_workers;
    out << YAML::Key << "max_frames" << YAML::Value << c.max_frames << YAML::Key << "realtime" << YAML::Value
        << c.realtime << YAML::Key << "fps" << YAML::Value << c.fps << YAML::Key << "loop" << YAML::Value
        << c.loop << YAML::Key << "decode_threads" << YAML::Value << c.decode_threads << YAML::Key << "shard"
        << YAML::Value << yaml_text(c.shard) << YAML::EndMap;
    out << YAML::Key << "reconnect" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "attempts" << YAML::Value << c.reconnect.attempts << YAML::Key << "interval_ms"
        << YAML::Value << c.reconnect.interval_ms << YAML::Key << "timeout_ms" << YAML::Value
        << c.reconnect.timeout_ms << YAML::Key << "open_timeout_ms" << YAML::Value
        << c.reconnect.open_timeout_ms << YAML::EndMap;
    const PublishConfig& p = c.publish;
    out << YAML::Key << "publish" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "url" << YAML::Value << yaml_text(p.url) << YAML::Key << "qos" << YAML::Value
        << p.qos;
    out << YAML::Key << "client_id" << YAML::Value << yaml_text(p.client_id) << YAML::Key << "username"
        << YAML::Value << yaml_text(p.username);
    out << YAML::Key << "password" << YAML::Value << (p.password.empty() ? "" : "***");  // never the secret
    out << YAML::Key << "tls_ca" << YAML::Value << yaml_text(p.tls_ca) << YAML::Key << "tls_cert"
        << YAML::Value << yaml_text(p.tls_cert) << YAML::Key << "tls_key" << YAML::Value
        << yaml_text(p.tls_key);
    out << YAML::Key << "spool_dir" << YAML::Value << yaml_text(p.spool_dir) << YAML::Key << "spool_max_mb"
        << YAML::Value << p.spool_max_mb;
    out << YAML::Key << "keepalive_s" << YAML::Value << p.keepalive_s << YAML::Key << "flush_timeout_s"
        << YAML::Value << p.flush_timeout_s;
    out << YAML::EndMap << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

std::string default_config_path() {
    std::error_code ec;
    const fs::path here = "configs/yolo-fastest-xl.yaml";
    if (!detector::is_installed() && fs::is_regular_file(here, ec)) return here.string();
    return detector::project_file("configs/yolo-fastest-xl.yaml").string();
}

}  // namespace app
