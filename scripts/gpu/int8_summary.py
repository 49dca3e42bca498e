#!/usr/bin/env python3
"""Summaries of scripts/gpu/run.sh's INT8 stages (issue 16).

  int8_summary.py speed int8_bench.jsonl peer.json   # stage int8: ours at FP16 / INT8 / best vs PyTorch at its best
  int8_summary.py eval int8eval.jsonl                # stage int8eval: coco128 mAP per model and precision

speed: one row per (precision, batch, transfers): our median ms per batch and img/s, INT8/FP16 (our
FP16 at the same batch and transfers), ours/PyTorch (against the better of the peer's fp16_graph and
fp16_compile at that batch: GPU time for `io no`, its end to end for `io yes`), and TOPS from the
peer's FLOP count (2 x MACs of the convs) against the H200's dense peaks (INT8 1979 TOPS, FP16 989
TFLOP/s; the vendor's datasheet). The issue's goal: INT8 batch 64 >= 12,000 img/s GPU time.
"""
import json
import os
import sys

PEAK = {"int8": 1979.0, "best": 1979.0, "fp16": 989.0, "fp32": 67.0}
YOLOV3_416_FLOPS = 65.86e9  # docs/cuda.md (torch_peer.py's count), when no peer.json came back
PEER_BEST_MODES = ("fp16_graph", "fp16_compile")
GOAL_B64_IPS = 12000


def load_jsonl(path):
    return [json.loads(l) for l in open(path) if l.strip()] if os.path.exists(path) else []


def peer_best(peer, batch, io):
    """(ms, mode) of the peer's fastest folded mode at this batch, or (None, reason)."""
    key = f"b{batch}_e2e_ms" if io else f"b{batch}_ms"
    cands = [(peer[m][key], m) for m in PEER_BEST_MODES if key in peer.get(m, {})]
    if not cands:
        errs = [f"{m}: {peer[m][f'b{batch}_error']}" for m in PEER_BEST_MODES if f"b{batch}_error" in peer.get(m, {})]
        return None, "; ".join(errs) or "not measured"
    return min(cands)


