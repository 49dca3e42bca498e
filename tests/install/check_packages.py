#!/usr/bin/env python3
"""Builds rtdet's Debian packages from a build tree (cpack -G DEB) and checks what they hold.

  check_packages.py BUILD_DIR

rtdet_<v>_<arch>.deb: /usr/bin/rtdet, the shared libraries (files and SONAME links), the configs and the
COCO class names; Depends only on runtime packages (no -dev), found by dpkg-shlibdeps, among them
oneDNN, OpenCV and protobuf. librtdet-dev_<v>_<arch>.deb: the public headers, the .so links and the CMake
package; Depends on rtdet of the same version. (Installing them is scripts/hardening/clean_room.sh
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


def main():
    build = Path(sys.argv[1]).resolve()
    version = re.search(r'CPACK_PACKAGE_VERSION "([^"]+)"', (build / "CPackConfig.cmake").read_text()).group(1)
    with tempfile.TemporaryDirectory(prefix="rtdet-cpack-") as out:
        r = subprocess.run(["cpack", "-G", "DEB", "--config", str(build / "CPackConfig.cmake"), "-B", out],
                           cwd=build, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout[-3000:], r.stderr[-3000:])
        check(r.returncode == 0, "cpack -G DEB")
        debs = {deb_field(d, "Package"): d for d in Path(out).glob("*.deb")}
        check(sorted(debs) == ["librtdet-dev", "rtdet"], f"two packages, rtdet and librtdet-dev: {sorted(debs)}")
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
    return finish("check_packages")


if __name__ == "__main__":
    sys.exit(main())
