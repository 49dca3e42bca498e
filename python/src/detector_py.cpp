// rtdet.Detector: the detector facade (detector/detector.h) configured by the same keys as `rtdet run`'s
// YAML (app/config.h), called on 8-bit BGR numpy images; rtdet.Result: one image's detections.
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "app/detect_json.h"
#include "app/detector_options.h"
#include "app/inference_stage.h"
#include "detector/detector.h"
#include "detector/labels.h"
#include "engine/core/error.h"
#include "python/src/py_common.h"

namespace pyrtdet {
namespace {

using Names = std::shared_ptr<const std::vector<std::string>>;

// One image's detections, copied out of the Detector's reused vectors.
struct Result {
    std::vector<detector::Detection> dets;
    Names names;
    int width = 0, height = 0;
    detector::StageTimes times;  // of the call (a batch: the whole batch's stages)

    py::array_t<float> boxes() const {
        py::array_t<float> a({static_cast<py::ssize_t>(dets.size()), py::ssize_t{4}});
        float* p = a.mutable_data();
        for (const detector::Detection& d : dets) {
            *p++ = d.box.x1;
            *p++ = d.box.y1;
            *p++ = d.box.x2;
            *p++ = d.box.y2;
        }
        return a;
    }
    template <class T, class F>
    py::array_t<T> column(F field) const {
        py::array_t<T> a(static_cast<py::ssize_t>(dets.size()));
        T* p = a.mutable_data();
        for (const detector::Detection& d : dets) *p++ = static_cast<T>(field(d));
        return a;
    }
    py::list labels() const {
        py::list out;
        for (const detector::Detection& d : dets) out.append(detector::class_name(*names, d.class_id));
        return out;
    }
    py::dict times_dict() const {
        py::dict t;
        t["preprocess_ms"] = times.preprocess_ms;
        t["inference_ms"] = times.inference_ms;
        t["postprocess_ms"] = times.postprocess_ms;
        return t;
    }
    // The per-image object of `rtdet detect --json`, without "file" and the read time.
    std::string to_json(int indent) const {
        const nlohmann::json j = {{"width", width},
                                  {"height", height},
                                  {"time_ms",
                                   {{"preprocess", times.preprocess_ms},
                                    {"inference", times.inference_ms},
                                    {"postprocess", times.postprocess_ms}}},
                                  {"detections", app::detections_json(dets, *names)}};
        return j.dump(indent);
    }
    std::string repr() const {
        std::string s = "<rtdet.Result " + std::to_string(width) + "x" + std::to_string(height) + ", " +
                        std::to_string(dets.size()) + " detections";
        for (size_t i = 0; i < dets.size() && i < 5; ++i) {
            char score[16];
            std::snprintf(score, sizeof score, " %.2f", dets[i].score);
            s += (i ? ", " : ": ") + detector::class_name(*names, dets[i].class_id) + score;
        }
        return s + (dets.size() > 5 ? ", ...>" : ">");
    }
};

std::string type_name(const py::handle& o) {
    return py::str(py::type::of(o).attr("__name__")).cast<std::string>();
}

std::string shape_text(const py::array& a) { return py::str(py::tuple(a.attr("shape"))).cast<std::string>(); }

// An image argument as the Detector's view: uint8, H x W x 3 (BGR), pixels packed within a row. Rows may
// be apart by any positive stride (a crop of a larger image is used in place); any other layout (a
// channel-reversed view, a column step, a Fortran-ordered array) is copied to a packed one first.
// `keep` holds the array the view points into.
detector::ImageView image_view(const py::handle& obj, py::array& keep, const std::string& what) {
    if (!py::isinstance<py::array>(obj))
        throw py::type_error(what + ": expected a numpy array (H x W x 3, uint8, BGR), got " +
                             type_name(obj));
    py::array a = py::reinterpret_borrow<py::array>(obj);
    const std::string dtype = py::str(a.dtype()).cast<std::string>();
    if (dtype != "uint8")
        throw py::type_error(what + ": dtype " + dtype + ", expected uint8 (8-bit BGR, OpenCV's convention)");
    if (a.ndim() != 3 || a.shape(2) != 3) {
        std::string hint;
        if (a.ndim() == 2 || (a.ndim() == 3 && a.shape(2) == 1))
            hint = "; a grey image: cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)";
        else if (a.ndim() == 3 && a.shape(2) == 4)
            hint = "; BGRA: cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)";
        throw py::value_error(what + ": shape " + shape_text(a) + ", expected (H, W, 3): 3 channels, BGR" +
                              hint);
    }
    if (a.shape(0) < 1 || a.shape(1) < 1)
        throw py::value_error(what + ": empty image, shape " + shape_text(a));
    const bool packed_rows = a.strides(2) == 1 && a.strides(1) == 3 && a.strides(0) >= 3 * a.shape(1);
    if (!packed_rows) a = py::array::ensure(a, py::array::c_style);
    keep = a;
    return {static_cast<const uint8_t*>(a.data()), static_cast<int>(a.shape(1)), static_cast<int>(a.shape(0)),
            static_cast<int64_t>(a.strides(0))};
}

// A keyword's value as the text the config schema parses (as if written in the YAML file).
std::string value_text(const py::handle& v, const std::string& origin) {
    if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? "true" : "false";
    if (py::isinstance<py::int_>(v)) return py::str(v).cast<std::string>();
    if (py::isinstance<py::float_>(v)) return py::repr(v).cast<std::string>();
    if (is_path(v)) return path_of(v, origin.c_str());
    throw py::type_error(origin + ": expected a str, number or bool, got " + type_name(v));
}

std::string_view leaf_of(std::string_view key) {
    const size_t dot = key.rfind('.');
    return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

// A keyword's config key: a run flag's long name without its dashes ('-' as '_': conf, iou, max_det,
// cache), a key's last part (conf_threshold, plan_cache_dir) or a whole key (in config={...}).
std::string config_key_of(const std::string& name) {
    for (std::string_view key : app::config_keys())
        if (key == name) return name;
    std::string dashed = "--" + name;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    for (const app::ConfigFlag& f : app::config_flags()) {
        std::string_view flag = f.flag;
        if (const size_t comma = flag.find(','); comma != std::string_view::npos)
            flag = flag.substr(comma + 1);
        if (flag == dashed) return f.key;
    }
    for (std::string_view key : app::config_keys())
        if (leaf_of(key) == name) return std::string(key);
    return "";
}

std::string detector_keys_list() {
    std::string out;
    for (std::string_view key : app::config_keys())
        if (app::is_detector_key(key) && key != "model.path")
            out += (out.empty() ? "" : ", ") + std::string(leaf_of(key));
    return out;
}

// Sets one Detector keyword (`name`, as written) in cfg. Unknown names and keys of `rtdet run` alone
// are TypeErrors naming the nearest key or the Detector's keys; bad values are rtdet.Error from the
// schema ("Detector(conf=) (detector.conf_threshold): must be a number in (0, 1] (got '1.5')").
void set_keyword(app::AppConfig& cfg, const std::string& name, const py::handle& value) {
    const std::string key = config_key_of(name);
    if (key.empty()) {
        const std::string_view near = app::closest_config_key(name);
        throw py::type_error("Detector(): unknown keyword '" + name + "'" +
                             (near.empty() || !app::is_detector_key(near)
                                  ? " (its keywords: " + detector_keys_list() + ")"
                                  : " (did you mean '" + std::string(leaf_of(near)) + "'?)"));
    }
    if (!app::is_detector_key(key))
        throw py::type_error("Detector(): '" + name + "' (" + key +
                             ") is a key of `rtdet run` (sources, outputs, pipeline), not of a Detector (its "
                             "keywords: " +
                             detector_keys_list() + ")");
    if (value.is_none()) return;  // None: the default
    const std::string origin = "Detector(" + name + "=)";
    app::set_config_key(cfg, key, value_text(value, origin), origin);
}

class PyDetector {
  public:
    PyDetector(const py::object& model, const py::object& config, const py::kwargs& kwargs) {
        if (!config.is_none()) {
            if (is_path(config)) {
                app::load_config_file(path_of(config, "Detector(config=)"), cfg_);
            } else if (py::isinstance<py::dict>(config)) {
                for (const auto& [k, v] : config.cast<py::dict>()) {
                    if (!py::isinstance<py::str>(k))
                        throw py::type_error("Detector(config=): keys must be str");
                    set_keyword(cfg_, k.cast<std::string>(), v);
                }
            } else {
                throw py::type_error(
                    "Detector(config=): a YAML file (str, os.PathLike) or a dict of keys, got " +
                    type_name(config));
            }
        }
        for (const auto& [k, v] : kwargs) set_keyword(cfg_, k.cast<std::string>(), v);
        if (!model.is_none())
            app::set_config_key(cfg_, "model.path", path_of(model, "Detector(model)"), "Detector(model)");
        {
            py::gil_scoped_release release;
            if (cfg_.model.empty()) cfg_.model = app::default_model_path();
            app::validate_model_config(cfg_);
            det_ = std::make_unique<detector::Detector>(app::detector_config(cfg_));
        }
        names_ = std::make_shared<const std::vector<std::string>>(det_->class_names());
    }

    // det(image) -> Result; det([images]) -> [Result], in batches of up to max_batch.
    py::object call(const py::object& images) {
        const bool one = !(py::isinstance<py::list>(images) || py::isinstance<py::tuple>(images));
        std::vector<py::array> keep;
        std::vector<detector::ImageView> views;
        if (one) {
            keep.resize(1);
            views.push_back(image_view(images, keep[0], "image"));
        } else {
            const py::sequence seq = images.cast<py::sequence>();
            keep.resize(seq.size());
            for (size_t i = 0; i < seq.size(); ++i)
                views.push_back(image_view(seq[i], keep[i], "images[" + std::to_string(i) + "]"));
        }
        std::vector<Result> results(views.size());
        {
            py::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(mu_);  // waited for without the GIL
            const size_t batch = static_cast<size_t>(det_->max_batch());
            for (size_t start = 0; start < views.size(); start += batch) {
                const size_t n = std::min(batch, views.size() - start);
                const auto& dets = det_->detect(std::span(views.data() + start, n));
                for (size_t i = 0; i < n; ++i) {
                    Result& r = results[start + i];
                    r.dets = dets[i];
                    r.names = names_;
                    r.width = views[start + i].width;
                    r.height = views[start + i].height;
                    r.times = det_->last_times();
                }
            }
            last_times_ = results.empty() ? detector::StageTimes{} : results.back().times;
        }
        if (one) return py::cast(std::move(results[0]));
        py::list out;
        for (Result& r : results) out.append(py::cast(std::move(r)));
        return out;
    }

    // For scripts/bench/python_overhead.py: `iterations` detect() calls on one image from C++ alone (the
    // GIL released), the C++ side of the comparison. Returns the seconds they took.
    double detect_native(const py::object& image, int iterations) {
        py::array keep;
        const detector::ImageView view = image_view(image, keep, "image");
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mu_);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < iterations; ++i) det_->detect(view);
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }

