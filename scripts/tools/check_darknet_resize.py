#!/usr/bin/python3
"""An independent numpy implementation of darknet's resize_image(), the oracle for rtdet's `darknet`
resize policy (detector/preprocess.cpp).

darknet (src/image.c) stretches an image to the network size with a bilinear resize whose samples are
corner-aligned (source step (W-1)/(w-1)), done as a horizontal pass into a w x H float image, then a
vertical pass; the last column copies the source's last column and the last row takes only the
(1 - dy) term. Everything is float32, pixels are (float)byte / 255. (a double division rounded to
float, as darknet's image loader does), planes R, G, B.

  scripts/tools/check_darknet_resize.py --write tests/data/darknet_resize_cases.bin
      writes small deterministic cases (image bytes + expected output) that detector_tests compares
      rtdet's preprocess() against (to a few float ulps: rtdet multiplies by 1/255 in float);
  scripts/tools/check_darknet_resize.py --compare IMAGE [--size 320]
      prints how far OpenCV's INTER_LINEAR resize (half-pixel centres) is from darknet's on IMAGE;
  scripts/tools/check_darknet_resize.py --boxes DARKNET.json STRETCH.json [--min-score 0.5]
      compares two `rtdet detect --json` runs of the same images (--resize darknet vs stretch): for
      each confident darknet box, the IoU of the best same-class box of the other run.

Case file (little-endian): b"DRZ1", int32 count, then per case int32 iw, ih, ow, oh, uint8 BGR
image [ih][iw][3], float32 expected [3][oh][ow].
"""
import argparse
import json
import struct
import sys

import numpy as np


def darknet_resize(bgr, ow, oh):
    """bgr: uint8 [ih, iw, 3] -> float32 [3, oh, ow] (R, G, B), darknet's resize_image arithmetic."""
    f32 = np.float32
    ih, iw = bgr.shape[:2]
    # CHW RGB; darknet's loader computes (float)byte / 255. in double and stores it as float.
    im = (bgr[:, :, ::-1].transpose(2, 0, 1).astype(np.float64) / 255.0).astype(f32)
    w_scale = f32(iw - 1) / f32(ow - 1)
    h_scale = f32(ih - 1) / f32(oh - 1)
    part = np.zeros((3, ih, ow), f32)
    for c in range(ow):
        if c == ow - 1 or iw == 1:
            part[:, :, c] = im[:, :, iw - 1]
        else:
            sx = f32(c) * w_scale
            ix = int(sx)
            dx = f32(sx - f32(ix))
            part[:, :, c] = (f32(1) - dx) * im[:, :, ix] + dx * im[:, :, ix + 1]
    out = np.zeros((3, oh, ow), f32)
    for r in range(oh):
        sy = f32(r) * h_scale
        iy = int(sy)
        dy = f32(sy - f32(iy))
        out[:, r, :] = (f32(1) - dy) * part[:, iy, :]
        if r == oh - 1 or ih == 1:
            continue
        out[:, r, :] += dy * part[:, iy + 1, :]
    return out


def write_cases(path):
    rng = np.random.RandomState(20240531)
    # (iw, ih, ow, oh): down, up, mixed, one-pixel-wide/high sources, and a non-integer ratio.
    shapes = [(7, 5, 4, 3), (5, 4, 9, 7), (33, 17, 16, 16), (1, 6, 4, 3), (6, 1, 3, 4), (64, 48, 20, 20),
              (20, 30, 31, 29)]
    blob = bytearray(b"DRZ1" + struct.pack("<i", len(shapes)))
    for iw, ih, ow, oh in shapes:
        img = rng.randint(0, 256, size=(ih, iw, 3)).astype(np.uint8)
        out = darknet_resize(img, ow, oh)
        blob += struct.pack("<4i", iw, ih, ow, oh) + img.tobytes() + out.astype("<f4").tobytes()
    with open(path, "wb") as f:
        f.write(blob)
    print(f"wrote {len(shapes)} cases, {len(blob)} bytes to {path}")


def compare(image, size):
    import cv2
    bgr = cv2.imread(image)
    if bgr is None:
        sys.exit(f"cannot read {image}")
    ours = darknet_resize(bgr, size, size)
    cv = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_LINEAR)[:, :, ::-1].transpose(2, 0, 1)
    cv = cv.astype(np.float32) / 255.0
    d = np.abs(ours - cv) * 255
    print(f"{image} {bgr.shape[1]}x{bgr.shape[0]} -> {size}x{size}: |darknet - OpenCV INTER_LINEAR| in 0..255 "
          f"units: mean {d.mean():.2f}, p99 {np.percentile(d, 99):.1f}, max {d.max():.1f}; "
          f"pixels differing by > 8: {(d > 8).mean() * 100:.1f} %")


def compare_boxes(a_path, b_path, min_score):
    a, b = json.load(open(a_path)), json.load(open(b_path))
    by_file = {img["file"]: img["detections"] for img in b["images"]}

    def corners(d):
        x, y, w, h = d["box"]["x"], d["box"]["y"], d["box"]["w"], d["box"]["h"]
        return x, y, x + w, y + h

    def iou(p, q):
        iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
        ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        inter = iw * ih
        union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
        return inter / union if union > 0 else 0.0

    ious, dscore = [], []
    for img in a["images"]:
        others = by_file.get(img["file"], [])
        for d in img["detections"]:
            if d["score"] < min_score:
                continue
            best, s = 0.0, 0.0
            for e in others:
                if e["class_id"] == d["class_id"]:
                    v = iou(corners(d), corners(e))
                    if v > best:
                        best, s = v, e["score"]
            ious.append(best)
            dscore.append(abs(d["score"] - s) if best > 0 else d["score"])
    ious = np.array(ious)
    print(f"{len(ious)} boxes with score >= {min_score} in {a_path}: best same-class IoU in {b_path}: "
          f"median {np.median(ious):.3f}; < 0.85 (moved by more than 15 %): {(ious < 0.85).mean() * 100:.1f} %; "
          f"< 0.5 or missing: {(ious < 0.5).mean() * 100:.1f} %; median |score change| {np.median(dscore):.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", metavar="FILE")
    ap.add_argument("--compare", metavar="IMAGE", nargs="*")
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--boxes", metavar="JSON", nargs=2)
    ap.add_argument("--min-score", type=float, default=0.5)
    a = ap.parse_args()
    if a.write:
        write_cases(a.write)
    for img in a.compare or []:
        compare(img, a.size)
    if a.boxes:
        compare_boxes(a.boxes[0], a.boxes[1], a.min_score)


if __name__ == "__main__":
    main()
