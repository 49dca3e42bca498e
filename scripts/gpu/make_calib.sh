#!/usr/bin/env bash
# The INT8 calibration caches the GPU machine's runs build from (scripts/gpu/run.sh, stages int8 and
# int8eval). They are made here, on the CPU, with a oneDNN build of rtdet: the GPU machine has no
# oneDNN, and a calibration cache does not depend on the device (docs/int8.md). Called by
# scripts/gpu/bundle.sh with its data folder; can be run alone:
#
#   RTDET_CPU=/work/main/build/app/rtdet scripts/gpu/make_calib.sh [DEST]   # DEST: e.g. .gpu_bundle/data/calib
#
# Writes (into $CALIB_WORK/out, then copied to DEST):
#   yolo-fastest-1.1.calib.json, yolo-fastest-1.1-xl.calib.json
#        percentile 99.99 (the method of docs/int8.md's accuracy table: better than entropy for both
#        models), every conv INT8; calibrated on coco128's first 64 images + 16 video frames
#        (scripts/bench/int8_split.sh, as scripts/bench/eval_int8.sh; the GPU evaluates the last 64)
#   yolo-fastest-1.1.mixed.calib.json, yolo-fastest-1.1-xl.mixed.calib.json
#        the same ranges plus --int8-sensitivity's choice of layers kept in float (max error 0.01,
#        measured on the first 16 calibration images on this CPU)
#   yolov3-416.calib.json
#        YOLOv3-416 with random weights, seed 4321 (the ONNX model run.sh converts there with
#        `rtdet convert yolov3.cfg --random-weights 4321 --width 416 --height 416`; the conversion is
#        deterministic: mt19937 and 24-bit uniforms), percentile, on the first 16 calibration
#        images: for speed only, its accuracy means nothing (random weights detect nothing)
#   yolov3-416.onnx.sha256  the sha256 of that ONNX file here; run.sh's int8 stage compares its own
#   calib.txt               the calibration images (names only); MANIFEST.txt: how they were made
#
# The work is kept in $CALIB_WORK (default build-calib/, ignored) and redone only when the rtdet
# binary, its librtdet_* libraries, this script or the split changes (a stamp file). About 6-8 minutes
# on 2 shared cores (the two sensitivity measurements take most of it).
# Environment: RTDET_CPU (default build/app/rtdet), RTDET_DATA (../shared), CALIB_WORK (build-calib),
# CALIB_NICE (10: the niceness of the calibration runs), CALIB_SKIP_MIXED=1 (no sensitivity runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DEST=${1:-}
DATA=$(cd "${RTDET_DATA:-$ROOT/../shared}" && pwd)  # absolute: the image list is read relative to its own folder
RTDET=${RTDET_CPU:-$ROOT/build/app/rtdet}
WORK=${CALIB_WORK:-$ROOT/build-calib}
NICE=${CALIB_NICE:-10}
SEED=4321   # run.sh's convert_models
[ -x "$RTDET" ] || { echo "make_calib: no CPU rtdet at $RTDET (set RTDET_CPU to a oneDNN build's app/rtdet)" >&2; exit 1; }
[ -d "$DATA/datasets/coco128/images" ] || { echo "make_calib: no coco128 under $DATA (set RTDET_DATA)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "make_calib: ffmpeg is needed for the video frames" >&2; exit 1; }

# The stamp: what the caches depend on.
stamp() {
    {
        sha256sum "$RTDET" | cut -d' ' -f1
        ldd "$RTDET" | awk '/librtdet_|libdnnl/ {print $3}' | sort | xargs -r sha256sum | cut -d' ' -f1
        sha256sum "$0" "$ROOT/scripts/bench/int8_split.sh" | cut -d' ' -f1
        echo "skip_mixed=${CALIB_SKIP_MIXED:-0}"
    } | sha256sum | cut -d' ' -f1
}
want=$(stamp)
OUTD=$WORK/out
if [ -f "$OUTD/STAMP" ] && [ "$(cat "$OUTD/STAMP")" = "$want" ]; then
    echo "make_calib: $OUTD is up to date (stamp ${want:0:12})"
else
    rm -rf "$OUTD"
    mkdir -p "$OUTD"
    . "$ROOT/scripts/bench/int8_split.sh"
    int8_calib_list "$DATA" "$WORK"
    t0=$SECONDS
    run() { nice -n "$NICE" "$RTDET" "$@"; }
    MODELS=$DATA/models/yolo-fastest/yolo-fastest-1.1_coco
    for m in yolo-fastest-1.1 yolo-fastest-1.1-xl; do
        echo "make_calib: $m (percentile, $(wc -l <"$WORK/calib.txt") images)"
        if [ "${CALIB_SKIP_MIXED:-0}" = 1 ]; then
            run calibrate "$MODELS/$m.cfg" --images "$WORK/calib.txt" --method percentile \
                -o "$OUTD/$m.calib.json" >"$WORK/$m.calibrate.log" 2>&1 || { tail -5 "$WORK/$m.calibrate.log"; exit 1; }
            continue
        fi
        # As eval_int8.sh: one run measures the ranges and the sensitivity; the plain cache is the same
        # ranges without the float layers.
        run calibrate "$MODELS/$m.cfg" --images "$WORK/calib.txt" --method percentile --int8-sensitivity \
            --max-error 0.01 -o "$OUTD/$m.mixed.calib.json" >"$WORK/$m.sensitivity.txt" 2>&1 \
            || { tail -5 "$WORK/$m.sensitivity.txt"; exit 1; }
        grep -E "kept in float" "$WORK/$m.sensitivity.txt" | head -2 || true
        /usr/bin/python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); t.pop("float_layers",None); t.pop("sensitivity",None); json.dump(t,open(sys.argv[2],"w"),indent=1)' \
            "$OUTD/$m.mixed.calib.json" "$OUTD/$m.calib.json"
        cp "$WORK/$m.sensitivity.txt" "$OUTD/"
    done
    echo "make_calib: yolov3-416 (random weights, seed $SEED; percentile, 16 images)"
    run convert "$DATA/models/darknet_cfg/yolov3.cfg" --random-weights "$SEED" --width 416 --height 416 \
        -o "$WORK/yolov3-416.onnx" >/dev/null
    (cd "$WORK" && sha256sum yolov3-416.onnx) >"$OUTD/yolov3-416.onnx.sha256"
    run calibrate "$WORK/yolov3-416.onnx" --images "$WORK/calib.txt" --max-images 16 --method percentile \
        -o "$OUTD/yolov3-416.calib.json" >"$WORK/yolov3-416.calibrate.log" 2>&1 \
        || { tail -5 "$WORK/yolov3-416.calibrate.log"; exit 1; }
    sed 's|.*/||' "$WORK/calib.txt" >"$OUTD/calib.txt"
    {
        echo "INT8 calibration caches for scripts/gpu/run.sh (int8, int8eval), made by scripts/gpu/make_calib.sh"
        echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
        echo "rtdet:   $RTDET ($(git -C "$(dirname "$RTDET")" rev-parse --short HEAD 2>/dev/null || echo '?'))"
        echo "method:  percentile 99.99; Yolo-Fastest: $(wc -l <"$WORK/calib.txt") images (coco128's first 64 + 16 video frames, calib.txt);"
        echo "         mixed: --int8-sensitivity --max-error 0.01; YOLOv3-416 (random weights, seed $SEED): the first 16"
        echo "stamp:   $want"
    } >"$OUTD/MANIFEST.txt"
    echo "$want" >"$OUTD/STAMP"
    echo "make_calib: done in $((SECONDS - t0)) s"
fi
if [ -n "$DEST" ]; then
    mkdir -p "$DEST"
    cp "$OUTD"/*.json "$OUTD"/*.sha256 "$OUTD"/calib.txt "$OUTD"/MANIFEST.txt "$DEST/"
    cp "$OUTD"/*.sensitivity.txt "$DEST/" 2>/dev/null || true
    echo "make_calib: caches -> $DEST ($(du -sh "$DEST" | cut -f1))"
fi
