#!/usr/bin/env bash
# Prints the path of the default model's darknet .cfg (Yolo-Fastest-1.1-XL, COCO-80), with its .weights
# beside it: from the data folder ($RTDET_DATA or ../shared) when there, else downloaded once from the
# model's official repository into the cache and checked against the published sha256.
#   scripts/fetch_model.sh --sample-image OUT.jpg   darknet's dog.jpg (data folder, else downloaded and checked)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sample-image" ]; then
  out=${2:?usage: fetch_model.sh --sample-image OUT.jpg}
  sha=5a9522051c3cec2bbd2f6323fccba32e8fbf3ddcc2b3e2fd46b04c720bc6f866
  local_copy=${RTDET_DATA:-../shared}/images/darknet_samples/dog.jpg
  if [ -f "$local_copy" ]; then cp "$local_copy" "$out"; else
    echo "fetch_model: downloading darknet's data/dog.jpg" >&2
    curl -fsSL --retry 3 -o "$out.part" https://raw.githubusercontent.com/pjreddie/darknet/master/data/dog.jpg
  fi
  [ -f "$out.part" ] && mv "$out.part" "$out"
  echo "$sha  $out" | sha256sum -c --quiet - || { echo "fetch_model: checksum mismatch for $out" >&2; rm -f "$out"; exit 1; }
  echo "$out"
  exit 0
fi
rel=models/yolo-fastest/yolo-fastest-1.1_coco
name=yolo-fastest-1.1-xl
data=${RTDET_DATA:-../shared}
if [ -f "$data/$rel/$name.cfg" ] && [ -f "$data/$rel/$name.weights" ]; then
  echo "$data/$rel/$name.cfg"
  exit 0
fi
cache=${RTDET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rtdet}/models
mkdir -p "$cache"
base=https://raw.githubusercontent.com/dog-qiuqiu/Yolo-Fastest/96a2900d163196c396e73f3fdab04ca4dd9a2f70/ModelZoo/yolo-fastest-1.1_coco
fetch() {  # file sha256
  if [ ! -f "$cache/$1" ] || ! echo "$2  $cache/$1" | sha256sum -c --quiet - 2>/dev/null; then
    echo "fetch_model: downloading $1" >&2
    curl -fsSL --retry 3 -o "$cache/$1.part" "$base/$1"
    echo "$2  $cache/$1.part" | sha256sum -c --quiet - || { echo "fetch_model: checksum mismatch for $1" >&2; exit 1; }
    mv "$cache/$1.part" "$cache/$1"
  fi
}
fetch $name.cfg c458427acc4fbeabceff4528ef7b65b066c0308ce599460f8ba299eba63abad3
fetch $name.weights fac5fb41786c1f38f04972a658443b189f48720d7d117f9a044100e98a35b0c5
echo "$cache/$name.cfg"
