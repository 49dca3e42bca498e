#!/usr/bin/env bash
# End-to-end speed of `rtdet run` against the same pipeline on OpenCV DNN, in the same run:
#   - FPS end to end on the sample video (capture -> preprocess -> network -> decode/NMS -> JSON lines),
#   - mean time per image (preprocess + network + decode/NMS) over coco128's 128 images,
# for Yolo-Fastest-1.1-XL (real weights) and YOLOv3-416 (random weights, the official architecture),
# rtdet FP32 and BF16, OpenCV DNN 4.6 FP32 (the peer: `rtdet run --peer opencv`, same preprocessing,
# decode and NMS, same thread count). Prints a table and the rtdet / OpenCV ratios.
#
#   scripts/bench/app.sh                    BUILD_DIR=build  THREADS=$(nproc)
#   V3_FRAMES=100 scripts/bench/app.sh      video frames for YOLOv3 (0: all 377; default 120)
#   MODELS="xl" scripts/bench/app.sh        only Yolo-Fastest-XL ("xl v3" by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BUILD_DIR:-build}/app/rtdet
data=${RTDET_DATA:-../shared}
threads=${THREADS:-$(nproc)}
v3_frames=${V3_FRAMES:-120}
models=${MODELS:-xl v3}
out=${RTDET_OUT:-out}/bench_app
mkdir -p "$out"
video=$data/videos/car-detection.mp4
coco=$data/datasets/coco128/images/train2017
for f in "$BIN" "$video" "$coco"; do [ -e "$f" ] || { echo "bench_app: $f not found" >&2; exit 1; }; done

# The models, as ONNX files both runners load (rtdet builds and caches its plans from them).
xl_onnx=$out/yolo-fastest-1.1-xl.onnx
v3_onnx=$out/yolov3-416-random1.onnx
[ -f "$xl_onnx" ] || "$BIN" convert "$data/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg" \
  "$data/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.weights" -o "$xl_onnx"
[ -f "$v3_onnx" ] || "$BIN" convert "$data/models/darknet_cfg/yolov3.cfg" --random-weights 1 --width 416 --height 416 \
  -o "$v3_onnx"

# run NAME MODEL SOURCE MAX_FRAMES ARGS...: one `rtdet run`, summary JSON in $out/NAME.json.
run() {
  local name=$1 model=$2 source=$3 frames=$4
  shift 4
  echo "bench_app: $name" >&2
  "$BIN" -q run --config configs/yolo-fastest-xl.yaml --headless --model "$model" --source "$source" \
    --threads "$threads" --max-frames "$frames" --json "$out/$name.jsonl" --summary-json "$out/$name.json" "$@" \
    > "$out/$name.txt"
}

for m in $models; do
  case $m in
    xl) onnx=$xl_onnx; frames=0 ;;
    v3) onnx=$v3_onnx; frames=$v3_frames ;;
    *) echo "bench_app: unknown model $m (xl, v3)" >&2; exit 1 ;;
  esac
  for runner in fp32 bf16 opencv; do
    args=(--precision "$runner")
    [ "$runner" = opencv ] && args=(--peer opencv)
    # Warm the plan cache (and OpenCV's first-run setup) so the timed runs load, not build.
    run "$m-$runner-warm" "$onnx" "$video" 3 "${args[@]}"
    run "$m-$runner-video" "$onnx" "$video" "$frames" "${args[@]}"
    run "$m-$runner-coco" "$onnx" "$coco" 0 "${args[@]}"
  done
done

/usr/bin/python3 - "$out" "$models" "$threads" <<'EOF'
import json, sys, os, platform, subprocess
out, models, threads = sys.argv[1], sys.argv[2].split(), sys.argv[3]
names = {"xl": "Yolo-Fastest-1.1-XL 320", "v3": "YOLOv3-416 (random w.)"}
def load(n):
    with open(os.path.join(out, n + ".json")) as f:
        return json.load(f)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"\nrtdet run vs OpenCV DNN, same pipeline, {threads} threads, {cpu}")
print(f"{'model':<26} {'runner':<12} {'video FPS':>9} {'frames':>6} {'coco128 ms/img':>14} "
      f"{'(pre+net+post)':>22} {'FPS x':>6} {'ms x':>6}")
for m in models:
    peer_v = load(f"{m}-opencv-video"); peer_c = load(f"{m}-opencv-coco")
    for r, label in (("fp32", "rtdet fp32"), ("bf16", "rtdet bf16"), ("opencv", "opencv fp32")):
        v = load(f"{m}-{r}-video"); c = load(f"{m}-{r}-coco")
        st = c["stages"]
        parts = f'{st["preprocess"]["mean_ms"]:.1f}+{st["inference"]["mean_ms"]:.1f}+{st["postprocess"]["mean_ms"]:.2f}'
        fx = v["fps"] / peer_v["fps"] if peer_v["fps"] else 0
        mx = peer_c["mean_total_ms"] / c["mean_total_ms"] if c["mean_total_ms"] else 0
        print(f"{names[m]:<26} {label:<12} {v['fps']:>9.1f} {v['frames_out']:>6} {c['mean_total_ms']:>14.2f} "
              f"{parts:>22} {fx:>6.2f} {mx:>6.2f}")
print("FPS x: video FPS / OpenCV's; ms x: OpenCV's coco128 ms per image / this one's (higher is better).")
EOF
