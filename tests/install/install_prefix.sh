#!/usr/bin/env bash
# ctest's install_prefix: cmake --install BUILD_DIR into a fresh temporary prefix, check_install.py on
# it (the source and build trees forbidden), then the prefix is removed. Exit 77 (skip) when the data
# folder's model or image is missing; under CI=true that is a failure (scripts/hardening/require.sh).
#   install_prefix.sh SOURCE_DIR BUILD_DIR MODEL IMAGE [PYTHON]   (PYTHON: check the Python module too)
set -euo pipefail
src=$1 build=$2 model=$3 image=$4 python=${5:-}
. "$src/scripts/hardening/require.sh"
for f in "$model" "$image"; do
  [ -f "$f" ] || skip_or_fail "install_prefix: $f not found (the data folder: ../shared or \$RTDET_DATA)"
done
prefix=$(mktemp -d "${TMPDIR:-/tmp}/rtdet-prefix-XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >"$prefix.install.log" 2>&1 \
  || { cat "$prefix.install.log"; rm -f "$prefix.install.log"; exit 1; }
rm -f "$prefix.install.log"
python3 "$src/tests/install/check_install.py" --prefix "$prefix" --model "$model" --image "$image" \
  --reference-rtdet "$build/app/rtdet" --forbid "$src" --forbid "$build" ${python:+--python "$python"}
