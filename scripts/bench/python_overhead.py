#!/usr/bin/env python3
"""What the Python module adds to each detection: det(image) from Python against the C++ Detector's
detect() on the same image, Yolo-Fastest-1.1-XL on the CPU (issue 17's goal: under 5 % more per call).

One process, one Detector (the same plan, context and buffers for both), blocks alternating in each
round, their order flipped every round (A B, B A, ...) so the machine's drift falls on both:
  C++     Detector._detect_native(image, calls): detector::Detector::detect() `calls` times in a C++
          loop, the GIL released: no Python at all;
  Python  `calls` times r = det(image), then r.boxes, r.scores, r.class_ids, r.labels read: the image
          checked and viewed, the GIL released and taken back, the Result made, its arrays and labels.
Blocks are short (one call each by default: the C++ side's time is measured inside C++, around its
loop) and many, so both sides of a round see the same load on a shared machine; the median of the
per-round ratios is the figure. Also printed: the median time of a Python
call outside the Detector's own stages (its preprocess + inference + postprocess), the binding's cost
measured directly. One inference thread by default: two OpenMP threads on a shared 2-vCPU VM stall
whenever one is descheduled (calls then vary 10x), which hides a per-call cost of microseconds.

  PYTHONPATH=build/python /usr/bin/python3 scripts/bench/python_overhead.py
  ... --precision bf16 --rounds 100 --calls 20 --threads 0 --image ../shared/images/darknet_samples/dog.jpg
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path


import rtdet


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, rtdet {rtdet.__version__}"


def main():
    data = Path(os.environ.get("RTDET_DATA", "../shared"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=data / "models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg")
    ap.add_argument("--image", default=data / "images/darknet_samples/dog.jpg")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (0: all cores)")
    ap.add_argument("--rounds", type=int, default=400)
    ap.add_argument("--calls", type=int, default=1, help="detections per block")
    ap.add_argument("--cache", default=None, help="plan cache folder (default: rtdet's)")
    a = ap.parse_args()
    try:
        import cv2
        img = cv2.imread(str(a.image))
    except ImportError:
        sys.exit("python_overhead: needs python3-opencv (cv2) to read the image")
    if img is None:
        sys.exit(f"python_overhead: cannot read {a.image}")
    rtdet.set_log_level("warn")
    det = rtdet.Detector(a.model, precision=a.precision, threads=a.threads, cache=a.cache)
    print(f"python_overhead: {det}, {det.plan}; image {img.shape[1]}x{img.shape[0]}, {len(det(img))} detections",
          file=sys.stderr)

    def native():
        return det._detect_native(img, a.calls)

    outside_us = []  # per Python call: wall time minus the Detector's stage times

    def python():
        t0 = time.perf_counter()
        for _ in range(a.calls):
            c0 = time.perf_counter()
            r = det(img)
            r.boxes, r.scores, r.class_ids, r.labels
            outside_us.append(1e6 * (time.perf_counter() - c0) - 1e3 * sum(r.times.values()))
        return time.perf_counter() - t0

    native(), python()  # warm-up: caches, thread pools
    outside_us.clear()
    rows = []
    for i in range(a.rounds):
        if i % 2 == 0:
            tc, tp = native(), python()
        else:
            tp, tc = python(), native()
        rows.append((tc * 1e3 / a.calls, tp * 1e3 / a.calls, tp / tc))
    print(f"\nPython det(image) vs C++ Detector::detect, {Path(a.model).name} {a.precision} on the CPU, "
          f"{a.rounds} rounds x {a.calls} calls per block; {machine()}; "
          f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"{'round':>5} {'C++ ms/call':>11} {'Python ms/call':>14} {'ratio':>7}")
    step = max(1, len(rows) // 20)  # at most 20 rounds shown
    for i, (c, p, r) in enumerate(rows, 1):
        if i % step == 0:
            print(f"{i:>5} {c:>11.3f} {p:>14.3f} {r:>7.4f}")
    q = statistics.quantiles([r[2] for r in rows], n=4)
    print(f"ratios: quartiles {q[0]:.4f} / {q[1]:.4f} / {q[2]:.4f}")
    cpp = statistics.median(r[0] for r in rows)
    py = statistics.median(r[1] for r in rows)
    ratio = statistics.median(r[2] for r in rows)
    print(f"median: C++ {cpp:.3f} ms, Python {py:.3f} ms per call; ratio of rounds {ratio:.4f} "
          f"(overhead {100 * (ratio - 1):+.2f} %, goal < 5 %); mean difference "
          f"{1e3 * statistics.mean(r[1] - r[0] for r in rows):+.1f} us per call")
    print(f"a Python call outside the Detector's stages: median {statistics.median(outside_us):.1f} us "
          f"({100e-3 * statistics.median(outside_us) / cpp:.2f} % of the C++ call)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
