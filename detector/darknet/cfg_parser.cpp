#include "detector/darknet/cfg_parser.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>

#include "engine/core/checked.h"
#include "engine/core/error.h"

namespace detector {
namespace {

// Keys any layer may carry that only affect training (AlexeyAB reads them for every layer).
constexpr std::array<std::string_view, 6> kTrainingKeysAnyLayer = {
    "stopbackward", "dont_update", "burnin_update", "train_only_bn", "learning_rate", "onlyforward"};

constexpr std::array<std::string_view, 58> kTrainingKeysNet = {"batch",
                                                               "subdivisions",
                                                               "momentum",
                                                               "decay",
                                                               "angle",
                                                               "saturation",
                                                               "exposure",
                                                               "hue",
                                                               "learning_rate",
                                                               "burn_in",
                                                               "max_batches",
                                                               "policy",
                                                               "steps",
                                                               "scales",
                                                               "step",
                                                               "gamma",
                                                               "power",
                                                               "scale",
                                                               "seed",
                                                               "max_crop",
                                                               "min_crop",
                                                               "aspect",
                                                               "flip",
                                                               "blur",
                                                               "mosaic",
                                                               "mosaic_bound",
                                                               "mixup",
                                                               "cutmix",
                                                               "gaussian_noise",
                                                               "label_smooth_eps",
                                                               "adam",
                                                               "B1",
                                                               "B2",
                                                               "eps",
                                                               "time_steps",
                                                               "track",
                                                               "augment_speed",
                                                               "sequential_subdivisions",
                                                               "init_sequential_subdivisions",
                                                               "try_fix_nan",
                                                               "loss_scale",
                                                               "dynamic_minibatch",
                                                               "optimized_memory",
                                                               "workspace_size_limit_MB",
                                                               "max_chart_loss",
                                                               "contrastive",
                                                               "contrastive_jit_flip",
                                                               "contrastive_color",
                                                               "unsupervised",
                                                               "equidistant_point",
                                                               "ema_alpha",
                                                               "weights_reject_freq",
                                                               "num_sigmas_reject_badlabels",
                                                               "badlabels_rejection_percentage",
                                                               "adversarial_lr",
                                                               "attention",
                                                               "show_imgs",
                                                               "resize_step"};

constexpr std::array<std::string_view, 1> kTrainingKeysConvolutional = {"assisted_excitation"};

constexpr std::array<std::string_view, 30> kTrainingKeysYolo = {"jitter",
                                                                "ignore_thresh",
                                                                "truth_thresh",
                                                                "random",
                                                                "iou_thresh",
                                                                "cls_normalizer",
                                                                "iou_normalizer",
                                                                "obj_normalizer",
                                                                "iou_loss",
                                                                "iou_thresh_kind",
                                                                "nms_kind",
                                                                "beta_nms",
                                                                "max_delta",
                                                                "resize",
                                                                "counters_per_class",
                                                                "label_smooth_eps",
                                                                "focal_loss",
                                                                "max",
                                                                "map",
                                                                "objectness_smooth",
                                                                "uc_normalizer",
                                                                "delta_normalizer",
                                                                "show_details",
                                                                "thresh",
                                                                "track_history_size",
                                                                "sim_thres",
                                                                "dets_for_track",
                                                                "dets_for_show",
                                                                "track_ciou_norm",
                                                                "rescore"};

constexpr std::array<std::string_view, 4> kTrainingKeysDropout = {"probability", "dropblock",
                                                                  "dropblock_size_rel", "dropblock_size_abs"};

// Largest magnitude of an integer value, and of a layer's output channels/height/width: far beyond any
// real network, small enough that shape arithmetic cannot overflow.
constexpr int kMaxCfgInt = 1 << 20;
// Largest parameter count of one layer (2^36 floats: a 256 GiB weights file).
constexpr double kMaxLayerParams = 68719476736.0;

struct Entry {
    std::string key;
    std::string value;
    int line = 0;
    bool used = false;
};

struct Section {
    std::string name;
    int line = 0;
    std::vector<Entry> entries;
};

template <typename... Args>
[[noreturn]] void fail(const std::string& source, int line, const Args&... args) {
    ENGINE_THROW(source, ":", line, ": ", args...);
}

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view key) {
    return std::find(list.begin(), list.end(), key) != list.end();
}

bool is_training_key(const std::string& section, std::string_view key) {
    if (contains(kTrainingKeysAnyLayer, key)) return true;
    if (section == "net" || section == "network") return contains(kTrainingKeysNet, key);
    if (section == "convolutional" || section == "conv") return contains(kTrainingKeysConvolutional, key);
    if (section == "yolo") return contains(kTrainingKeysYolo, key);
    if (section == "dropout") return contains(kTrainingKeysDropout, key);
    return false;
}

std::vector<Section> read_sections(const std::string& text, const std::string& source) {
    std::vector<Section> sections;
    std::istringstream in(text);
    std::string raw;
    int line_no = 0;
    while (std::getline(in, raw)) {
        ++line_no;
        std::string line;
        for (char ch : raw)
            if (!std::isspace(static_cast<unsigned char>(ch))) line += ch;
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        if (line[0] == '[') {
            if (line.back() != ']' || line.size() < 3)
                fail(source, line_no, "malformed section header '", line, "' (expected '[name]')");
            sections.push_back({line.substr(1, line.size() - 2), line_no, {}});
            continue;
        }
        const size_t eq = line.find('=');
        if (eq == std::string::npos || eq == 0)
            fail(source, line_no, "expected 'key=value' or '[section]', got '", line, "'");
        if (sections.empty())
            fail(source, line_no, "key '", line.substr(0, eq), "' before the first [section]");
        Section& s = sections.back();
        std::string key = line.substr(0, eq);
        for (const Entry& e : s.entries)
            if (e.key == key && !is_training_key(s.name, key))
                fail(source, line_no, "duplicate key '", key, "' in [", s.name, "] (first set on line ",
                     e.line, ")");
        s.entries.push_back({std::move(key), line.substr(eq + 1), line_no, false});
    }
    return sections;
}

// Typed access to one section's keys; remembers which were read so leftovers can be reported.
class SectionReader {
  public:
    SectionReader(Section& section, const std::string& source) : section_(section), source_(source) {}

