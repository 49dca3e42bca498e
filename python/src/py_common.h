// The Python module `rtdet` (pybind11): what its parts share. module.cpp makes the module (errors,
// logging, the command line), engine_py.cpp the engine API (build, Engine, Context), detector_py.cpp the
// Detector and its Result. docs/python.md is the user's page.
//
// Conventions of every binding:
//   - engine::Error becomes rtdet.Error (a RuntimeError) with the engine's one-line message; a bad
//     argument from Python (type, dtype, shape) is TypeError / ValueError with a message naming it.
//   - Work that takes time (building, loading, running) releases the GIL; the C++ objects a call uses
//     are guarded by a mutex of their owner, so two Python threads may share one object safely (one at
//     a time) and several objects run in parallel.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

namespace pyrtdet {

namespace py = pybind11;

// A file path from Python: str or os.PathLike. Throws TypeError naming `what` otherwise.
std::string path_of(const py::handle& obj, const char* what);
// Whether obj is a str or an os.PathLike.
bool is_path(const py::handle& obj);

void bind_engine(py::module_& m);
void bind_detector(py::module_& m);

}  // namespace pyrtdet
