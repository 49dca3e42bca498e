#!/usr/bin/env python3
"""Ours vs the PyTorch peer, from run.sh's bench.jsonl (rtdet bench --json lines) and peer.json
(torch_peer.py). Prints one table: batch-1 latency ratio (ours / PyTorch, lower is better) and batch-N
throughput ratio (ours / PyTorch, higher is better), TFLOP/s against the H200's dense FP16 peak.
Usage: summarize.py bench.jsonl peer.json"""
import json
import os
import sys

H200_DENSE_FP16_TFLOPS = 989.0  # vendor datasheet, dense (no sparsity); FP32 non-tensor: 67


def main():
    bench = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    peer = json.load(open(sys.argv[2])) if len(sys.argv) > 2 and os.path.exists(sys.argv[2]) else {}
    flops = peer.get("flops_per_image", 0)
    print(f"GPU: {peer.get('gpu', '?')}   PyTorch {peer.get('torch', '?')}   "
          f"YOLOv3-416: {flops / 1e9:.2f} GFLOP per image")
    hdr = f"{'model':<18} {'prec':<5} {'batch':>5} {'ours ms':>9} {'ours img/s':>11} {'torch ms':>9} " \
          f"{'torch img/s':>11} {'ratio':>18} {'TFLOP/s':>8}"
    print(hdr)
    print("-" * len(hdr))
    for b in bench:
        ms = b["latency_ms"]["median"]
        ips = b["batch"] * 1000.0 / ms
        line = f"{b['model']:<18} {b['precision']:<5} {b['batch']:>5} {ms:>9.3f} {ips:>11.0f}"
        p = peer.get(b["precision"], {}) if b["model"].startswith("yolov3") else {}
        key = f"b{b['batch']}"
        if f"{key}_ms" in p:
            pms, pips = p[f"{key}_ms"], p[f"{key}_ips"]
            ratio = f"latency x{ms / pms:.2f}" if b["batch"] == 1 else f"throughput x{ips / pips:.2f}"
            line += f" {pms:>9.3f} {pips:>11.0f} {ratio:>18}"
        else:
            line += f" {'':>9} {'':>11} {'':>18}"
        if b["model"].startswith("yolov3") and flops:
            line += f" {flops * ips / 1e12:>8.1f}"
        print(line)
    if flops:
        print(f"(TFLOP/s against the H200's dense FP16 peak of ~{H200_DENSE_FP16_TFLOPS:.0f}; ours is wall clock "
              "per run() including the host<->device copies, PyTorch's is graph replay on the GPU: its e2e column "
              "in peer.json adds the copies)")
    if "fp32_tf32" in peer:
        t = peer["fp32_tf32"]
        print("PyTorch FP32 with its default TF32 convolutions: " +
              ", ".join(f"batch {k[1:-3]} {v:.3f} ms" for k, v in t.items() if k.endswith("_ms") and "e2e" not in k))


if __name__ == "__main__":
    main()
