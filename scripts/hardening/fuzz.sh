#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer (docs/reliability.md).
#
# Usage: scripts/hardening/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS   run time per target (default 60)
#   TARGET    some of: fuzz_onnx fuzz_plan fuzz_darknet_cfg fuzz_darknet_weights
#             fuzz_darknet_weights_real fuzz_yaml_config fuzz_image_list fuzz_calibration_cache
#             (default: all)
#
# Installs clang when missing (plus the project's packages, the list of scripts/setup.sh), configures
# build-fuzz/ with clang and -DRTDET_FUZZ=ON (every library with ASan + UBSan and libFuzzer coverage),
# builds the targets, seeds each corpus (fuzz_make_seeds, tests/fuzz/corpus, tests/fuzz/regressions,
# the real files of the data folder: darknet cfgs, Yolo-Fastest weights, configs/*.yaml, ONNX's node
# test models), runs each target for SECONDS under `nice -n 19` and prints executions, coverage (cov:
# edges, ft: features), corpus size and findings per target as a table for docs/reliability.md. Every
# crash, leak, timeout or out-of-memory input is copied to tests/fuzz/regressions/<target>/ (replayed by
# ctest from then on). Exit status 1 when any was found, or (CI=true: scripts/hardening/require.sh) when
# fuzz_darknet_weights_real has no real weights to start from.
# Environment: JOBS (build jobs, default nproc), RTDET_DATA (data folder, default ../shared),
# BUILD_DIR (default build-fuzz), FORK (libFuzzer worker processes per target, default 1; more: its
# fork mode, findings kept and the run continued).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/hardening/require.sh

SECS=${1:-60}
[ $# -gt 0 ] && shift
ALL=(fuzz_onnx fuzz_plan fuzz_darknet_cfg fuzz_darknet_weights fuzz_darknet_weights_real fuzz_yaml_config
     fuzz_image_list fuzz_calibration_cache)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi
BUILD_DIR=${BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-$(nproc)}
DATA=${RTDET_DATA:-$ROOT/../shared}
NICE=(nice -n 19)

# --- packages: the project's (scripts/setup.sh's list) and clang with its sanitizer/libFuzzer runtime
scripts/setup.sh --packages-only clang clang-14 libclang-rt-14-dev

# --- build
mkdir -p "$BUILD_DIR"
CC=clang CXX=clang++ "${NICE[@]}" cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTDET_FUZZ=ON \
  -DRTDET_WITH_CUDA=OFF > "$BUILD_DIR/configure.log" 2>&1 || { cat "$BUILD_DIR/configure.log"; exit 1; }
BINS=(fuzz_onnx fuzz_plan fuzz_darknet_cfg fuzz_darknet_weights fuzz_yaml_config fuzz_image_list
      fuzz_calibration_cache fuzz_make_seeds)
echo "fuzz: building ${BINS[*]} in $BUILD_DIR (log: $BUILD_DIR/build.log)"
"${NICE[@]}" cmake --build "$BUILD_DIR" -j"$JOBS" --target "${BINS[@]}" > "$BUILD_DIR/build.log" 2>&1 \
  || { tail -50 "$BUILD_DIR/build.log"; exit 1; }
# ONNX's node test models (python3-onnx), when the conformance suite is configured: ONNX seeds.
if "${NICE[@]}" cmake --build "$BUILD_DIR" --target onnx_node_tests_data >> "$BUILD_DIR/build.log" 2>&1; then
  NODE_TESTS=$BUILD_DIR/onnx_node_tests/node
else
  NODE_TESTS=""
fi
BIN=$BUILD_DIR/tests/fuzz
WORK=$BUILD_DIR/fuzz
mkdir -p "$WORK"

# --- seeds
rm -rf "$WORK/seeds"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}  # the seed writer is not under test
"${NICE[@]}" "$BIN/fuzz_make_seeds" "$WORK/seeds" > "$WORK/seeds.log" 2>&1 || { cat "$WORK/seeds.log"; exit 1; }
unset ASAN_OPTIONS
mkdir -p "$WORK/seeds/extra_onnx" "$WORK/seeds/extra_cfg" "$WORK/seeds/extra_list" "$WORK/seeds/real_weights"
if [ -n "$NODE_TESTS" ] && [ -d "$NODE_TESTS" ]; then
  # model.onnx of every node case under 16 KB (most are a few hundred bytes)
  find "$NODE_TESTS" -name model.onnx -size -16k | while read -r m; do
    cp "$m" "$WORK/seeds/extra_onnx/$(basename "$(dirname "$m")").onnx"
  done
