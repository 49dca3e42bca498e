#!/usr/bin/env python3
"""Checks an installed rtdet (cmake --install PREFIX, or the .debs in /usr) the way a user meets it.

  check_install.py --prefix P --model M.cfg --image I.jpg [--reference-rtdet EXE] [--forbid DIR]...
                   [--python PYTHON]

1. layout: bin/rtdet, the shared libraries, share/rtdet/{configs,data}, the public headers and the
   CMake package are there; internal headers (IR, passes, backends, ONNX import, app) are not;
2. each installed header compiles on its own from the installed include tree (g++ -fsyntax-only);
3. the installed rtdet, from an unrelated directory with no data folder: --version; without a model it
   fails with one line naming --model and RTDET_DATA; `detect --model M I` finds COCO-named objects
   (class names from share/rtdet/data); `run` works with the installed default config; under strace
   none of these opens a file inside a --forbid folder (the source and build trees);
4. a consumer project (tests/install/consumer) configures with find_package(rtdet), builds against
   rtdet::detector and rtdet::engine, and its detections equal `rtdet detect`'s (and the build tree's
   rtdet, --reference-rtdet) on the same image;
5. with --python: the Python package (lib/python3.X/dist-packages/rtdet) is installed; from elsewhere,
   `import rtdet` finds it there (on PYTHON's own path for the prefixes /usr and /usr/local, through
   PYTHONPATH for others); `python3 -m rtdet detect` and rtdet.Detector (when cv2 is there to read the
   image) give the installed rtdet's detections; under strace neither opens anything in a --forbid
   folder.
Exit 0 when everything holds, 1 with the failed checks listed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from checklib import check, finish

HERE = Path(__file__).resolve().parent




def run(cmd, env, cwd, **kw):
    return subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, **kw)


def find_one(prefix, pattern):
    hits = sorted(prefix.glob(pattern))
    return hits[0] if hits else None


def detections_from_json(path):
    j = json.loads(Path(path).read_text())
    out = []
    for d in j["images"][0]["detections"]:
        b = d["box"]
        out.append((d["class"], d["score"], b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]))
    return out


def detections_from_lines(text):
    out = []
    for line in text.splitlines():
        name, *nums = line.rsplit(" ", 5)
        out.append((name, *map(float, nums)))
    return out


def same_detections(a, b, what):
    ok = len(a) == len(b)
    if ok:
        for x, y in zip(sorted(a), sorted(b)):
            ok &= x[0] == y[0] and abs(x[1] - y[1]) <= 1e-4 and all(abs(p - q) <= 0.05 for p, q in zip(x[2:], y[2:]))
    check(ok and len(a) > 0, f"{what}: {len(a)} vs {len(b)} detections, same classes, scores within 1e-4, "
          "boxes within 0.05 px")
    if not ok:
        print("   ", sorted(a), "\n   ", sorted(b))


PY_DETECT = """
import json, sys
import rtdet
out = {"file": rtdet.__file__}
try:
    import cv2
except ImportError:
    cv2 = None
if cv2 is not None:
    rtdet.set_log_level("warn")
    r = rtdet.Detector(sys.argv[1])(cv2.imread(sys.argv[2]))
    out["detections"] = [[l, float(s), *map(float, b)] for l, s, b in zip(r.labels, r.scores, r.boxes)]
