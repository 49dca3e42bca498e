#!/usr/bin/env bash
# Clean-room check: does a brand-new Debian 12 machine install, build and run rtdet from the committed
# tree, with nothing installed by hand? (CI runs on a reused machine, where a missing package can hide.)
# A minimal Debian 12 root is made once with debootstrap and kept pristine; every run starts from a fresh
# copy of it, with the committed tree (git archive HEAD, not the working tree) in /work/repo and the data
# folder (../shared, or $RTDET_DATA) read-only in /work/shared beside it. Inside, CI=true: a test whose
# package or data is missing fails instead of skipping.
#
#   scripts/hardening/clean_room.sh             short (CI, every submission): scripts/setup.sh
#                                               --configure-only (the packages, then CMake configure); about 3
#                                               minutes
#   scripts/hardening/clean_room.sh --full      the README's two commands, scripts/demo.sh then
#                                               scripts/test.sh (SANITIZERS=0 unless set), then the .debs
#                                               (cpack) installed with apt-get in a second fresh root: `rtdet
#                                               detect` there, then librtdet-dev + a find_package(rtdet)
#                                               consumer (--deb's checks); about an hour on 2 cores
#   scripts/hardening/clean_room.sh --deb DIR   only that last part, with the rtdet_*.deb,
#                                               librtdet-dev_*.deb and python3-rtdet_*.deb (when there) of DIR
#                                               (e.g. build/packages after `cd build && cpack`)
#   scripts/hardening/clean_room.sh -- CMD...   any command in a fresh root, from the repository root
#
# Needs root (chroot, mounts) and a Debian mirror (apt's own, from this machine's sources). Environment:
# CLEAN_ROOT (default /var/tmp/rtdet-clean-root: pristine/, root/, apt-archives/, logs), KEEP_ROOT=1
# (leave the root mounted-free but in place for a look), NO_APT_CACHE=1 (download every package again:
# by default the downloaded .debs are kept between runs; what gets installed is decided afresh each run).
# Exit status: that of the command inside (or of the first failing step). Full log: $CLEAN_ROOT/last.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
BASE=${CLEAN_ROOT:-/var/tmp/rtdet-clean-root}
PRISTINE=$BASE/pristine
ROOT=$BASE/root
LOG=$BASE/last.log
DATA=$(cd "${RTDET_DATA:-../shared}" 2>/dev/null && pwd || true)

die() { echo "clean_room: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"
# The committed tree (git archive HEAD); a tree that is not a git checkout (an exported copy) is taken
# as it is, without its build folders.
has_git=0
git rev-parse --verify -q HEAD >/dev/null 2>&1 && has_git=1
[ -n "$DATA" ] || die "data folder not found (../shared or \$RTDET_DATA): the tests need it"

mode=short
deb_dir=""
case "${1:-}" in
  "") ;;
  --full) mode=full; export SANITIZERS=${SANITIZERS:-0} ;;
  --deb) mode=deb; deb_dir=$(cd "${2:?--deb needs the folder holding the .debs}" && pwd) ;;
  --) shift; mode=cmd; [ $# -gt 0 ] || die "-- needs a command" ;;
  -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
  *) die "unknown argument '$1' (--full, --deb DIR, -- CMD...)" ;;
esac

mkdir -p "$BASE" "$BASE/apt-archives/partial"
: >"$LOG"
say() { echo "clean_room: $*" | tee -a "$LOG"; }

