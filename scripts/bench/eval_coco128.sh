#!/usr/bin/env bash
# coco128 mAP of both Yolo-Fastest COCO models (1.1 and 1.1-XL) at FP32 and BF16 with `rtdet eval`,
# printed as the markdown table of docs/detector.md. JSON results and PR plots go to $OUT_DIR.
#
#   scripts/bench/eval_coco128.sh                          # build/ (configured if missing), all cores
#   BUILD_DIR=build-x PRECISIONS="fp32" RESIZE=stretch DEVICE=reference scripts/bench/eval_coco128.sh
#
# DEVICE (default cpu: oneDNN where it runs a node, the reference kernels elsewhere; `reference` for
# the oracle alone). A precision the device lacks falls back to FP32: the table's bf16-layer
# column shows it.
# Data: $RTDET_DATA (default ../shared): datasets/coco128 and models/yolo-fastest/yolo-fastest-1.1_coco.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
DATA=${RTDET_DATA:-$ROOT/../shared}
OUT=${OUT_DIR:-$ROOT/out/eval_coco128}
PRECISIONS=${PRECISIONS:-"fp32 bf16"}
RESIZE=${RESIZE:-}   # empty: the model's (darknet)
DEVICE=${DEVICE:-cpu}
PYTHON=${PYTHON:-/usr/bin/python3}

if [ -z "${RTDET:-}" ]; then   # RTDET=/path/to/rtdet: that binary, no build
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    cmake --build "$BUILD_DIR" --target rtdet -j "$(nproc)" >/dev/null
    RTDET=$BUILD_DIR/app/rtdet
fi
mkdir -p "$OUT"

MODELS=$DATA/models/yolo-fastest/yolo-fastest-1.1_coco
IMAGES=$DATA/datasets/coco128/images/train2017
LABELS=$DATA/datasets/coco128/labels/train2017
[ -d "$IMAGES" ] || { echo "eval_coco128: $IMAGES not found (set RTDET_DATA)" >&2; exit 1; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'); rtdet $("$RTDET" --version | cut -d' ' -f2)"
for model in yolo-fastest-1.1 yolo-fastest-1.1-xl; do
    for prec in $PRECISIONS; do
        tag=$model.$DEVICE.$prec${RESIZE:+.$RESIZE}
        echo "+ rtdet eval --model $model.cfg --device $DEVICE --precision $prec ${RESIZE:+--resize $RESIZE}" >&2
        "$RTDET" eval --images "$IMAGES" --labels "$LABELS" --model "$MODELS/$model.cfg" --device "$DEVICE" \
            --precision "$prec" \
            ${RESIZE:+--resize "$RESIZE"} --json "$OUT/$tag.json" --plot "$OUT/$tag.pr.png" >"$OUT/$tag.txt" 2>&1 ||
            { cat "$OUT/$tag.txt" >&2; exit 1; }
    done
done

"$PYTHON" - "$OUT" "$PRECISIONS" "${RESIZE:-}" "$DEVICE" <<'PY'
import json, re, sys
out, precs, resize, device = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4]
print()
policy = resize if resize else "darknet (the models' own)"
print(f"device {device}, resize {policy}")
print("| model | precision | plan layers in bf16 | mAP@0.5 | mAP@0.5:0.95 | Δ mAP@0.5 vs fp32 | Δ mAP@0.5:0.95 vs fp32 | mean inference ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for model in ("yolo-fastest-1.1", "yolo-fastest-1.1-xl"):
    base = None
    for p in precs:
        tag = f"{model}.{device}.{p}" + (f".{resize}" if resize else "")
        j = json.load(open(f"{out}/{tag}.json"))
        txt = open(f"{out}/{tag}.txt").read()
        m = re.search(r"bf16 layers: (\d+)/(\d+)", txt)
        layers = f"{m.group(1)}/{m.group(2)}" if m else "-"
        if base is None:
            base = j
        d50 = j["map50"] - base["map50"]
        d = j["map50_95"] - base["map50_95"]
        print(f"| {model} | {p} | {layers} | {j['map50']:.4f} | {j['map50_95']:.4f} | {d50:+.4f} | {d:+.4f} | "
              f"{j['mean_ms']['inference']:.2f} |")
PY
