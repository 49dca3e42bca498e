#!/usr/bin/env bash
# Sanitizer builds of the test suite (docs/reliability.md).
#
# Usage:
#   scripts/hardening/sanitize.sh [CTEST ARGS...]         ASan + UBSan: build-asan/ (-DRTDET_SANITIZE=ON),
#                                                         builds, runs ctest with the arguments given
#   scripts/hardening/sanitize.sh --tsan [CTEST ARGS...]  TSan: build-tsan/ (-DRTDET_TSAN=ON), app_tests only,
#                                                         runs the pipeline and queue tests (default -R below)
#   scripts/hardening/sanitize.sh --smoke                 what CI runs (scripts/test.sh): ASan + UBSan over
#                                                         the parsers' suites (fuzz replay and mutation smoke,
#                                                         ONNX import, plan/runtime, detector), then the TSan
#                                                         run above
# Environment: BUILD_TARGETS (targets to build, default: all for ASan, app_tests for TSan), JOBS
# (default nproc), CC/CXX (default the system gcc). Example, one suite:
#   BUILD_TARGETS=engine_import_tests scripts/hardening/sanitize.sh -L engine_import_tests
set -euo pipefail
cd "$(dirname "$0")/../.."
JOBS=${JOBS:-$(nproc)}
# The pipeline (capture -> batcher -> inference -> output threads, through the real rtdet binary),
# the bounded queue and the batcher between its stages, the multi-stream pipeline in process (3 folder
# streams, 2 inference workers) and through the binary (three folder streams in two shards; the
# stalled-stream test runs the whole video, too slow on the reference backend under TSan), and the run
# statistics they share.
TSAN_TESTS='BoundedQueue\.|Batcher\.|MultiStreamPipeline\.|RunMulti\.Shards|Run(Video|Images|Live|Stats)\.'

# build_and_test BUILD_DIR TARGETS CMAKE_ARGS... -- CTEST_ARGS...
build_and_test() {
  local dir=$1 targets=$2
  shift 2
  local cmake_args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do cmake_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  mkdir -p "$dir"
  # -O1 -g1: a third less compile time than -O2 -g (these builds are part of CI's time) with the line
  # tables the reports need.
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
    -DRTDET_WITH_CUDA=OFF "${cmake_args[@]}" \
    > "$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; return 1; }
  echo "sanitize: building $targets in $dir (log: $dir/build.log)"
  # shellcheck disable=SC2086
  cmake --build "$dir" -j"$JOBS" --target $targets > "$dir/build.log" 2>&1 || { tail -50 "$dir/build.log"; return 1; }
  ctest --test-dir "$dir" --output-on-failure "$@"
}

asan() {  # CTEST_ARGS...
  # Leaks are errors; UBSan prints a stack and fails the test (halt_on_error).
  # (No strict_string_checks: with it, libxkbcommon's strndup under OpenCV's Qt window reads past a
  # buffer it does not own the end of; a third-party report that fails RunWindow.ShowsDetectionsUnderXvfb.)
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0} \
    build_and_test "${BUILD_DIR:-build-asan}" "${BUILD_TARGETS:-all}" -DRTDET_SANITIZE=ON -- "$@"
}

tsan() {  # CTEST_ARGS...
  # No oneDNN: its OpenMP threads (libgomp) are not instrumented, so TSan cannot see their fork/join and
  # reports every hand-over between them and our threads. Without it the CPU device is the reference
  # backend, whose threads are std::threads. Third-party libraries' own reports: tests/sanitize/tsan.supp.
  local args=("$@")
  [ ${#args[@]} -gt 0 ] || args=(-R "$TSAN_TESTS")
  TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/sanitize/tsan.supp} \
    build_and_test "${BUILD_DIR:-build-tsan}" "${BUILD_TARGETS:-app_tests}" -DRTDET_TSAN=ON \
    -DRTDET_WITH_ONEDNN=OFF -- "${args[@]}"
}

case "${1:-}" in
  --tsan)
    shift
    tsan "$@"
    ;;
  --smoke)
    # The parsers of outside input and what runs their output, under ASan + UBSan (the 10 s mutation
    # runs of every fuzz target included), then the pipeline and queue tests under TSan.
    BUILD_TARGETS="fuzz_onnx fuzz_plan fuzz_darknet_cfg fuzz_darknet_weights fuzz_yaml_config fuzz_image_list
                   fuzz_calibration_cache
                   engine_import_tests engine_runtime_tests detector_tests" \
      asan -j"$JOBS" -L 'fuzz|engine_import_tests|engine_runtime_tests|detector_tests'
    tsan -R "$TSAN_TESTS"  # one at a time: the live-stream and SIGINT tests run on wall-clock time
    ;;
  *)
    asan "$@"
    ;;
esac
