#!/usr/bin/env bash
# ctest's python_* tests: one pytest file of tests/python against the module in the build tree
# (build/python/rtdet). Without the module (pybind11 or Python's headers were missing when the build was
# configured) or without pytest or numpy, a skip (exit 77) saying why, and a failure under CI=true
# (scripts/hardening/require.sh). Inside, a test whose data file is missing skips or fails the same way
# (conftest.py); a file whose every test skipped exits 77.
#   run_pytest.sh TEST_FILE [PYTEST ARGS...]
# Environment (tests/CMakeLists.txt sets it): RTDET_PYTHON (interpreter), RTDET_PYTHON_DIR (the folder
# holding rtdet/), RTDET_PYTHON_WHY (why the module was not built, when it was not), RTDET_EXE (the
# rtdet binary), RTDET_ENGINE_REFERENCE (tests/python/engine_reference.cpp), RTDET_TEST_CACHE (plans).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/hardening/require.sh"
py=${RTDET_PYTHON:-/usr/bin/python3}
if [ -n "${RTDET_PYTHON_WHY:-}" ]; then
  skip_or_fail "python: the module rtdet was not built: ${RTDET_PYTHON_WHY} (scripts/setup.sh installs it)"
fi
"$py" -c "import pytest" 2>/dev/null ||
  skip_or_fail "python: pytest is missing for $py (Debian python3-pytest; scripts/setup.sh installs it)"
"$py" -c "import numpy" 2>/dev/null ||
  skip_or_fail "python: numpy is missing for $py (Debian python3-numpy; scripts/setup.sh installs it)"
[ -f "${RTDET_PYTHON_DIR:-}/rtdet/__init__.py" ] ||
  { echo "python: no module in '${RTDET_PYTHON_DIR:-}' (RTDET_PYTHON_DIR): build the target rtdet_python" >&2; exit 1; }
export PYTHONPATH="$RTDET_PYTHON_DIR${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
exec "$py" -m pytest -p no:cacheprovider -q -rs --rootdir "$here" "$@"