    const Entry* find(std::string_view key) {
        for (Entry& e : section_.entries)
            if (e.key == key) {
                e.used = true;
                return &e;
            }
        return nullptr;
    }
    bool has(std::string_view key) {
        for (const Entry& e : section_.entries)
            if (e.key == key) return true;
        return false;
    }

    int get_int(std::string_view key, int fallback) {
        const Entry* e = find(key);
        return e ? parse_int(*e, e->value) : fallback;
    }
    float get_float(std::string_view key, float fallback) {
        const Entry* e = find(key);
        return e ? parse_float(*e, e->value) : fallback;
    }
    std::string get_string(std::string_view key, const std::string& fallback) {
        const Entry* e = find(key);
        return e ? e->value : fallback;
    }
    std::vector<int> get_int_list(std::string_view key, int* line) {
        const Entry* e = find(key);
        std::vector<int> out;
        if (!e) return out;
        *line = e->line;
        for (const std::string& item : split(*e)) out.push_back(parse_int(*e, item));
        return out;
    }
    std::vector<float> get_float_list(std::string_view key) {
        const Entry* e = find(key);
        std::vector<float> out;
        if (!e) return out;
        for (const std::string& item : split(*e)) out.push_back(parse_float(*e, item));
        return out;
    }
    // Integer key that must be at least `min`.
    int get_int_min(std::string_view key, int fallback, int min) {
        const int v = get_int(key, fallback);
        if (v < min) fail_value(key, ", must be >= ", min);
        return v;
    }
    // Key accepted only at its default value (it exists in darknet but changes the network in a way
    // we do not support).
    void require_default(std::string_view key, int default_value) {
        const Entry* e = find(key);
        if (e && parse_int(*e, e->value) != default_value)
            fail(source_, e->line, "unsupported value ", key, "=", e->value, " in [", section_.name,
                 "] (only ", default_value, " is supported)");
    }
    template <typename... Args>
    [[noreturn]] void fail_value(std::string_view key, const Args&... args) {
        for (const Entry& e : section_.entries)
            if (e.key == key)
                fail(source_, e.line, "bad value ", key, "=", e.value, " in [", section_.name, "]", args...);
        fail(source_, section_.line, "missing key '", key, "' in [", section_.name, "]", args...);
    }
    template <typename... Args>
    [[noreturn]] void fail_section(const Args&... args) {
        fail(source_, section_.line, "[", section_.name, "]: ", args...);
    }
    // Throws for the first key that was neither read nor is a known training-only key.
    void check_all_used() {
        for (const Entry& e : section_.entries)
            if (!e.used && !is_training_key(section_.name, e.key))
                fail(source_, e.line, "unknown key '", e.key, "' in [", section_.name, "]");
    }
    const Section& section() const { return section_; }

