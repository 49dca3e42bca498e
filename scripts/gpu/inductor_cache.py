#!/usr/bin/env python3
"""Carries PyTorch Inductor's cache (TORCHINDUCTOR_CACHE_DIR) from one GPU call to the next as one file.

  inductor_cache.py pack DIR OUT.tar.xz [--max-mib 15]   # on the GPU machine, OUT under $OUT
  inductor_cache.py unpack IN.tar.xz DIR                 # on the next call, before torch.compile

A compile whose FX graph is in the cache loads the generated code (and, since PyTorch 2.6, the Triton
kernels bundled with it) instead of autotuning again. Triton's cache records absolute paths, so
unpack into the same folder as was packed (scripts/gpu/run.sh uses /tmp/rtdet_inductor for both; the
archive names it and unpack warns when they differ).

What comes back from the GPU machine is at most 16 MiB a file, and the carried tree at most 64 MiB
with the bundle, so pack writes the most complete archive under --max-mib, trying in turn:
  full     everything
  binaries everything but Triton's intermediate text (.ttir, .ttgir, .llir, .ptx, .source): the
           cubins and their metadata stay, so no kernel compiles again
  graphs   the FX graph and AOTAutograd entries (with the kernels bundled into them) and the autotuning
           results; other kernels are compiled again (no autotuning) if a graph needs them
and says which it wrote (exit code 1 if not even `graphs` fits).
"""
import argparse
import io
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

IR_SUFFIXES = (".ttir", ".ttgir", ".llir", ".ptx", ".source", ".amdgcn", ".hsaco")
GRAPH_DIRS = ("fxgraph", "aotautograd")
TUNING_SUFFIXES = (".best_config", ".autotune", ".json")
MANIFEST = "RTDET_INDUCTOR_CACHE_DIR"


def files_of(root):
    out = []
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(os.path.relpath(p, root))
    return sorted(out)


def select(files, level):
    if level == "full":
        return files
    if level == "binaries":
        return [f for f in files if not f.endswith(IR_SUFFIXES)]
    top = lambda f: f.split(os.sep, 1)[0]
    return [f for f in files if top(f) in GRAPH_DIRS or (not f.startswith("triton" + os.sep) and f.endswith(TUNING_SUFFIXES))]


def compress(tar_path, out_path):
    """xz -6 of the tar: multi-threaded with the xz program where there is one (16 cores there)."""
    if shutil.which("xz"):
        with open(tar_path, "rb") as fin, open(out_path, "wb") as fout:
            subprocess.run(["xz", "-T0", "-6", "-c"], stdin=fin, stdout=fout, check=True)
    else:
        with open(tar_path, "rb") as fin, lzma.open(out_path, "wb", preset=6) as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
    return os.path.getsize(out_path)


def pack(src, out, max_mib):
    src = os.path.abspath(src)
    files = files_of(src)
    size_of = {f: os.path.getsize(os.path.join(src, f)) for f in files}
    print(f"inductor_cache: {src}: {len(files)} files, {sum(size_of.values()) / 2**20:.1f} MiB")
    if not files:
        print("inductor_cache: empty: nothing packed")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for level in ("full", "binaries", "graphs"):
            chosen = select(files, level)
            raw = sum(size_of[f] for f in chosen)
            if raw > 8 * max_mib * 2**20 and level != "graphs":
                print(f"inductor_cache: {level}: {len(chosen)} files, {raw / 2**20:.1f} MiB: too large to try")
                continue
            tar_path, xz_path = os.path.join(tmp, "c.tar"), os.path.join(tmp, "c.tar.xz")
            with tarfile.open(tar_path, mode="w") as tar:
                info = tarfile.TarInfo(MANIFEST)
                data = (src + "\n").encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                for f in chosen:
                    tar.add(os.path.join(src, f), arcname=f, recursive=False)
            size = compress(tar_path, xz_path)
            print(f"inductor_cache: {level}: {len(chosen)} files, {raw / 2**20:.1f} MiB -> {size / 2**20:.2f} MiB compressed")
            if size <= max_mib * 2**20:
                shutil.copyfile(xz_path, out)
                print(f"inductor_cache: wrote {out} ({level})")
                return 0
    print(f"inductor_cache: even the graphs alone are over {max_mib} MiB: nothing written")
    return 1


def unpack(archive, dst):
    dst = os.path.abspath(dst)
    os.makedirs(dst, exist_ok=True)
    with tarfile.open(archive, mode="r:xz") as tar:
        members = [m for m in tar.getmembers() if m.name != MANIFEST]
        for m in members:
            if m.name.startswith("/") or ".." in m.name.split("/") or not (m.isfile() or m.isdir()):
                sys.exit(f"inductor_cache: refusing member {m.name!r}")
        try:
            packed = tar.extractfile(MANIFEST).read().decode().strip()
        except KeyError:
            packed = "?"
        tar.extractall(dst, members=members)
    print(f"inductor_cache: {archive} -> {dst}: {len(members)} files")
    if packed != dst:
        print(f"inductor_cache: warning: packed from {packed}, unpacked into {dst}: Triton's absolute paths "
              "will not resolve (its kernels compile again)")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("dir")
    p.add_argument("out")
    p.add_argument("--max-mib", type=float, default=15.0)
    u = sub.add_parser("unpack")
    u.add_argument("archive")
    u.add_argument("dir")
    a = ap.parse_args()
    if a.cmd == "pack":
        return pack(a.dir, a.out, a.max_mib)
    return unpack(a.archive, a.dir)


if __name__ == "__main__":
    sys.exit(main())
