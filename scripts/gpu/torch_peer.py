#!/usr/bin/env python3
"""The PyTorch peer for rtdet's GPU benchmark: YOLOv3-416 built from the darknet cfg, random weights.

Modes (--modes, and --compile-batches for the last):
  fp16        FP16, channels_last, cudnn.benchmark, CUDA-graph replay; BatchNorm as its own layers
              (the figures of docs/cuda.md's tables until 2026-12)
  fp32        true FP32 (TF32 off), otherwise as fp16;  fp32_tf32: PyTorch's default FP32 (TF32 convs)
  fp16_graph  PyTorch at its real best in eager form (issue 16): BatchNorm folded into the convs'
              weights and biases (the timed model has no BatchNorm layer), FP16, channels_last,
              cudnn.benchmark, CUDA-graph replay
  fp16_compile  the same folded FP16 channels_last model through torch.compile(mode="max-autotune")
              (Inductor autotunes Triton and cuDNN/ATen kernels per layer and replays its own CUDA
              graphs), at the batches of --compile-batches. Each batch compiles in a child process
              (a fresh compile per batch, as a user with static shapes gets) under --compile-budget-s
              for all of them together: a compile that fails or runs past the budget is recorded as an
              error (fp16_compile.b<N>_error) and the other modes' figures stand.

The folding is checked at run time on the device, before any folded mode is timed: the folded and
the unfolded model in FP32 (TF32 off) on the same random images must agree within --fold-rtol
(relative L2 per output head), or 20x the unfolded FP32 model's own error against float64 where that
is larger. A failed check is an error in the JSON ("bn_fold") and the folded modes are
skipped (exit code 1). The random BatchNorm statistics are not the identity (gamma ~ 1 +- 0.1, beta,
mean ~ +-0.1, var in [1, 1.1]), so the folding changes every weight; each residual branch's last
BatchNorm has its gamma x 0.3 (RESIDUAL_GAIN) so that the activations stay in FP16's range.

Inductor's cache: --inductor-cache DIR (or TORCHINDUCTOR_CACHE_DIR) is where compiled kernels,
autotuning results and FX graphs go; a compile that finds its graph there skips the autotuning.
scripts/gpu/inductor_cache.py packs such a folder into one file to carry to a later call.

Runs on the GPU machine (PyTorch 2.11 there). Prints a table and writes JSON (--json, rewritten after
each mode, so a later failure keeps what was measured):
  {"model", "gpu", "torch", "cudnn", "flops_per_image", "input", "bn_fold": {...}, "compile": {...},
   "<mode>": {"b<N>_ms": GPU time per batch (CUDA events over graph replays / compiled calls),
              "b<N>_ips": images/s, "b<N>_e2e_ms": pinned host input -> run -> host output,
              synchronized; fp16_compile also "b<N>_compile_s", "b<N>_rel_err" (vs eager fp16_graph),
              or "b<N>_error"}}
Usage: torch_peer.py --cfg yolov3.cfg [--size 416] [--batches 1 64] [--modes fp16 fp16_graph fp32 fp32_tf32]
                     [--compile-batches 1 64] [--compile-budget-s 480] [--inductor-cache DIR] [--json out.json]
       torch_peer.py --cfg yolov3.cfg --check-fold --device cpu --size 128   (the folding check alone; no GPU needed)
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
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


RESIDUAL_GAIN = 0.3


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
        # Damp each residual branch's last conv (as rtdet's random weights do, kResidualGamma): without
        # it the 23 [shortcut]s of YOLOv3 grow the activations past FP16's range (2.6e5 at 416), and
        # the FP16 modes computed infinities and NaNs.
        for i, (kind, _) in enumerate(model.specs):
            if kind != "shortcut":
                continue
            j = i - 1
            while j >= 0 and model.specs[j][0] == "identity":
                j -= 1
            layer = model.layers[j] if j >= 0 else None
            if isinstance(layer, nn.Sequential):
                last = layer[1] if len(layer) > 1 and isinstance(layer[1], nn.BatchNorm2d) else layer[0]
                last.weight.mul_(RESIDUAL_GAIN)
                if isinstance(last, nn.Conv2d) and last.bias is not None:
                    last.bias.mul_(RESIDUAL_GAIN)




def count_bn(model):
    return sum(1 for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def fold_bn(model):
    """Folds each conv -> BatchNorm (eval statistics) into the conv: w' = w * g / sqrt(v + eps),
    b' = (b - mean) * g / sqrt(v + eps) + beta, computed in float64. Returns how many were folded."""
    folded = 0
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            if not (isinstance(layer, nn.Sequential) and len(layer) >= 2 and isinstance(layer[0], nn.Conv2d)
                    and isinstance(layer[1], nn.BatchNorm2d)):
                continue
            conv, bn = layer[0], layer[1]
            scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
            bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
            new = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                            conv.dilation, conv.groups, bias=True, padding_mode=conv.padding_mode)
            new = new.to(device=conv.weight.device, dtype=conv.weight.dtype)
            new.weight.copy_((conv.weight.double() * scale.view(-1, 1, 1, 1)).to(conv.weight.dtype))
            new.bias.copy_(((bias - bn.running_mean.double()) * scale + bn.bias.double()).to(conv.weight.dtype))
            model.layers[i] = nn.Sequential(new, *list(layer)[2:])
            folded += 1
    return folded


