#!/usr/bin/env bash
# INT8 on the CPU (issue 16): rtdet INT8 against rtdet BF16 and FP32 and against ONNX Runtime 1.30 and
# OpenCV DNN 4.6 (FP32: neither has a comparable post-training INT8 path from these ONNX files), on
# the same ONNX files, batch 1, the same thread count, alternated in one run (REPS rounds; each round
# runs every configuration once; the table shows the median of the rounds' medians).
#
#   scripts/bench/int8_cpu.sh                      # build/, 2 threads, 3 rounds
#   THREADS=2 REPS=5 ITERATIONS=50 scripts/bench/int8_cpu.sh
#   RTDET=/path/to/rtdet ONEDNN_PEAK=/path/to/onednn_peak scripts/bench/int8_cpu.sh
#
# Plans: YOLOv3-416 (official cfg, random weights: speed only) and Yolo-Fastest-1.1-XL (real weights),
# calibrated ($METHOD, default percentile) on coco128's first 64 images and 16 frames of the sample video -- for the XL,
# plans made the way scripts/bench/eval_int8.sh makes its accuracy table's: INT8 (every layer it can)
# and INT8 mixed (--int8-sensitivity: the most sensitive layers kept in float; XL only), and `best`
# (INT8 where the builder measured it faster than BF16, from the plain cache; its choice is printed). GOP/s: convolutions only,
# against this machine's measured INT8 peak (onednn_peak). ONNX Runtime comes from npm into
# $WORK_DIR/ort (`npm install --ignore-scripts onnxruntime-node@1.30.0`), or ORT_NODE_MODULES.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
THREADS=${THREADS:-2}
ITERATIONS=${ITERATIONS:-30}
WARMUP=${WARMUP:-5}
REPS=${REPS:-3}
METHOD=${METHOD:-percentile}   # the calibration method (the accuracy table's)
DATA=${RTDET_DATA:-$ROOT/../shared}
WORK=${WORK_DIR:-$BUILD_DIR/bench_int8}
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$WORK"

