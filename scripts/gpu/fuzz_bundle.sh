#!/usr/bin/env bash
# Packs the libFuzzer binaries of build-fuzz/ (scripts/hardening/fuzz.sh builds them: clang, ASan +
# UBSan) with their non-system shared libraries and current corpora into .gpu_fuzz/pack.tar.xz
# (git-ignored), for a long parallel fuzz run on the GPU machine's 16 cores (scripts/gpu/fuzz_run.sh
# there; the GPU itself is not used). Only the targets that do not need OpenCV travel: fuzz_onnx, fuzz_plan,
# fuzz_darknet_cfg, fuzz_darknet_weights (+ the real Yolo-Fastest body weights as a second seed set).
# The YAML-config and image-list targets link OpenCV (far over the carry limit) and run here.
# Environment: BUILD_DIR (build-fuzz), RTDET_DATA (../shared).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD_DIR:-build-fuzz}
DATA=${RTDET_DATA:-../shared}
OUTDIR=.gpu_fuzz
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
TARGETS=(fuzz_onnx fuzz_plan fuzz_darknet_cfg fuzz_darknet_weights)
for t in "${TARGETS[@]}"; do
  [ -x "$BUILD/tests/fuzz/$t" ] || { echo "fuzz_bundle: $BUILD/tests/fuzz/$t missing: run scripts/hardening/fuzz.sh 1 first" >&2; exit 1; }
done
mkdir -p "$STAGE/bin" "$STAGE/lib" "$STAGE/corpus" "$STAGE/dict" "$STAGE/real"
skip='/(libc|libm|libdl|librt|libpthread|ld-linux-x86-64|libresolv|libstdc\+\+|libgcc_s)\.so'
for t in "${TARGETS[@]}"; do
  cp "$BUILD/tests/fuzz/$t" "$STAGE/bin/"
  ldd "$BUILD/tests/fuzz/$t" | awk '/=> \// {print $3}'
  # The grown corpus of earlier runs, the committed seeds and regressions, and for fuzz_onnx the models
  # of ONNX's node tests that scripts/hardening/fuzz.sh collected (every supported op, as seeds).
  mkdir -p "$STAGE/corpus/$t"
  extra=""
  [ "$t" = fuzz_onnx ] && extra=$BUILD/fuzz/seeds/extra_onnx
  for d in "$BUILD/fuzz/corpus/$t" tests/fuzz/corpus/$t tests/fuzz/regressions/$t $extra; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type f -size -300k -exec cp {} "$STAGE/corpus/$t/" \;
  done
done | sort -u | while read -r lib; do
  [[ "$lib" =~ $skip ]] || cp -L "$lib" "$STAGE/lib/"
done
cp tests/fuzz/dict/*.dict "$STAGE/dict/"
find "$DATA/models" -name '*.cfg' -exec cp {} "$STAGE/corpus/fuzz_darknet_cfg/" \; 2>/dev/null || true
REAL=$DATA/models/yolo-fastest/yolo-fastest-1.1_body
[ -f "$REAL/yolo-fastest-1.1_body.weights" ] && cp "$REAL"/yolo-fastest-1.1_body.{cfg,weights} "$STAGE/real/"
rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"
tar -C "$STAGE" -cf - . | xz -T2 -6 > "$OUTDIR/pack.tar.xz"
echo "fuzz_bundle: $(du -sh "$STAGE" | cut -f1) packed into $(du -h "$OUTDIR/pack.tar.xz" | cut -f1) ($OUTDIR/pack.tar.xz)"
