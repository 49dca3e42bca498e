// The engine in TensorRT's shape: rtdet.build() -> plan bytes (or file), rtdet.Engine(plan) ->
// engine.create_context() -> ctx.run({name: float32 array}) -> {name: float32 array}.
#include <pybind11/stl.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/commands.h"
#include "detector/plan_cache.h"
#include "engine/builder/builder.h"
#include "engine/core/error.h"
#include "engine/runtime/runtime.h"
#include "python/src/py_common.h"

namespace pyrtdet {
namespace {

// One graph input or output as Python sees it: shape at max batch, dim 0 the batch when `batched`.
struct TensorDesc {
    std::string name;
    std::vector<int64_t> shape;
    bool batched = true;
    std::string dtype = "float32";  // plan inputs and outputs are FP32 at every precision
};

std::vector<TensorDesc> descs(const std::vector<engine::IoDesc>& io) {
    std::vector<TensorDesc> out;
    for (const engine::IoDesc& d : io) out.push_back({d.name, d.shape, d.batched});
    return out;
}

std::string shape_text(const std::vector<int64_t>& s) { return engine::shape_str(s); }

std::string shape_of(const py::array& a) {
    std::vector<int64_t> s(a.shape(), a.shape() + a.ndim());
    return shape_text(s);
}

class PyEngine {
  public:
    explicit PyEngine(engine::Plan plan) : plan_(std::move(plan)) { engine_ = engine::Engine::load(plan_); }

    const engine::Plan& plan() const { return plan_; }
    const std::shared_ptr<engine::Engine>& engine() const { return engine_; }
    const engine::PlanInfo& info() const { return engine_->info(); }

  private:
    engine::Plan plan_;
    std::shared_ptr<engine::Engine> engine_;
};

// The Engine from a path (str, os.PathLike) or plan bytes (any object with the buffer protocol).
std::shared_ptr<PyEngine> load_engine(const py::object& plan) {
    if (is_path(plan)) {
        const std::string path = path_of(plan, "Engine(plan)");
        py::gil_scoped_release release;
        return std::make_shared<PyEngine>(engine::Plan::load(path));
    }
    if (!PyObject_CheckBuffer(plan.ptr()))
        throw py::type_error("Engine(plan): expected a plan file path or plan bytes, got " +
                             py::str(py::type::of(plan).attr("__name__")).cast<std::string>());
    const py::buffer_info b = py::buffer(plan).request();
    std::vector<std::byte> bytes(static_cast<size_t>(b.size * b.itemsize));
    if (!bytes.empty()) std::memcpy(bytes.data(), b.ptr, bytes.size());
    py::gil_scoped_release release;
    return std::make_shared<PyEngine>(engine::Plan::from_bytes(std::move(bytes), "<plan bytes>"));
}

class PyContext {
  public:
    PyContext(std::shared_ptr<PyEngine> eng, int threads, bool profile) : engine_(std::move(eng)) {
        ctx_ = engine_->engine()->create_context(threads);
        ctx_->set_profiling(profile);
        profiling_ = profile;
    }

    const std::shared_ptr<PyEngine>& engine() const { return engine_; }

    // ctx.run(inputs, batch=None, copy=True): see the docstring in bind_engine.
    py::dict run(const py::object& self, const py::object& inputs, std::optional<int> batch, bool copy) {
        const engine::PlanInfo& info = engine_->info();
        std::vector<std::optional<py::array>> arrays(info.inputs.size());
        collect_inputs(inputs, arrays);
        const int n = batch_of(arrays, batch);
        std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
        {
            py::gil_scoped_release release;
            lock.lock();  // never waited for with the GIL held (the holder may be waiting for the GIL)
            for (size_t i = 0; i < arrays.size(); ++i)  // not given, or input_buffer() itself: as it is
                if (arrays[i] && arrays[i]->data() != ctx_->input(i))
                    std::memcpy(ctx_->input(i), arrays[i]->data(), static_cast<size_t>(arrays[i]->nbytes()));
            ctx_->run(n);
        }
        py::dict out;
        for (size_t i = 0; i < info.outputs.size(); ++i) {
            const engine::Shape s = ctx_->output_shape(i, n);
            const float* p = ctx_->output(i);
            py::array_t<float> a;
            if (copy) {
                a = py::array_t<float>(s);
                std::memcpy(a.mutable_data(), p, static_cast<size_t>(a.nbytes()));
            } else {
                a = py::array_t<float>(s, p, self);  // a view; `self` keeps the context alive
                a.attr("setflags")(py::arg("write") = false);
            }
            out[py::str(info.outputs[i].name)] = std::move(a);
        }
        return out;
    }

