#!/usr/bin/env bash
# INT8 accuracy (issue 16): coco128 mAP@0.5 and mAP@0.5:0.95 of both Yolo-Fastest COCO models, FP32 vs
# INT8 (every layer it can) vs INT8 mixed (--int8-sensitivity: the most sensitive layers kept in
# float), with `rtdet eval` on plans built by `rtdet build`. Calibration images are disjoint from the
# evaluated ones: calibrate on coco128's first 64 images and 16 frames of the sample video, evaluate on
# coco128's last 64. Prints a markdown table.
#
#   scripts/bench/eval_int8.sh                # build/, the calibration method entropy
#   METHOD=percentile MAX_ERROR=0.02 EQUALIZE=--equalize scripts/bench/eval_int8.sh
#
# Data: $RTDET_DATA (default ../shared). Work files: $WORK_DIR (default $BUILD_DIR/eval_int8).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
DATA=${RTDET_DATA:-$ROOT/../shared}
WORK=${WORK_DIR:-$BUILD_DIR/eval_int8}
METHOD=${METHOD:-entropy}
MAX_ERROR=${MAX_ERROR:-0.01}
EQUALIZE=${EQUALIZE:-}   # --equalize: cross-layer equalization
PYTHON=${PYTHON:-/usr/bin/python3}
if [ -z "${RTDET:-}" ]; then
    [ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD_DIR" --target rtdet -j "$(nproc)" >/dev/null
    RTDET=$BUILD_DIR/app/rtdet
fi
IMAGES=$DATA/datasets/coco128/images/train2017
LABELS=$DATA/datasets/coco128/labels/train2017
[ -d "$IMAGES" ] || { echo "eval_int8: $IMAGES not found (set RTDET_DATA)" >&2; exit 1; }

# Calibration: the first half and video frames; evaluation: the second half (links in one folder).
. "$ROOT/scripts/bench/int8_split.sh"
int8_calib_list "$DATA" "$WORK"
int8_eval_images "$DATA" "$WORK/eval_images"

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'); calibration $METHOD on $(wc -l <"$WORK/calib.txt") images, max error $MAX_ERROR"
MODELS=$DATA/models/yolo-fastest/yolo-fastest-1.1_coco
for m in yolo-fastest-1.1 yolo-fastest-1.1-xl; do
    cfg=$MODELS/$m.cfg
    "$RTDET" calibrate "$cfg" --images "$WORK/calib.txt" --method "$METHOD" --int8-sensitivity $EQUALIZE \
        --max-error "$MAX_ERROR" -o "$WORK/$m.mixed.calib.json" >"$WORK/$m.sensitivity.txt" 2>&1
    "$PYTHON" -c 'import json,sys; t=json.load(open(sys.argv[1])); t.pop("float_layers",None); t.pop("sensitivity",None); json.dump(t,open(sys.argv[2],"w"),indent=1)' \
        "$WORK/$m.mixed.calib.json" "$WORK/$m.calib.json"
    "$RTDET" build "$cfg" --precision fp32 -o "$WORK/$m.fp32.plan" >/dev/null 2>&1
    "$RTDET" build "$cfg" --precision int8 --calib-cache "$WORK/$m.calib.json" -o "$WORK/$m.int8.plan" >/dev/null 2>&1
    "$RTDET" build "$cfg" --precision int8 --calib-cache "$WORK/$m.mixed.calib.json" -o "$WORK/$m.int8mixed.plan" \
        >/dev/null 2>&1
    for p in fp32 int8 int8mixed; do
        "$RTDET" eval --images "$WORK/eval_images" --labels "$LABELS" --model "$WORK/$m.$p.plan" \
            --json "$WORK/$m.$p.eval.json" >/dev/null 2>&1
    done
done

"$PYTHON" - "$WORK" <<'PYEOF'
import json, os, re, sys
work = sys.argv[1]
print()
print("| model | precision | layers in INT8 | mAP@0.5 | vs FP32 | mAP@0.5:0.95 | vs FP32 |")
print("|---|---|---|---:|---:|---:|---:|")
for m in ("yolo-fastest-1.1", "yolo-fastest-1.1-xl"):
    ev = {p: json.load(open(os.path.join(work, f"{m}.{p}.eval.json"))) for p in ("fp32", "int8", "int8mixed")}
    sens = open(os.path.join(work, f"{m}.sensitivity.txt")).read()
    total = len(re.findall(r"^  layer_\S+ +[0-9.e+-]+$", sens, re.M))
    kept = int(re.search(r"kept in float: (\d+) layer", sens).group(1))
    layers = {"fp32": "0", "int8": f"{total} of {total} convs", "int8mixed": f"{total - kept} of {total} convs"}
    f50, f95 = ev["fp32"]["map50"], ev["fp32"]["map50_95"]
    for p in ("fp32", "int8", "int8mixed"):
        a50, a95 = ev[p]["map50"], ev[p]["map50_95"]
        name = {"fp32": "FP32", "int8": "INT8", "int8mixed": "INT8 mixed"}[p]
        d50 = "" if p == "fp32" else f"{100 * (a50 - f50):+.2f}"
        d95 = "" if p == "fp32" else f"{100 * (a95 - f95):+.2f}"
        print(f"| {m} | {name} | {layers[p]} | {100 * a50:.2f} | {d50} | {100 * a95:.2f} | {d95} |")
PYEOF
