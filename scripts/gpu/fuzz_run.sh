#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry .gpu_fuzz): a parallel libFuzzer campaign of the targets
# scripts/gpu/fuzz_bundle.sh packed, on the machine's CPU cores (libFuzzer's fork mode: one corpus per
# target, N worker processes each, crashes/leaks/timeouts kept and the run continued). The GPU is not
# used.
#
# Usage: scripts/gpu/fuzz_run.sh [SECONDS] [MIN_EXECS]     (defaults 540 and 1000000)
#   One round: every target that has fewer than MIN_EXECS executions so far runs SECONDS, all at once.
#   Workers are shared out so that each target can reach MIN_EXECS in one round (from the per-worker
#   speeds below); the cores left go to fuzz_darknet_weights_real (1.18 MB inputs, tens of executions a
#   second a worker), which needs several rounds. RESUME=1 continues the last call's campaign (same
#   machine, still warm: its corpora and counts are in /tmp/rtdet_fuzz) with another round; a call
#   without it starts over from the pack. Keep SECONDS + start-up under the device's 10-minute limit.
#
# Writes to $OUT: fuzz_run.log (everything), fuzz_summary.md (per target: workers, rounds, time,
# executions, coverage (cov: edges, ft: features, from libFuzzer's last status line), corpus size and
# findings by kind, as a table for docs/reliability.md), findings/<target>/ (every crash, leak,
# timeout or OOM input: copy them into tests/fuzz/regressions/<target>/ here).
set -uo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-540}
MIN_EXECS=${2:-1000000}
OUT=${OUT:-/tmp/rtdet_fuzz_out}
W=/tmp/rtdet_fuzz
if [ "${RESUME:-0}" = 1 ] && [ -d "$W/bin" ]; then
  resumed=" (resumed)"
else
  resumed=""
  rm -rf "$W"
  mkdir -p "$W"
  tar -C "$W" -xJf .gpu_fuzz/pack.tar.xz
fi
mkdir -p "$OUT/findings"
exec > >(tee -a "$OUT/fuzz_run.log") 2>&1
export LD_LIBRARY_PATH=$W/lib
CORES=$(nproc)
echo "=== fuzz_run$resumed: $CORES cores, a round of $SECS s for every target under $MIN_EXECS executions, $(date -u +%FT%TZ)"
lscpu | grep -E "Model name|^CPU\(s\)" || true

# The last fork-mode status line of a log: "#EXECS: cov: C ft: F corp: N exec/s E oom/timeout/crash: ..."
last_status() { grep -E '^#[0-9]+: cov' "$1" | tail -1; }
field() { grep -oE "$1 [0-9]+" | grep -oE '[0-9]+$'; }
# Totals so far of a target: "rounds seconds executions workers"
totals() { cat "$W/$1.totals" 2>/dev/null || echo "0 0 0 0"; }
commas() { echo "$1" | sed -E ':a;s/([0-9])([0-9]{3})($|,)/\1,\2\3/;ta'; }

