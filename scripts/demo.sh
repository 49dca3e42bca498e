#!/usr/bin/env bash
# The main demo: set up and build, then detect objects in the sample video with the real-time pipeline
# (headless unless --show is passed; a window needs a display) and in the darknet sample images.
#
#   scripts/demo.sh            # writes out/demo.mp4, out/demo.jsonl, out/detect/*.jpg
#   scripts/demo.sh --show     # the same, with a window (q quits, space pauses, s saves a snapshot)
#
# The model (Yolo-Fastest-1.1-XL, real COCO weights) is converted to ONNX and built into a plan on
# first use; both are cached ($RTDET_CACHE or ~/.cache/rtdet) and reloaded on later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BIN=${BUILD_DIR:-build}/app/rtdet
data=${RTDET_DATA:-../shared}
video=$data/videos/car-detection.mp4
[ -f "$video" ] || { echo "demo: $video not found (set RTDET_DATA to the data folder)" >&2; exit 1; }
cfg=$(scripts/fetch_model.sh)   # the model's .cfg (.weights beside it): data folder, else downloaded
out=${RTDET_OUT:-out}
mkdir -p "$out"

view=--headless
[ "${1:-}" = "--show" ] && view=--show

echo "== rtdet run: $video -> $out/demo.mp4, $out/demo.jsonl"
"$BIN" run --config configs/yolo-fastest-xl.yaml --model "$cfg" --source "$video" $view \
  -o "$out/demo.mp4" --json "$out/demo.jsonl"

echo "== rtdet detect: $data/images/darknet_samples -> $out/detect/"
"$BIN" detect "$data/images/darknet_samples" --model "$cfg" --out "$out/detect"
