#!/usr/bin/env bash
# Installs the Debian 12 packages rtdet needs (when missing) and builds it into build/ (Release).
# Every package is named here explicitly: nothing relies on what another package only recommends
# (apt runs with --no-install-recommends; scripts/hardening/clean_room.sh proves the list in a fresh
# Debian 12 root).
# Usage: scripts/setup.sh            (BUILD_DIR=... to build elsewhere, CMAKE_ARGS=... for extra options)
#        scripts/setup.sh --packages-only [PKG...]   only installs the list below plus PKG... (other
#                                                     scripts' extra tools, e.g. clang for hardening/fuzz.sh)
#        scripts/setup.sh --configure-only           the packages, then CMake configure (no build)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES_ONLY=0
CONFIGURE_ONLY=0
EXTRA=()
if [ "${1:-}" = "--packages-only" ]; then
  PACKAGES_ONLY=1
  shift
  EXTRA=("$@")
elif [ "${1:-}" = "--configure-only" ]; then
  CONFIGURE_ONLY=1
elif [ -n "${1:-}" ]; then
  echo "setup: unknown argument '$1' (--packages-only [PKG...], --configure-only)" >&2
  exit 2
fi

PKGS=(
  cmake g++ make pkg-config git ca-certificates curl   # toolchain, downloads of the default model
  ccache                                               # compiler cache (CMakeLists.txt: RTDET_CCACHE)
  libonnx-dev libprotobuf-dev protobuf-compiler        # ONNX import (protobuf classes of onnx.proto)
  libdnnl-dev ocl-icd-opencl-dev                       # oneDNN: fast CPU kernels (its CMake config needs OpenCL, only recommended)
  libopencv-dev                                        # images, video, window, OpenCV DNN (test oracle, peer)
  libjpeg-dev                                          # JPEG decoding of `rtdet eval` in builds without OpenCV
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev           # tests and micro-benchmarks
  python3 python3-onnx python3-numpy python3-opencv    # test-data generation and peer scripts only
  pybind11-dev python3-dev python3-pytest             # the Python module rtdet (python/) and its tests
  ffmpeg xvfb xauth                                    # stream and window tests (xvfb-run needs xauth)
  libmosquitto-dev mosquitto mosquitto-clients         # MQTT publishing (library); broker and clients for its tests
  dpkg-dev file strace                                 # .deb packages (cpack: dpkg-shlibdeps, file); install tests
  clang-format                                         # the format check (scripts/tools/format.sh, ctest format_check)
)
PKGS+=("${EXTRA[@]}")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ "$PACKAGES_ONLY" = 1 ] && exit 0

BUILD_DIR=${BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} > "$BUILD_DIR.configure.log" 2>&1 \
  || { cat "$BUILD_DIR.configure.log"; exit 1; }
if [ "$CONFIGURE_ONLY" = 1 ]; then
  grep -E '^-- rtdet:' "$BUILD_DIR.configure.log" || true
  echo "setup: configured $BUILD_DIR"
  exit 0
fi
cmake --build "$BUILD_DIR" -j"$(nproc)"