    // A writable view of input `name`'s buffer (max batch): filled in place, then ctx.run(None, batch=n).
    py::array input_buffer(const py::object& self, const std::string& name) {
        const size_t i = index_of(engine_->info().inputs, name, "input");
        return py::array_t<float>(ctx_->input_shape(i, engine_->info().max_batch), ctx_->input(i), self);
    }

    void set_profiling(bool on) {
        std::unique_lock<std::mutex> lock = lock_without_gil();
        ctx_->set_profiling(on);
        profiling_ = on;
    }
    bool profiling() const { return profiling_; }

    py::list profile() {
        std::unique_lock<std::mutex> lock = lock_without_gil();
        py::list out;
        for (const engine::LayerTiming& t : ctx_->profile()) {
            if (t.runs == 0) continue;  // not profiled yet
            py::dict d;
            d["name"] = t.name;
            d["op"] = t.op;
            d["backend"] = t.backend;
            d["total_ms"] = t.total_ms;
            d["runs"] = t.runs;
            d["mean_ms"] = t.runs > 0 ? t.total_ms / t.runs : 0.0;
            out.append(std::move(d));
        }
        return out;
    }

    size_t arena_bytes() const { return ctx_->arena_bytes(); }

  private:
    // The context's lock, waited for without the GIL (a thread holding it may be waiting for the GIL).
    std::unique_lock<std::mutex> lock_without_gil() {
        py::gil_scoped_release release;
        return std::unique_lock<std::mutex>(mu_);
    }

    static size_t index_of(const std::vector<engine::IoDesc>& io, const std::string& name, const char* what) {
        std::string names;
        for (size_t i = 0; i < io.size(); ++i) {
            if (io[i].name == name) return i;
            names += (i ? ", '" : "'") + io[i].name + "'";
        }
        throw py::key_error(std::string("no ") + what + " named '" + name + "' (the plan's: " + names + ")");
    }

    // inputs: {name: array}, a list/tuple in the plan's input order, one array for a one-input plan, or
    // None (every input as its buffer holds it). Each array is checked (float32, rank, dims past the
    // batch) and made C-contiguous (a copy only when it is not).
    void collect_inputs(const py::object& inputs, std::vector<std::optional<py::array>>& arrays) const {
        const std::vector<engine::IoDesc>& io = engine_->info().inputs;
        if (inputs.is_none()) return;
        if (py::isinstance<py::dict>(inputs)) {
            for (const auto& [k, v] : inputs.cast<py::dict>()) {
                if (!py::isinstance<py::str>(k))
                    throw py::type_error("run(inputs): keys must be input names (str)");
                const size_t i = index_of(io, k.cast<std::string>(), "input");
                arrays[i] = checked_input(io[i], v);
            }
            for (size_t i = 0; i < io.size(); ++i)
                if (!arrays[i]) throw py::value_error("run(inputs): input '" + io[i].name + "' is missing");
            return;
        }
        if (py::isinstance<py::list>(inputs) || py::isinstance<py::tuple>(inputs)) {
            const py::sequence seq = inputs.cast<py::sequence>();
            if (seq.size() != io.size())
                throw py::value_error("run(inputs): " + std::to_string(seq.size()) + " arrays for " +
                                      std::to_string(io.size()) + " inputs");
            for (size_t i = 0; i < io.size(); ++i) arrays[i] = checked_input(io[i], seq[i]);
            return;
        }
        if (io.size() != 1)
            throw py::type_error("run(inputs): a plan with " + std::to_string(io.size()) +
                                 " inputs takes a dict {name: array} or a list");
        arrays[0] = checked_input(io[0], inputs);
    }