fi
if [ -d "$DATA/models" ]; then
  find "$DATA/models" -name '*.cfg' -exec cp {} "$WORK/seeds/extra_cfg/" \;
  ls "$DATA"/images/darknet_samples/*.jpg > "$WORK/seeds/extra_list/darknet_samples.txt" 2>/dev/null || true
  (cd "$DATA/datasets/coco128/images" 2>/dev/null && ls train2017/*.jpg | head -20) \
    > "$WORK/seeds/extra_list/coco128.txt" 2>/dev/null || true
fi
REAL_CFG=$DATA/models/yolo-fastest/yolo-fastest-1.1_body/yolo-fastest-1.1_body.cfg
REAL_WEIGHTS=${REAL_CFG%.cfg}.weights
[ -f "$REAL_WEIGHTS" ] && cp "$REAL_WEIGHTS" "$WORK/seeds/real_weights/"

# --- run
summary=()
found=0
for t in "${TARGETS[@]}"; do
  bin=$t
  seeds=("$WORK/seeds/$t" "$ROOT/tests/fuzz/corpus/$t" "$ROOT/tests/fuzz/regressions/$t")
  env=()
  dict=()
  case $t in
    fuzz_onnx)            max_len=65536;   seeds+=("$WORK/seeds/extra_onnx")
                          dict=(-dict="$ROOT/tests/fuzz/dict/onnx.dict") ;;
    fuzz_plan)            max_len=262144 ;;
    fuzz_darknet_cfg)     max_len=16384;   seeds+=("$WORK/seeds/extra_cfg")
                          dict=(-dict="$ROOT/tests/fuzz/dict/darknet_cfg.dict") ;;
    fuzz_darknet_weights) max_len=4096 ;;
    fuzz_darknet_weights_real)
      if [ ! -f "$REAL_WEIGHTS" ]; then  # skipped; under CI=true a finding (scripts/hardening/require.sh)
        (skip_or_fail "fuzz: $t not run: $REAL_WEIGHTS not found") 2>&1 || [ $? = 77 ] || found=1
        continue
      fi
      bin=fuzz_darknet_weights
      max_len=$(($(stat -c %s "$REAL_WEIGHTS") + 64))
      seeds=("$WORK/seeds/real_weights")
      env=(RTDET_FUZZ_WEIGHTS_CFG="$REAL_CFG") ;;
    fuzz_yaml_config)     max_len=8192;    seeds+=("$ROOT/configs")
                          dict=(-dict="$ROOT/tests/fuzz/dict/yaml_config.dict") ;;
    fuzz_image_list)      max_len=4096;    seeds+=("$WORK/seeds/extra_list") ;;
    fuzz_calibration_cache) max_len=16384 ;;
    *) echo "fuzz: unknown target $t (known: ${ALL[*]})"; exit 2 ;;
  esac
  corpus=$WORK/corpus/$t
  artifacts=$WORK/artifacts/$t
  rm -rf "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  existing=()
  for s in "${seeds[@]}"; do [ -d "$s" ] && existing+=("$s"); done
  log=$WORK/$t.log
  echo "fuzz: $t for ${SECS}s (max_len $max_len, log $log)"
  fork=()
  [ "${FORK:-1}" -gt 1 ] && fork=(-fork="$FORK" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  set +e
  env "${env[@]}" "${NICE[@]}" "$BIN/$bin" "${fork[@]}" -max_total_time="$SECS" -max_len="$max_len" -timeout=20 \
    -rss_limit_mb=2048 -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
    "$corpus" "${existing[@]}" \
    > "$log" 2>&1
  rc=$?
  set -e
  execs=""
  [ ${#fork[@]} = 0 ] && execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ -z "$execs" ]; then  # fork mode, or killed before the final stats: the last progress line
    execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  fi
  corp=$(grep -oE 'corp: [0-9]+(/[0-9]+[a-zA-Z]*)?' "$log" | tail -1 | sed 's/corp: //')
  # coverage from the last status line ("#N DONE cov: C ft: F corp: ..."): edges and features
  # (fork mode writes "#N: cov: ...")
  last=$(grep -E '^#[0-9]+:?[[:space:]].*cov: ' "$log" | tail -1 || true)
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || true)
  ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+' || true)
  crashes=0
  for a in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
    [ -f "$a" ] || continue
    crashes=$((crashes + 1))
    dest=$ROOT/tests/fuzz/regressions/${bin}
    mkdir -p "$dest"
    cp "$a" "$dest/"
    echo "fuzz: $t: finding $(basename "$a") copied to tests/fuzz/regressions/$bin/"
  done
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    echo "fuzz: $t exited with $rc and left no artifact; see $log"
    crashes="?"
  fi
  [ "$crashes" != 0 ] && found=1
  summary+=("$(printf '| `%s` | %s | %s | %s | %s | %s | %s |' "$t" "$SECS" "${execs:-0}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$crashes")")
done

echo
echo "| target | seconds | executions | cov | ft | corpus (inputs/size) | findings |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for line in "${summary[@]}"; do echo "$line"; done
exit $found