  private:
    int parse_int(const Entry& e, const std::string& text) {
        int v = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, v);
        if (ec != std::errc() || ptr != end || text.empty())
            fail(source_, e.line, "bad value ", e.key, "=", e.value, " in [", section_.name,
                 "]: expected an integer");
        if (v < -kMaxCfgInt || v > kMaxCfgInt)
            fail(source_, e.line, "bad value ", e.key, "=", e.value, " in [", section_.name,
                 "]: expected an integer in [", -kMaxCfgInt, ", ", kMaxCfgInt, "]");
        return v;
    }
    float parse_float(const Entry& e, const std::string& text) {
        char* end = nullptr;
        errno = 0;
        const float v = std::strtof(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v))
            fail(source_, e.line, "bad value ", e.key, "=", e.value, " in [", section_.name,
                 "]: expected a number");
        return v;
    }
    std::vector<std::string> split(const Entry& e) {
        std::vector<std::string> items;
        std::string cur;
        for (char ch : e.value) {
            if (ch == ',') {
                items.push_back(cur);
                cur.clear();
            } else {
                cur += ch;
            }
        }
        if (!cur.empty()) items.push_back(cur);  // darknet tolerates one trailing comma
        for (const std::string& item : items)
            if (item.empty())
                fail(source_, e.line, "bad value ", e.key, "=", e.value, " in [", section_.name,
                     "]: empty list item");
        return items;
    }

    Section& section_;
    const std::string& source_;
};

DarknetActivation parse_activation(SectionReader& r, const std::string& fallback) {
    const std::string name = r.get_string("activation", fallback);
    static constexpr std::array<DarknetActivation, 7> kAll = {
        DarknetActivation::Linear,   DarknetActivation::Leaky, DarknetActivation::Relu,
        DarknetActivation::Logistic, DarknetActivation::Tanh,  DarknetActivation::Mish,
        DarknetActivation::Swish};
    for (DarknetActivation a : kAll)
        if (name == darknet_activation_name(a)) return a;
    r.fail_value("activation",
                 ": unsupported activation (supported: linear, leaky, relu, logistic, tanh, mish, swish)");
}

// Resolves a [route]/[shortcut] reference (negative: relative) to an absolute index < `index`.
int resolve_layer_ref(SectionReader& r, std::string_view key, int value, int index, int line,
                      const std::string& source) {
    const int abs = value < 0 ? index + value : value;
    if (abs < 0 || abs >= index) {
        const std::string allowed = index == 0
                                        ? "it is the first layer"
                                        : engine::concat("layer ", index, " can use layers 0..", index - 1);
        fail(source, line, "[", r.section().name, "] ", key, "=", value, " refers to layer ", abs,
             ", which does not exist before this layer (", allowed, ")");
    }
    return abs;
}

