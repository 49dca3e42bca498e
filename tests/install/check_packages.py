#!/usr/bin/env python3
"""Builds rtdet's Debian packages from a build tree (cpack -G DEB) and checks what they hold.

  check_packages.py BUILD_DIR

rtdet_<v>_<arch>.deb: /usr/bin/rtdet, the shared libraries (files and SONAME links), the configs and the
COCO class names; Depends only on runtime packages (no -dev), found by dpkg-shlibdeps, among them
oneDNN, OpenCV and protobuf. librtdet-dev_<v>_<arch>.deb: the public headers, the .so links and the CMake
package; Depends on rtdet of the same version. python3-rtdet_<v>_<arch>.deb (when the build has the Python
module): /usr/lib/python3.X/dist-packages/rtdet (the package, its extension finding rtdet's libraries in
/usr/lib through its RUNPATH); Depends on rtdet of the same version, that Python and numpy. (Installing them is scripts/hardening/clean_room.sh
--full's job: a fresh Debian 12 root, apt-get install ./rtdet_*.deb.)
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from checklib import check, finish



def deb_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True).stdout.strip()


def deb_files(deb):
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    return [line.split()[5].lstrip(".") for line in out.splitlines()]


def check_python_deb(deb, version):
    files = deb_files(deb)
    pkg = [f for f in files if re.fullmatch(r"/usr/lib/python3\.\d+/dist-packages/rtdet/__init__\.py", f)]
    check(len(pkg) == 1, f"python3-rtdet: /usr/lib/python3.X/dist-packages/rtdet/__init__.py: {pkg}")
    ext = [f for f in files if re.fullmatch(r"/usr/lib/python3\.\d+/dist-packages/rtdet/_rtdet\.cpython-3\d+-.*\.so", f)]
    check(len(ext) == 1 and any(f.endswith("/rtdet/__main__.py") for f in files),
          f"python3-rtdet: the extension and __main__.py: {ext}")
    check(not any(f.startswith("/usr/bin") or "/librtdet_" in f or f.startswith("/usr/include") for f in files),
          "python3-rtdet: the module only (the libraries are rtdet's)")
    depends = deb_field(deb, "Depends")
    check(f"rtdet (= {version})" in depends and "python3-numpy" in depends and re.search(r"python3 \(>= 3\.\d+\)", depends)
          and re.search(r"python3 \(<< 3\.\d+\)", depends), f"python3-rtdet depends on rtdet (= {version}), its python3, numpy: {depends}")
    if ext:
        with tempfile.TemporaryDirectory(prefix="rtdet-pydeb-") as x:
            subprocess.run(["dpkg-deb", "-x", str(deb), x], check=True)
            dyn = subprocess.run(["readelf", "-d", x + ext[0]], capture_output=True, text=True).stdout
            runpath = re.search(r"RUNPATH.*\[(.*)\]", dyn)
            ok = runpath is not None and runpath.group(1).rstrip("/") == "$ORIGIN/../../.."
            check(ok, f"python3-rtdet: the extension's RUNPATH is $ORIGIN/../../.. (/usr/lib): {runpath and runpath.group(1)}")


def main():
    build = Path(sys.argv[1]).resolve()
    cpack_config = (build / "CPackConfig.cmake").read_text()
    version = re.search(r'CPACK_PACKAGE_VERSION "([^"]+)"', cpack_config).group(1)
    python = re.search(r'CPACK_COMPONENTS_ALL "[^"]*python', cpack_config) is not None
    with tempfile.TemporaryDirectory(prefix="rtdet-cpack-") as out:
        r = subprocess.run(["cpack", "-G", "DEB", "--config", str(build / "CPackConfig.cmake"), "-B", out],
                           cwd=build, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout[-3000:], r.stderr[-3000:])
        check(r.returncode == 0, "cpack -G DEB")
        debs = {deb_field(d, "Package"): d for d in Path(out).glob("*.deb")}
        want = ["librtdet-dev", "rtdet"] + (["python3-rtdet"] if python else [])
        check(sorted(debs) == sorted(want), f"the packages {', '.join(want)}: {sorted(debs)}")
        if "rtdet" in debs:
            deb = debs["rtdet"]
            check(deb.name.startswith(f"rtdet_{version}_"), f"{deb.name}: version {version}")
            files = deb_files(deb)
            check("/usr/bin/rtdet" in files, "rtdet: /usr/bin/rtdet")
            for lib in ("core", "refmath", "onnx", "passes", "plan", "cpu", "runtime", "builder", "detector"):
                check(any(re.search(rf"/librtdet_{lib}\.so\.\d+\.\d+$", f) for f in files),
                      f"rtdet: librtdet_{lib}.so.<major>.<minor> (the SONAME link)")
                check(any(re.search(rf"/librtdet_{lib}\.so\.\d+\.\d+\.\d+$", f) for f in files),
                      f"rtdet: librtdet_{lib}.so.{version}")
            check("/usr/share/rtdet/data/coco.names" in files, "rtdet: /usr/share/rtdet/data/coco.names")
            check("/usr/share/rtdet/configs/yolo-fastest-xl.yaml" in files, "rtdet: /usr/share/rtdet/configs/")
            check(not any(f.startswith("/usr/include") or f.endswith(".so") for f in files),
                  "rtdet: no headers, no .so development links")
            check(not any("/python3" in f for f in files), "rtdet: no Python module (python3-rtdet has it)")
            depends = deb_field(deb, "Depends")
            pkgs = [d.strip().split()[0] for d in depends.split(",") if d.strip()]
            check(not [p for p in pkgs if p.endswith("-dev")], f"rtdet depends on runtime packages only: {depends}")
            for want in ("libdnnl", "libopencv-imgcodecs", "libprotobuf", "libspdlog", "libyaml-cpp"):
                check(any(p.startswith(want) for p in pkgs), f"rtdet depends on {want}*")
        if "librtdet-dev" in debs:
            deb = debs["librtdet-dev"]
            files = deb_files(deb)
            check("/usr/include/rtdet/rtdet.h" in files and "/usr/include/rtdet/detector/detector.h" in files,
                  "librtdet-dev: the public headers")
            check(not any("/engine/ir/" in f or "/engine/passes/" in f or "/backends/" in f for f in files),
                  "librtdet-dev: no internal headers")
            check(any(f.endswith("/cmake/rtdet/rtdetConfig.cmake") for f in files)
                  and any(f.endswith("/cmake/rtdet/rtdetTargets.cmake") for f in files), "librtdet-dev: the CMake package")
            check(any(f.endswith("/librtdet_detector.so") for f in files), "librtdet-dev: librtdet_detector.so link")
            depends = deb_field(deb, "Depends")
            check(f"rtdet (= {version})" in depends, f"librtdet-dev depends on rtdet (= {version}): {depends}")
        if "python3-rtdet" in debs:
            check_python_deb(debs["python3-rtdet"], version)
    return finish("check_packages")


if __name__ == "__main__":
    sys.exit(main())
