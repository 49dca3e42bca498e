#!/usr/bin/env python3
"""Independent numpy version of the INT8 entropy calibration (NVIDIA's GTC 2017 description of
TensorRT's method), writing test cases for engine/builder/calibration.cpp's amax_entropy and
amax_percentile: tests/data/entropy_calibration_cases.json.

For each candidate number of bins i (levels..last nonzero bin + 1): P = bins[0:i] with the counts of
bins[i:] added to P[i-1]; Q = bins[0:i] merged into `levels` groups (group j = bins
[floor(j*i/levels), floor((j+1)*i/levels))), each group's sum spread evenly over its nonzero bins;
KL(P/|P| || Q/|Q|), infinite where P > 0 and Q = 0. amax = (argmin i + 0.5) * bin width, at most the
largest |x|. Percentile: the upper edge of the bin where the cumulative count reaches p % of the total.

The histograms are made here from seeded samples (numpy's histogram over [0, max|x|]) and stored with
their counts, so the C++ test reads the same histogram and needs no random generator of its own.

    /usr/bin/python3 scripts/tools/check_entropy_calibration.py [OUT.json]
"""
import json
import sys

import numpy as np

BINS = 2048
LEVELS = 128


def entropy_amax(counts, width, max_abs, levels=LEVELS):
    counts = np.asarray(counts, dtype=np.float64)
    nz = np.nonzero(counts)[0]
    if len(nz) == 0 or max_abs == 0:
        return 0.0
    top = int(nz[-1]) + 1
    if top <= levels:
        return float(max_abs)
    best, best_i = np.inf, top
    for i in range(levels, top + 1):
        p = counts[:i].copy()
        p[i - 1] += counts[i:].sum()
        q = np.zeros(i)
        edges = (np.arange(levels + 1) * i) // levels
        for j in range(levels):
            seg = counts[edges[j]:edges[j + 1]]
            mask = seg != 0
            if mask.any():
                q[edges[j]:edges[j + 1]][mask] = seg.sum() / mask.sum()
        p = p / p.sum()
        q = q / q.sum()
        m = p > 0
        if np.any(q[m] == 0):
            continue
        kl = float(np.sum(p[m] * np.log(p[m] / q[m])))
        if kl < best:
            best, best_i = kl, i
    if not np.isfinite(best):
        return float(max_abs)
    return float(min(max_abs, (best_i + 0.5) * width))


def percentile_amax(counts, width, max_abs, pct):
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total == 0 or max_abs == 0:
        return 0.0
    cum = np.cumsum(counts)
    k = int(np.argmax(cum >= total * pct / 100.0))
    return float(min(max_abs, (k + 1) * width))


def case(name, x):
    a = np.abs(np.asarray(x, dtype=np.float32)).astype(np.float64)
    max_abs = float(a.max())
    counts, _ = np.histogram(a, bins=BINS, range=(0.0, max_abs))
    width = max_abs / BINS
    return {
        "name": name,
        "range": max_abs,
        "max_abs": max_abs,
        "counts": [int(c) for c in counts],
        "entropy": entropy_amax(counts, width, max_abs),
        "percentile_99_99": percentile_amax(counts, width, max_abs, 99.99),
        "percentile_99": percentile_amax(counts, width, max_abs, 99.0),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/entropy_calibration_cases.json"
    rng = np.random.default_rng(20261204)
    g = rng.standard_normal(200_000)
    cases = [
        case("gaussian", g),
        case("relu_gaussian", np.maximum(g, 0) * 3.0),
        case("leaky_gaussian", np.where(g > 0, g, 0.1 * g) * 5.0),
        case("laplace", rng.laplace(0.0, 1.0, 200_000)),
        case("uniform", rng.uniform(-2.0, 2.0, 200_000)),
        case("gaussian_with_outliers", np.concatenate([g, [60.0, -45.0, 38.0]])),
        case("sparse_activations", np.where(rng.uniform(size=200_000) < 0.7, 0.0, rng.exponential(0.5, 200_000))),
    ]
    with open(out, "w") as f:
        json.dump({"source": "scripts/tools/check_entropy_calibration.py", "bins": BINS, "levels": LEVELS,
                   "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    for c in cases:
        print(f"{c['name']:<24} max {c['max_abs']:9.4f}  entropy {c['entropy']:9.4f}  "
              f"p99.99 {c['percentile_99_99']:9.4f}  p99 {c['percentile_99']:9.4f}")


if __name__ == "__main__":
    main()
