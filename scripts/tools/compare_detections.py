#!/usr/bin/env python3
"""Compares two `rtdet detect --json` files of the same images (a model and a variant of it: QDQ,
another precision): per image, detections of the same class are matched greedily by IoU >= 0.5 (best
score first); prints the counts, the matched share, the mean IoU and score difference of the matches.

    /usr/bin/python3 scripts/tools/compare_detections.py A.json B.json [--iou 0.5]
"""
import argparse
import json
import os
import sys


def iou(a, b):
    ax2, ay2, bx2, by2 = a["x"] + a["w"], a["y"] + a["h"], b["x"] + b["w"], b["y"] + b["h"]
    iw = max(0.0, min(ax2, bx2) - max(a["x"], b["x"]))
    ih = max(0.0, min(ay2, by2) - max(a["y"], b["y"]))
    inter = iw * ih
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


def by_image(path):
    with open(path) as f:
        j = json.load(f)
    return {os.path.basename(img["file"]): img["detections"] for img in j["images"]}


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--iou", type=float, default=0.5)
    args = ap.parse_args(argv[1:])
    a, b = by_image(args.a), by_image(args.b)
    common = sorted(set(a) & set(b))
    if not common:
        raise SystemExit("compare_detections: no image in both files")
    na = nb = matched = identical_images = 0
    ious, score_diffs = [], []
    for name in common:
        da = sorted(a[name], key=lambda d: -d["score"])
        db = list(b[name])
        na += len(da)
        nb += len(db)
        used = [False] * len(db)
        image_matched = 0
        for d in da:
            best, best_iou = -1, args.iou
            for k, e in enumerate(db):
                if used[k] or e["class_id"] != d["class_id"]:
                    continue
                v = iou(d["box"], e["box"])
                if v >= best_iou:
                    best, best_iou = k, v
            if best >= 0:
                used[best] = True
                matched += 1
                image_matched += 1
                ious.append(best_iou)
                score_diffs.append(abs(d["score"] - db[best]["score"]))
        if image_matched == len(da) == len(db):
            identical_images += 1
    print(f"{len(common)} images: {na} detections in A, {nb} in B, {matched} matched (class, IoU >= {args.iou}): "
          f"{100.0 * matched / max(na, 1):.1f} % of A, {100.0 * matched / max(nb, 1):.1f} % of B; "
          f"{identical_images} images with every detection matched")
    if ious:
        print(f"matches: mean IoU {sum(ious) / len(ious):.4f}, min {min(ious):.4f}; "
              f"|score difference| mean {sum(score_diffs) / len(score_diffs):.4f}, max {max(score_diffs):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
