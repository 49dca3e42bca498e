#!/usr/bin/env bash
# Soak: `rtdet run` over the sample video looped to FRAMES frames (default 20000), headless, writing
# JSON lines, while resident memory, open file descriptors and threads of the process are sampled
# every INTERVAL seconds. Prints the samples' summary: growth after the warm-up (the first WARMUP_PCT %
# of the run) must be ~0. Exit 1 when a frame is lost (JSON lines != FRAMES), the run fails, or memory
# grows by more than MAX_RSS_GROWTH_MB, or descriptors or threads grow at all, after the warm-up.
#
#   scripts/soak.sh                         # build/ (set up when missing), 20000 frames, BF16
#   FRAMES=2000 PRECISION=fp32 BUILD_DIR=build-x scripts/soak.sh
#   RTDET=path/to/rtdet ...                 # that binary (ctest's soak_smoke: 2,000 frames)
# Exit 77 when the data folder has no video (ctest counts it as skipped); exit 1 under CI=true
# (scripts/require.sh).
#
# Output in $OUT_DIR (default out/soak): samples.csv (t_s, rss_kb, fds, threads), run.jsonl, run.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
FRAMES=${FRAMES:-20000}
PRECISION=${PRECISION:-bf16}
INTERVAL=${INTERVAL:-2}
WARMUP_PCT=${WARMUP_PCT:-10}
MAX_RSS_GROWTH_MB=${MAX_RSS_GROWTH_MB:-8}
OUT=${OUT_DIR:-out/soak}
DATA=${RTDET_DATA:-../shared}
video=$DATA/videos/car-detection.mp4
. scripts/require.sh
[ -f "$video" ] || skip_or_fail "soak: $video not found (set RTDET_DATA)"
RTDET=${RTDET:-$BUILD_DIR/app/rtdet}
[ -x "$RTDET" ] || BUILD_DIR=$BUILD_DIR scripts/setup.sh
cfg=$(scripts/fetch_model.sh)
mkdir -p "$OUT"
rm -f "$OUT/run.jsonl"

echo "soak: $FRAMES frames of $video (looped), $PRECISION, sampling every ${INTERVAL}s"
start=$(date +%s)
"$RTDET" run --config configs/yolo-fastest-xl.yaml --model "$cfg" --source "$video" --loop \
  --max-frames "$FRAMES" --headless --precision "$PRECISION" --json "$OUT/run.jsonl" \
  --summary-json "$OUT/summary.json" >"$OUT/run.txt" 2>&1 &
pid=$!
echo "t_s,rss_kb,fds,threads" >"$OUT/samples.csv"
while kill -0 "$pid" 2>/dev/null; do
  if [ -r "/proc/$pid/status" ]; then
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    thr=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    [ -n "$rss" ] && echo "$(($(date +%s) - start)),$rss,$fds,$thr" >>"$OUT/samples.csv"
  fi
  sleep "$INTERVAL"
done
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || { echo "soak: rtdet exited with $rc" >&2; tail -5 "$OUT/run.txt" >&2; exit 1; }

/usr/bin/python3 - "$OUT" "$FRAMES" "$WARMUP_PCT" "$MAX_RSS_GROWTH_MB" <<'EOF'
import csv, json, sys
out, frames, warm_pct, max_growth = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows = [r for r in csv.DictReader(open(f"{out}/samples.csv"))]
lines = sum(1 for _ in open(f"{out}/run.jsonl"))
summary = json.load(open(f"{out}/summary.json"))
ok = True
print(f"frames: {lines} JSON lines for {frames} requested; rtdet: {summary.get('frames_out', '?')} out, "
      f"{summary.get('dropped', '?')} dropped, {summary.get('fps', 0):.1f} FPS")
if lines != frames:
    print("FAIL: frames lost"); ok = False
if len(rows) < 4:
    print(f"FAIL: only {len(rows)} samples (run too short for INTERVAL)"); sys.exit(1)
w = max(1, int(len(rows) * warm_pct / 100))
after = rows[w:]
val = lambda r, k: int(r[k])
rss0, rss1 = val(after[0], "rss_kb"), val(after[-1], "rss_kb")
rss_max = max(val(r, "rss_kb") for r in after)
fds = sorted({val(r, "fds") for r in after}); thr = sorted({val(r, "threads") for r in after})
print(f"samples: {len(rows)} over {rows[-1]['t_s']} s; warm-up: the first {w}")
print(f"RSS after warm-up: {rss0 / 1024:.1f} MB -> {rss1 / 1024:.1f} MB at the end "
      f"(max {rss_max / 1024:.1f} MB; growth {(rss1 - rss0) / 1024:+.2f} MB)")
print(f"open fds after warm-up: {fds[0]}..{fds[-1]}; threads: {thr[0]}..{thr[-1]}")
if (rss1 - rss0) / 1024 > max_growth:
    print(f"FAIL: memory grew by more than {max_growth} MB after warm-up"); ok = False
if val(after[-1], "fds") > val(after[0], "fds") or val(after[-1], "threads") > val(after[0], "threads"):
    print("FAIL: descriptors or threads grew after warm-up"); ok = False
if not ok:  # the samples, for the log
    print("samples (t_s rss_mb fds threads): " + " | ".join(
        f"{r['t_s']} {int(r['rss_kb']) / 1024:.1f} {r['fds']} {r['threads']}" for r in rows))
print("soak: OK" if ok else "soak: FAILED")
sys.exit(0 if ok else 1)
EOF