    py::array checked_input(const engine::IoDesc& d, const py::handle& v) const {
        if (!py::isinstance<py::array>(v))
            throw py::type_error("input '" + d.name + "': expected a numpy array, got " +
                                 py::str(py::type::of(v).attr("__name__")).cast<std::string>());
        py::array a = py::reinterpret_borrow<py::array>(v);
        if (py::str(a.dtype()).cast<std::string>() != "float32")
            throw py::type_error("input '" + d.name + "': dtype " + py::str(a.dtype()).cast<std::string>() +
                                 ", expected float32 (arr.astype(np.float32))");
        bool ok = a.ndim() == static_cast<py::ssize_t>(d.shape.size());
        for (size_t k = d.batched ? 1 : 0; ok && k < d.shape.size(); ++k)
            ok = a.shape(static_cast<py::ssize_t>(k)) == d.shape[k];
        if (!ok) {
            std::vector<int64_t> want = d.shape;
            std::string s = shape_text(want);
            if (d.batched && !want.empty()) s = "[N" + s.substr(s.find(','), std::string::npos);
            throw py::value_error("input '" + d.name + "': shape " + shape_of(a) + ", expected " + s +
                                  (d.batched ? " with N in 1.." + std::to_string(d.shape[0]) : ""));
        }
        if (!(a.flags() & py::array::c_style)) a = py::array::ensure(a, py::array::c_style);
        return a;
    }

    int batch_of(const std::vector<std::optional<py::array>>& arrays, std::optional<int> batch) const {
        const engine::PlanInfo& info = engine_->info();
        std::optional<int> n = batch;
        for (size_t i = 0; i < arrays.size(); ++i) {
            if (!arrays[i] || !info.inputs[i].batched) continue;
            const int b = static_cast<int>(arrays[i]->shape(0));
            if (n && *n != b)
                throw py::value_error("input '" + info.inputs[i].name + "': batch " + std::to_string(b) +
                                      ", but " + (batch ? "batch=" : "another input has ") +
                                      std::to_string(*n));
            n = b;
        }
        const int r = n.value_or(info.max_batch);
        if (r < 1 || r > info.max_batch)
            throw py::value_error("batch " + std::to_string(r) + ": the plan runs batches 1.." +
                                  std::to_string(info.max_batch));
        return r;
    }

