#!/usr/bin/env bash
# Sets up (packages + build) and runs the whole test suite with ctest, then the sanitizer smoke run
# (scripts/hardening/sanitize.sh --smoke: the parsers' suites under ASan + UBSan, the pipeline and queue tests
# under TSan; their own builds in build-asan/ and build-tsan/). SANITIZERS=0 skips the latter.
# Arguments go to the main ctest run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" "$@"
if [ "${SANITIZERS:-1}" != 0 ]; then
  scripts/hardening/sanitize.sh --smoke
fi