DarknetLayer parse_layer(Section& s, int index, const std::string& source) {
    SectionReader r(s, source);
    DarknetLayer l;
    l.line = s.line;
    const std::string& name = s.name;
    if (name == "convolutional" || name == "conv") {
        l.type = DarknetLayerType::Convolutional;
        l.filters = r.get_int_min("filters", 1, 1);
        l.size = r.get_int_min("size", 1, 1);
        const int stride = r.get_int_min("stride", 1, 1);
        l.stride_x = r.get_int_min("stride_x", stride, 1);
        l.stride_y = r.get_int_min("stride_y", stride, 1);
        const int pad = r.get_int("pad", 0);
        l.padding = r.get_int_min("padding", 0, 0);
        if (pad) l.padding = l.size / 2;
        l.groups = r.get_int_min("groups", 1, 1);
        l.batch_normalize = r.get_int("batch_normalize", 0) != 0;
        l.activation = parse_activation(r, "logistic");
        r.require_default("dilation", 1);
        r.require_default("binary", 0);
        r.require_default("xnor", 0);
        r.require_default("flipped", 0);
        r.require_default("antialiasing", 0);
        if (l.filters % l.groups != 0)
            r.fail_value("groups", ": filters=", l.filters, " is not divisible by groups=", l.groups);
    } else if (name == "shortcut") {
        l.type = DarknetLayerType::Shortcut;
        int line = s.line;
        const std::vector<int> from = r.get_int_list("from", &line);
        if (from.size() != 1) r.fail_section("expected exactly one layer in 'from'");
        l.inputs.push_back(resolve_layer_ref(r, "from", from[0], index, line, source));
        l.activation = parse_activation(r, "linear");
    } else if (name == "route") {
        l.type = DarknetLayerType::Route;
        int line = s.line;
        const std::vector<int> layers = r.get_int_list("layers", &line);
        if (layers.empty()) r.fail_section("missing 'layers'");
        for (int v : layers) l.inputs.push_back(resolve_layer_ref(r, "layers", v, index, line, source));
        l.groups = r.get_int_min("groups", 1, 1);
        l.group_id = r.get_int_min("group_id", 0, 0);
        if (l.group_id >= l.groups) r.fail_value("group_id", ", must be < groups=", l.groups);
    } else if (name == "upsample") {
        l.type = DarknetLayerType::Upsample;
        l.stride_x = l.stride_y = r.get_int_min("stride", 2, 1);
        if (r.get_float("scale", 1.f) != 1.f) r.fail_value("scale", " (only 1 is supported)");
    } else if (name == "maxpool" || name == "max") {
        l.type = DarknetLayerType::Maxpool;
        const int stride = r.get_int_min("stride", 1, 1);
        l.stride_x = r.get_int_min("stride_x", stride, 1);
        l.stride_y = r.get_int_min("stride_y", stride, 1);
        l.size = r.get_int_min("size", stride, 1);
        l.padding = r.get_int_min("padding", l.size - 1, 0);
        r.require_default("maxpool_depth", 0);
        r.require_default("antialiasing", 0);
    } else if (name == "dropout") {
        l.type = DarknetLayerType::Dropout;
    } else if (name == "yolo") {
        l.type = DarknetLayerType::Yolo;
        l.classes = r.get_int_min("classes", 20, 1);
        l.num = r.get_int_min("num", 1, 1);
        int line = s.line;
        l.mask = r.get_int_list("mask", &line);
        if (l.mask.empty())
            for (int i = 0; i < l.num; ++i) l.mask.push_back(i);
        for (int m : l.mask)
            if (m < 0 || m >= l.num)
                r.fail_value("mask", ": mask ", m, " is outside 0..num-1 (num=", l.num, ")");
        if (!r.has("anchors")) r.fail_section("missing 'anchors'");
        l.anchors = r.get_float_list("anchors");
        if (l.anchors.size() != static_cast<size_t>(2 * l.num))
            r.fail_value("anchors", ": expected num*2 = ", 2 * l.num, " numbers, got ", l.anchors.size());
        l.scale_x_y = r.get_float("scale_x_y", 1.f);
        if (l.scale_x_y <= 0.f) r.fail_value("scale_x_y", ", must be > 0");
        r.require_default("new_coords", 0);
    } else if (name == "net" || name == "network") {
        fail(source, s.line, "[", name, "] must be the first section only");
    } else {
        static constexpr std::array<std::string_view, 14> kKnownUnsupported = {
            "region", "avgpool",        "avg",   "connected", "softmax", "reorg",     "reorg3d",
            "sam",    "scale_channels", "local", "crop",      "cost",    "batchnorm", "Gaussian_yolo"};
        if (contains(kKnownUnsupported, name))
            fail(source, s.line, "unsupported section [", name,
                 "] (supported: net, convolutional, shortcut, route, upsample, maxpool, dropout, yolo)");
        fail(source, s.line, "unknown section [", name, "]");
    }
    r.check_all_used();
    return l;
}

