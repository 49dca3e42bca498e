#!/usr/bin/env bash
# Two rtdet builds, A and B, alternated in one run (A B A B ...) on the CPU: each builds its own plans
# (FP32, batch 1; benched on 2 threads) of Yolo-Fastest-1.1-XL (real weights) and YOLOv3-416 (random weights,
# seed 1), then `rtdet bench` times them; prints each side's median network time, B/A, and the median
# of the pairs' B/A (robust to this VM's slow and fast spells, which hit both sides of a pair). For
# behaviour-neutral changes (issue 15): the speed must not move beyond the machine's noise.
#   scripts/bench/ab_builds.sh A_BIN B_BIN   (REPS=6 pairs, alternately A B and B A; ITER=300 iterations
#                                            per XL bench, ITER_V3=40 per YOLOv3 bench; MODELS="xl v3";
#                                            plans kept in out/)
set -euo pipefail
cd "$(dirname "$0")/../.."
A=${1:?usage: ab_builds.sh A_BIN B_BIN}
B=${2:?usage: ab_builds.sh A_BIN B_BIN}
data=${RTDET_DATA:-../shared}
reps=${REPS:-6}
iter=${ITER:-300}
iter_v3=${ITER_V3:-40}
out=${RTDET_OUT:-out}/ab_builds
mkdir -p "$out"
xl=$data/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg
v3=$data/models/darknet_cfg/yolov3.cfg
for f in "$A" "$B" "$xl" "$v3"; do [ -e "$f" ] || { echo "ab_builds: $f not found" >&2; exit 1; }; done
[ -f "$out/xl.onnx" ] || "$A" -q convert "$xl" "${xl%.cfg}.weights" -o "$out/xl.onnx"
[ -f "$out/v3.onnx" ] || "$A" -q convert "$v3" --random-weights 1 --width 416 --height 416 -o "$out/v3.onnx"
for side in A B; do
  bin=$A; [ $side = B ] && bin=$B
  for m in xl v3; do
    [ -f "$out/$m.$side.plan" ] ||
      "$bin" -q build "$out/$m.onnx" --device cpu --precision fp32 --max-batch 1 -o "$out/$m.$side.plan"
  done
done
for i in $(seq "$reps"); do
  order="A B"; [ $((i % 2)) = 0 ] && order="B A"  # order effects cancel over the pairs
  for m in ${MODELS:-xl v3}; do
    n=$iter; [ $m = v3 ] && n=$iter_v3
    for side in $order; do
      bin=$A; [ $side = B ] && bin=$B
      "$bin" -q bench "$out/$m.$side.plan" --batch 1 --threads 2 --iterations "$n" --json "$out/$m.$side.$i.json" > /dev/null
    done
  done
done
/usr/bin/python3 - "$out" "$reps" "$A" "$B" "${MODELS:-xl v3}" <<'PY'
import json, statistics, sys, datetime
out, reps, a, b, models = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].split()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"ab_builds: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, CPU {cpu}, A={a}, B={b}, {reps} pairs")
for m, name in (("xl", "Yolo-Fastest-1.1-XL"), ("v3", "YOLOv3-416")):
    if m not in models:
        continue
    med, runs = {}, {}
    for side in "AB":
        vals = []
        for i in range(1, reps + 1):
            lat = json.load(open(f"{out}/{m}.{side}.{i}.json"))["latency_ms"]
            vals.append(lat["mean"] if isinstance(lat, dict) else statistics.mean(lat))
        med[side], runs[side] = statistics.median(vals), vals
        print(f"  {name} {side}: " + " ".join(f"{v:.2f}" for v in vals) + f" ms (median {med[side]:.2f})")
    pairs = [vb / va for va, vb in zip(runs["A"], runs["B"])]
    print(f"  {name}: B/A of the medians {med['B'] / med['A']:.3f}, median of the pair ratios "
          f"{statistics.median(pairs):.3f} (pairs " + " ".join(f"{r:.2f}" for r in pairs) + ")")
PY
