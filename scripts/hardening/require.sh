# Sourced by the scripts ctest runs (soak.sh, faults.sh, scripts/tools/format.sh,
# tests/install/install_prefix.sh) and by fuzz.sh: what a missing requirement (the data folder, ffmpeg,
# a model file, clang-format) does. It skips (exit 77, ctest's SKIP_RETURN_CODE) with the reason, or
# under CI=true fails (exit 1) with the same reason: CI installs everything and has the data folder,
# so a missing package or file there must not pass as a skip. tests/testing/require.h is the same rule
# for the GoogleTest suites.

# True when the environment variable CI is "true" (CI sets it, and so does the clean-room check).
ci_requires_everything() { [ "${CI:-}" = true ]; }

# skip_or_fail REASON: prints REASON on stderr and exits 77, or 1 under CI=true.
skip_or_fail() {
  if ci_requires_everything; then
    echo "$1 (CI=true: a missing requirement fails instead of skipping)" >&2
    exit 1
  fi
  echo "$1" >&2
  exit 77
}