int64_t pooled_size(int64_t in, int64_t padding, int64_t size, int64_t stride) {
    const int64_t span = in + padding - size;
    return span < 0 ? 0 : span / stride + 1;
}

}  // namespace

const char* darknet_layer_type_name(DarknetLayerType type) {
    switch (type) {
        case DarknetLayerType::Convolutional:
            return "convolutional";
        case DarknetLayerType::Shortcut:
            return "shortcut";
        case DarknetLayerType::Route:
            return "route";
        case DarknetLayerType::Upsample:
            return "upsample";
        case DarknetLayerType::Maxpool:
            return "maxpool";
        case DarknetLayerType::Dropout:
            return "dropout";
        case DarknetLayerType::Yolo:
            return "yolo";
    }
    return "?";
}

const char* darknet_activation_name(DarknetActivation act) {
    switch (act) {
        case DarknetActivation::Linear:
            return "linear";
        case DarknetActivation::Leaky:
            return "leaky";
        case DarknetActivation::Relu:
            return "relu";
        case DarknetActivation::Logistic:
            return "logistic";
        case DarknetActivation::Tanh:
            return "tanh";
        case DarknetActivation::Mish:
            return "mish";
        case DarknetActivation::Swish:
            return "swish";
    }
    return "?";
}

DarknetModel parse_cfg_text(const std::string& text, const std::string& source) {
    std::vector<Section> sections = read_sections(text, source);
    if (sections.empty()) ENGINE_THROW(source, ": no sections (expected [net] followed by layers)");
    Section& net = sections.front();
    if (net.name != "net" && net.name != "network")
        fail(source, net.line, "the first section must be [net], got [", net.name, "]");
    DarknetModel model;
    model.cfg_path = source;
    {
        SectionReader r(net, source);
        model.width = r.get_int_min("width", 0, 1);
        model.height = r.get_int_min("height", 0, 1);
        model.channels = r.get_int_min("channels", 0, 1);
        model.letterbox = r.get_int("letterbox", 0) != 0 || r.get_int("letter_box", 0) != 0;
        r.check_all_used();
    }
    if (sections.size() == 1) ENGINE_THROW(source, ": no layers after [net]");
    for (size_t i = 1; i < sections.size(); ++i)
        model.layers.push_back(parse_layer(sections[i], static_cast<int>(i - 1), source));
    infer_darknet_shapes(model, model.width, model.height);
    return model;
}

DarknetModel parse_cfg(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) ENGINE_THROW(path, ": cannot open darknet cfg file");
    std::ostringstream ss;
    ss << f.rdbuf();
    return parse_cfg_text(ss.str(), path);
}

