#!/usr/bin/env python3
"""The engine's layering (engine/CMakeLists.txt, docs/engine.md): every #include "engine/..." in engine/
reaches only the library of the including file or one it links, directly or not.

usage: check_layering.py SOURCE_DIR LAYERS_TXT

LAYERS_TXT (written by engine/CMakeLists.txt at configure time): one line per library,
"name dir[,dir...] [dep,dep...]"; a file belongs to the library of the longest directory (relative to
engine/) that holds it, a directory ending in "/." holding only the files directly in it. Files that
belong to no library (a backend this build leaves out) are not checked. Exit 0: every include follows
the links; 1: the offending includes, one per line."""
import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s+"(engine/[^"]+)"', re.M)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, layers_txt = Path(sys.argv[1]), Path(sys.argv[2])
    dirs = []  # (dir, recursive, library)
    deps = {}
    for line in layers_txt.read_text().splitlines():
        parts = line.split(" ")
        if not parts[0]:
            continue
        name = parts[0]
        for d in parts[1].split(","):
            dirs.append((d[:-2], False, name) if d.endswith("/.") else (d, True, name))
        deps[name] = [x for x in (parts[2].split(",") if len(parts) > 2 else []) if x]
    dirs.sort(key=lambda t: -len(t[0]))

    def owner(rel: str):  # rel: a path under engine/
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        for d, recursive, name in dirs:
            if folder == d or (recursive and folder.startswith(d + "/")):
                return name
        return None

    def reach(name: str) -> set:
        seen, todo = set(), [name]
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            todo += deps.get(n, [])
        return seen

    engine = src / "engine"
    bad, checked = [], 0
    for f in sorted(engine.rglob("*")):
        if f.suffix not in (".h", ".cpp", ".cu", ".cuh"):
            continue
        rel = f.relative_to(engine).as_posix()
        lib = owner(rel)
        if lib is None:
            continue
        checked += 1
        allowed = reach(lib)
        for inc in INCLUDE.findall(f.read_text(errors="replace")):
            target = owner(inc[len("engine/"):])
            if target is None:
                bad.append(f"engine/{rel}: includes {inc}, which belongs to no library of this build")
            elif target not in allowed:
                bad.append(f"engine/{rel} ({lib}): includes {inc} ({target}), which {lib} does not link")
    for b in bad:
        print(b)
    print(f"{checked} files of {len(deps)} libraries: {len(bad)} includes across the layering")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
