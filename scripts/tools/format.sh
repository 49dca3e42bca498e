#!/usr/bin/env bash
# The format check: the project's C/C++/CUDA sources against its .clang-format (repository root),
# with clang-format (Debian 12's, version 14; scripts/setup.sh installs it). Another version may
# format some lines differently: the check is with the one setup.sh installs.
#
#   scripts/tools/format.sh [--check] [FILE...]   lists the files clang-format would change; exit 1 when
#                                                 there are any, 0 when all are clean (ctest format_check,
#                                                 so CI: scripts/test.sh)
#   scripts/tools/format.sh --fix [FILE...]       formats those files in place
#
# Files: every *.h, *.hpp, *.c, *.cc, *.cpp, *.cu and *.cuh under app/, detector/, engine/, include/,
# python/, scripts/ and tests/ (build folders are at the top and not looked at), or the FILEs given
# (relative to the repository root). A region between `// clang-format off` and `// clang-format on` is
# left as written.
# CLANG_FORMAT=path picks another clang-format. Without clang-format: a skip (exit 77, ctest's
# SKIP_RETURN_CODE), a failure under CI=true (scripts/hardening/require.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/hardening/require.sh

MODE=check
case "${1:-}" in
  --check) shift ;;
  --fix) MODE=fix; shift ;;
  -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
  -*) echo "format: unknown option '$1' (--check, --fix)" >&2; exit 2 ;;
esac

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
command -v "$CLANG_FORMAT" >/dev/null ||
  skip_or_fail "format: $CLANG_FORMAT not installed (scripts/setup.sh installs clang-format)"
[ -f .clang-format ] || { echo "format: no .clang-format at the repository root ($PWD)" >&2; exit 2; }

if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find app detector engine include python scripts tests -type f \
    \( -name '*.h' -o -name '*.hpp' -o -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.cu' \
       -o -name '*.cuh' \) | LC_ALL=C sort)
fi

dirty=()
for f in "${files[@]}"; do
  "$CLANG_FORMAT" --style=file "$f" | cmp -s - "$f" || dirty+=("$f")
done

version=$("$CLANG_FORMAT" --version | head -1)
if [ "$MODE" = fix ]; then
  [ ${#dirty[@]} -eq 0 ] || "$CLANG_FORMAT" --style=file -i "${dirty[@]}"
  echo "format: ${#dirty[@]} of ${#files[@]} files reformatted ($version)"
  exit 0
fi
if [ ${#dirty[@]} -eq 0 ]; then
  echo "format: all ${#files[@]} files clean ($version)"
  exit 0
fi
printf '%s\n' "${dirty[@]}"
echo "format: ${#dirty[@]} of ${#files[@]} files are not clang-format clean ($version, .clang-format);" \
     "scripts/tools/format.sh --fix formats them, and" \
     "\`$CLANG_FORMAT --style=file FILE | diff FILE -\` shows what changes" >&2
exit 1
