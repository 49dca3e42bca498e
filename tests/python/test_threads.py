"""The GIL is released while the engine runs: another Python thread makes progress during det() and
ctx.run(), and two threads run two detectors at the same time."""
import threading
import time

import numpy as np
import pytest

import rtdet
from rtdet import _rtdet
from conftest import SMALL, XL, data_file, read_image


def progress_during(call):
    """How far a second thread's counter advances while `call` runs in this one, as a fraction of what
    it counts in the same time when nothing holds the GIL; and the call's seconds."""
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.1)
        c0, t0 = count[0], time.perf_counter()
        time.sleep(0.3)  # the counter's own rate: this thread waits without the GIL
        rate = (count[0] - c0) / (time.perf_counter() - t0)
        c0, t0 = count[0], time.perf_counter()
        call()
        seconds = time.perf_counter() - t0
        advanced = count[0] - c0
    finally:
        stop.set()
        t.join()
    assert rate > 0
    return advanced / (rate * seconds), seconds


def test_counter_test_sees_a_call_that_keeps_the_gil():
    # The control: a C++ call that never releases the GIL stops the counter.
    fraction, seconds = progress_during(lambda: _rtdet._testing.hold_gil(2.0))
    assert seconds >= 2.0 and fraction < 0.03, fraction


def test_detect_releases_the_gil(cache_dir):
    # The reference backend (naive kernels) on one thread, 6 images in one call: about a second here.
    det = rtdet.Detector(data_file(XL), cache=cache_dir, device="reference", threads=1)
    img = read_image(data_file("images/darknet_samples/dog.jpg"))
    fraction, seconds = progress_during(lambda: det([img] * 6))
    assert seconds > 0.3, f"det() took {seconds:.3f} s: not slow enough to tell"
    assert fraction > 0.2, f"the other thread counted {fraction:.2f} of its rate during det()"


def test_context_run_releases_the_gil(cache_dir):
    engine = rtdet.Engine(rtdet.build(data_file(XL), device="reference", max_batch=4))
    ctx = engine.create_context(threads=1)
    x = np.zeros(engine.inputs[0].shape, np.float32)  # batch 4
    fraction, seconds = progress_during(lambda: ctx.run(x))
    assert seconds > 0.3 and fraction > 0.2, (fraction, seconds)


def test_two_threads_run_two_detectors_at_once(cache_dir):
    images = [read_image(data_file("images/darknet_samples/dog.jpg")),
              read_image(data_file("images/darknet_samples/horses.jpg"))]
    dets = [rtdet.Detector(data_file(SMALL), cache=cache_dir, device="reference", threads=1) for _ in images]
    serial = [d(img) for d, img in zip(dets, images)]
    spans, results = [None, None], [None, None]
    barrier = threading.Barrier(2)

    def work(i):
        barrier.wait()
        t0 = time.perf_counter()
        results[i] = dets[i](images[i])
        spans[i] = (t0, time.perf_counter())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (a0, a1), (b0, b1) = spans
    overlap = min(a1, b1) - max(a0, b0)
    assert overlap > 0.5 * min(a1 - a0, b1 - b0), f"the two calls ran one after the other: {spans}"
    for r, s in zip(results, serial):
        assert r.labels == s.labels and np.array_equal(r.boxes, s.boxes)


def test_one_detector_shared_by_threads_runs_one_call_at_a_time(cache_dir):
    det = rtdet.Detector(data_file(SMALL), cache=cache_dir)
    img = read_image(data_file("images/darknet_samples/dog.jpg"))
    want = det(img)
    errors, results = [], []

    def work():
        try:
            for _ in range(20):
                results.append(det(img))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 80
    assert all(r.labels == want.labels and np.array_equal(r.boxes, want.boxes) for r in results)
