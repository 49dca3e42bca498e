// rtdet's public C++ API, installed with librtdet-dev (cmake --install, or the .deb):
//   find_package(rtdet REQUIRED)
//   target_link_libraries(app PRIVATE rtdet::detector)   # or rtdet::engine for the engine alone
//
// Engine, in TensorRT's shape: engine::build_plan_from_onnx() (ONNX -> optimized Plan) -> Plan::save /
// Plan::load -> engine::Engine::load(plan) -> engine->create_context() -> context->run().
// Detector: detector::Detector (model .onnx / darknet .cfg / .plan -> boxes in image pixels), with the
// plan built once and cached. Errors are engine::Error (a std::runtime_error) with one clear line.
#pragma once

#include "detector/detector.h"
#include "detector/labels.h"
#include "engine/builder/builder.h"
#include "engine/core/error.h"
#include "engine/runtime/runtime.h"
