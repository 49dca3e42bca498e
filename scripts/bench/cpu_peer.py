#!/usr/bin/env python3
"""Helpers for scripts/bench/cpu.sh.

  cpu_peer.py opencv MODEL.onnx --threads N --iterations K --warmup W
      Times OpenCV DNN (cv2.dnn.readNetFromONNX, default CPU backend and target) on a uniform [0, 1)
      input of the model's input shape, with cv2.setNumThreads(N). Prints JSON
      {"opencv": version, "threads", "iterations", "min_ms", "mean_ms", "median_ms"}.

  cpu_peer.py flops MODEL.onnx
      Counts convolution FLOPs (2 x multiply-adds, the darknet "BFLOPs" convention) from the graph and
      its inferred shapes. Prints JSON {"conv_gflop", "convs"}.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np


def input_shape(model_path):
    import onnx

    m = onnx.load(model_path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    for inp in m.graph.input:
        if inp.name in inits:
            continue
        dims = [d.dim_value if d.dim_value > 0 else 1 for d in inp.type.tensor_type.shape.dim]
        return inp.name, dims
    raise SystemExit(f"{model_path}: no graph input")


def cmd_opencv(args):
    import cv2

    name, shape = input_shape(args.model)
    cv2.setNumThreads(args.threads)
    net = cv2.dnn.readNetFromONNX(args.model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    rng = np.random.default_rng(1234)
    x = rng.random(shape, dtype=np.float32)
    out_names = net.getUnconnectedOutLayersNames()
    for _ in range(args.warmup):
        net.setInput(x, name)
        net.forward(out_names)
    times = []
    for _ in range(args.iterations):
        t0 = time.perf_counter()
        net.setInput(x, name)
        net.forward(out_names)
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({
        "opencv": cv2.__version__,
        "threads": args.threads,
        "iterations": args.iterations,
        "min_ms": min(times),
        "mean_ms": statistics.mean(times),
        "median_ms": statistics.median(times),
    }))


def cmd_flops(args):
    import onnx
    from onnx import numpy_helper, shape_inference

    m = onnx.load(args.model)
    name, shape = input_shape(args.model)
    # Pin the batch to 1 so every shape is concrete.
    for inp in m.graph.input:
        if inp.name == name:
            for d, v in zip(inp.type.tensor_type.shape.dim, shape):
                d.dim_value = v
    m = shape_inference.infer_shapes(m)
    shapes = {}
    for vi in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input):
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    weights = {i.name: numpy_helper.to_array(i).shape for i in m.graph.initializer}
    total = 0
    convs = 0
    for node in m.graph.node:
        if node.op_type != "Conv":
            continue
        w = weights.get(node.input[1])
        y = shapes.get(node.output[0])
        if w is None or not y or 0 in y:
            raise SystemExit(f"conv {node.name}: weight or output shape unknown")
        out_ch, in_per_group, kh, kw = w
        macs = y[0] * out_ch * y[2] * y[3] * in_per_group * kh * kw
        total += 2 * macs
        convs += 1
    print(json.dumps({"conv_gflop": total / 1e9, "convs": convs}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("opencv")
    o.add_argument("model")
    o.add_argument("--threads", type=int, default=2)
    o.add_argument("--iterations", type=int, default=20)
    o.add_argument("--warmup", type=int, default=3)
    f = sub.add_parser("flops")
    f.add_argument("model")
    args = p.parse_args()
    {"opencv": cmd_opencv, "flops": cmd_flops}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
