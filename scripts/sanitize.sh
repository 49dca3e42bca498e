#!/usr/bin/env bash
# Sanitizer builds of the test suite (docs/reliability.md).
#
# Usage: scripts/sanitize.sh [CTEST ARGS...]          ASan + UBSan: build-asan/ (-DRTDET_SANITIZE=ON),
#                                                     builds, runs ctest with the arguments given
#        scripts/sanitize.sh --tsan [CTEST ARGS...]   TSan: build-tsan/, app_tests only, runs the
#                                                     pipeline and queue tests (default -R below)
# Environment: BUILD_TARGETS (targets to build, default: all for ASan, app_tests for TSan), JOBS
# (default nproc), CC/CXX (default the system gcc). Example, one suite:
#   BUILD_TARGETS=engine_import_tests scripts/sanitize.sh -L engine_import_tests
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=asan
if [ "${1:-}" = "--tsan" ]; then
  MODE=tsan
  shift
fi
JOBS=${JOBS:-$(nproc)}

if [ "$MODE" = asan ]; then
  BUILD_DIR=${BUILD_DIR:-build-asan}
  CMAKE_ARGS=(-DRTDET_SANITIZE=ON)
  TARGETS=${BUILD_TARGETS:-all}
  # Leaks are errors; UBSan prints a stack and fails the test (halt_on_error).
  # (No strict_string_checks: with it, libxkbcommon's strndup under OpenCV's Qt window reads past a
  # buffer it does not own the end of; a third-party report that fails RunWindow.ShowsDetectionsUnderXvfb.)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  # Leaks inside third-party libraries (each listed with where it was seen; none of ours).
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0}
  CTEST_ARGS=("$@")
else
  BUILD_DIR=${BUILD_DIR:-build-tsan}
  FLAGS="-fsanitize=thread -fno-omit-frame-pointer -g"
  CMAKE_ARGS=(-DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread
              -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread)
  TARGETS=${BUILD_TARGETS:-app_tests}
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
  # The pipeline (capture -> inference -> output threads, through the real rtdet binary) and the
  # bounded queue between its stages.
  if [ $# -gt 0 ]; then CTEST_ARGS=("$@"); else CTEST_ARGS=(-R 'BoundedQueue\.|Run(Video|Images|Live|Stats)\.'); fi
fi

mkdir -p "$BUILD_DIR"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTDET_WITH_CUDA=OFF "${CMAKE_ARGS[@]}" \
  > "$BUILD_DIR/configure.log" 2>&1 || { cat "$BUILD_DIR/configure.log"; exit 1; }
# shellcheck disable=SC2086
cmake --build "$BUILD_DIR" -j"$JOBS" --target $TARGETS
ctest --test-dir "$BUILD_DIR" --output-on-failure "${CTEST_ARGS[@]}"
