#!/usr/bin/env bash
# How much of the engine's speed one `rtdet run` delivers, on one machine, in one script run:
#   engine alone = 1000 / (mean network time of `rtdet bench` at batch 1 + the run's own mean
#                  preprocess and postprocess per frame), in frames per second;
#   run          = frames out / wall time of `rtdet run` on the sample video (decode, preprocess,
#                  network, decode/NMS, JSON lines), same plan, same threads.
# Bench and run alternate REPS times (these VMs drift by ±30 % between minutes); the medians and the
# median of the per-pair ratios are printed. Goal (issue 14): run >= 80 % of engine alone.
#
#   scripts/bench/run_vs_engine.sh                       # Yolo-Fastest-1.1-XL, fp32, REPS=5
#   PRECISION=bf16 REPS=7 scripts/bench/run_vs_engine.sh
#   RUN_ARGS="--max-batch 4" scripts/bench/run_vs_engine.sh   # extra `rtdet run` arguments
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BUILD_DIR:-build}/app/rtdet
data=${RTDET_DATA:-../shared}
reps=${REPS:-5}
precision=${PRECISION:-fp32}
out=${RTDET_OUT:-out}/run_vs_engine
mkdir -p "$out"
video=$data/videos/car-detection.mp4
cfg=$data/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg
for f in "$BIN" "$video" "$cfg"; do [ -e "$f" ] || { echo "run_vs_engine: $f not found" >&2; exit 1; }; done
cache=$out/cache
onnx=$out/yolo-fastest-1.1-xl.onnx
plan=$out/yolo-fastest-1.1-xl.$precision.plan
[ -f "$onnx" ] || "$BIN" -q convert "$cfg" "${cfg%.cfg}.weights" -o "$onnx"
[ -f "$plan" ] || "$BIN" -q build "$onnx" --device cpu --precision "$precision" --max-batch 1 -o "$plan"
for i in $(seq "$reps"); do
  echo "run_vs_engine: pair $i/$reps" >&2
  "$BIN" -q bench "$plan" --batch 1 --iterations 300 --json "$out/bench$i.json" > /dev/null
  # shellcheck disable=SC2086
  "$BIN" -q run --config configs/yolo-fastest-xl.yaml --headless --model "$plan" --cache "$cache" --source "$video" \
    --json "$out/run$i.jsonl" --summary-json "$out/run$i.json" ${RUN_ARGS:-} > /dev/null
done
/usr/bin/python3 - "$out" "$reps" "$precision" <<'PY'
import json, os, statistics, sys, datetime
out, reps, precision = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rows = []
for i in range(1, reps + 1):
    b = json.load(open(os.path.join(out, f"bench{i}.json")))
    r = json.load(open(os.path.join(out, f"run{i}.json")))
    net = b["latency_ms"]["mean"] if isinstance(b["latency_ms"], dict) else statistics.mean(b["latency_ms"])
    pre, post = r["stages"]["preprocess"]["mean_ms"], r["stages"]["postprocess"]["mean_ms"]
    alone = 1000.0 / (net + pre + post)
    rows.append((net, pre, post, alone, r["fps"], r["stages"]["inference"]["mean_ms"], r["fps"] / alone))
print(f"\nrtdet run vs the engine alone, Yolo-Fastest-1.1-XL {precision}, {os.cpu_count()} CPUs, {cpu}, "
      f"{datetime.date.today()}")
print(f"{'pair':>4} {'bench net ms':>12} {'pre ms':>7} {'post ms':>7} {'alone FPS':>9} {'run FPS':>8} "
      f"{'run net ms':>10} {'run/alone':>9}")
for i, (net, pre, post, alone, fps, rnet, ratio) in enumerate(rows, 1):
    print(f"{i:>4} {net:>12.2f} {pre:>7.2f} {post:>7.3f} {alone:>9.1f} {fps:>8.1f} {rnet:>10.2f} {ratio:>9.2f}")
med = lambda k: statistics.median(r[k] for r in rows)
print(f"median: engine alone {med(3):.1f} FPS, run {med(4):.1f} FPS, ratio of pairs {med(6):.2f} "
      f"(goal >= 0.80)")
PY
