// rtdet._rtdet: the extension module under the `rtdet` package (python/rtdet/__init__.py re-exports it).
#include <pybind11/stl.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>
#include <vector>

#include "app/cli.h"
#include "detector/resources.h"
#include "engine/core/error.h"
#include "engine/plan/plan_format.h"
#include "python/src/py_common.h"

namespace pyrtdet {

bool is_path(const py::handle& obj) { return py::isinstance<py::str>(obj) || py::hasattr(obj, "__fspath__"); }

std::string path_of(const py::handle& obj, const char* what) {
    if (py::isinstance<py::str>(obj)) return obj.cast<std::string>();
    if (py::hasattr(obj, "__fspath__")) {
        const py::object p = obj.attr("__fspath__")();
        if (py::isinstance<py::str>(p)) return p.cast<std::string>();
    }
    throw py::type_error(std::string(what) + ": expected a path (str or os.PathLike), got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
}

namespace {

// `python3 -m rtdet ARGS...`: the rtdet command line itself (app/cli.h), in this process.
int run_cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv = args;
    std::vector<char*> ptrs;
    for (std::string& a : argv) ptrs.push_back(a.data());
    ptrs.push_back(nullptr);
    py::module_::import("sys").attr("stdout").attr("flush")();
    py::gil_scoped_release release;
    return app::run_cli(static_cast<int>(argv.size()), ptrs.data());
}

void set_log_level(const std::string& level) {
    const spdlog::level::level_enum l = spdlog::level::from_str(level);
    // from_str gives "off" for any name it does not know: only "off" itself may mean off.
    if (l == spdlog::level::off && level != "off")
        throw py::value_error("set_log_level: unknown level '" + level +
                              "' (trace, debug, info, warn, error, critical, off)");
    spdlog::set_level(l);
}

}  // namespace

}  // namespace pyrtdet

PYBIND11_MODULE(_rtdet, m) {
    namespace py = pybind11;
    using namespace pyrtdet;
    m.doc() = "rtdet: real-time YOLO detection on its own inference engine (docs/python.md)";
    py::register_exception<engine::Error>(m, "Error", PyExc_RuntimeError);
    m.attr("__version__") = std::string(engine::engine_version());

    m.def("set_log_level", &set_log_level, py::arg("level"),
          "Level of rtdet's log lines on stderr: trace, debug, info (default), warn, error, critical, off.");
    m.def("_cli", &run_cli, py::arg("argv"),
          "Runs the rtdet command line (argv[0] is the program name); returns its exit code.");
    m.def(
        "_data_dir", [] { return detector::data_dir().string(); },
        "The data folder as the C++ tests find it ($RTDET_DATA, else ../shared); '' when there is none.");

    // Test hooks (tests/python): a call that keeps the GIL, the control of the GIL-release test.
    py::module_ testing = m.def_submodule("_testing", "test hooks");
    testing.def(
        "hold_gil",
        [](double seconds) {
            const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
            while (std::chrono::steady_clock::now() < end) {
            }
        },
        py::arg("seconds"), "Busy-waits for `seconds` without releasing the GIL.");

    bind_engine(m);
    bind_detector(m);
}