# run_round NAME BINARY WORKERS MAX_LEN [FLAGS... SEED_DIRS...]: one round, unless MIN_EXECS are reached
run_round() {
  local name=$1 bin=$2 workers=$3 max_len=$4
  shift 4
  local rounds secs execs w
  read -r rounds secs execs w < <(totals "$name")
  if [ "$execs" -ge "$MIN_EXECS" ]; then
    echo "=== $name: $execs executions already, no round"
    return
  fi
  rounds=$((rounds + 1))
  mkdir -p "$W/art/$name" "$W/corpus_$name"
  local t0=$SECONDS log="$W/$name.round$rounds.log"
  (cd "$W" && timeout $((SECS + 60)) "$W/bin/$bin" -fork="$workers" -ignore_crashes=1 -ignore_timeouts=1 \
    -ignore_ooms=1 -max_total_time="$SECS" -max_len="$max_len" -timeout=20 -rss_limit_mb=2048 \
    -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$W/art/$name/" "$@" \
    "$W/corpus_$name" > "$log" 2>&1)
  local rc=$? n
  n=$(last_status "$log" | grep -oE '^#[0-9]+' | tr -d '#')
  execs=$((execs + ${n:-0}))
  echo "$rounds $((secs + SECONDS - t0)) $execs $workers" > "$W/$name.totals"
  echo "=== $name round $rounds ($workers workers) exited with $rc: ${n:-0} executions, $execs in all"
}

# Workers each target needs for MIN_EXECS in one round, from its executions per second per worker in
# the campaign of 2026-11-22 (16 Xeon cores: onnx 720, plan 320, darknet_cfg 1900, darknet_weights 2200).
need() { local w=$(((MIN_EXECS + $1 * SECS - 1) / ($1 * SECS))); [ "$w" -lt 1 ] && w=1; echo "$w"; }
w_onnx=$(need 720)
w_plan=$(need 320)
w_cfg=$(need 1900)
w_weights=$(need 2200)
w_real=$((CORES - w_onnx - w_plan - w_cfg - w_weights))
[ "$w_real" -lt 1 ] && w_real=1

run_round fuzz_onnx fuzz_onnx "$w_onnx" 65536 -dict="$W/dict/onnx.dict" "$W/corpus/fuzz_onnx" &
pids=($!)
run_round fuzz_plan fuzz_plan "$w_plan" 262144 "$W/corpus/fuzz_plan" &
pids+=($!)
run_round fuzz_darknet_cfg fuzz_darknet_cfg "$w_cfg" 16384 -dict="$W/dict/darknet_cfg.dict" \
  "$W/corpus/fuzz_darknet_cfg" &
pids+=($!)
run_round fuzz_darknet_weights fuzz_darknet_weights "$w_weights" 4096 "$W/corpus/fuzz_darknet_weights" &
pids+=($!)
if [ -f "$W/real/yolo-fastest-1.1_body.weights" ]; then
  mkdir -p "$W/corpus/real_seed" && cp "$W/real/yolo-fastest-1.1_body.weights" "$W/corpus/real_seed/"
  RTDET_FUZZ_WEIGHTS_CFG=$W/real/yolo-fastest-1.1_body.cfg run_round fuzz_darknet_weights_real \
    fuzz_darknet_weights "$w_real" $(($(stat -c %s "$W/real/yolo-fastest-1.1_body.weights") + 64)) \
    "$W/corpus/real_seed" &
  pids+=($!)
fi
# (not a bare `wait`: it would also wait for the tee of the log, which never ends)
wait "${pids[@]}"

{
  echo "Campaign of $(date -u +%F), $CORES cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), rounds of" \
    "$SECS s, goal $MIN_EXECS executions per target:"
  echo
  echo "| target | workers | rounds | time (s) | executions | cov | ft | corpus | crashes | leaks | timeouts | OOMs |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for t in "$W"/fuzz_*.totals; do
    name=$(basename "$t" .totals)
    read -r rounds secs execs workers < "$t"
    last=$(last_status "$W/$name.round$rounds.log")
    cov=$(echo "$last" | field 'cov:')
    ft=$(echo "$last" | field 'ft:')
    corp=$(echo "$last" | field 'corp:')
    mkdir -p "$OUT/findings/$name"
    crash=0 leak=0 timeout=0 oom=0
    for a in "$W/art/$name"/*; do
      [ -f "$a" ] || continue
      case $(basename "$a") in
        crash-*) crash=$((crash + 1)) ;;
        leak-*) leak=$((leak + 1)) ;;
        timeout-*) timeout=$((timeout + 1)) ;;
        oom-*) oom=$((oom + 1)) ;;
      esac
      cp "$a" "$OUT/findings/$name/"
    done
    short=""
    [ "$execs" -lt "$MIN_EXECS" ] && short=" (short of the goal)"
    printf '| `%s` | %s | %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$workers" "$rounds" \
      "$secs" "$(commas "$execs")" "$short" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crash" "$leak" \
      "$timeout" "$oom"
  done
} | tee "$OUT/fuzz_summary.md"
for log in "$W"/fuzz_*.round*.log; do echo "--- tail of $(basename "$log")"; tail -3 "$log"; done