mirror() {
  local m
  m=$(grep -hm1 -oE '^URIs: *\S+debian/?\s*$' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -1 || true)
  [ -n "$m" ] || m=$(grep -hm1 -oE '^deb +\S+debian/? ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

make_pristine() {
  [ -f "$PRISTINE/.complete" ] && return 0
  command -v debootstrap >/dev/null || { say "installing debootstrap"; apt-get install -y -qq debootstrap >>"$LOG" 2>&1; }
  rm -rf "$PRISTINE"
  say "debootstrap bookworm (minbase) from $(mirror) into $PRISTINE (once)"
  debootstrap --variant=minbase bookworm "$PRISTINE" "$(mirror)" >>"$LOG" 2>&1 || { tail -20 "$LOG"; die "debootstrap failed"; }
  touch "$PRISTINE/.complete"
}

mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -R -l "${mounted[$i]}" 2>/dev/null || true; done
  mounted=()
}
cleanup() {
  unmount_all
  [ "${KEEP_ROOT:-0}" = 1 ] || rm -rf "$ROOT"
}
trap cleanup EXIT

# fresh_root: a new copy of the pristine root, the committed tree and the data folder in it, mounted.
fresh_root() {
  unmount_all
  rm -rf "$ROOT"
  cp -a "$PRISTINE" "$ROOT"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  mkdir -p "$ROOT/work/repo" "$ROOT/work/shared"
  if [ "$has_git" = 1 ]; then
    git -C "$REPO" archive --format=tar HEAD | tar -x -C "$ROOT/work/repo"
  else
    tar -C "$REPO" --exclude='./build*' --exclude=./out --exclude=./.git -cf - . | tar -x -C "$ROOT/work/repo"
  fi
  for m in proc sys dev; do
    mount --rbind "/$m" "$ROOT/$m" && mount --make-rslave "$ROOT/$m"
    mounted+=("$ROOT/$m")
  done
  mount --bind "$DATA" "$ROOT/work/shared" && mount -o remount,bind,ro "$ROOT/work/shared"
  mounted+=("$ROOT/work/shared")
  if [ "${NO_APT_CACHE:-0}" != 1 ]; then
    mount --bind "$BASE/apt-archives" "$ROOT/var/cache/apt/archives"
    mounted+=("$ROOT/var/cache/apt/archives")
  fi
}

# in_root CMD: runs CMD with bash in the root, from /work/repo, in a clean environment with CI=true.
in_root() {
  local t0=$SECONDS rc=0
  say "in a fresh Debian 12 root: $1"
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 CI=true TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    ${SANITIZERS:+SANITIZERS=$SANITIZERS} /bin/bash -c "cd /work/repo && ($1)" >>"$LOG" 2>&1 || rc=$?
  say "exit $rc after $((SECONDS - t0)) s"
  return $rc
}

# deb_check DIR: the .debs of DIR in a second fresh root. First rtdet alone (does its Depends bring
# everything `rtdet detect` needs?), then python3-rtdet when DIR has it (its Depends: `python3 -m rtdet
# detect` and `import rtdet`), then librtdet-dev with a compiler, OpenCV's image codecs and python3 for
# tests/install/check_install.py (a find_package(rtdet) consumer among its checks; the module's too).
deb_check() {
  local dir=$1
  fresh_root
  mkdir -p "$ROOT/work/debs"
  cp "$dir"/rtdet_*.deb "$dir"/librtdet-dev_*.deb "$ROOT/work/debs/" || die "no rtdet_*.deb / librtdet-dev_*.deb in $dir"
  local python=""
  if ls "$dir"/python3-rtdet_*.deb >/dev/null 2>&1; then
    cp "$dir"/python3-rtdet_*.deb "$ROOT/work/debs/"
    python="--python /usr/bin/python3"
  fi
  local model=/work/shared/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1-xl.cfg
  local image=/work/shared/images/darknet_samples/dog.jpg
  in_root "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /work/debs/rtdet_*.deb \
    && cd /tmp && rtdet --version && rtdet detect --model $model $image --out /tmp/det --json /tmp/det.json \
    && grep -q '\"class\": *\"dog\"' /tmp/det.json && echo 'clean_room: rtdet detect from the .deb found the dog'" || return $?
  if [ -n "$python" ]; then
    in_root "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /work/debs/python3-rtdet_*.deb \
      && cd /tmp && python3 -m rtdet detect --model $model $image --no-images --json /tmp/pydet.json \
      && grep -q '\"class\": *\"dog\"' /tmp/pydet.json \
      && python3 -c 'import numpy, rtdet; print(rtdet.Detector(\"$model\")(numpy.zeros((64, 64, 3), numpy.uint8)))' \
      && echo 'clean_room: python3 -m rtdet detect and import rtdet from the .deb'" || return $?
  fi
  in_root "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /work/debs/librtdet-dev_*.deb \
    cmake g++ make libopencv-dev python3 strace \
    && python3 tests/install/check_install.py --prefix /usr --model $model --image $image $python"
}

make_pristine
[ "$has_git" = 1 ] || say "$REPO is not a git checkout: copying the tree as it is (no build folders)"
t0=$SECONDS
rc=0
case $mode in
  short)
    fresh_root
    in_root "scripts/setup.sh --configure-only" || rc=$?
    ;;
  cmd)
    fresh_root
    in_root "$*" || rc=$?
    ;;
  full)
    fresh_root
    in_root "scripts/demo.sh && scripts/test.sh && cd build && cpack -G DEB" || rc=$?
    if [ $rc = 0 ]; then
      rm -rf "$BASE/debs" && mkdir -p "$BASE/debs"
      cp "$ROOT"/work/repo/build/packages/*.deb "$BASE/debs/"
      deb_check "$BASE/debs" || rc=$?
    fi
    ;;
  deb)
    deb_check "$deb_dir" || rc=$?
    ;;
esac
grep -vE '^(Get:|Preparing|Unpacking|Selecting|Setting up|Processing|update-alternatives|Created symlink|debconf|\(Reading database)' "$LOG" | tail -40
say "$mode: exit $rc after $((SECONDS - t0)) s (log: $LOG)"
exit $rc
