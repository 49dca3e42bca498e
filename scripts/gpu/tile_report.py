#!/usr/bin/env python3
"""Per-layer INT8 tile times from `rtdet -v build`'s log (scripts/gpu/run.sh int8tiles).

Each INT8 conv's debug line lists every form the builder timed ("NAME MS ms", experimental tiles
marked "(experimental)": timed, chosen only under RTDET_CUDA_INT8_EXPERIMENTAL=1) and its choice. Prints, per layer, the chosen form and
time and the fastest experimental tile, then the sums: how much the network would gain if each layer
took the faster of the two.

usage: tile_report.py BUILD_LOG
"""
import re
import sys

# "cuda: node 'NAME' [Conv]: int8 ..." (the builder's per-node debug prefix)
LINE = re.compile(r"cuda: node '([^']+)' \[\w+\]: int8 (.*) -> (tile|graph #) ?(.+)$")
ENTRY = re.compile(r"\s*(.+?) ([0-9.eE+-]+) ms( \(experimental\))?$")


def parse(text):
    layers = []
    for line in text.splitlines():
        m = LINE.search(line)
        if not m:
            continue
        name, report, kind, choice = m.groups()
        chosen = ("graph #" if kind == "graph #" else "") + choice.strip()
        forms = {}
        experimental = {}
        for part in report.split(", "):
            e = ENTRY.match(part)
            if not e:
                raise SystemExit(f"tile_report: {name}: cannot read '{part}' in the report")
            (experimental if e.group(3) else forms)[e.group(1)] = float(e.group(2))
        # An experimental tile is chosen only under RTDET_CUDA_INT8_EXPERIMENTAL=1.
        chosen_ms = forms.get(chosen, experimental.get(chosen))
        if chosen_ms is None:
            raise SystemExit(f"tile_report: {name}: the choice '{chosen}' is not among the timed forms")
        layers.append((name, chosen, chosen_ms, experimental))
    return layers


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    try:
        text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
    except OSError as e:
        raise SystemExit(f"tile_report: {sys.argv[1]}: {e.strerror}")
    layers = parse(text)
    if not layers:
        raise SystemExit(f"tile_report: {sys.argv[1]}: no INT8 tile reports (was it built with rtdet -v, "
                         "without a timing cache?)")
    total = best = 0.0
    print(f"{'layer':<16} {'chosen':<26} {'ms':>8}  {'fastest experimental':<26} {'ms':>8}  ratio")
    for name, chosen, ms, exp in layers:
        total += ms
        if exp:
            ename, ems = min(exp.items(), key=lambda kv: kv[1])
            best += min(ms, ems)
            print(f"{name:<16} {chosen:<26} {ms:8.4f}  {ename:<26} {ems:8.4f}  {ms / ems:5.2f}")
        else:
            best += ms
            print(f"{name:<16} {chosen:<26} {ms:8.4f}  {'-':<26} {'-':>8}")
    print(f"sum over {len(layers)} INT8 convs: chosen {total:.3f} ms; with the faster experimental tile "
          f"where it wins {best:.3f} ms (x{total / best:.3f})")


if __name__ == "__main__":
    main()