print(json.dumps(out))
"""


def check_python(a, prefix, env, work, elsewhere, installed, strace, looked_up):
    """5. The Python module from the prefix, from elsewhere."""
    pkgs = sorted(prefix.glob("lib/python3*/dist-packages/rtdet/__init__.py"))
    if not check(len(pkgs) == 1 and any(pkgs[0].parent.glob("_rtdet.cpython-*.so"))
                 and (pkgs[0].parent / "__main__.py").is_file(),
                 f"lib/python3.X/dist-packages/rtdet: __init__.py, __main__.py, the extension: {pkgs}"):
        return
    site = pkgs[0].parent.parent
    # PWD as the folder it runs in: cv2's OpenMPI (through OpenCV's HDF5 module) resolves $PWD at load.
    penv = dict(env, PWD=str(elsewhere))
    if str(prefix) not in ("/usr", "/usr/local"):
        penv["PYTHONPATH"] = str(site)
    trace = work / "strace-python.txt"
    cmd = [a.python, "-c", PY_DETECT, a.model, a.image]
    if strace:
        cmd = [strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=%file", "-o", trace] + cmd
    r = run(cmd, penv, elsewhere)
    if not check(r.returncode == 0, f"installed module: import rtdet, Detector: exit {r.returncode} {r.stderr.strip()[-500:]}"):
        return
    out = json.loads(r.stdout.strip().splitlines()[-1])
    check(Path(out["file"]).resolve().parent == pkgs[0].parent.resolve(),
          f"import rtdet finds the installed package: {out['file']}")
    if "detections" in out:
        same_detections([tuple(d) for d in out["detections"]], installed, "installed rtdet.Detector vs rtdet detect")
    else:
        print("    (cv2 not installed: rtdet.Detector's detections not compared)")
    cmd = [a.python, "-m", "rtdet", "detect", "--model", a.model, a.image, "--no-images", "--json", work / "py.json"]
    r = run(cmd, penv, elsewhere)
    if check(r.returncode == 0, f"installed python3 -m rtdet detect: exit {r.returncode} {r.stderr.strip()[-300:]}"):
        same_detections(detections_from_json(work / "py.json"), installed, "python3 -m rtdet detect vs rtdet detect")
    if strace:
        opened = looked_up(trace)
        check(not opened, "the installed module looks nothing up in the source or build tree"
              + "".join("\n    " + l for l in opened[:5]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefix", required=True, type=Path)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--image", required=True, type=Path)
    ap.add_argument("--reference-rtdet", type=Path)
    ap.add_argument("--forbid", action="append", default=[], type=Path)
    ap.add_argument("--python", help="the Python the module was built for: check the installed module")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    a = ap.parse_args()
    prefix = a.prefix.resolve()
    a.model, a.image = a.model.resolve(), a.image.resolve()  # no "<source tree>/../shared" in what it opens
    if a.reference_rtdet:
        a.reference_rtdet = a.reference_rtdet.resolve()
    work = Path(tempfile.mkdtemp(prefix="rtdet-install-check-"))
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("RTDET_DATA", "RTDET_CACHE", "XDG_CACHE_HOME")}
    env["HOME"] = str(work / "home")
    env["RTDET_CACHE"] = str(work / "cache")

    # 1. layout
    exe = prefix / "bin" / "rtdet"
    check(exe.is_file() and os.access(exe, os.X_OK), f"{exe} is installed")
    for lib in ("core", "refmath", "onnx", "passes", "plan", "cpu", "runtime", "builder", "detector"):
        check(find_one(prefix, f"lib*/**/librtdet_{lib}.so.*") is not None, f"librtdet_{lib}.so.* is installed")
    share = prefix / "share" / "rtdet"
    check((share / "configs" / "yolo-fastest-xl.yaml").is_file(), "share/rtdet/configs/yolo-fastest-xl.yaml")
    names = share / "data" / "coco.names"
    check(names.is_file() and len(names.read_text().split("\n")) >= 80, "share/rtdet/data/coco.names (80 names)")
    inc = prefix / "include" / "rtdet"
    check((inc / "rtdet.h").is_file(), "include/rtdet/rtdet.h")
    for internal in ("engine/ir", "engine/passes", "engine/backends", "engine/onnx", "app"):
        check(not (inc / internal).exists(), f"internal headers not installed: include/rtdet/{internal}")
    config = find_one(prefix, "lib*/**/cmake/rtdet/rtdetConfig.cmake")
    check(config is not None and (config.parent / "rtdetConfigVersion.cmake").is_file()
          and (config.parent / "rtdetTargets.cmake").is_file(), "lib/cmake/rtdet: config, version, targets")

    # 2. every installed header on its own
    headers = sorted(p for p in inc.rglob("*.h"))
    bad = []
    for h in headers:
        r = subprocess.run(["g++", "-std=c++20", "-fsyntax-only", "-x", "c++", "-I", str(prefix / "include"),
                            "-I", str(inc), "-"], input=f'#include "{h.relative_to(inc)}"\n',
                           capture_output=True, text=True)
        if r.returncode != 0:
            bad.append(f"{h.relative_to(inc)}: {r.stderr.strip().splitlines()[0] if r.stderr.strip() else ''}")
    check(headers and not bad, f"{len(headers)} installed headers compile alone" + ("".join("\n    " + b for b in bad)))

    # 3. the installed rtdet, from elsewhere, no data folder
    r = run([exe, "--version"], env, elsewhere)
    check(r.returncode == 0 and r.stdout.startswith("rtdet "), f"rtdet --version: {r.stdout.strip()}")
    r = run([exe, "detect", a.image], env, elsewhere)
    err = r.stderr.strip().splitlines()
    check(r.returncode != 0 and len(err) == 1 and "--model" in err[0] and "RTDET_DATA" in err[0],
          f"no model, no data folder: one line naming --model and RTDET_DATA: {err}")
    cmd = [exe, "detect", "--model", a.model, a.image, "--out", work / "det", "--json", work / "det.json"]
    r = run(cmd, env, elsewhere)  # builds the plan into the cache (timing tactics: not under strace)
    check(r.returncode == 0, f"installed rtdet detect --model: exit {r.returncode} {r.stderr.strip()[-300:]}")
    installed = detections_from_json(work / "det.json") if r.returncode == 0 else []
    strace = shutil.which("strace") if a.forbid else None
    trace = work / "strace.txt"
    if strace:  # the same again (plan from the cache), every file it looks at recorded
        r = run([strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=%file", "-o", trace] + cmd, env, elsewhere)
        check(r.returncode == 0, f"installed rtdet detect under strace: exit {r.returncode}")
    classes = {d[0] for d in installed}
    check("dog" in classes and "bicycle" in classes, f"COCO class names from share/rtdet/data: {sorted(classes)}")
    if a.forbid and not strace:
        check(False, "strace is installed (scripts/setup.sh) to check what the installed rtdet opens")
    cmd = [exe, "--verbose", "run", "--model", a.model, "--source", a.image, "--headless", "--json",
           work / "run.jsonl"]
    trace_run = work / "strace-run.txt"
    if strace:
        cmd = [strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=%file", "-o", trace_run] + cmd
    r2 = run(cmd, env, elsewhere)
    check(r2.returncode == 0 and f"config: {share / 'configs' / 'yolo-fastest-xl.yaml'}" in r2.stderr + r2.stdout
          and (work / "run.jsonl").is_file(),
          f"installed rtdet run with the installed default config: exit {r2.returncode} {r2.stderr.strip()[-300:]}")
    forbidden = [str(f.resolve()) + "/" for f in a.forbid]

    def looked_up(trace_file):
        return [l for l in trace_file.read_text().splitlines() if any(f in l for f in forbidden)]

    if strace:
        opened = looked_up(trace) + looked_up(trace_run)
        check(not opened, f"installed rtdet detect and run look nothing up inside {', '.join(forbidden)}"
              + "".join("\n    " + l for l in opened[:5]))

    if a.reference_rtdet:
        r = run([a.reference_rtdet, "detect", "--model", a.model, a.image, "--out", work / "ref",
                 "--json", work / "ref.json"], env, elsewhere)
        if check(r.returncode == 0, "build-tree rtdet detect"):
            same_detections(installed, detections_from_json(work / "ref.json"), "installed rtdet vs build-tree rtdet")
        if strace:  # control: the same check does see a build-tree rtdet's lookups (its source tree's data/)
            trace_ref = work / "strace-ref.txt"
            run([strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=%file", "-o", trace_ref, a.reference_rtdet,
                 "detect", "--model", a.model, a.image, "--out", work / "ref"], env, elsewhere)
            check(bool(looked_up(trace_ref)), "control: strace sees the build-tree rtdet look into the source tree")

    # 4. a consumer project
    build = work / "consumer-build"
    r = run(["cmake", "-S", HERE / "consumer", "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}",
             "-DCMAKE_BUILD_TYPE=Release"], env, work)
    if check(r.returncode == 0, "consumer: find_package(rtdet) configures" + ("" if r.returncode == 0 else "\n" + r.stdout[-1500:] + r.stderr[-1500:])):
        r = run(["cmake", "--build", build, "-j2"], env, work)
        if check(r.returncode == 0, "consumer: builds against rtdet::detector and rtdet::engine" + ("" if r.returncode == 0 else "\n" + r.stdout[-2000:] + r.stderr[-1500:])):
            r = run([build / "detect", a.model, a.image], env, elsewhere)
            if check(r.returncode == 0, f"consumer detect runs: {r.stderr.strip()[-300:]}"):
                same_detections(detections_from_lines(r.stdout), installed, "consumer (Detector API) vs rtdet detect")
            onnx = sorted((work / "cache").rglob("*.onnx"))
            if check(bool(onnx), "the converted ONNX model is in the plan cache"):
                r = run([build / "engine_info", onnx[0], work / "engine_info.plan"], env, elsewhere)
                outs = r.stdout.split("\n")
                check(r.returncode == 0 and len([o for o in outs if o.strip()]) >= 2 and "[1," in r.stdout,
                      f"consumer engine_info (engine API) builds, loads and runs a plan: {r.stdout.strip()} {r.stderr.strip()[-200:]}")
    if a.python:
        check_python(a, prefix, env, work, elsewhere, installed, strace, looked_up)
    if a.keep:
        print("work folder:", work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return finish("check_install")


if __name__ == "__main__":
    sys.exit(main())