    std::shared_ptr<PyEngine> engine_;
    std::unique_ptr<engine::ExecutionContext> ctx_;
    std::mutex mu_;
    bool profiling_ = false;
};

std::vector<std::string> strings_of(const py::object& obj, const char* what) {
    std::vector<std::string> out;
    if (obj.is_none()) return out;
    if (py::isinstance<py::str>(obj)) throw py::type_error(std::string(what) + ": expected a list of names");
    for (const py::handle& h : obj) {
        if (!py::isinstance<py::str>(h))
            throw py::type_error(std::string(what) + ": expected a list of names");
        out.push_back(h.cast<std::string>());
    }
    return out;
}

// rtdet.build's arguments, as `rtdet build` takes them (app/cmd_build.cpp).
struct BuildRequest {
    std::string model;
    std::optional<std::string> output, calib, calib_cache;
    std::string calib_method = "entropy";
    int calib_max_images = 0;
    engine::BuildOptions options;
};

// INT8 calibration: `calib` is a calibration cache (a .json file, `rtdet calibrate`'s), or images (a
// folder, a list, a glob) to calibrate on first, as `rtdet build --calib` does (app::run_calibration),
// writing the cache to calib_cache (default: MODEL.calib.json beside the model). calib_cache alone is
// read. Sets options.calibration_cache.
void calibrate(BuildRequest& r) {
    const bool int8 =
        r.options.precision == engine::Precision::INT8 || r.options.precision == engine::Precision::Best;
    ENGINE_CHECK(
        int8 || (!r.calib && !r.calib_cache && r.options.float_layers.empty()),
        "build: calib / calib_cache / float_layers: INT8 needs precision=\"int8\" or \"best\" (not \"",
        engine::precision_name(r.options.precision), "\")");
    const bool cache_file =
        r.calib && r.calib->ends_with(".json") && std::filesystem::is_regular_file(*r.calib);
    if (!r.calib || cache_file) {
        ENGINE_CHECK(!(r.calib && r.calib_cache), "build: calib is a calibration cache (", *r.calib,
                     "): calib_cache names where calibration on images writes one");
        ENGINE_CHECK(r.calib_method == "entropy" && r.calib_max_images == 0,
                     "build: calib_method / calib_max_images apply only when calib names images");
        r.options.calibration_cache = r.calib ? *r.calib : r.calib_cache.value_or("");
        return;
    }
    app::CalibrateJob job;
    job.model = r.model;
    job.images = *r.calib;
    job.method = r.calib_method;
    job.max_images = r.calib_max_images;
    job.threads = r.options.threads;
    job.output = r.calib_cache.value_or("");
    r.options.calibration_cache = app::run_calibration(job).path;
}

}  // namespace

void bind_engine(py::module_& m) {
    py::class_<TensorDesc>(m, "TensorDesc", "A plan input or output: name, shape (at max batch), dtype.")
        .def_readonly("name", &TensorDesc::name)
        .def_property_readonly("shape", [](const TensorDesc& d) { return py::tuple(py::cast(d.shape)); })
        .def_readonly("dtype", &TensorDesc::dtype)
        .def_readonly("batched", &TensorDesc::batched, "dim 0 is the batch (any 1..max_batch at run time)")
        .def("__repr__", [](const TensorDesc& d) {
            return "TensorDesc(name='" + d.name +
                   "', shape=" + py::repr(py::tuple(py::cast(d.shape))).cast<std::string>() + ", dtype='" +
                   d.dtype + "', batched=" + (d.batched ? "True" : "False") + ")";
        });

    m.def(
        "build",
        [](const py::object& model, const py::object& output, const std::string& device,
           const std::string& precision, int max_batch, int threads, const std::string& layout,
           const py::object& timing_cache, bool time_tactics, const py::object& calib,
           const py::object& calib_cache, const std::string& calib_method, int calib_max_images,
           const py::object& float_layers) -> py::object {
            BuildRequest r;
            r.model = path_of(model, "build(model)");
            if (!output.is_none()) r.output = path_of(output, "build(output=)");
            if (!calib.is_none()) r.calib = path_of(calib, "build(calib=)");
            if (!calib_cache.is_none()) r.calib_cache = path_of(calib_cache, "build(calib_cache=)");
            r.calib_method = calib_method;
            r.calib_max_images = calib_max_images;
            if (max_batch < 1)
                throw py::value_error("build: max_batch must be >= 1 (got " + std::to_string(max_batch) +
                                      ")");
            engine::BuildOptions& o = r.options;
            o.device = device;
            o.precision = engine::precision_from_name(precision);
            o.max_batch = max_batch;
            o.threads = threads;
            o.layout = layout;
            if (!timing_cache.is_none()) o.timing_cache = path_of(timing_cache, "build(timing_cache=)");
            o.time_tactics = time_tactics;
            o.float_layers = strings_of(float_layers, "build(float_layers=)");
            std::optional<engine::Plan> plan;
            {
                py::gil_scoped_release release;
                calibrate(r);
                plan = engine::build_plan_from_onnx(detector::resolve_onnx_model(r.model), o);
                if (r.output) plan->save(*r.output);
            }
            if (r.output) return py::none();
            const std::vector<std::byte>& b = plan->bytes();
            return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
        },
        py::arg("model"), py::arg("output") = py::none(), py::kw_only(), py::arg("device") = "cpu",
        py::arg("precision") = "fp32", py::arg("max_batch") = 1, py::arg("threads") = 0,
        py::arg("layout") = "auto", py::arg("timing_cache") = py::none(), py::arg("time_tactics") = true,
        py::arg("calib") = py::none(), py::arg("calib_cache") = py::none(),
        py::arg("calib_method") = "entropy", py::arg("calib_max_images") = 0,
        py::arg("float_layers") = py::none(),
        R"(Builds an optimized plan from an ONNX model (or a darknet .cfg, its .weights beside it), as
`rtdet build` does. Returns the plan as bytes, or writes it to `output` and returns None.

device: "cpu" | "reference" | "cuda" (what this build has); precision: "fp32" | "fp16" | "bf16" |
"int8" | "best" (allowed where a backend has kernels, TensorRT's meaning); max_batch: the plan runs
batches 1..max_batch; threads: CPU threads while timing (0: all cores); layout: "auto" | "plain" |
"nhwc" | "blocked16"; timing_cache: a file of measured tactics (cuda); time_tactics=False: no timing
where a default exists (the same plan every time on one machine).
INT8 (precision "int8" or "best", docs/int8.md): calib is a calibration cache (.json, `rtdet calibrate`)
or images to calibrate on first (a folder, a list file or a glob; through the detector's preprocessing,
calib_method "entropy" | "percentile" | "minmax", at most calib_max_images), writing the cache to
calib_cache (default MODEL.calib.json beside the model); calib_cache alone is read; float_layers: layer
names kept in float. Raises rtdet.Error with the builder's message.)");

    py::class_<PyEngine, std::shared_ptr<PyEngine>>(
        m, "Engine", "A loaded plan (TensorRT's ICudaEngine): Engine(path or bytes).")
        .def(py::init(&load_engine), py::arg("plan"),
             "Loads a plan file (str / os.PathLike) or plan bytes (rtdet.build()); validates it for this "
             "machine. Raises rtdet.Error saying what is wrong (corrupt, foreign, stale: rebuild).")
        .def_property_readonly("inputs", [](const PyEngine& e) { return descs(e.info().inputs); })
        .def_property_readonly("outputs", [](const PyEngine& e) { return descs(e.info().outputs); })
        .def_property_readonly("max_batch", [](const PyEngine& e) { return e.info().max_batch; })
        .def_property_readonly(
            "fixed_batch", [](const PyEngine& e) { return e.info().fixed_batch; },
            "True when the plan runs at max_batch only")
        .def_property_readonly("device", [](const PyEngine& e) { return e.info().device; })
        .def_property_readonly("device_signature",
                               [](const PyEngine& e) { return e.info().device_signature; })
        .def_property_readonly("precision", [](const PyEngine& e) { return e.info().precision; })
        .def_property_readonly("model_name", [](const PyEngine& e) { return e.info().model_name; })
        .def_property_readonly(
            "metadata", [](const PyEngine& e) { return e.info().metadata; },
            "the model's ONNX metadata_props (YOLO head description)")
        .def_property_readonly(
            "layers",
            [](const PyEngine& e) {
                py::list out;
                for (const engine::LayerInfo& l : e.info().layers) {
                    py::dict d;
                    d["name"] = l.name;
                    d["op"] = l.op;
                    d["backend"] = l.backend;
                    d["precision"] = l.precision;
                    out.append(std::move(d));
                }
                return out;
            },
            "per layer: name, op, backend, compute precision (`rtdet info --layers`)")
        .def_property_readonly("arena_bytes", [](const PyEngine& e) { return e.info().arena_bytes; })
        .def_property_readonly("weight_bytes", [](const PyEngine& e) { return e.info().weight_bytes; })
        .def(
            "serialize",
            [](const PyEngine& e) {
                const std::vector<std::byte>& b = e.plan().bytes();
                return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
            },
            "The plan file's bytes.")
        .def(
            "create_context",
            [](const std::shared_ptr<PyEngine>& e, int threads, bool profile) {
                py::gil_scoped_release release;
                return std::make_shared<PyContext>(e, threads, profile);
            },
            py::kw_only(), py::arg("threads") = 0, py::arg("profile") = false,
            "A new execution context (its own buffers: one per thread that runs in parallel). threads: CPU "
            "threads of its kernels (0: all cores); profile: time every layer (ctx.profile()).")
        .def("__repr__", [](const PyEngine& e) {
            const engine::PlanInfo& i = e.info();
            return "<rtdet.Engine " + i.model_name + ", " + i.device + " " + i.precision + ", max batch " +
                   std::to_string(i.max_batch) + ", " + std::to_string(i.layers.size()) + " layers>";
        });

    py::class_<PyContext, std::shared_ptr<PyContext>>(m, "Context",
                                                      "An execution context (TensorRT's IExecutionContext).")
        .def(
            "run",
            [](const py::object& self, const py::object& inputs, std::optional<int> batch, bool copy) {
                return self.cast<PyContext&>().run(self, inputs, batch, copy);
            },
            py::arg("inputs") = py::none(), py::kw_only(), py::arg("batch") = py::none(),
            py::arg("copy") = true,
            R"(Runs the plan; returns {output name: float32 array} with dim 0 = the batch.

inputs: {name: array}, a list in the plan's input order, or one array (one-input plans); arrays are
float32 with the plan's shape, dim 0 any batch 1..max_batch (non-contiguous arrays are copied first).
None: the inputs as input_buffer() holds them (batch= says how many samples, default max_batch).
copy=False: the outputs are read-only views of the context's own buffers (no copy), valid until its
next run. The GIL is released while it runs.)")
        .def(
            "input_buffer",
            [](const py::object& self, const std::string& name) {
                return self.cast<PyContext&>().input_buffer(self, name);
            },
            py::arg("name"),
            "A writable float32 view of input `name`'s buffer at max batch: fill it in place (zero copy), "
            "then run(None, batch=n).")
        .def_property("profiling", &PyContext::profiling, &PyContext::set_profiling,
                      "Time every layer on each run (summed in profile())")
        .def("profile", &PyContext::profile,
             "Per layer: name, op, backend, total_ms, runs, mean_ms, over the runs made with profiling on.")
        .def_property_readonly("arena_bytes", &PyContext::arena_bytes)
        .def_property_readonly("engine", &PyContext::engine);
}

}  // namespace pyrtdet
