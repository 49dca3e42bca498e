#!/usr/bin/env bash
# Builds what the GPU machine runs, here (the GPU machine has CUDA, cuDNN, cuBLAS and PyTorch but none
# of rtdet's other libraries), and gathers it into .gpu_bundle/ (git-ignored; pass it to the device
# tool's `carry`). Run it from any directory; it works in the repository root.
#
#   .gpu_bundle/bin/   engine_cuda_tests, detector_cuda_tests, rtdet (build/bench/convert/info, and eval on JPEG images
#                      through libjpeg-turbo; run on folders of JPEG frames: detect needs OpenCV)
#   .gpu_bundle/lib/   the non-CUDA shared libraries they need (protobuf, onnx_proto, spdlog, fmt,
#                      crypto, ...); CUDA's own (cudart, cuBLAS, cuDNN) are the GPU machine's
#   .gpu_bundle/lib/compat/  libstdc++ / libgcc_s of this machine, used only if the GPU machine's are older
#   .gpu_bundle/data/  the files of ../shared the tests and benchmarks read (RTDET_DATA there): the
#                      Yolo-Fastest-1.1 and -1.1-XL cfg + weights, the darknet cfgs (YOLOv3-416 is
#                      converted there with random weights: its 248 MB ONNX would not fit the 64 MiB
#                      carry limit), coco128's images + labels (7.5 MB, for `rtdet eval`), and the
#                      real video as JPEG frames, videos/car-detection/000000.jpg ... (9.5 MB: `rtdet run`
#                      without OpenCV reads JPEG folders only; extracted here with /usr/bin/python3's cv2)
#   .gpu_bundle/data/calib/  INT8 calibration caches for run.sh's int8 and int8eval stages (issue 16), made
#                      here by scripts/gpu/make_calib.sh with a oneDNN build of rtdet (RTDET_CPU, default
#                      build/app/rtdet; the GPU machine has no oneDNN): Yolo-Fastest-1.1 and -1.1-XL
#                      (percentile; plain and mixed) and YOLOv3-416 (the random weights run.sh converts).
#                      Kept in build-calib/ and redone only when that rtdet changes (a few minutes then)
#   .gpu_bundle/before/  another commit's rtdet + librtdet_*, for run.sh's `ab` stage: added afterwards by
#                      scripts/gpu/add_before.sh (this script starts .gpu_bundle/ afresh)
#
# The build: build-gpu/, Release, -DRTDET_WITH_OPENCV=OFF (detect/run need OpenCV, whose libraries are
# far too big to carry; eval decodes JPEGs with libjpeg-turbo, bundled: libjpeg.so.62), -DRTDET_WITH_ONEDNN=OFF (libdnnl is 40 MB; the GPU tests compare
# against the reference backend), -DRTDET_WITH_CUDA=ON, CUDA architecture 90a-real: sm_90a machine code
# only, no PTX (the H100 and H200 are sm_90; the PTX beside it had grown librtdet_cuda past 17 MB;
# 90a: the INT8 conv's wgmma tiles, engine/backends/cuda/CMakeLists.txt).
# Environment: BUILD_DIR (build-gpu), JOBS (2), RTDET_DATA (../shared), RTDET_CPU (make_calib.sh's rtdet),
# BUNDLE_CALIB (1; 0: no calibration caches), BUNDLE_VIDEO (1; 0: no video frames, 11 MB less: room
# for a carried Inductor cache, run.sh's .gpu_inductor/, in the 64 MiB; the int8 stages need no frames).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD_DIR:-build-gpu}
BUNDLE=.gpu_bundle
DATA=${RTDET_DATA:-../shared}
JOBS=${JOBS:-2}

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DRTDET_WITH_OPENCV=OFF -DRTDET_WITH_ONEDNN=OFF \
  -DRTDET_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real -DRTDET_BUILD_TESTS=ON > "$BUILD.configure.log" 2>&1 \
  || { cat "$BUILD.configure.log"; exit 1; }
