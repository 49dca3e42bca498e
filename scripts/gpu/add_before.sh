#!/usr/bin/env bash
# Adds a "before" build to the GPU bundle, for the A/B of `scripts/gpu/run.sh ab` (issue 15: before/after
# binaries alternated in one GPU call). BEFORE_BUNDLE is another tree's .gpu_bundle (made by that tree's
# own scripts/gpu/bundle.sh); its bin/rtdet and lib/librtdet_*.so.* are copied, as they are, into
#   .gpu_bundle/before/bin/rtdet   .gpu_bundle/before/lib/librtdet_*.so.*
# Everything else (protobuf, spdlog, libjpeg, ..., the data) is the after bundle's: the same system built both.
#
#   git worktree add --detach ../before COMMIT && (cd ../before && JOBS=2 scripts/gpu/bundle.sh)
#   scripts/gpu/bundle.sh && scripts/gpu/add_before.sh ../before/.gpu_bundle   # bundle.sh removes before/
#
# How each binary finds its own librtdet_*: they carry a RUNPATH (their build tree's folders, absent on the
# GPU machine), and LD_LIBRARY_PATH is searched before RUNPATH, for the binary and for every library it
# loads. Both builds' libraries have the same names (librtdet_core.so.0.1, ...), so run.sh's `ab` stage
# runs the before binary with .gpu_bundle/before/lib first in LD_LIBRARY_PATH and the after binary without
# it; this script checks here with ldd that each binary resolves every librtdet_* it needs in its own
# folder (and that the before build needs no librtdet_* the before folder lacks), and run.sh checks again
# there. Environment: BUNDLE (this repository's .gpu_bundle).
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=${1:?usage: add_before.sh BEFORE_BUNDLE_DIR}
BUNDLE=${BUNDLE:-.gpu_bundle}
[ -x "$SRC/bin/rtdet" ] || { echo "add_before: $SRC/bin/rtdet not found (the before tree's scripts/gpu/bundle.sh makes it)" >&2; exit 1; }
[ -x "$BUNDLE/bin/rtdet" ] || { echo "add_before: $BUNDLE/bin/rtdet not found (run scripts/gpu/bundle.sh first)" >&2; exit 1; }
SRC=$(cd "$SRC" && pwd)
[ "$SRC" != "$(cd "$BUNDLE" && pwd)" ] || { echo "add_before: $SRC is this bundle" >&2; exit 1; }

rm -rf "$BUNDLE/before"
mkdir -p "$BUNDLE/before/bin" "$BUNDLE/before/lib"
cp "$SRC/bin/rtdet" "$BUNDLE/before/bin/"
shopt -s nullglob
libs=("$SRC"/lib/librtdet_*.so*)
[ ${#libs[@]} -gt 0 ] || { echo "add_before: no librtdet_*.so* in $SRC/lib (a static build needs none: then only the binary)" >&2; }
for l in "${libs[@]}"; do cp -L "$l" "$BUNDLE/before/lib/"; done
# The before tree's commit, for run.sh's log (when BEFORE_BUNDLE sits in a git tree, as .gpu_bundle does).
git -C "$SRC/.." log -1 --format='%h %cd %<(72,trunc)%s' --date=iso > "$BUNDLE/before/REVISION" 2>/dev/null ||
  rm -f "$BUNDLE/before/REVISION"

# Each side's librtdet_* from its own folder, with the library path run.sh's `ab` stage gives it.
B=$(cd "$BUNDLE" && pwd)
check() {  # SIDE BINARY LD_LIBRARY_PATH EXPECTED_FOLDER
  local side=$1 bin=$2 path=$3 want=$4 out bad
  out=$(LD_LIBRARY_PATH=$path ldd "$bin")
  echo "add_before: $side ($bin), LD_LIBRARY_PATH=$path:"
  echo "$out" | grep librtdet_ | sed 's/ (0x[0-9a-f]*)//'
  bad=$(echo "$out" | grep librtdet_ | grep -v "=> $want/librtdet_" || true)
  [ -z "$bad" ] || { echo "add_before: $side loads librtdet libraries from outside $want:" >&2; echo "$bad" >&2; exit 1; }
  [ -n "$(echo "$out" | grep librtdet_ || true)" ] || echo "add_before: $side links no librtdet_* (static)"
}
check before "$B/before/bin/rtdet" "$B/before/lib:$B/lib" "$B/before/lib"
check after "$B/bin/rtdet" "$B/lib" "$B/lib"
# The before build's other libraries (not librtdet_*) must be in the after bundle's lib/ or the system's.
missing=$(LD_LIBRARY_PATH=$B/before/lib:$B/lib ldd "$B/before/bin/rtdet" | grep "not found" | grep -vE "libcud|libcublas|libnvidia" || true)
[ -z "$missing" ] || { echo "add_before: the before build needs libraries the bundle lacks:" >&2; echo "$missing" >&2; exit 1; }

total=$(du -sb "$BUNDLE" | cut -f1)
before=$(du -sb "$BUNDLE/before" | cut -f1)
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "add_before: $BUNDLE/before is $((before / 1048576)) MiB; $BUNDLE $((total / 1048576)) MiB; with the working tree $(( (total + tree_bytes) / 1048576 )) MiB (limit 64)"
if [ $((total + tree_bytes)) -gt $((60 * 1048576)) ]; then
  echo "add_before: over 60 MiB: it will not travel" >&2
  exit 1
fi