void infer_darknet_shapes(DarknetModel& model, int width, int height) {
    const std::string& src = model.cfg_path;
    ENGINE_CHECK(width > 0 && height > 0, src, ": input size must be positive, got ", width, "x", height);
    int64_t c = model.channels, h = height, w = width;
    for (size_t i = 0; i < model.layers.size(); ++i) {
        DarknetLayer& l = model.layers[i];
        const char* type = darknet_layer_type_name(l.type);
        l.in_c = static_cast<int>(c);
        l.in_h = static_cast<int>(h);
        l.in_w = static_cast<int>(w);
        switch (l.type) {
            case DarknetLayerType::Convolutional:
                if (c % l.groups != 0)
                    fail(src, l.line, "[", type, "] (layer ", i, "): input channels ", c,
                         " are not divisible by groups=", l.groups);
                if (static_cast<double>(l.filters) * static_cast<double>(c / l.groups) * l.size * l.size >
                    kMaxLayerParams)
                    fail(src, l.line, "[", type, "] (layer ", i, "): ", l.filters, " filters of ",
                         c / l.groups, "x", l.size, "x", l.size, " are more than 2^36 parameters");
                c = l.filters;
                h = pooled_size(h, 2 * int64_t{l.padding}, l.size, l.stride_y);
                w = pooled_size(w, 2 * int64_t{l.padding}, l.size, l.stride_x);
                break;
            case DarknetLayerType::Shortcut: {
                const DarknetLayer& from = model.layers[l.inputs[0]];
                if (from.out_c != c || from.out_h != h || from.out_w != w)
                    fail(src, l.line, "[", type, "] (layer ", i, "): layer ", l.inputs[0], " output ",
                         from.out_c, "x", from.out_h, "x", from.out_w, " differs from the previous layer's ",
                         c, "x", h, "x", w, " at input ", width, "x", height);
                break;
            }
            case DarknetLayerType::Route: {
                c = 0;
                for (size_t k = 0; k < l.inputs.size(); ++k) {
                    const DarknetLayer& in = model.layers[l.inputs[k]];
                    if (in.out_c % l.groups != 0)
                        fail(src, l.line, "[", type, "] (layer ", i, "): layer ", l.inputs[k], " has ",
                             in.out_c, " channels, not divisible by groups=", l.groups);
                    if (k > 0 && (in.out_h != h || in.out_w != w))
                        fail(src, l.line, "[", type, "] (layer ", i, "): layer ", l.inputs[k], " is ",
                             in.out_h, "x", in.out_w, " but layer ", l.inputs[0], " is ", h, "x", w,
                             " at input ", width, "x", height);
                    h = in.out_h;
                    w = in.out_w;
                    c = engine::checked_add(c, in.out_c / l.groups, "[route] channels");
                }
                break;
            }
            case DarknetLayerType::Upsample:
                h = engine::checked_mul(h, l.stride_y, "[upsample] output height");
                w = engine::checked_mul(w, l.stride_x, "[upsample] output width");
                break;
            case DarknetLayerType::Maxpool:
                h = pooled_size(h, l.padding, l.size, l.stride_y);
                w = pooled_size(w, l.padding, l.size, l.stride_x);
                break;
            case DarknetLayerType::Dropout:
                break;
            case DarknetLayerType::Yolo: {
                const int64_t expected = static_cast<int64_t>(l.mask.size()) * (l.classes + 5);
                if (c != expected)
                    fail(src, l.line, "[", type, "] (layer ", i, "): input has ", c,
                         " channels, expected len(mask)*(classes+5) = ", expected);
                break;
            }
        }
        if (h <= 0 || w <= 0)
            fail(src, l.line, "[", type, "] (layer ", i, "): output is empty at input ", width, "x", height);
        if (c > kMaxCfgInt || h > kMaxCfgInt || w > kMaxCfgInt)
            fail(src, l.line, "[", type, "] (layer ", i, "): output ", c, "x", h, "x", w, " at input ", width,
                 "x", height, " exceeds ", kMaxCfgInt, " in some dimension");
        l.out_c = static_cast<int>(c);
        l.out_h = static_cast<int>(h);
        l.out_w = static_cast<int>(w);
    }
}

int64_t darknet_layer_param_count(const DarknetLayer& l) {
    if (l.type != DarknetLayerType::Convolutional) return 0;
    const int64_t per_filter = (l.batch_normalize ? 4 : 1);
    const std::array<int64_t, 4> weight_dims{l.filters, l.in_c / l.groups, l.size, l.size};
    return engine::checked_add(per_filter * l.filters,
                               engine::checked_numel(weight_dims, "convolution weights"),
                               "convolution parameters");
}

int64_t darknet_param_count(const DarknetModel& model) {
    int64_t n = 0;
    for (const DarknetLayer& l : model.layers)
        n = engine::checked_add(n, darknet_layer_param_count(l), "parameter count");
    return n;
}

}  // namespace detector
