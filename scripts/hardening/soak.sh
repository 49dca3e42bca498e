#!/usr/bin/env bash
# Soak: `rtdet run` over STREAMS sources (default 4), each the sample video looped, to FRAMES frames
# in all (default 20000; batches of up to STREAMS frames), headless, writing
# JSON lines, while resident memory, open file descriptors, threads and JSON lines written so far are
# sampled every INTERVAL seconds. Only the steady state is judged: the samples taken while frames flow
# (the JSON line count advanced since the previous sample and the last frame is not out yet), not the
# start-up (model load, plan build) nor the shutdown (threads joined, libraries torn down). Of those,
# the first WARMUP_PCT % are the warm-up. Exit 1 when a frame is lost (JSON lines != FRAMES), the run
# fails, or memory grows by more than MAX_RSS_GROWTH_MB, or descriptors or threads grow at all, after
# the warm-up.
#
#   scripts/hardening/soak.sh                         # build/ (set up when missing), 20000 frames, BF16
#   FRAMES=2000 PRECISION=fp32 BUILD_DIR=build-x scripts/hardening/soak.sh
#   RTDET=path/to/rtdet ...                 # that binary (ctest's soak_smoke: 2,000 frames)
#   SOAK_LD_PRELOAD=lib.so ...              # preloaded into rtdet only (ctest's soak_smoke_catches_leak:
#                                           # a leaking free(), tests/soak/leak_free.cpp; must FAIL)
# Exit 77 when the data folder has no video (ctest counts it as skipped); exit 1 under CI=true
# (scripts/hardening/require.sh).
#
# Output in $OUT_DIR (default out/soak): samples.csv (t_s, rss_kb (VmRSS), anon_kb and file_kb (its
# RssAnon and RssFile parts), fds, threads, lines), run.jsonl, run.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
FRAMES=${FRAMES:-20000}
PRECISION=${PRECISION:-bf16}
INTERVAL=${INTERVAL:-2}
WARMUP_PCT=${WARMUP_PCT:-10}
MAX_RSS_GROWTH_MB=${MAX_RSS_GROWTH_MB:-8}
STREAMS=${STREAMS:-4}
OUT=${OUT_DIR:-out/soak}
DATA=${RTDET_DATA:-../shared}
video=$DATA/videos/car-detection.mp4
. scripts/hardening/require.sh
[ -f "$video" ] || skip_or_fail "soak: $video not found (set RTDET_DATA)"
RTDET=${RTDET:-$BUILD_DIR/app/rtdet}
[ -x "$RTDET" ] || BUILD_DIR=$BUILD_DIR scripts/setup.sh
cfg=$(scripts/fetch_model.sh)
mkdir -p "$OUT"
rm -f "$OUT/run.jsonl"
preload=()
[ -n "${SOAK_LD_PRELOAD:-}" ] && preload=(env LD_PRELOAD="$SOAK_LD_PRELOAD")

sources=()
for _ in $(seq "$STREAMS"); do sources+=(--source "$video"); done
echo "soak: $FRAMES frames from $STREAMS streams of $video (looped), $PRECISION, sampling every ${INTERVAL}s${preload:+, preloading $SOAK_LD_PRELOAD}"
start=$(date +%s)
"${preload[@]}" "$RTDET" run --config configs/yolo-fastest-xl.yaml --model "$cfg" "${sources[@]}" --loop --max-batch "$STREAMS" \
  --max-frames "$FRAMES" --headless --precision "$PRECISION" --json "$OUT/run.jsonl" \
  --summary-json "$OUT/summary.json" >"$OUT/run.txt" 2>&1 &
pid=$!
echo "t_s,rss_kb,anon_kb,file_kb,fds,threads,lines" >"$OUT/samples.csv"
while kill -0 "$pid" 2>/dev/null; do
  if [ -r "/proc/$pid/status" ]; then
    # VmRSS, and its anonymous (heap, stacks: what a leak grows) and file-backed (library code) parts
    read -r rss anon file thr < <(awk '/^(VmRSS|RssAnon|RssFile|Threads):/ {v[$1] = $2}
      END {print v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["Threads:"]}' "/proc/$pid/status" 2>/dev/null) || true
    # (|| true: the process may end between two reads; with pipefail a failed ls would end the script)
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l || true)
    # whole lines written so far (the JSON sink writes each line with one unbuffered write)
    lines=0
    if [ -f "$OUT/run.jsonl" ]; then lines=$(wc -l <"$OUT/run.jsonl" || true); fi
    [ -n "$thr" ] && echo "$(($(date +%s) - start)),$rss,$anon,$file,$fds,$thr,$lines" >>"$OUT/samples.csv"
  fi
  sleep "$INTERVAL"
done
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || { echo "soak: rtdet exited with $rc" >&2; tail -5 "$OUT/run.txt" >&2; exit 1; }

/usr/bin/python3 scripts/hardening/soak_judge.py "$OUT" "$FRAMES" "$WARMUP_PCT" "$MAX_RSS_GROWTH_MB"
