"""What the Python module's tests share (ctest runs each test_*.py through run_pytest.sh).

Data (models, images) come from the data folder exactly as the C++ tests find it: through rtdet's own
detector::data_dir() ($RTDET_DATA, else the ../shared configured at build time). A missing file skips
the test with the reason, and fails it under CI=true (the rule of tests/testing/require.h). Plans are
built once into $RTDET_TEST_CACHE (the build tree's test_models/python_cache) and shared by the files.
"""
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

import rtdet
from rtdet import _rtdet

CI = os.environ.get("CI") == "true"
XL = "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg"
SMALL = "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg"
SAMPLES = "images/darknet_samples"

rtdet.set_log_level("warn")


def skip_or_fail(reason):
    if CI:
        pytest.fail(f"{reason} (CI=true: a missing requirement fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def data_file(rel):
    """A file of the data folder, or a skip (a failure under CI=true) naming it."""
    d = _rtdet._data_dir()
    if not d:
        skip_or_fail(f"data dir (../shared or $RTDET_DATA) missing: {rel}")
    p = Path(d) / rel
    if not p.exists():
        skip_or_fail(f"{p} not found (the data folder: ../shared or $RTDET_DATA)")
    return p


def sample_images():
    return sorted(p for p in data_file(SAMPLES).iterdir() if p.suffix == ".jpg")


def cv2_module():
    try:
        import cv2
    except ImportError:
        skip_or_fail("python3-opencv (cv2) is missing: scripts/setup.sh installs it")
    return cv2


def read_image(path):
    img = cv2_module().imread(str(path))
    assert img is not None, f"cv2.imread({path})"
    return img


def rss_bytes():
    """Resident memory of this process (/proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_rtdet_detect(exe, model, images, cache, *extra):
    """`rtdet detect --json` on the images (no annotated images); returns its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "det.json"
        r = subprocess.run([str(exe), "detect", "--model", str(model), *map(str, images), "--no-images",
                            "--json", str(out), "--cache", str(cache), *extra], capture_output=True, text=True)
        assert r.returncode == 0, f"rtdet detect: exit {r.returncode}: {r.stderr[-2000:]}"
        return json.loads(out.read_text())


@pytest.fixture(scope="session")
def cache_dir():
    """The plan cache of these tests; also $RTDET_CACHE, where rtdet.build() converts .cfg models."""
    d = Path(os.environ.get("RTDET_TEST_CACHE") or tempfile.mkdtemp(prefix="rtdet-py-cache-"))
    d.mkdir(parents=True, exist_ok=True)
    os.environ["RTDET_CACHE"] = str(d)
    return d


@pytest.fixture(scope="session")
def rtdet_exe():
    exe = Path(os.environ.get("RTDET_EXE", ""))
    assert exe.is_file(), f"RTDET_EXE='{exe}': the rtdet binary of this build (tests/CMakeLists.txt sets it)"
    return exe


@pytest.fixture(scope="session")
def xl_detector(cache_dir):
    """Yolo-Fastest-1.1-XL, the CLI's default model, at the CLI's defaults (rtdet detect --max-det 300)."""
    return rtdet.Detector(data_file(XL), cache=cache_dir, max_det=300)


# ---- a file whose every test skipped: exit 77 (ctest's SKIP_RETURN_CODE), not a pass ----

_outcomes = {"passed": 0, "failed": 0, "skipped": 0}


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _outcomes[report.outcome] = _outcomes.get(report.outcome, 0) + 1


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _outcomes["skipped"] and not _outcomes["passed"] and not _outcomes["failed"]:
        session.exitstatus = 77
