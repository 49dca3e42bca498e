#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry .gpu_fuzz): a long parallel libFuzzer campaign of the
# targets scripts/gpu/fuzz_bundle.sh packed, on the machine's CPU cores (libFuzzer's fork mode: one
# corpus per target, N worker processes each, crashes/leaks/timeouts kept and the run continued).
# Writes to $OUT: fuzz_run.log (everything), fuzz_summary.txt (executions, corpus, findings per
# target), findings/<target>/ (every crash, leak, timeout or OOM input: copy them into
# tests/fuzz/regressions/<target>/ here).
# Usage: scripts/gpu/fuzz_run.sh [SECONDS]   (default 240; every target runs for that long, at once)
set -uo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-240}
OUT=${OUT:-/tmp/rtdet_fuzz_out}
W=/tmp/rtdet_fuzz
rm -rf "$W"
mkdir -p "$W" "$OUT/findings"
exec > >(tee -a "$OUT/fuzz_run.log") 2>&1
tar -C "$W" -xJf .gpu_fuzz/pack.tar.xz
export LD_LIBRARY_PATH=$W/lib
CORES=$(nproc)
echo "=== fuzz_run: $CORES cores, $SECS s per target, $(date -u +%FT%TZ)"
lscpu | grep -E "Model name|^CPU\(s\)" || true

# target  workers  max_len  extra flags
run_target() {
  local name=$1 bin=$2 workers=$3 max_len=$4
  shift 4
  mkdir -p "$W/art/$name" "$W/corpus_$name"
  (cd "$W" && timeout $((SECS + 60)) "$W/bin/$bin" -fork="$workers" -ignore_crashes=1 -ignore_timeouts=1 \
    -ignore_ooms=1 -max_total_time="$SECS" -max_len="$max_len" -timeout=20 -rss_limit_mb=2048 \
    -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$W/art/$name/" "$@" \
    "$W/corpus_$name" > "$W/$name.log" 2>&1)
  echo "=== $name exited with $?"
}
# Splits the cores: ONNX and plans are the slowest per input and the largest formats.
q=$((CORES / 5)); [ "$q" -lt 1 ] && q=1
run_target fuzz_onnx fuzz_onnx $((q + CORES % 5)) 65536 "$W/corpus/fuzz_onnx" &
pids=($!)
run_target fuzz_plan fuzz_plan "$q" 262144 "$W/corpus/fuzz_plan" &
pids+=($!)
run_target fuzz_darknet_cfg fuzz_darknet_cfg "$q" 16384 -dict="$W/dict/darknet_cfg.dict" "$W/corpus/fuzz_darknet_cfg" &
pids+=($!)
run_target fuzz_darknet_weights fuzz_darknet_weights "$q" 4096 "$W/corpus/fuzz_darknet_weights" &
pids+=($!)
if [ -f "$W/real/yolo-fastest-1.1_body.weights" ]; then
  mkdir -p "$W/corpus/real_seed" && cp "$W/real/yolo-fastest-1.1_body.weights" "$W/corpus/real_seed/"
  RTDET_FUZZ_WEIGHTS_CFG=$W/real/yolo-fastest-1.1_body.cfg run_target fuzz_darknet_weights_real \
    fuzz_darknet_weights "$q" $(($(stat -c %s "$W/real/yolo-fastest-1.1_body.weights") + 64)) "$W/corpus/real_seed" &
  pids+=($!)
fi
# (not a bare `wait`: it would also wait for the tee of the log, which never ends)
wait "${pids[@]}"

{
  printf '%-26s %8s %14s %8s %9s\n' target workers executions corpus findings
  for log in "$W"/fuzz_*.log; do
    name=$(basename "$log" .log)
    # fork mode's progress lines: "#EXECS: cov: .. ft: .. corp: N exec/s: .. oom/timeout/crash: a/b/c .."
    last=$(grep -E '^#[0-9]+: cov' "$log" | tail -1)
    execs=$(echo "$last" | grep -oE '^#[0-9]+' | tr -d '#')
    corp=$(echo "$last" | grep -oE 'corp: [0-9]+' | grep -oE '[0-9]+')
    workers=$(grep -oE 'fork=[0-9]+|-fork=[0-9]+|INFO: -fork=[0-9]+' "$log" | head -1 | grep -oE '[0-9]+')
    n=0
    mkdir -p "$OUT/findings/$name"
    for a in "$W/art/$name"/*; do
      [ -f "$a" ] || continue
      n=$((n + 1))
      cp "$a" "$OUT/findings/$name/"
    done
    printf '%-26s %8s %14s %8s %9s\n' "$name" "${workers:-?}" "${execs:-?}" "${corp:-?}" "$n"
  done
} | tee "$OUT/fuzz_summary.txt"
for log in "$W"/fuzz_*.log; do echo "--- tail of $(basename "$log")"; tail -5 "$log"; done
