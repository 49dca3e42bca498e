#!/usr/bin/env python3
"""scripts/gpu/tile_report.py on made-up `rtdet -v build` logs (ctest tile_report): the chosen form and
the fastest experimental tile per layer, the sums worked out by hand, and one clear line (non-zero exit)
for a missing log, a log without reports, an unreadable entry and a choice that was not timed; an
experimental tile chosen (RTDET_CUDA_INT8_EXPERIMENTAL=1) is read as the choice."""

import os
import subprocess
import sys
import tempfile

REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "gpu", "tile_report.py")

# The engine's debug lines ("[debug] " + the message, the node as "node 'NAME' [Conv]"): a tile choice ("tile " then the name), a graph
# choice ("graph #" then the rank), refused graph configurations at 1e+30 ms.
GOOD = """[info] yolov3-416: calibration cache 'x.json' (percentile, 16 inputs)
[debug] cuda: node 'layer_0_conv' [Conv]: int8 128x32x64/2 packed 0.6 ms, 128x32x64/2 packed x8 0.5 ms -> tile  128x32x64/2 packed x8
[debug] cuda: node 'layer_1_conv' [Conv]: int8 128x64x32/4 x8 0.48 ms, 128x64x32/4 wg x8 0.4 ms (experimental), graph #0 1e+30 ms -> tile  128x64x32/4 x8
[debug] cuda: node 'layer_2_conv' [Conv]: int8 128x64x32/4 x8 0.15 ms, graph #0 0.12 ms, 128x64x64/4 wg 0.3 ms (experimental), 128x64x32/4 wg x8 0.2 ms (experimental) -> graph # 0
built x.plan in 3 s
"""


def run(text, path=None):
    with tempfile.TemporaryDirectory() as d:
        log = path or os.path.join(d, "build.log")
        if text is not None:
            with open(log, "w") as f:
                f.write(text)
        p = subprocess.run([sys.executable, REPORT, log], capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr


failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)


rc, out, err = run(GOOD)
expect(rc == 0, f"good log: exit {rc} ({err.strip()})")
rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("layer_")}
expect(set(rows) == {"layer_0_conv", "layer_1_conv", "layer_2_conv"}, f"layers: {sorted(rows)}")
# layer_0: no experimental tile; layer_1: chosen 0.48 against wg 0.40 (x1.20); layer_2: the graph's 0.12
# against the faster experimental 0.20 (x0.60).
expect("128x32x64/2 packed x8" in rows.get("layer_0_conv", "") and "0.5000" in rows.get("layer_0_conv", ""),
       "layer_0's choice")
expect(rows.get("layer_1_conv", "").split()[-1] == "1.20", f"layer_1 ratio: {rows.get('layer_1_conv')}")
expect("graph #0" in rows.get("layer_2_conv", "") and "128x64x32/4 wg x8" in rows.get("layer_2_conv", "") and
       rows.get("layer_2_conv", "").split()[-1] == "0.60", f"layer_2: {rows.get('layer_2_conv')}")
# Sums: chosen 0.5 + 0.48 + 0.12 = 1.10; the faster of the two per layer 0.5 + 0.40 + 0.12 = 1.02.
expect("chosen 1.100 ms" in out and "where it wins 1.020 ms" in out and "x1.078" in out, f"sums: {out}")

# Under RTDET_CUDA_INT8_EXPERIMENTAL=1 the builder may choose an experimental tile: its time is the
# chosen one (0.4), and it is also the fastest experimental (ratio 1.00).
rc, out, err = run("[debug] cuda: node 'layer_3_conv' [Conv]: int8 128x64x32/4 x8 0.5 ms, 128x64x64/4 t2 x8 0.4 ms (experimental) "
                   "-> tile  128x64x64/4 t2 x8\n")
row = next((line for line in out.splitlines() if line.startswith("layer_3_conv")), "")
expect(rc == 0 and "0.4000" in row and row.split()[-1] == "1.00" and "chosen 0.400 ms" in out,
       f"experimental choice: {rc} {out!r} {err!r}")

rc, out, err = run(None, "/nonexistent/build.log")
expect(rc != 0 and "/nonexistent/build.log" in err and err.count("\n") == 1, f"missing log: {rc} {err!r}")
rc, out, err = run("[info] nothing here\n")
expect(rc != 0 and "no INT8 tile reports" in err, f"no reports: {rc} {err!r}")
rc, out, err = run("[debug] cuda: node 'layer_9' [Conv]: int8 128x64x32/4 x8 fast -> tile  128x64x32/4 x8\n")
expect(rc != 0 and "layer_9" in err and "fast" in err, f"unreadable entry: {rc} {err!r}")
rc, out, err = run("[debug] cuda: node 'layer_7' [Conv]: int8 128x64x32/4 x8 0.4 ms -> tile  64x64x32/4\n")
expect(rc != 0 and "layer_7" in err and "64x64x32/4" in err, f"untimed choice: {rc} {err!r}")

for f in failures:
    print("FAIL:", f)
print("tile_report:", "ok" if not failures else f"{len(failures)} failures")
sys.exit(1 if failures else 0)
