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
    hdr = f"{'model':<18} {'prec':<5} {'batch':>5} {'io':>3} {'ours ms':>9} {'ours img/s':>11} {'torch ms':>9} " \
          f"{'torch img/s':>11} {'ratio':>18} {'TFLOP/s':>8}"
    print(hdr)
    print("-" * len(hdr))
    for b in bench:
        ms = b["latency_ms"]["median"]
        ips = b["batch"] * 1000.0 / ms
        io = b.get("transfers", True)
        line = f"{b['model']:<18} {b['precision']:<5} {b['batch']:>5} {'yes' if io else 'no':>3} {ms:>9.3f} {ips:>11.0f}"
        p = peer.get(b["precision"], {}) if b["model"].startswith("yolov3") else {}
        key = f"b{b['batch']}"
        # With transfers: against PyTorch's end to end (pinned input -> replay -> host output); without:
        # against its graph replay alone.
        pkey = f"{key}_e2e_ms" if io else f"{key}_ms"
        if pkey in p:
            pms = p[pkey]
            pips = b["batch"] * 1000.0 / pms
            ratio = f"latency x{ms / pms:.2f}" if b["batch"] == 1 else f"throughput x{ips / pips:.2f}"
            line += f" {pms:>9.3f} {pips:>11.0f} {ratio:>18}"
        else:
            line += f" {'':>9} {'':>11} {'':>18}"
        if b["model"].startswith("yolov3") and flops:
            tf = flops * ips / 1e12
            line += f" {tf:>8.1f} ({100 * tf / H200_DENSE_FP16_TFLOPS:.0f}% of peak)"
        print(line)
    if flops:
        print(f"(TFLOP/s against the H200's dense FP16 peak of ~{H200_DENSE_FP16_TFLOPS:.0f}. io yes: our wall "
              "clock per run() with the FP32 host<->device copies, against PyTorch's end to end (pinned input, "
              "replay, output to host); io no: the GPU's work alone (rtdet bench --no-transfers), against PyTorch's "
              "graph replay)")
    if "fp32_tf32" in peer:
        t = peer["fp32_tf32"]
        print("PyTorch FP32 with its default TF32 convolutions: " +
              ", ".join(f"batch {k[1:-3]} {v:.3f} ms" for k, v in t.items() if k.endswith("_ms") and "e2e" not in k))


if __name__ == "__main__":
    main()
