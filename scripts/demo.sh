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
images=$data/images/darknet_samples
cfg=$(scripts/fetch_model.sh)   # the model's .cfg (.weights beside it): data folder, else downloaded
out=${RTDET_OUT:-out}
mkdir -p "$out"

view=--headless
[ "${1:-}" = "--show" ] && view=--show

if [ -f "$video" ]; then
  echo "== rtdet run: $video -> $out/demo.mp4, $out/demo.jsonl"
  "$BIN" run --config configs/yolo-fastest-xl.yaml --model "$cfg" --source "$video" $view \
    -o "$out/demo.mp4" --json "$out/demo.jsonl"
else
  echo "demo: $video not found (set RTDET_DATA to the data folder): skipping the video" >&2
fi

if [ ! -d "$images" ]; then
  # Without the data folder: darknet's own sample image, fetched once and checked.
  images=$out/samples
  mkdir -p "$images"
  scripts/fetch_model.sh --sample-image "$images/dog.jpg" >/dev/null
fi
echo "== rtdet detect: $images -> $out/detect/"
"$BIN" detect "$images" --model "$cfg" --out "$out/detect" --json "$out/detect.json"