if [ -z "${RTDET:-}" ] || [ -z "${ONEDNN_PEAK:-}" ]; then
    [ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
if [ -z "${RTDET:-}" ]; then
    cmake --build "$BUILD_DIR" --target rtdet -j "$(nproc)" >/dev/null
    RTDET=$BUILD_DIR/app/rtdet
fi
if [ -z "${ONEDNN_PEAK:-}" ]; then
    cmake --build "$BUILD_DIR" --target onednn_peak -j "$(nproc)" >/dev/null
    ONEDNN_PEAK=$BUILD_DIR/scripts/bench/onednn_peak
fi
ORT=${ORT_NODE_MODULES:-$WORK/ort/node_modules}
if [ ! -d "$ORT/onnxruntime-node" ]; then
    npm install --silent --ignore-scripts --prefix "$WORK/ort" onnxruntime-node@1.30.0 >/dev/null
fi

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads $THREADS"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC');  load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$ONEDNN_PEAK" "$THREADS" >"$WORK/peak.json"

# Calibration images: coco128's first half and 16 frames of the sample video.
CALIB=$WORK/calib
if [ ! -f "$CALIB/list.txt" ]; then
    mkdir -p "$CALIB"
    ls "$DATA"/datasets/coco128/images/train2017/*.jpg | sed -n 1,64p >"$CALIB/list.txt"
    ffmpeg -loglevel error -y -i "$DATA/videos/car-detection.mp4" -vf "fps=1" -frames:v 16 "$CALIB/video_%02d.jpg"
    ls "$CALIB"/video_*.jpg >>"$CALIB/list.txt"
fi

CFG=$DATA/models/darknet_cfg
FASTEST=$DATA/models/yolo-fastest/yolo-fastest-1.1_coco
[ -f "$WORK/yolov3-416.onnx" ] ||
    "$RTDET" convert "$CFG/yolov3.cfg" --random-weights 1 --width 416 --height 416 -o "$WORK/yolov3-416.onnx" >/dev/null
[ -f "$WORK/yolo-fastest-1.1-xl.onnx" ] ||
    "$RTDET" convert "$FASTEST/yolo-fastest-1.1-xl.cfg" "$FASTEST/yolo-fastest-1.1-xl.weights" \
        -o "$WORK/yolo-fastest-1.1-xl.onnx" >/dev/null

MODELS="yolov3-416 yolo-fastest-1.1-xl"
CONFIGS="fp32 bf16 int8 int8mixed best"
for m in $MODELS; do
    "$PYTHON" "$ROOT/scripts/bench/cpu_peer.py" flops "$WORK/$m.onnx" >"$WORK/$m.flops.json"
    for p in fp32 bf16; do
        [ -f "$WORK/$m.$p.plan" ] || "$RTDET" build "$WORK/$m.onnx" --precision $p -o "$WORK/$m.$p.plan" >/dev/null 2>&1
    done
    if [ ! -f "$WORK/$m.int8.plan" ]; then
        if [ "$m" = "yolov3-416" ]; then
            # Random weights: speed only (no mixed plan: its sensitivity would measure noise).
            "$RTDET" calibrate "$WORK/$m.onnx" --images "$CALIB/list.txt" --method "$METHOD" -o "$WORK/$m.calib.json" >/dev/null 2>&1
        else
            # One calibration with the sensitivity measurement; the INT8 plan ignores its float layers.
            "$RTDET" calibrate "$WORK/$m.onnx" --images "$CALIB/list.txt" --method "$METHOD" --int8-sensitivity \
                -o "$WORK/$m.mixed.calib.json" >"$WORK/$m.sensitivity.txt" 2>&1
            "$PYTHON" -c 'import json,sys; t=json.load(open(sys.argv[1])); t.pop("float_layers",None); t.pop("sensitivity",None); json.dump(t,open(sys.argv[2],"w"),indent=1)' \
                "$WORK/$m.mixed.calib.json" "$WORK/$m.calib.json"
            "$RTDET" build "$WORK/$m.onnx" --precision int8 --calib-cache "$WORK/$m.mixed.calib.json" \
                -o "$WORK/$m.int8mixed.plan" >/dev/null 2>&1
        fi
        "$RTDET" build "$WORK/$m.onnx" --precision int8 --calib-cache "$WORK/$m.calib.json" -o "$WORK/$m.int8.plan" >/dev/null 2>&1
    fi
    [ -f "$WORK/$m.best.plan" ] || "$RTDET" build "$WORK/$m.onnx" --precision best \
        --calib-cache "$WORK/$m.calib.json" -o "$WORK/$m.best.plan" 2>&1 | grep -o "best: timed.*" | sed "s/^/$m: /"
done

echo "plans:   $("$RTDET" info "$WORK/yolov3-416.int8.plan" | grep -m1 '^device')"
grep -h "kept in float" "$WORK"/*.sensitivity.txt | sed 's/^/XL mixed: /'

# Alternated rounds.
for r in $(seq 1 "$REPS"); do
    for m in $MODELS; do
        shape=$(case $m in yolov3-416) echo 1x3x416x416 ;; *) echo 1x3x320x320 ;; esac)
        for p in $CONFIGS; do
            [ -f "$WORK/$m.$p.plan" ] || continue
            "$RTDET" bench "$WORK/$m.$p.plan" --threads "$THREADS" --iterations "$ITERATIONS" --warmup "$WARMUP" \
                --json "$WORK/$m.$p.r$r.json" >/dev/null 2>&1
        done
        NODE_PATH=$ORT node "$ROOT/scripts/bench/ort_peer.js" "$WORK/$m.onnx" "$shape" "$THREADS" "$ITERATIONS" \
            "$WARMUP" >"$WORK/$m.ort.r$r.json"
        "$PYTHON" "$ROOT/scripts/bench/cpu_peer.py" opencv "$WORK/$m.onnx" --threads "$THREADS" \
            --iterations "$ITERATIONS" --warmup "$WARMUP" >"$WORK/$m.opencv.r$r.json"
    done
done

"$PYTHON" - "$WORK" "$REPS" $MODELS <<'PYEOF'
import json, os, statistics, sys
work, reps, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
load = lambda p: json.load(open(p))
peak = load(os.path.join(work, "peak.json"))
print(f"peak (one 3x3 conv on oneDNN): FP32 {peak['f32_gflops']:.0f} GFLOP/s, BF16 {peak['bf16_gflops']:.0f} GFLOP/s, INT8 {peak.get('int8_gops', 0):.0f} GOP/s")
def med(m, p):
    if not os.path.exists(os.path.join(work, f"{m}.{p}.r1.json")):
        return None
    if p in ("ort", "opencv"):
        return statistics.median(load(os.path.join(work, f"{m}.{p}.r{r}.json"))["median_ms"] for r in range(1, reps + 1))
    return statistics.median(load(os.path.join(work, f"{m}.{p}.r{r}.json"))["latency_ms"]["median"] for r in range(1, reps + 1))
for m in models:
    fl = load(os.path.join(work, f"{m}.flops.json"))["conv_gflop"]
    ms = {p: med(m, p) for p in ("fp32", "bf16", "int8", "int8mixed", "best", "ort", "opencv")}
    print(f"\n{m} ({fl:.2f} GFLOP of convolutions), batch 1, median of {reps} rounds")
    print(f"  {'':<26}{'ms':>8}{'GOP/s':>8}{'%INT8 peak':>11}{'INT8 is x faster':>18}")
    names = {"int8": "rtdet INT8", "int8mixed": "rtdet INT8 mixed", "best": "rtdet best", "bf16": "rtdet BF16", "fp32": "rtdet FP32",
             "ort": "ONNX Runtime 1.30 FP32", "opencv": "OpenCV DNN 4.6 FP32"}
    for p in ("int8", "int8mixed", "best", "bf16", "fp32", "ort", "opencv"):
        if ms[p] is None:
            continue
        g = fl / (ms[p] / 1e3)
        pk = 100 * g / peak["int8_gops"] if peak.get("int8_gops") else 0
        print(f"  {names[p]:<26}{ms[p]:>8.2f}{g:>8.0f}{pk:>10.0f}%{ms[p] / ms['int8']:>18.2f}")
PYEOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