make -C "$BUILD" -j"$JOBS" engine_cuda_tests detector_cuda_tests
have_rtdet=1
make -C "$BUILD" -j"$JOBS" rtdet || { have_rtdet=0; echo "bundle: rtdet does not build without OpenCV: bundling the tests only" >&2; }

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/bin" "$BUNDLE/lib/compat" "$BUNDLE/data"
bins=("$BUILD/tests/engine_cuda_tests" "$BUILD/tests/detector_cuda_tests")
[ "$have_rtdet" = 1 ] && bins+=("$BUILD/app/rtdet")
for b in "${bins[@]}"; do
  cp "$b" "$BUNDLE/bin/"
  strip --strip-unneeded "$BUNDLE/bin/$(basename "$b")"
done

# Shared libraries: everything ldd resolves except the C runtime (the GPU machine's glibc is newer),
# CUDA's libraries (the GPU machine has its own, matched to its driver) and the C++ runtime (compat/).
skip='/(libc|libm|libdl|librt|libpthread|ld-linux-x86-64|libresolv)\.so|/(libcuda|libcudart|libcudnn[a-z_]*|libcublas|libcublasLt|libnvidia[a-z_-]*|libnvrtc)\.so'
for b in "${bins[@]}"; do
  ldd "$b" | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do
  if [[ "$lib" =~ $skip ]]; then continue; fi
  case "$lib" in
    */libstdc++.so*|*/libgcc_s.so*) cp -L "$lib" "$BUNDLE/lib/compat/" ;;
    *) cp -L "$lib" "$BUNDLE/lib/" ;;
  esac
done
# Our own libraries without their symbol tables (librtdet_cuda's INT8 tiles made it 18 MB).
strip --strip-unneeded "$BUNDLE"/lib/librtdet_*.so*

copy_data() {  # relative path under the data folder
  mkdir -p "$BUNDLE/data/$(dirname "$1")"
  cp "$DATA/$1" "$BUNDLE/data/$1"
}
copy_data models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg
copy_data models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.weights
copy_data models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg
copy_data models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.weights
if [ -d "$DATA/datasets/coco128/images" ]; then
  mkdir -p "$BUNDLE/data/datasets/coco128"
  cp -r "$DATA/datasets/coco128/images" "$DATA/datasets/coco128/labels" "$BUNDLE/data/datasets/coco128/"
fi
# The real video's frames, for `rtdet run` there (scripts/gpu/run.sh app): JPEG quality 90, in order.
video=$DATA/videos/car-detection.mp4
if [ -f "$video" ] && [ "${BUNDLE_VIDEO:-1}" = 1 ]; then
  mkdir -p "$BUNDLE/data/videos/car-detection"
  /usr/bin/python3 - "$video" "$BUNDLE/data/videos/car-detection" <<'PY' || { echo "bundle: cannot extract the frames of $video" >&2; exit 1; }
import sys
import cv2
video, out = sys.argv[1:3]
cap = cv2.VideoCapture(video)
n = 0
while True:
    ok, frame = cap.read()
    if not ok:
        break
    if not cv2.imwrite(f"{out}/{n:06d}.jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90]):
        sys.exit(f"bundle: cannot write {out}/{n:06d}.jpg")
    n += 1
if n == 0:
    sys.exit(f"bundle: no frames decoded from {video}")
print(f"bundle: {n} frames of {video} -> {out} (JPEG quality 90)")
PY
  echo "bundle: video frames $(du -sh "$BUNDLE/data/videos/car-detection" | cut -f1)"
fi
copy_data models/darknet_cfg/yolov3.cfg
copy_data models/darknet_cfg/yolov3-tiny.cfg
[ -f "$DATA/data/coco.names" ] && copy_data data/coco.names
if [ "${BUNDLE_CALIB:-1}" = 1 ]; then
  RTDET_DATA=$DATA scripts/gpu/make_calib.sh "$BUNDLE/data/calib" \
    || echo "bundle: no INT8 calibration caches (scripts/gpu/make_calib.sh failed): run.sh's int8 stages will skip" >&2
fi

total=$(du -sb "$BUNDLE" | cut -f1)
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "bundle: $BUNDLE is $((total / 1048576)) MiB; with the working tree $(( (total + tree_bytes) / 1048576 )) MiB (limit 64)"
ls -la "$BUNDLE/bin" "$BUNDLE/lib" "$BUNDLE/lib/compat"
if [ $((total + tree_bytes)) -gt $((60 * 1048576)) ]; then
  echo "bundle: over 60 MiB: it will not travel" >&2
  exit 1
fi
