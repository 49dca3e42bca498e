#!/usr/bin/env bash
# The main job: set up, then build a plan for the default model (Yolo-Fastest-1.1-XL) and benchmark it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BIN=${BUILD_DIR:-build}/rtdet
cfg=$(scripts/fetch_model.sh)
out=${RTDET_OUT:-out}
mkdir -p "$out"
"$BIN" convert "$cfg" "${cfg%.cfg}.weights" -o "$out/yolo-fastest-1.1-xl.onnx"
"$BIN" build "$out/yolo-fastest-1.1-xl.onnx" --device cpu --precision fp32 -o "$out/yolo-fastest-1.1-xl.cpu.fp32.plan"
"$BIN" bench "$out/yolo-fastest-1.1-xl.cpu.fp32.plan" --iterations 100 --profile