    const detector::Detector& det() const { return *det_; }
    const app::AppConfig& config() const { return cfg_; }
    const Names& names() const { return names_; }
    detector::StageTimes last_times() {
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mu_);
        return last_times_;
    }

  private:
    app::AppConfig cfg_;
    std::unique_ptr<detector::Detector> det_;
    Names names_;
    std::mutex mu_;
    detector::StageTimes last_times_;
};

}  // namespace

void bind_detector(py::module_& m) {
    py::class_<Result>(m, "Result", "One image's detections (boxes in image pixels).")
        .def_property_readonly("boxes", &Result::boxes, "N x 4 float32: x1, y1, x2, y2 in image pixels")
        .def_property_readonly(
            "scores", [](const Result& r) { return r.column<float>([](const auto& d) { return d.score; }); },
            "N float32: objectness x class probability")
        .def_property_readonly(
            "class_ids",
            [](const Result& r) { return r.column<int64_t>([](const auto& d) { return d.class_id; }); },
            "N int64")
        .def_property_readonly(
            "objectness",
            [](const Result& r) { return r.column<float>([](const auto& d) { return d.objectness; }); },
            "N float32")
        .def_property_readonly("labels", &Result::labels, "the class name of each detection")
        .def_property_readonly(
            "class_names", [](const Result& r) { return *r.names; }, "the model's class names")
        .def_readonly("width", &Result::width, "the image's width")
        .def_readonly("height", &Result::height, "the image's height")
        .def_property_readonly("times", &Result::times_dict,
                               "stage times of the call, ms: preprocess_ms, inference_ms, postprocess_ms (a "
                               "batch: the batch's)")
        .def(
            "to_json", &Result::to_json, py::arg("indent") = -1,
            "As `rtdet detect --json` writes one image (without file and read time): width, height, time_ms, "
            "detections [{class_id, class, score, box {x, y, w, h}}].")
        .def("__len__", [](const Result& r) { return r.dets.size(); })
        .def("__repr__", &Result::repr);

    py::class_<PyDetector>(m, "Detector", R"(The detector: model -> plan (built once, cached) -> detections.

Detector(model=None, *, config=None, device="cpu", precision="fp32", conf=0.25, iou=0.45, **keys)

model: .onnx, darknet .cfg (.weights beside it) or .plan (default: Yolo-Fastest-1.1-XL from the data
folder, as `rtdet detect`). Keywords: every key of the YAML config that makes a detector, by its last
part (conf_threshold, iou_threshold, nms, max_detections, names, input_width, input_height, resize,
pad_value, random_weights, device, precision, threads, plan_cache_dir, max_batch) or by its `rtdet run`
flag (conf, iou, max_det, width, height, cache, ...); defaults as in the config schema. config: a YAML
file (configs/*.yaml) or a dict of keys, applied first.)")
        .def(py::init<const py::object&, const py::object&, const py::kwargs&>(),
             py::arg("model") = py::none(), py::kw_only(), py::arg("config") = py::none())
        .def(
            "__call__", &PyDetector::call, py::arg("images"),
            "det(image) -> Result; det([image, ...]) -> [Result, ...] (batched up to max_batch). An image is "
            "a uint8 numpy array H x W x 3, BGR (OpenCV's). The GIL is released while it runs.")
        .def("_detect_native", &PyDetector::detect_native, py::arg("image"), py::arg("iterations"),
             "Benchmark hook: `iterations` detections of one image from C++ alone; returns seconds.")
        .def_property_readonly("class_names", [](const PyDetector& d) { return *d.names(); })
        .def_property_readonly(
            "input_size",
            [](const PyDetector& d) { return py::make_tuple(d.det().input_width(), d.det().input_height()); },
            "(width, height) of the network input")
        .def_property_readonly("max_batch", [](const PyDetector& d) { return d.det().max_batch(); })
        .def_property_readonly("resize",
                               [](const PyDetector& d) {
                                   return std::string(detector::resize_policy_name(d.det().resize_policy()));
                               })
        .def_property_readonly("model", [](const PyDetector& d) { return d.config().model; })
        .def_property_readonly("device", [](const PyDetector& d) { return d.config().device; })
        .def_property_readonly("precision", [](const PyDetector& d) { return d.config().precision; })
        .def_property_readonly(
            "plan_origin", [](const PyDetector& d) { return d.det().plan_origin(); },
            "where the plan came from: built, cache hit, rebuilt (why), loaded")
        .def_property_readonly(
            "plan", [](const PyDetector& d) { return app::describe_plan(d.det()); },
            "one line about the plan, as `rtdet detect` logs it")
        .def_property_readonly(
            "last_times",
            [](PyDetector& d) {
                Result r;
                r.times = d.last_times();
                return r.times_dict();
            },
            "stage times of the last call, ms")
        .def("__repr__", [](const PyDetector& d) {
            return "<rtdet.Detector " + d.config().model + ", " + d.config().device + " " +
                   d.config().precision + ", " + std::to_string(d.det().input_width()) + "x" +
                   std::to_string(d.det().input_height()) + ", max batch " +
                   std::to_string(d.det().max_batch()) + ">";
        });
}

}  // namespace pyrtdet
