"""No leak over 10,000 calls: the resident memory stays flat while det() and ctx.run() are called and
every field of their results is read. The same measure, with the results kept alive, must see the
growth (the control: the check can fail).

Before each reading, glibc's malloc_trim(0) hands the pages of free heap memory back (the holes earlier
tests left, e.g. a plan build's temporaries), so what is resident is what is in use: a leak that would
first fill those holes shows as growth too."""
import ctypes
import gc
import subprocess

import numpy as np
import pytest

import rtdet
from conftest import SMALL, data_file, read_image, rss_bytes

CALLS = 10_000
WARMUP = 500
# Resident memory may move by a few allocator pages; a leak of one small result per call (a few hundred
# bytes: the detections, the arrays' headers) grows it by megabytes over the calls.
TOLERANCE = 1 << 20


def resident():
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_bytes()


def growth(call, keep=None):
    """Resident memory growth over CALLS calls of `call`, after WARMUP calls; `keep` gets every result."""
    for _ in range(WARMUP):
        call()
    before = resident()
    for _ in range(CALLS):
        r = call()
        if keep is not None:
            keep.append(r)
    grew = resident() - before
    print(f"growth over {CALLS} calls: {grew / 1e6:.3f} MB")
    return grew


@pytest.fixture(scope="module")
def small(cache_dir):
    # Yolo-Fastest-1.1 converted at 96x96, one thread, a low threshold: fast calls (half a millisecond),
    # a dozen detections each.
    det = rtdet.Detector(data_file(SMALL), cache=cache_dir, width=96, height=96, conf=0.01, threads=1)
    img = read_image(data_file("images/darknet_samples/dog.jpg"))[::4, ::4].copy()
    return det, img


def test_detect_does_not_leak(small):
    det, img = small
    assert len(det(img)) >= 10

    def call():
        r = det(img)
        return r.boxes, r.scores, r.class_ids, r.objectness, r.labels, r.class_names, r.times, r.to_json(), repr(r)

    grew = growth(call)
    assert grew < TOLERANCE, f"resident memory grew by {grew / 1e6:.2f} MB over {CALLS} calls"


def test_bad_calls_do_not_leak(small):
    det, _ = small
    bad = np.zeros((8, 8, 4), np.uint8)

    def call():
        try:
            det(bad)
        except ValueError as e:
            return str(e)

    grew = growth(call)
    assert grew < TOLERANCE, f"resident memory grew by {grew / 1e6:.2f} MB over {CALLS} failed calls"


def test_context_run_does_not_leak(rtdet_exe, tmp_path):
    cfg = data_file(SMALL)
    onnx = tmp_path / "small96.onnx"
    r = subprocess.run([str(rtdet_exe), "convert", str(cfg), str(cfg.with_suffix(".weights")), "--width", "96",
                        "--height", "96", "-o", str(onnx)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    engine = rtdet.Engine(rtdet.build(onnx))
    ctx = engine.create_context(threads=1)
    x = {engine.inputs[0].name: np.random.default_rng(0).random(engine.inputs[0].shape, np.float32)}
    runs = [0]

    def call():
        runs[0] += 1
        return ctx.run(x, copy=runs[0] % 2 == 0)  # fresh arrays, then views of the context's buffers

    grew = growth(call)
    assert grew < TOLERANCE, f"resident memory grew by {grew / 1e6:.2f} MB over {CALLS} runs"


def test_the_measure_sees_results_kept_alive(small):
    det, img = small
    kept = []
    grew = growth(lambda: det(img), kept)
    assert len(kept) == CALLS
    assert grew >= TOLERANCE, f"keeping {CALLS} results grew resident memory by only {grew / 1e6:.2f} MB"
