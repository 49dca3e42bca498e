#!/usr/bin/env python3
"""How far INT8 plans' detection scores are from an FP32 plan's on the same images (issue 16).

mAP on coco128's 64 evaluation images moves by about a point between plans that differ little; this
measures the plans' numbers directly: every image resized (darknet's plain resize, RGB / 255) to the
plan's input, each plan run on it (the rtdet Python module), and on every YOLO head output the scores
a detection is decided by, sigmoid(objectness) x sigmoid(class logit), compared with the first plan's
(the reference, e.g. FP32). Prints per plan the mean, median and largest of the per-image largest
score differences.

  PYTHONPATH=build/python /usr/bin/python3 scripts/bench/int8_score_error.py IMAGES_DIR \\
      fp32=m.fp32.plan int8=m.int8.plan dwfloat=m.dw.plan [--threads 2]
"""
import argparse
import glob
import os
import sys

import cv2
import numpy as np

import rtdet


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("images", help="folder of .jpg images")
    ap.add_argument("plans", nargs="+", help="NAME=PLAN; the first is the reference")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    named = []
    for p in a.plans:
        name, sep, path = p.partition("=")
        if not sep or not os.path.isfile(path):
            sys.exit(f"int8_score_error: '{p}': expected NAME=PLAN with an existing plan file")
        named.append((name, path))
    if len(named) < 2:
        sys.exit("int8_score_error: give a reference plan and at least one plan to compare")
    images = sorted(glob.glob(os.path.join(a.images, "*.jpg")))
    if not images:
        sys.exit(f"int8_score_error: no .jpg images in '{a.images}'")
    engines = [(n, rtdet.Engine(p)) for n, p in named]
    _, _, h, w = engines[0][1].inputs[0].shape
    ctxs = [(n, e.create_context(threads=a.threads)) for n, e in engines]
    classes = int(engines[0][1].metadata.get("rtdet.classes", "80"))
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    errs = {n: [] for n, _ in ctxs[1:]}
    for f in images:
        img = cv2.imread(f)
        if img is None:
            sys.exit(f"int8_score_error: cannot read image '{f}'")
        x = cv2.resize(img[:, :, ::-1], (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        outs = {n: c.run([x]) for n, c in ctxs}
        ref = outs[ctxs[0][0]]
        for n in errs:
            worst = 0.0
            for name, a_out in ref.items():
                ra = np.asarray(a_out).reshape(3, 5 + classes, -1)
                rb = np.asarray(outs[n][name]).reshape(3, 5 + classes, -1)
                sa = sig(ra[:, 4:5]) * sig(ra[:, 5:])
                sb = sig(rb[:, 4:5]) * sig(rb[:, 5:])
                worst = max(worst, float(np.abs(sa - sb).max()))
            errs[n].append(worst)
    print(f"{len(images)} images from {a.images}; reference {named[0][0]} ({named[0][1]})")
    print(f"{'plan':<12}{'mean':>8}{'median':>8}{'max':>8}   (per image: the largest score difference)")
    for n, v in errs.items():
        print(f"{n:<12}{np.mean(v):>8.4f}{np.median(v):>8.4f}{np.max(v):>8.4f}")


if __name__ == "__main__":
    main()
