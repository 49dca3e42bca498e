#!/usr/bin/env bash
# ctest's skip_or_fail: the rule of tests/testing/require.h (GoogleTest) and
# scripts/hardening/require.sh (shell tests), through a real test of each with the data folder missing
# (RTDET_DATA names a folder that does not exist): without CI=true (unset, or "false") the test skips
# with its reason, exit 0 (gtest) or 77 (script); with CI=true it fails with the same reason, exit 1.
# Usage: require_test.sh DETECTOR_TESTS   (the repository's scripts/hardening/soak.sh is the shell test;
# tests/python/run_pytest.sh, the Python suites' runner, without the module and without pytest)
set -uo pipefail
gtest=$1
soak=$(dirname "$0")/../../scripts/hardening/soak.sh
pytest_runner=$(dirname "$0")/../python/run_pytest.sh
export RTDET_DATA=/nonexistent/rtdet-require-test
ci_note="(CI=true: a missing requirement fails instead of skipping)"
failures=0

# expect NAME CI WANT_RC WANT_TEXT... -- COMMAND...: runs COMMAND with CI set to the value given
# ("unset": not set), checks its exit code and that its output holds every WANT_TEXT (a leading '!'
# means: must not hold it).
expect() {
  local name=$1 ci=$2 want_rc=$3
  shift 3
  local wants=()
  while [ "$1" != -- ]; do wants+=("$1"); shift; done
  shift
  local out rc
  if [ "$ci" = unset ]; then out=$(env -u CI "$@" 2>&1); else out=$(CI=$ci "$@" 2>&1); fi
  rc=$?
  local ok=1
  [ "$rc" = "$want_rc" ] || { echo "$name: exit $rc, expected $want_rc"; ok=0; }
  for w in "${wants[@]}"; do
    if [ "${w:0:1}" = '!' ]; then
      [[ "$out" != *"${w:1}"* ]] || { echo "$name: output holds '${w:1}'"; ok=0; }
    else
      [[ "$out" == *"$w"* ]] || { echo "$name: output lacks '$w'"; ok=0; }
    fi
  done
  if [ $ok = 1 ]; then
    echo "PASS $name"
  else
    echo "FAIL $name; its output:"; echo "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  fi
}

site=--gtest_filter=DarknetCfg.Yolov3MatchesOfficialWeightsSize
reason="data dir (../shared or \$RTDET_DATA) missing: yolov3.cfg"
expect "gtest, CI unset: skip" unset 0 "[  SKIPPED ] DarknetCfg.Yolov3" "$reason" "!$ci_note" -- "$gtest" "$site"
expect "gtest, CI=false: skip" false 0 "[  SKIPPED ] DarknetCfg.Yolov3" "$reason" "!$ci_note" -- "$gtest" "$site"
expect "gtest, CI=true: failure" true 1 "[  FAILED  ] DarknetCfg.Yolov3" "$reason $ci_note" -- "$gtest" "$site"

reason="soak: $RTDET_DATA/videos/car-detection.mp4 not found (set RTDET_DATA)"
expect "soak.sh, CI unset: skip (77)" unset 77 "$reason" "!$ci_note" -- "$soak"
expect "soak.sh, CI=true: failure" true 1 "$reason $ci_note" -- "$soak"

reason="python: the module rtdet was not built: pybind11 not found (Debian pybind11-dev)"
expect "run_pytest.sh without the module, CI unset: skip (77)" unset 77 "$reason" "!$ci_note" -- \
  env "RTDET_PYTHON_WHY=pybind11 not found (Debian pybind11-dev)" "$pytest_runner" test_none.py
expect "run_pytest.sh without the module, CI=true: failure" true 1 "$reason" "$ci_note" -- \
  env "RTDET_PYTHON_WHY=pybind11 not found (Debian pybind11-dev)" "$pytest_runner" test_none.py
reason="python: pytest is missing for /bin/false (Debian python3-pytest; scripts/setup.sh installs it)"
expect "run_pytest.sh without pytest, CI unset: skip (77)" unset 77 "$reason" "!$ci_note" -- \
  env RTDET_PYTHON_WHY= RTDET_PYTHON=/bin/false "$pytest_runner" test_none.py
expect "run_pytest.sh without pytest, CI=true: failure" true 1 "$reason $ci_note" -- \
  env RTDET_PYTHON_WHY= RTDET_PYTHON=/bin/false "$pytest_runner" test_none.py

[ $failures = 0 ] || { echo "$failures case(s) failed"; exit 1; }
