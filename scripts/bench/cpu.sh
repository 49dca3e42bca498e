#!/usr/bin/env bash
# CPU speed benchmark: rtdet (oneDNN backend, FP32 and BF16) against OpenCV DNN 4.6 on the same ONNX
# files, the same input shape and the same thread count, in one run. Prints a table with latency,
# the speed-up over OpenCV, and the convolution GFLOP/s achieved against this machine's measured
# peak (scripts/bench/onednn_peak.cpp, CMake's target onednn_peak: large oneDNN 3x3 convolutions).
#
#   scripts/bench/cpu.sh                       # build/ (configured if missing), all cores
#   BUILD_DIR=build-x THREADS=2 ITERATIONS=30 scripts/bench/cpu.sh
#   PROFILE=1 scripts/bench/cpu.sh             # also: per-op-type time of YOLOv3-416 (rtdet bench --profile)
#   RTDET=/path/to/rtdet scripts/bench/cpu.sh  # that binary, no build (of rtdet)
#   ONEDNN_PEAK=/path/to/onednn_peak scripts/bench/cpu.sh   # that peak binary (default: $BUILD_DIR's, built)
#
# Models: YOLOv3-416 and YOLOv3-tiny-416 (official cfgs, random weights: speed does not depend on
# them), Yolo-Fastest-1.1-XL (real weights, its native 320x320). They come from $RTDET_DATA (default
# ../shared). Intermediate files go to $WORK_DIR (default $BUILD_DIR/bench_cpu).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
THREADS=${THREADS:-$(nproc)}
ITERATIONS=${ITERATIONS:-20}
WARMUP=${WARMUP:-3}
DATA=${RTDET_DATA:-$ROOT/../shared}
WORK=${WORK_DIR:-$BUILD_DIR/bench_cpu}
PYTHON=${PYTHON:-/usr/bin/python3}

mkdir -p "$WORK"
if [ -z "${RTDET:-}" ] || [ -z "${ONEDNN_PEAK:-}" ]; then
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
fi
if [ -z "${RTDET:-}" ]; then
    cmake --build "$BUILD_DIR" --target rtdet -j "$THREADS" >/dev/null
    RTDET=$BUILD_DIR/app/rtdet
fi
if [ -z "${ONEDNN_PEAK:-}" ]; then  # CMake's target onednn_peak (scripts/bench/CMakeLists.txt; needs oneDNN)
    cmake --build "$BUILD_DIR" --target onednn_peak -j "$THREADS" >/dev/null
    ONEDNN_PEAK=$BUILD_DIR/scripts/bench/onednn_peak
fi

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads $THREADS"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC');  load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Peak: the best of a few large 3x3 convolutions straight on oneDNN.
"$ONEDNN_PEAK" "$THREADS" >"$WORK/peak.json"

CFG=$DATA/models/darknet_cfg
FASTEST=$DATA/models/yolo-fastest/yolo-fastest-1.1_coco
convert() {  # name args...
    local name=$1
    shift
    [ -f "$WORK/$name.onnx" ] || "$RTDET" convert "$@" -o "$WORK/$name.onnx" >/dev/null
}
convert yolov3-416 "$CFG/yolov3.cfg" --random-weights 1 --width 416 --height 416
convert yolov3-tiny-416 "$CFG/yolov3-tiny.cfg" --random-weights 1 --width 416 --height 416
convert yolo-fastest-1.1-xl "$FASTEST/yolo-fastest-1.1-xl.cfg" "$FASTEST/yolo-fastest-1.1-xl.weights"

MODELS="yolov3-416 yolov3-tiny-416 yolo-fastest-1.1-xl"
BF16=$("$RTDET" bench "$WORK/yolo-fastest-1.1-xl.onnx" --precision bf16 --iterations 1 --warmup 0 \
    --threads "$THREADS" 2>&1 | grep -c "falls back to FP32" || true)
