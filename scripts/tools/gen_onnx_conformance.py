#!/usr/bin/env python3
"""Generates ONNX's own node conformance cases (model.onnx + test_data_set_0/*.pb) into OUTDIR/node.

Usage: gen_onnx_conformance.py OUTDIR

Runs onnx's `backend-test-tools generate-data` (the same data ONNX backends are tested against).
A stamp file OUTDIR/node/.rtdet_stamp records the onnx version; when it matches, nothing is redone.
Build/test-time helper only (the CMake target onnx_node_tests_data runs it); never used at runtime.
Needs a python with onnx (Debian: /usr/bin/python3 with python3-onnx).
"""

import os
import shutil
import sys
import tempfile
import warnings


def _alias_numpy():
    # onnx 1.12's generator uses np.float / np.int / np.bool / np.object, removed from numpy >= 1.24.
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hasattr() on a removed alias warns on numpy >= 1.24
        for alias, builtin in (("float", float), ("int", int), ("bool", bool), ("object", object)):
            if not hasattr(np, alias):
                setattr(np, alias, builtin)


def main(argv):
    if len(argv) != 2:
        print("usage: gen_onnx_conformance.py OUTDIR", file=sys.stderr)
        return 2
    outdir = os.path.abspath(argv[1])
    try:
        _alias_numpy()
        import onnx
        from onnx.backend.test.cmd_tools import main as tools_main
    except ImportError as e:
        print(f"gen_onnx_conformance.py: this python ({sys.executable}) cannot import numpy/onnx: {e}", file=sys.stderr)
        return 1

    node_dir = os.path.join(outdir, "node")
    stamp_path = os.path.join(node_dir, ".rtdet_stamp")
    stamp = f"onnx {onnx.__version__}\n"
    if os.path.isfile(stamp_path):
        with open(stamp_path) as f:
            if f.read() == stamp:
                os.utime(stamp_path)  # up to date: newer than what the build rule depends on
                return 0

    os.makedirs(outdir, exist_ok=True)
    # Generate into a scratch folder beside the target, then swap it in, so an interrupted run never
    # leaves a half-written node/ behind a valid stamp.
    scratch = tempfile.mkdtemp(prefix=".gen_", dir=outdir)
    try:
        saved_argv = sys.argv
        sys.argv = ["backend-test-tools", "generate-data", "-o", scratch]
        try:
            tools_main()
        finally:
            sys.argv = saved_argv
        generated = os.path.join(scratch, "node")
        if not os.path.isdir(generated) or not os.listdir(generated):
            print(f"gen_onnx_conformance.py: generator wrote no node cases under {scratch}", file=sys.stderr)
            return 1
        with open(os.path.join(generated, ".rtdet_stamp"), "w") as f:
            f.write(stamp)
        if os.path.isdir(node_dir):
            shutil.rmtree(node_dir)
        os.replace(generated, node_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    count = sum(1 for e in os.listdir(node_dir) if e.startswith("test_"))
    print(f"gen_onnx_conformance.py: {count} node cases from onnx {onnx.__version__} in {node_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
