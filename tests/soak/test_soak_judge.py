#!/usr/bin/env python3
"""scripts/hardening/soak_judge.py on made-up runs (ctest soak_judge): the samples of issue 18's failing
run pass now (its last sample was taken during the exit), a plan build before the first frame is not
counted, and growth of memory, threads or descriptors while frames flow, lost frames and too short runs
fail."""

import json
import os
import subprocess
import sys
import tempfile

JUDGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "hardening",
                     "soak_judge.py")
FRAMES = 2000


def run(samples, json_lines=FRAMES):
    """samples: (t_s, rss_mb, fds, threads, lines); anonymous memory is the RSS less 80 MB of files."""
    with tempfile.TemporaryDirectory() as d:
        with open(f"{d}/samples.csv", "w") as f:
            f.write("t_s,rss_kb,anon_kb,file_kb,fds,threads,lines\n")
            for t, mb, fds, thr, lines in samples:
                kb = int(mb * 1024)
                f.write(f"{t},{kb},{kb - 80 * 1024},{80 * 1024},{fds},{thr},{lines}\n")
        with open(f"{d}/run.jsonl", "w") as f:
            f.write("{}\n" * json_lines)
        with open(f"{d}/summary.json", "w") as f:
            json.dump({"frames_out": json_lines, "dropped": 0, "fps": 60.0}, f)
        p = subprocess.run([sys.executable, JUDGE, d, str(FRAMES), "40", "8"], capture_output=True, text=True)
        return p.returncode, p.stdout


def flowing(n, rss=lambda i: 287.7, fds=lambda i: 8, threads=lambda i: 7, t0=1, lines0=0):
    """n samples one second apart while frames flow (62 frames a second)."""
    return [(t0 + i, rss(i), fds(i), threads(i), min(lines0 + 62 * (i + 1), FRAMES - 1)) for i in range(n)]


failures = []


def expect(name, result, rc, *texts):
    got_rc, out = result
    missing = [t for t in texts if t not in out]
    if got_rc != rc or missing:
        failures.append(f"{name}: exit {got_rc} (expected {rc}), missing {missing}\n{out}")


# Issue 18: flat while running, then a sample during the exit: +35 MB, 7 -> 2 threads, 8 -> 6 fds.
issue18 = flowing(31) + [(32, 324.2, 6, 2, FRAMES)]
expect("issue 18's run", run(issue18), 0, "30 while frames flow", "growth +0.00 MB", "soak: OK")
# A plan build first: two threads, memory high and falling, no frame yet.
build = [(t, 420.0 - 4 * t, 6, 2, 0) for t in range(1, 31)]
expect("plan build before the first frame", run(build + flowing(31, t0=31)), 0, "31 while frames flow (t = 31..61 s)", "soak: OK")
# A leak: 1 MB a second while frames flow (about 18 MB after the warm-up).
expect("leak", run(flowing(31, rss=lambda i: 200.0 + i)), 1, "FAIL: memory grew by more than 8.0 MB")
# A thread or a descriptor that is never closed; but not one sample with a thread less (a decoder thread
# gone for a moment while the looped video reopens) at the start of the judged samples.
expect("thread dip", run(flowing(31, threads=lambda i: 6 if i == 13 else 7)), 0, "threads: 6..7", "soak: OK")
expect("thread leak", run(flowing(31, threads=lambda i: 7 + i // 20)), 1, "FAIL: descriptors or threads grew")
expect("fd leak", run(flowing(31, fds=lambda i: 8 + i // 20)), 1, "FAIL: descriptors or threads grew")
# A lost frame, and a run too short to judge.
expect("lost frame", run(flowing(31), json_lines=FRAMES - 1), 1, "FAIL: frames lost")
expect("too short", run(flowing(5)), 1, "samples while frames flow (run too short")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("soak_judge: 8 cases as expected")