def speed(bench_path, peer_path):
    rows = load_jsonl(bench_path)
    peer = json.load(open(peer_path)) if os.path.exists(peer_path) else {}
    flops = peer.get("flops_per_image") or YOLOV3_416_FLOPS
    src = "the peer's count" if peer.get("flops_per_image") else "docs/cuda.md's count (no peer.json)"
    dev = rows[0].get("device", "cuda") if rows else "?"
    print(f"YOLOv3-416 (random weights), {flops / 1e9:.2f} GFLOP per image ({src}); device {dev}; "
          f"GPU: {peer.get('gpu', '?')}; PyTorch {peer.get('torch', '?')}")
    fold = peer.get("bn_fold")
    if fold:
        print(f"PyTorch's BatchNorm folding: {fold['bn_layers']} layers folded, check "
              f"{'OK' if fold['ok'] else 'FAILED'} (folded vs unfolded FP32: relative L2 "
              f"{max(fold['rel_l2_folded_vs_unfolded']):.1e}, limit {fold.get('limit', fold['rtol']):.1e})")
    ms_of = {}
    for r in rows:
        ms_of[(r["precision"], r["batch"], r["transfers"])] = r["latency_ms"]["median"]
    hdr = (f"{'prec':<5} {'batch':>5} {'io':>3} {'ours ms':>9} {'img/s':>9} {'x FP16':>7} {'PyTorch best':>22} "
           f"{'ours/PyTorch':>12} {'TOPS':>7} {'% peak':>7}  convs")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        prec, batch, io = r["precision"], r["batch"], r["transfers"]
        ms = ms_of[(prec, batch, io)]
        ips = batch * 1000.0 / ms
        fp16 = ms_of.get(("fp16", batch, io))
        vs16 = f"{fp16 / ms:7.2f}" if fp16 and prec != "fp16" else f"{'':>7}"
        pms, pmode = peer_best(peer, batch, io) if peer else (None, "no peer.json")
        if pms:
            pips = batch * 1000.0 / pms
            ptxt = f"{pips:8.0f} ({pmode})"
            ratio = f"{ips / pips:12.2f}"
        else:
            ptxt, ratio = f"{'-':>22}", f"{'':>12}"
        tops = flops * ips / 1e12
        peak = PEAK.get(prec)
        ptop = f"{100 * tops / peak:6.1f}%" if peak else ""
        convs = " ".join(f"{k} {v}" for k, v in sorted(r.get("convs_by_precision", {}).items()))
        print(f"{prec:<5} {batch:>5} {'yes' if io else 'no':>3} {ms:>9.3f} {ips:>9.0f} {vs16} {ptxt:>22} {ratio} "
              f"{tops:>7.1f} {ptop:>7}  {convs}")
    print("io no: the GPU's work alone (rtdet bench --no-transfers; PyTorch: CUDA-graph replay / compiled calls, "
          "events); io yes: with the FP32 host<->device copies (PyTorch: pinned input -> run -> host output). "
          "x FP16: our FP16 ms / this ms. % peak: of the dense INT8 peak (1979 TOPS) for int8 and best, of "
          "the dense FP16 peak (989) for fp16.")
    if peer:
        for m in PEER_BEST_MODES + ("fp16",):
            e = peer.get(m, {})
            parts = [f"batch {b}: {e[f'b{b}_ips']:.0f} img/s ({e[f'b{b}_ms']:.3f} ms)" if f"b{b}_ips" in e
                     else f"batch {b}: {e.get(f'b{b}_error', e.get('error', '-'))}" for b in (1, 64)]
            extra = ""
            if m == "fp16_compile":
                extra = "; compiled in " + ", ".join(f"{e[f'b{b}_compile_s']:.0f} s (batch {b})"
                                                     for b in (1, 64) if f"b{b}_compile_s" in e)
            label = {"fp16": "fp16 (BatchNorm unfolded)"}.get(m, m)
            print(f"PyTorch {label}: " + "; ".join(parts) + (extra if extra != "; compiled in " else ""))
    # The goal for each INT8 plan: int8 (every conv that can), best (INT8 where it measured faster than
    # FP16, TensorRT's --int8 --fp16).
    for prec in ("int8", "best"):
        b64 = ms_of.get((prec, 64, False))
        if b64:
            ips = 64000.0 / b64
            print(f"Goal (issue 16): INT8 batch 64 >= {GOAL_B64_IPS} img/s GPU time: {prec} {ips:.0f} img/s, "
                  f"{'met' if ips >= GOAL_B64_IPS else 'not met'}")
    return 0


def eval_summary(path):
    rows = load_jsonl(path)
    if not rows:
        print("no int8eval results")
        return 1
    names = {"fp32": "FP32", "fp16": "FP16", "int8": "INT8", "int8mixed": "INT8 mixed", "best": "best"}
    print("coco128's last 64 images; calibration (on the CPU, scripts/gpu/make_calib.sh): percentile 99.99 on "
          "coco128's first 64 + 16 video frames; mixed: --int8-sensitivity, max error 0.01")
    print()
    print("| model | precision | convs by precision | mAP@0.5 | vs FP32 | mAP@0.5:0.95 | vs FP32 | ms/img (net) |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    fp32 = {r["name"]: r for r in rows if r["precision"] == "fp32"}
    for r in rows:
        ref = fp32.get(r["name"])
        d50 = f"{100 * (r['map50'] - ref['map50']):+.2f}" if ref and r is not ref else ""
        d95 = f"{100 * (r['map50_95'] - ref['map50_95']):+.2f}" if ref and r is not ref else ""
        convs = ", ".join(f"{k} {v}" for k, v in sorted(r.get("convs_by_precision", {}).items()))
        net = r.get("mean_ms", {}).get("inference")
        nets = f"{net:.3f}" if isinstance(net, (int, float)) else ""
        print(f"| {r['name']} | {names.get(r['precision'], r['precision'])} | {convs} | {100 * r['map50']:.2f} | {d50} | "
              f"{100 * r['map50_95']:.2f} | {d95} | {nets} |")
    return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "speed":
        return speed(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
    if len(sys.argv) == 3 and sys.argv[1] == "eval":
        return eval_summary(sys.argv[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
