#!/usr/bin/python3
"""Cross-check of `rtdet eval`'s mAP with an independent numpy implementation of COCOeval's bbox
evaluation (pycocotools' evaluateImg + accumulate: per image and class greedy matching by score,
IoU >= t, best-IoU unmatched ground truth; 101-point interpolated precision; classes without ground
truth left out), run on the detections `rtdet detect --json` wrote for the same images and settings.

  rtdet detect IMAGES --conf 0.001 --max-det 100 --no-images --json det.json
  rtdet eval --images IMAGES --labels LABELS --json eval.json
  scripts/tools/check_map.py det.json LABELS eval.json
"""
import json
import os
import sys

import numpy as np


def iou_matrix(d, g):
    """d: [n,4], g: [m,4] as x1,y1,x2,y2 -> [n,m]."""
    if len(d) == 0 or len(g) == 0:
        return np.zeros((len(d), len(g)))
    ix1 = np.maximum(d[:, None, 0], g[None, :, 0])
    iy1 = np.maximum(d[:, None, 1], g[None, :, 1])
    ix2 = np.minimum(d[:, None, 2], g[None, :, 2])
    iy2 = np.minimum(d[:, None, 3], g[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    ad = (d[:, 2] - d[:, 0]) * (d[:, 3] - d[:, 1])
    ag = (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1])
    return inter / (ad[:, None] + ag[None, :] - inter)


def main():
    det_json, labels_dir, eval_json = sys.argv[1:4]
    det = json.load(open(det_json))
    ref = json.load(open(eval_json))
    max_det = 100
    thresholds = np.linspace(0.5, 0.95, 10)
    recall_pts = np.linspace(0.0, 1.0, 101)
    per_class = {}  # class -> {"scores": [], "tp": [[] per t], "npos": int}
    for img in det["images"]:
        w, h = img["width"], img["height"]
        stem = os.path.splitext(os.path.basename(img["file"]))[0]
        gts = []
        lf = os.path.join(labels_dir, stem + ".txt")
        if os.path.exists(lf):
            for line in open(lf):
                p = line.split()
                if not p:
                    continue
                c, cx, cy, bw, bh = int(p[0]), *map(float, p[1:])
                gts.append((c, [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]))
        dets = [(d["class_id"], d["score"], [d["box"]["x"], d["box"]["y"], d["box"]["x"] + d["box"]["w"],
                                             d["box"]["y"] + d["box"]["h"]]) for d in img["detections"]]
        for c in {g[0] for g in gts} | {d[0] for d in dets}:
            pc = per_class.setdefault(c, {"scores": [], "tp": [[] for _ in thresholds], "npos": 0})
            g = np.array([b for cc, b in gts if cc == c]).reshape(-1, 4)
            dd = [(s, b) for cc, s, b in dets if cc == c]
            order = np.argsort([-s for s, _ in dd], kind="mergesort")[:max_det]
            dd = [dd[i] for i in order]
            pc["npos"] += len(g)
            ious = iou_matrix(np.array([b for _, b in dd]).reshape(-1, 4), g)
            for ti, t in enumerate(thresholds):
                taken = np.zeros(len(g), bool)
                for di in range(len(dd)):
                    best, m = min(t, 1 - 1e-10), -1
                    for gi in range(len(g)):
                        if taken[gi] or ious[di, gi] < best:
                            continue
                        best, m = ious[di, gi], gi
                    if m >= 0:
                        taken[m] = True
                    pc["tp"][ti].append(m >= 0)
            pc["scores"].extend(s for s, _ in dd)
    aps50, aps = [], []
    for c, pc in sorted(per_class.items()):
        if pc["npos"] == 0:
            continue
        order = np.argsort(-np.array(pc["scores"]), kind="mergesort")
        ap_t = []
        for ti in range(len(thresholds)):
            tp = np.array(pc["tp"][ti], bool)[order]
            tps, fps = np.cumsum(tp), np.cumsum(~tp)
            rc = tps / pc["npos"]
            pr = (tps / (tps + fps + np.spacing(1))).tolist()
            for i in range(len(pr) - 1, 0, -1):
                pr[i - 1] = max(pr[i - 1], pr[i])
            inds = np.searchsorted(rc, recall_pts, side="left")
            q = [pr[i] if i < len(pr) else 0.0 for i in inds]
            ap_t.append(np.mean(q))
        aps50.append(ap_t[0])
        aps.append(np.mean(ap_t))
    map50, map5095 = float(np.mean(aps50)), float(np.mean(aps))
    print(f"numpy COCOeval: mAP@0.5 {map50:.6f}  mAP@0.5:0.95 {map5095:.6f}  ({len(aps)} classes)")
    print(f"rtdet eval:     mAP@0.5 {ref['map50']:.6f}  mAP@0.5:0.95 {ref['map50_95']:.6f}  ({len(ref['classes'])} classes)")
    ok = abs(map50 - ref["map50"]) < 1e-4 and abs(map5095 - ref["map50_95"]) < 1e-4
    print("agree to 1e-4" if ok else "DISAGREE")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