for m in $MODELS; do
    "$PYTHON" "$ROOT/scripts/bench/cpu_peer.py" flops "$WORK/$m.onnx" >"$WORK/$m.flops.json"
    "$RTDET" bench "$WORK/$m.onnx" --precision fp32 --threads "$THREADS" --iterations "$ITERATIONS" \
        --warmup "$WARMUP" --json "$WORK/$m.fp32.json" >/dev/null
    if [ "$BF16" = "0" ]; then
        "$RTDET" bench "$WORK/$m.onnx" --precision bf16 --threads "$THREADS" --iterations "$ITERATIONS" \
            --warmup "$WARMUP" --json "$WORK/$m.bf16.json" >/dev/null
    fi
    "$PYTHON" "$ROOT/scripts/bench/cpu_peer.py" opencv "$WORK/$m.onnx" --threads "$THREADS" \
        --iterations "$ITERATIONS" --warmup "$WARMUP" >"$WORK/$m.opencv.json"
done

"$PYTHON" - "$WORK" $MODELS <<'EOF'
import json, os, sys
work, models = sys.argv[1], sys.argv[2:]
load = lambda p: json.load(open(p)) if os.path.exists(p) else None
peak = load(os.path.join(work, "peak.json"))
print(f"peak (one 3x3 conv on oneDNN): FP32 {peak['f32_gflops']:.0f} GFLOP/s, BF16 {peak['bf16_gflops']:.0f} GFLOP/s, INT8 {peak.get('int8_gops', 0):.0f} GOP/s")
print()
hdr = f"{'model':<22}{'GFLOP':>7}{'OpenCV ms':>11}{'FP32 ms':>9}{'x OpenCV':>9}{'GFLOP/s':>9}{'%peak':>7}" \
      f"{'BF16 ms':>9}{'x OpenCV':>9}{'GFLOP/s':>9}{'%peak':>7}"
print(hdr)
print("-" * len(hdr))
for m in models:
    fl = load(os.path.join(work, f"{m}.flops.json"))["conv_gflop"]
    cv = load(os.path.join(work, f"{m}.opencv.json"))["median_ms"]
    row = f"{m:<22}{fl:>7.2f}{cv:>11.1f}"
    for prec, pk in (("fp32", peak["f32_gflops"]), ("bf16", peak["bf16_gflops"])):
        r = load(os.path.join(work, f"{m}.{prec}.json"))
        if r is None:
            row += f"{'-':>9}{'-':>9}{'-':>9}{'-':>7}"
            continue
        ms = r["latency_ms"]["median"]
        g = fl / (ms / 1e3)
        row += f"{ms:>9.2f}{cv / ms:>9.1f}{g:>9.0f}{(100 * g / pk if pk else 0):>6.0f}%"
    print(row)
print()
print("ms: median latency of batch 1 (rtdet bench / cv2.dnn, same thread count); GFLOP: convolutions only")
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${PROFILE:-0}" = "1" ]; then
    for prec in fp32 bf16; do
        [ "$prec" = "bf16" ] && [ "$BF16" != "0" ] && continue
        "$RTDET" bench "$WORK/yolov3-416.onnx" --precision "$prec" --threads "$THREADS" --iterations "$ITERATIONS" \
            --warmup "$WARMUP" --profile --json "$WORK/yolov3-416.$prec.profile.json" >/dev/null
        "$PYTHON" - "$WORK/yolov3-416.$prec.profile.json" "$prec" <<'EOF'
import json, sys, collections
j = json.load(open(sys.argv[1]))
by = collections.defaultdict(lambda: [0.0, 0])
for l in j["profile"]:
    by[(l["op"], l["backend"])][0] += l["mean_ms"]
    by[(l["op"], l["backend"])][1] += 1
total = sum(v[0] for v in by.values())
print(f"\nYOLOv3-416 {sys.argv[2]}: where the time goes (sum of layers {total:.1f} ms)")
for (op, be), (ms, n) in sorted(by.items(), key=lambda kv: -kv[1][0]):
    print(f"  {op:<10} {be:<10} {n:>4} layers {ms:>8.2f} ms {100 * ms / total:>5.1f}%")
EOF
    done
fi