def build_model(sections, size, seed, fold):
    model = DarknetNet(sections, size)
    randomize(model, seed)
    model.eval()
    if fold:
        fold_bn(model)
    return model


def rel_l2(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def check_fold(sections, size, seed, device, batch, rtol):
    """The folded model against the unfolded one, FP32 with TF32 off, on random images in [0, 1)."""
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        ref = build_model(sections, size, seed, fold=False)
        bn_layers = count_bn(ref)
        folded = build_model(sections, size, seed, fold=True)
        left = count_bn(folded)
        g = torch.Generator().manual_seed(seed + 1)
        x = torch.rand(batch, 3, ref.height, ref.width, generator=g)
        with torch.no_grad():
            ref64 = ref.to(device, torch.float64)
            y64 = [y.float() for y in ref64(x.to(device, torch.float64))]
            del ref64
            ref32 = ref.to(device, torch.float32)  # .to() converted the module in place: back to FP32 from the
            y_ref = ref32(x.to(device))             # same float64 values, which were the FP32 ones exactly
            y_fold = folded.to(device, torch.float32)(x.to(device))
        errs = [rel_l2(f, r) for f, r in zip(y_fold, y_ref)]
        res = {"bn_layers": bn_layers, "bn_layers_left": left, "device": str(device), "batch": batch,
               "rtol": rtol, "rel_l2_folded_vs_unfolded": errs,
               "rel_l2_unfolded_fp32_vs_fp64": [rel_l2(r, e) for r, e in zip(y_ref, y64)],
               "rel_l2_folded_fp32_vs_fp64": [rel_l2(f, e) for f, e in zip(y_fold, y64)],
               "max_abs_diff": max((f - r).abs().max().item() for f, r in zip(y_fold, y_ref)),
               "output_abs_max": max(r.abs().max().item() for r in y_ref)}
        # The limit: rtol, or 20x the FP32 rounding this device's kernels show against float64 where
        # that is larger (cuDNN's Winograd/FFT FP32 algorithms round more than a direct sum).
        res["limit"] = max(rtol, 20 * max(res["rel_l2_unfolded_fp32_vs_fp64"]))
        res["ok"] = bool(bn_layers > 0 and left == 0 and all(e <= res["limit"] for e in errs))
        return res
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32


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
    run = graph.replay
    return time_runs(run, x, outs, batch, h, w, iters)


def time_runs(run, x, outs, batch, h, w, iters):
    """run() on x -> outs: GPU time per run (CUDA events, ms) and host-to-host ms per inference."""
    for _ in range(10):
        run()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        run()
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
        o = run() or outs
        for ho, oo in zip(host_outs, o):
            ho.copy_(oo, non_blocking=True)
        torch.cuda.synchronize()
    e2e_ms = (time.perf_counter() - t0) * 1000 / e2e_iters
    return gpu_ms, e2e_ms


def default_iters(args, batch):
    return args.iters or (300 if batch == 1 else 30)


def compile_worker(args):
    """Child process: compile the folded FP16 channels_last model for one batch, check it against the
    eager model, time it; the result as JSON in args.worker_out."""
    batch = args.compile_worker
    res = {"batch": batch, "mode": args.compile_mode}

    def save():
        with open(args.worker_out, "w") as f:
            json.dump(res, f)

    torch.backends.cudnn.benchmark = True
    sections = parse_cfg(args.cfg)
    model = build_model(sections, args.size, args.seed, fold=True)
    model = model.to("cuda", torch.float16).to(memory_format=torch.channels_last)
    h, w = model.height, model.width
    g = torch.Generator(device="cuda").manual_seed(args.seed + 2)
    x = torch.rand(batch, 3, h, w, device="cuda", generator=g).half().contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        ref = [y.float() for y in model(x)]
        cmodel = torch.compile(model, mode=args.compile_mode)
        t0 = time.perf_counter()
        y = cmodel(x)
        torch.cuda.synchronize()
        res["compile_s"] = round(time.perf_counter() - t0, 2)
        print(f"torch_peer: batch {batch}: compiled ({args.compile_mode}) in {res['compile_s']:.1f} s", flush=True)
        res["rel_err"] = max(rel_l2(a.float(), b) for a, b in zip(y, ref))
        save()

        def run():
            torch.compiler.cudagraph_mark_step_begin()
            return cmodel(x)

        outs = [o.clone() for o in run()]
        gpu_ms, e2e_ms = time_runs(run, x, outs, batch, h, w, default_iters(args, batch))
    res.update({"ms": gpu_ms, "ips": batch * 1000.0 / gpu_ms, "e2e_ms": e2e_ms})
    save()


class Child:
    """The running compile worker, killed with its process group (Inductor's compile workers too)
    when the budget runs out or this process is told to stop."""
    proc = None

    @classmethod
    def kill(cls):
        if cls.proc and cls.proc.poll() is None:
            try:
                os.killpg(cls.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            cls.proc.wait()


def on_term(signum, frame):
    Child.kill()
    sys.exit(128 + signum)


def run_compiles(args, result, flops, save):
    entry = result.setdefault("fp16_compile", {})
    info = result["compile"] = {"mode": args.compile_mode, "budget_s": args.compile_budget_s,
                                "cache_dir": os.environ.get("TORCHINDUCTOR_CACHE_DIR", ""), "batches": {}}
    t_start = time.perf_counter()
    logdir = args.compile_log_dir or tempfile.mkdtemp(prefix="torch_peer_compile_")
    os.makedirs(logdir, exist_ok=True)
    for batch in args.compile_batches:
        key = f"b{batch}"
        left = args.compile_budget_s - (time.perf_counter() - t_start)
        if left < 20:
            entry[f"{key}_error"] = f"not run: {args.compile_budget_s} s compile budget spent"
            print(f"{'fp16_compile':<12} {batch:>5}  skipped: the compile budget ({args.compile_budget_s} s) is spent")
            save()
            continue
        out = os.path.join(logdir, f"compile_b{batch}.json")
        log = os.path.join(logdir, f"compile_b{batch}.log")
        if os.path.exists(out):
            os.remove(out)
        cmd = [sys.executable, os.path.abspath(__file__), "--cfg", args.cfg, "--size", str(args.size),
               "--seed", str(args.seed), "--iters", str(args.iters), "--compile-mode", args.compile_mode,
               "--compile-worker", str(batch), "--worker-out", out]
        t0 = time.perf_counter()
        err = None
        with open(log, "w") as lf:
            Child.proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = Child.proc.wait(timeout=left)
                if rc != 0:
                    err = f"compile worker exit code {rc}"
            except subprocess.TimeoutExpired:
                Child.kill()
                err = f"stopped after {left:.0f} s: the compile budget ({args.compile_budget_s} s) ran out"
        wall = time.perf_counter() - t0
        r = json.load(open(out)) if os.path.exists(out) else {}
        info["batches"][key] = {"wall_s": round(wall, 1), "log": log}
        if "compile_s" in r:
            entry[f"{key}_compile_s"] = r["compile_s"]
            entry[f"{key}_rel_err"] = r["rel_err"]
        if err is None and "ms" not in r:
            err = "compile worker wrote no timing"
        if err is None and not r["rel_err"] <= args.compile_rtol:
            err = f"compiled output differs from eager FP16: relative L2 {r['rel_err']:.3g} > {args.compile_rtol}"
        if err is None:
            entry.update({f"{key}_ms": r["ms"], f"{key}_ips": r["ips"], f"{key}_e2e_ms": r["e2e_ms"]})
            print(f"{'fp16_compile':<12} {batch:>5} {r['ms']:>9.3f} {r['ips']:>9.0f} {flops * r['ips'] / 1e12:>8.1f} "
                  f"{r['e2e_ms']:>9.3f}   (compiled in {r['compile_s']:.0f} s, rel. err {r['rel_err']:.1e})")
        else:
            entry[f"{key}_error"] = err
            tail = open(log, errors="replace").read().splitlines()[-15:]
            print(f"{'fp16_compile':<12} {batch:>5}  error: {err}; the worker's last lines:")
            print("\n".join("    " + t for t in tail))
        save()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cfg", required=True)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--modes", nargs="*", default=["fp16", "fp32", "fp32_tf32"],
                    choices=["fp16", "fp16_graph", "fp32", "fp32_tf32"])
    ap.add_argument("--iters", type=int, default=0, help="timed runs (default: 300 at batch 1, 30 above)")
    ap.add_argument("--size", type=int, default=416, help="square input size (the cfg's yolov3 says 608)")
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--json", default="")
    ap.add_argument("--compile-batches", type=int, nargs="*", default=[],
                    help="fp16_compile: compile and time at these batches (default: none)")
    ap.add_argument("--compile-mode", default="max-autotune")
    ap.add_argument("--compile-budget-s", type=float, default=480.0,
                    help="seconds for all the compiles together (each batch's child process is stopped at the end)")
    ap.add_argument("--compile-rtol", type=float, default=2e-2,
                    help="largest relative L2 error of the compiled FP16 outputs against eager FP16")
    ap.add_argument("--compile-log-dir", default="", help="the compile workers' logs (default: a temporary folder)")
    ap.add_argument("--inductor-cache", default="", help="TORCHINDUCTOR_CACHE_DIR for the compiles")
    ap.add_argument("--fold-rtol", type=float, default=1e-4,
                    help="largest relative L2 error of the folded against the unfolded model (FP32, TF32 off)")
    ap.add_argument("--fold-check-batch", type=int, default=2)
    ap.add_argument("--check-fold", action="store_true", help="only the folding check (with --device), then exit")
    ap.add_argument("--device", default="cuda", help="--check-fold: cuda or cpu")
    ap.add_argument("--compile-worker", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.inductor_cache:
        os.makedirs(args.inductor_cache, exist_ok=True)
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.abspath(args.inductor_cache)
    if args.compile_worker:
        compile_worker(args)
        return 0
    sections = parse_cfg(args.cfg)
    if args.check_fold:
        res = check_fold(sections, args.size, args.seed, torch.device(args.device), args.fold_check_batch,
                         args.fold_rtol)
        print(json.dumps(res, indent=1))
        return 0 if res["ok"] else 1

    signal.signal(signal.SIGTERM, on_term)
    torch.backends.cudnn.benchmark = True
    base = build_model(sections, args.size, args.seed, fold=False)
    result = {"model": args.cfg.split("/")[-1], "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "cudnn": torch.backends.cudnn.version(), "flops_per_image": base.flops,
              "input": [base.height, base.width]}

    def save():
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)

    print(f"PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {result['gpu']}; "
          f"{result['model']} {base.width}x{base.height}, {base.flops / 1e9:.2f} GFLOP per image")
    folded_ok = True
    if "fp16_graph" in args.modes or args.compile_batches:
        fold = result["bn_fold"] = check_fold(sections, args.size, args.seed, torch.device("cuda"),
                                              args.fold_check_batch, args.fold_rtol)
        folded_ok = fold["ok"]
        print(f"BatchNorm folding: {fold['bn_layers']} BatchNorm layers folded ({fold['bn_layers_left']} left); "
              f"folded vs unfolded FP32 (TF32 off), relative L2 per head "
              f"{', '.join(f'{e:.1e}' for e in fold['rel_l2_folded_vs_unfolded'])} (limit {fold['limit']:.1e}); "
              f"unfolded FP32 vs float64 {max(fold['rel_l2_unfolded_fp32_vs_fp64']):.1e}: "
              f"{'OK' if folded_ok else 'FAILED: the folded modes are skipped'}")
        save()
    print(f"{'mode':<12} {'batch':>5} {'gpu ms':>9} {'img/s':>9} {'TFLOP/s':>8} {'e2e ms':>9}")
    for mode in args.modes:
        if mode == "fp16_graph" and not folded_ok:
            result[mode] = {"error": "BatchNorm folding check failed"}
            continue
        dtype = torch.float16 if mode.startswith("fp16") else torch.float32
        torch.backends.cudnn.allow_tf32 = mode == "fp32_tf32"
        torch.backends.cuda.matmul.allow_tf32 = mode == "fp32_tf32"
        model = DarknetNet(sections, args.size)
        model.load_state_dict(base.state_dict())
        if mode == "fp16_graph":
            fold_bn(model)
            assert count_bn(model) == 0
        model = model.eval().to("cuda", dtype=dtype).to(memory_format=torch.channels_last)
        entry = {}
        for batch in args.batches:
            gpu_ms, e2e_ms = bench(model, batch, dtype, base.height, base.width, default_iters(args, batch))
            ips = batch * 1000.0 / gpu_ms
            entry.update({f"b{batch}_ms": gpu_ms, f"b{batch}_ips": ips, f"b{batch}_e2e_ms": e2e_ms})
            print(f"{mode:<12} {batch:>5} {gpu_ms:>9.3f} {ips:>9.0f} {base.flops * ips / 1e12:>8.1f} {e2e_ms:>9.3f}")
        result[mode] = entry
        save()
        del model
        torch.cuda.empty_cache()
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    if args.compile_batches:
        if folded_ok:
            run_compiles(args, result, base.flops, save)
        else:
            result["fp16_compile"] = {"error": "BatchNorm folding check failed"}
    save()
    return 0 if folded_ok else 1


if __name__ == "__main__":
    sys.exit(main())
