#!/usr/bin/env python3
"""The PyTorch peer for rtdet's GPU benchmark: YOLOv3-416 built from the darknet cfg, random weights,
PyTorch at its best (FP16, channels_last, cudnn.benchmark, CUDA-graph replay); also FP32 (true FP32
with TF32 off, and PyTorch's default, which lets cuDNN use TF32 for convolutions).

Runs on the GPU machine (PyTorch 2.11 there). Prints a table and writes JSON (--json):
  {"model", "gpu", "torch", "flops_per_image",
   "<mode>": {"b<N>_ms": GPU time per batch (graph replay, events), "b<N>_ips": images/s,
              "b<N>_e2e_ms": pinned host input -> replay -> host output, synchronized}}
Usage: torch_peer.py --cfg yolov3.cfg [--size 416] [--batches 1 64] [--modes fp16 fp32 fp32_tf32]
                     [--json out.json]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def parse_cfg(path):
    """Darknet cfg -> list of (section name, {key: value})."""
    sections = []
    with open(path) as f:
        for raw in f:
            line = raw.split("#")[0].split(";")[0].strip()
            if not line:
                continue
            if line.startswith("["):
                sections.append((line.strip("[]").strip(), {}))
            else:
                k, v = line.split("=", 1)
                sections[-1][1][k.strip()] = v.strip()
    return sections


class Act(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, x):
        if self.kind == "leaky":
            return F.leaky_relu(x, 0.1)
        if self.kind == "relu":
            return F.relu(x)
        if self.kind == "mish":
            return F.mish(x)
        if self.kind == "swish":
            return F.silu(x)
        if self.kind == "logistic":
            return torch.sigmoid(x)
        return x


class DarknetNet(nn.Module):
    """conv/bn/act, shortcut, route, upsample, maxpool; [yolo] layers are raw outputs."""

    def __init__(self, sections, size=0):
        super().__init__()
        net = sections[0][1]
        self.width, self.height = int(net.get("width", 416)), int(net.get("height", 416))
        if size:
            self.width = self.height = size
        channels = [int(net.get("channels", 3))]  # channels[i + 1]: output channels of layer i
        sizes = [(self.height, self.width)]
        self.layers = nn.ModuleList()
        self.specs = []
        self.flops = 0
        for name, o in sections[1:]:
            cin, (h, w) = channels[-1], sizes[-1]
            if name == "convolutional":
                k, s, f = int(o.get("size", 1)), int(o.get("stride", 1)), int(o["filters"])
                g = int(o.get("groups", 1))
                p = k // 2 if int(o.get("pad", 0)) else int(o.get("padding", 0))
                bn = int(o.get("batch_normalize", 0))
                mods = [nn.Conv2d(cin, f, k, s, p, groups=g, bias=not bn)]
                if bn:
                    mods.append(nn.BatchNorm2d(f))
                mods.append(Act(o.get("activation", "linear")))
                self.layers.append(nn.Sequential(*mods))
                self.specs.append(("conv", None))
                h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
                self.flops += 2 * k * k * (cin // g) * f * h * w
                channels.append(f)
                sizes.append((h, w))
            elif name == "shortcut":
                src = int(o["from"])
                self.layers.append(Act(o.get("activation", "linear")))
                self.specs.append(("shortcut", src))
                channels.append(cin)
                sizes.append((h, w))
            elif name == "route":
                idx = [int(v) for v in o["layers"].split(",")]
                n = len(self.specs)
                idx = [i if i >= 0 else n + i for i in idx]
                groups, gid = int(o.get("groups", 1)), int(o.get("group_id", 0))
                self.layers.append(nn.Identity())
                self.specs.append(("route", (idx, groups, gid)))
                channels.append(sum(channels[i + 1] for i in idx) // groups)
                sizes.append(sizes[idx[0] + 1])
            elif name == "upsample":
                s = int(o.get("stride", 2))
                self.layers.append(nn.Upsample(scale_factor=s, mode="nearest"))
                self.specs.append(("upsample", None))
                channels.append(cin)
                sizes.append((h * s, w * s))
            elif name == "maxpool":
                k, s = int(o.get("size", 2)), int(o.get("stride", 2))
                total = int(o.get("padding", k - 1))
                self.layers.append(nn.MaxPool2d(k, s))
                self.specs.append(("maxpool", (total // 2, total - total // 2)))
                h, w = (h + total - k) // s + 1, (w + total - k) // s + 1
                channels.append(cin)
                sizes.append((h, w))
            elif name == "yolo":
                self.layers.append(nn.Identity())
                self.specs.append(("yolo", None))
                channels.append(cin)
                sizes.append((h, w))
            elif name == "dropout":
                self.layers.append(nn.Identity())
                self.specs.append(("identity", None))
                channels.append(cin)
                sizes.append((h, w))
            else:
                raise ValueError(f"unsupported darknet layer [{name}]")

    def forward(self, x):
        outs, heads = [], []
        for layer, (kind, arg) in zip(self.layers, self.specs):
            if kind == "shortcut":
                x = layer(x + outs[arg if arg >= 0 else len(outs) + arg])
            elif kind == "route":
                idx, groups, gid = arg
                parts = [outs[i] if groups == 1 else outs[i].chunk(groups, 1)[gid] for i in idx]
                x = parts[0] if len(parts) == 1 else torch.cat(parts, 1)
            elif kind == "maxpool":
                b, e = arg
                x = layer(F.pad(x, (b, e, b, e), value=float("-inf")) if (b or e) else x)
            elif kind == "yolo":
                heads.append(x)
            else:
                x = layer(x)
            outs.append(x)
        return heads


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.01)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(1 + 0.1 * torch.rand(m.running_var.shape, generator=g))


def bench(model, batch, dtype, h, w, iters):
    """GPU time per replay of a captured CUDA graph (ms), and host-to-host time per inference."""
    x = torch.randn(batch, 3, h, w, device="cuda", dtype=dtype).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(5):  # cudnn.benchmark picks its algorithms here
                model(x)
        torch.cuda.current_stream().wait_stream(s)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outs = model(x)
    for _ in range(10):
        graph.replay()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        graph.replay()
    end.record()
    end.synchronize()
    gpu_ms = start.elapsed_time(end) / iters
    # End to end: an FP32 NCHW frame batch from pinned host memory in, the heads back to pinned memory.
    host_in = torch.randn(batch, 3, h, w, dtype=torch.float32).pin_memory()
    host_outs = [torch.empty(o.shape, dtype=torch.float32).pin_memory() for o in outs]
    e2e_iters = max(5, iters // 2)
    t0 = time.perf_counter()
    for _ in range(e2e_iters):
        x.copy_(host_in, non_blocking=True)
        graph.replay()
        for ho, o in zip(host_outs, outs):
            ho.copy_(o, non_blocking=True)
        torch.cuda.synchronize()
    e2e_ms = (time.perf_counter() - t0) * 1000 / e2e_iters
    return gpu_ms, e2e_ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cfg", required=True)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--modes", nargs="+", default=["fp16", "fp32", "fp32_tf32"])
    ap.add_argument("--iters", type=int, default=0, help="timed replays (default: 300 at batch 1, 30 at 64)")
    ap.add_argument("--size", type=int, default=416, help="square input size (the cfg's yolov3 says 608)")
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--json", default="")
    args = ap.parse_args()

    torch.backends.cudnn.benchmark = True
    sections = parse_cfg(args.cfg)
    base = DarknetNet(sections, args.size)
    randomize(base, args.seed)
    base.eval()
    result = {"model": args.cfg.split("/")[-1], "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "cudnn": torch.backends.cudnn.version(), "flops_per_image": base.flops,
              "input": [base.height, base.width]}
    print(f"PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {result['gpu']}; "
          f"{result['model']} {base.width}x{base.height}, {base.flops / 1e9:.2f} GFLOP per image")
    print(f"{'mode':<10} {'batch':>5} {'gpu ms':>9} {'img/s':>9} {'TFLOP/s':>8} {'e2e ms':>9}")
    for mode in args.modes:
        dtype = torch.float16 if mode == "fp16" else torch.float32
        torch.backends.cudnn.allow_tf32 = mode == "fp32_tf32"
        torch.backends.cuda.matmul.allow_tf32 = mode == "fp32_tf32"
        model = DarknetNet(sections, args.size)
        model.load_state_dict(base.state_dict())
        model = model.eval().to("cuda", dtype=dtype).to(memory_format=torch.channels_last)
        entry = {}
        for batch in args.batches:
            iters = args.iters or (300 if batch == 1 else 30)
            gpu_ms, e2e_ms = bench(model, batch, dtype, base.height, base.width, iters)
            ips = batch * 1000.0 / gpu_ms
            entry.update({f"b{batch}_ms": gpu_ms, f"b{batch}_ips": ips, f"b{batch}_e2e_ms": e2e_ms})
            print(f"{mode:<10} {batch:>5} {gpu_ms:>9.3f} {ips:>9.0f} {base.flops * ips / 1e12:>8.1f} {e2e_ms:>9.3f}")
        result[mode] = entry
        del model
        torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
