#!/usr/bin/env bash
# Fault injection against the real rtdet binary (issue 7). Every scenario prints one line
# (PASS/FAIL, name, figures); a summary table follows; the exit status is 1 when any scenario failed.
#
#   live_restart   a live MPEG-TS/UDP stream (ffmpeg) killed (-9) and restarted N times: rtdet must
#                  log each loss, reconnect every time, never exit, and stop cleanly on SIGINT
#   disk_full      JSON lines, video and images written to /dev/full (at once), and JSON lines and
#                  video on a disk that fills up mid-run (RLIMIT_FSIZE, SIGXFSZ ignored: writes fail
#                  with EFBIG as they would with ENOSPC): one-line error naming the file, exit 1,
#                  the JSON lines written before the failure all parse
#   readonly_dir   outputs into a folder the process may not write (chmod 555; as root, rtdet runs as
#                  nobody through setpriv, because root ignores modes): error, exit 1, nothing written
#   foreign_plan   a valid plan whose engine version or device signature is changed (checksum
#                  recomputed, so the version check trips, not the checksum): info/bench/run fail with
#                  one line; the plan cache, given such a cached plan, rebuilds and says why
#   model_swap     the model file replaced (atomic rename) and truncated while rtdet runs: the run
#                  goes on with the loaded model (detections equal to a reference run), exit 0; the
#                  next start uses the new model (new plan), a truncated model is a one-line error
#   sigint         N runs on the video with JSON lines + video, SIGINT after a random delay in
#                  [0, start-up + 3 s] (model load and plan build included): exit 0 or 130, no
#                  crash or hang, every JSON line parses, the video decodes to as many frames as
#                  there are JSON lines
#
#   scripts/hardening/faults.sh                        # full run (build/; RTDET=path or BUILD_DIR=dir)
#   SMOKE=1 scripts/hardening/faults.sh                # short version (what ctest runs, label `faults`)
#   scripts/hardening/faults.sh --smoke sigint         # some scenarios only
#
# Knobs: LIVE_CYCLES (20; smoke 3), SIGINT_RUNS (50; smoke 5), SEED (random delays), OUT_DIR
# (out/faults), RTDET_DATA (../shared; without it a generated clip and scripts/fetch_model.sh's model).
set -uo pipefail
cd "$(dirname "$0")/../.."
SMOKE=${SMOKE:-0}
scenarios=()
for a in "$@"; do
  case $a in
    --smoke) SMOKE=1 ;;
    -h | --help) sed -n '2,31p' "$0"; exit 0 ;;
    *) scenarios+=("$a") ;;
  esac
done
[ ${#scenarios[@]} -gt 0 ] || scenarios=(live_restart disk_full readonly_dir foreign_plan model_swap sigint)
if [ "$SMOKE" = 1 ]; then
  LIVE_CYCLES=${LIVE_CYCLES:-3}; SIGINT_RUNS=${SIGINT_RUNS:-5}; SWAP_FRAMES=${SWAP_FRAMES:-420}
else
  LIVE_CYCLES=${LIVE_CYCLES:-20}; SIGINT_RUNS=${SIGINT_RUNS:-50}; SWAP_FRAMES=${SWAP_FRAMES:-900}
fi
# The smoke run (CI) draws its delays from a fixed seed, so a failure reproduces; full runs vary.
if [ "$SMOKE" = 1 ]; then SEED=${SEED:-1}; else SEED=${SEED:-$(date +%s)}; fi
RANDOM=$SEED
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
BUILD_DIR=${BUILD_DIR:-build}
RTDET=$(realpath "${RTDET:-$BUILD_DIR/app/rtdet}" 2>/dev/null || true)
[ -x "$RTDET" ] || { echo "faults: rtdet binary not found (set RTDET or BUILD_DIR)" >&2; exit 1; }
. scripts/hardening/require.sh
command -v ffmpeg >/dev/null || skip_or_fail "faults: ffmpeg not installed (scripts/setup.sh installs it)"
OUT=$(realpath -m "${OUT_DIR:-out/faults}")
rm -rf "$OUT"
mkdir -p "$OUT"
chmod 755 "$OUT"
DATA=${RTDET_DATA:-../shared}

# ---- inputs: video, model (darknet cfg + its ONNX), a second model, a plan ----

VIDEO=$DATA/videos/car-detection.mp4
if [ ! -f "$VIDEO" ]; then
  VIDEO=$OUT/clip.mp4  # 10 s of ffmpeg's test pattern, the sample video's size and rate
  ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=768x432:rate=12.5 -t 10 -c:v mpeg4 \
    -q:v 4 "$VIDEO" || { echo "faults: cannot generate a clip" >&2; exit 1; }
fi
CFG=$DATA/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg
CONFIG=configs/yolo-fastest.yaml
if [ ! -f "$CFG" ]; then
  CFG=$(scripts/fetch_model.sh) || exit 1
  CONFIG=configs/yolo-fastest-xl.yaml
fi
CONFIG=$(realpath "$CONFIG")
CACHE=$OUT/cache
MODEL_A=$OUT/model_a.onnx  # the model's real weights
MODEL_B=$OUT/model_b.onnx  # the same architecture with random weights: another valid model
PLAN=$OUT/model_a.plan
"$RTDET" convert "$CFG" "${CFG%.cfg}.weights" -o "$MODEL_A" >"$OUT/convert.log" 2>&1 &&
  "$RTDET" convert "$CFG" --random-weights 7 -o "$MODEL_B" >>"$OUT/convert.log" 2>&1 &&
  "$RTDET" build "$MODEL_A" --device cpu --precision fp32 -o "$PLAN" >>"$OUT/convert.log" 2>&1 ||
  { echo "faults: cannot prepare the models:" >&2; tail -3 "$OUT/convert.log" >&2; exit 1; }
chmod 644 "$MODEL_A" "$MODEL_B" "$PLAN"

echo "faults: $RTDET, video $VIDEO, model $MODEL_A, $([ "$SMOKE" = 1 ] && echo smoke || echo full) run, seed $SEED"

# rtdet run with the test's model and plan cache, headless; extra arguments follow.
rt_run() { "$RTDET" run --config "$CONFIG" --model "$MODEL_A" --cache "${RT_CACHE:-$CACHE}" --headless "$@"; }
# The same, replacing the calling (background) subshell: `rt_exec ... &` makes $! rtdet's own pid, so
# signals reach rtdet and not a shell waiting for it. Start it between `set -m` and `set +m`: with job
# control on, a background job keeps the default SIGINT action (a script's jobs otherwise ignore it).
rt_exec() { exec "$RTDET" run --config "$CONFIG" --model "$MODEL_A" --cache "${RT_CACHE:-$CACHE}" --headless "$@"; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# wait_for SECONDS COMMAND...: polls every 0.1 s; status 1 on timeout.
wait_for() {
  local end=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.1
  done
}
# wait_pid PID SECONDS: the exit status; 124 (after SIGKILL) when it runs longer.
wait_pid() {
  local pid=$1 end=$(($(date +%s) + $2))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$end" ]; then
      kill -9 "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      return 124
    fi
    sleep 0.1
  done
  wait "$pid"
}
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
countf() { grep -cF -- "$2" "$1" 2>/dev/null || true; }
# The last line of stderr when it is rtdet's one-line error, else empty.
error_line() { tail -n 1 "$1" | grep '^rtdet: error: ' || true; }

# check.py jsonl FILE -> "N" (lines; every one parses, frames strictly increasing) or "BAD: why"
# check.py video FILE -> decoded frame count (-1: cannot open)
# check.py same A.jsonl B.jsonl [FROM] -> "N" (lines compared: frame, detections equal) or "BAD: why"
cat >"$OUT/check.py" <<'EOF'
import json, sys
def jsonl(path):
    out = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return out, None
    text = data.decode("utf-8", "replace")
    if text and not text.endswith("\n"):
        return out, f"last line not terminated: {text.rsplit(chr(10), 1)[-1][:60]!r}"
    for i, line in enumerate(text.splitlines()):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            return out, f"line {i + 1} does not parse: {e}"
        if len(out) > 1 and out[-1]["frame"] <= out[-2]["frame"]:
            return out, f"line {i + 1}: frame {out[-1]['frame']} after {out[-2]['frame']}"
    return out, None
cmd = sys.argv[1]
if cmd == "jsonl":
    rows, err = jsonl(sys.argv[2])
    print(f"BAD: {err}" if err else len(rows))
elif cmd == "video":
    import cv2
    cap = cv2.VideoCapture(sys.argv[2], cv2.CAP_FFMPEG)
    n = -1
    if cap.isOpened():
        n = 0
        while cap.read()[0]:
            n += 1
    print(n)
elif cmd == "same":
    a, ea = jsonl(sys.argv[2])
    b, eb = jsonl(sys.argv[3])
    start = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    if ea or eb:
        print(f"BAD: {ea or eb}"); sys.exit()
    ref = {r["frame"]: r["detections"] for r in a}
    n = diff = 0
    for r in b:
        if r["frame"] < start or r["frame"] not in ref:
            continue
        n += 1
        diff += r["detections"] != ref[r["frame"]]
    print(f"BAD: {diff} of {n} frames differ" if diff else n)
EOF
check() { $PY "$OUT/check.py" "$@" 2>/dev/null; }

results=()
failed=0
# report NAME STATUS FIGURES
report() {
  printf '%-4s %-14s %s\n' "$2" "$1" "$3"
  results+=("$2|$1|$3")
  [ "$2" = PASS ] || failed=1
}

# ---- a. live stream killed and restarted ----

live_restart() {
  local d=$OUT/live_restart
  mkdir -p "$d"
  local port
  port=$($PY -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local url=udp://127.0.0.1:$port sender=
  # The video looped at its own rate; MPEG-2 with a 6-frame GOP so a receiver that rejoins
  # mid-stream decodes within half a second.
  start_sender() {
    ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 -i "$VIDEO" -an -c:v mpeg2video -q:v 5 \
      -g 6 -f mpegts "$url?pkt_size=1316" >/dev/null 2>>"$d/ffmpeg.err" &
    sender=$!
  }
  start_sender
  set -m
  rt_exec --source "$url" --json "$d/out.jsonl" --summary-json "$d/summary.json" --stream-timeout-ms 1000 \
    --reconnect-interval-ms 200 --reconnect-attempts 1000 >"$d/stdout.txt" 2>"$d/stderr.txt" &
  local rt=$! why="" downs=() t0 i n0
  set +m
  has_lines() { [ "$(lines "$d/out.jsonl")" -ge "$1" ]; }
  wait_for 90 has_lines 10 || why="no frames from the stream within 90 s"
  for ((i = 1; i <= LIVE_CYCLES && ${#why} == 0; i++)); do
    kill -9 "$sender"
    wait "$sender" 2>/dev/null
    lost() { [ "$(countf "$d/stderr.txt" "lost $url")" -ge "$i" ]; }
    wait_for 20 lost || { why="cycle $i: the loss was not logged within 20 s"; break; }
    kill -0 "$rt" 2>/dev/null || { why="cycle $i: rtdet exited after the loss"; break; }
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.1f", 0.5 + 2.5 * r / 32767 }')"  # sender down 0.5-3 s
    n0=$(lines "$d/out.jsonl")
    t0=$(now)
    start_sender
    back() { [ "$(countf "$d/stderr.txt" "reconnected to $url")" -ge "$i" ] && has_lines $((n0 + 5)); }
    wait_for 60 back || { why="cycle $i: no reconnection within 60 s of the restart"; break; }
    downs+=("$(elapsed "$t0")")
  done
  kill -INT "$rt" 2>/dev/null
  local rc=0
  wait_pid "$rt" 60 || rc=$?
  kill -9 "$sender" 2>/dev/null
  wait "$sender" 2>/dev/null
  local reconnects json
  reconnects=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["reconnects"])' "$d/summary.json" 2>/dev/null || echo "?")
  json=$(check jsonl "$d/out.jsonl")
  [ -n "$why" ] || [ "$rc" = 0 ] || why="exit status $rc after SIGINT (expected 0)"
  [ -n "$why" ] || [ "$reconnects" = "$LIVE_CYCLES" ] || why="summary says $reconnects reconnects, expected $LIVE_CYCLES"
  [ -n "$why" ] || [[ $json != BAD* ]] || why="JSON lines: $json"
  local stats
  stats=$(printf '%s\n' "${downs[@]}" | awk 'NF { s += $1; if ($1 > m) m = $1; n++ } END { if (n) printf "%.1f s mean, %.1f s max", s / n, m }')
  local fig="$LIVE_CYCLES kill -9/restart cycles, $reconnects reconnects, restart-to-frames $stats, $json JSON lines, exit $rc"
  if [ -z "$why" ]; then report live_restart PASS "$fig"; else report live_restart FAIL "$why ($fig)"; fi
}

# ---- b. output disk full ----

# expect_error NAME DIR PATTERN CMD...: runs CMD (stdout/stderr in DIR); passes when the exit status is
# 1 and stderr's last line is rtdet's one-line error containing PATTERN. Sets $rc, $err.
expect_error() {
  local dir=$1 pat=$2
  shift 2
  mkdir -p "$dir"
  rc=0
  "$@" >"$dir/stdout.txt" 2>"$dir/stderr.txt" </dev/null || rc=$?
  err=$(error_line "$dir/stderr.txt")
  [ "$rc" = 1 ] && [ -n "$err" ] && [[ $err == *"$pat"* ]]
}

disk_full() {
  local d=$OUT/disk_full ok=1 figs=() why=()
  mkdir -p "$d"
  # At once: every sink pointed at /dev/full (a symlink gives the video and image sinks a file name).
  ln -sf /dev/full "$d/full.mp4"
  mkdir -p "$d/imgs" && ln -sf /dev/full "$d/imgs/frame_000000.jpg"
  local name args
  for name in json video images; do
    case $name in
      json) args=(--json /dev/full); pat=/dev/full ;;
      video) args=(-o "$d/full.mp4"); pat=$d/full.mp4 ;;
      images) args=(--images-dir "$d/imgs"); pat=$d/imgs/frame_000000.jpg ;;
    esac
    if expect_error "$d/$name" "$pat" rt_run --source "$VIDEO" --max-frames 20 "${args[@]}"; then
      figs+=("$name: exit 1")
    else
      ok=0; why+=("$name to /dev/full: exit $rc, '${err:-$(tail -n 1 "$d/$name/stderr.txt")}'")
    fi
    echo "  /dev/full $name: exit $rc: $err"
  done
  # Mid-run: files may grow to LIMIT KB, then write() fails (EFBIG; SIGXFSZ ignored).
  local limit_json=24 limit_video=600
  mkdir -p "$d/mid_json" "$d/mid_video"
  rc=0
  (trap '' XFSZ; ulimit -f $limit_json; exec "$RTDET" run --config "$CONFIG" --model "$MODEL_A" --cache "$CACHE" \
    --headless --source "$VIDEO" --json "$d/mid_json/out.jsonl") >"$d/mid_json/stdout.txt" 2>"$d/mid_json/stderr.txt" || rc=$?
  err=$(error_line "$d/mid_json/stderr.txt")
  local json
  json=$(check jsonl "$d/mid_json/out.jsonl")
  echo "  JSON lines, full after $limit_json KB: exit $rc, $json lines parse: $err"
  if [ "$rc" = 1 ] && [[ $err == *"$d/mid_json/out.jsonl"* ]] && [[ $json != BAD* ]]; then
    figs+=("JSON full mid-run: exit 1 at line $((json + 1)), $json lines parse")
  else
    ok=0; why+=("JSON full mid-run: exit $rc, lines: $json, '$err'")
  fi
  local codec ext
  for codec in mp4v MJPG; do
    ext=mp4; [ $codec = MJPG ] && ext=avi
    rc=0
    (trap '' XFSZ; ulimit -f $limit_video; exec "$RTDET" run --config "$CONFIG" --model "$MODEL_A" --cache "$CACHE" \
      --headless --source "$VIDEO" --json "$d/mid_video/$codec.jsonl" -o "$d/mid_video/out.$ext" --codec $codec) \
      >"$d/mid_video/$codec.stdout" 2>"$d/mid_video/$codec.stderr" || rc=$?
    err=$(error_line "$d/mid_video/$codec.stderr")
    local frames
    frames=$(check video "$d/mid_video/out.$ext")
    json=$(check jsonl "$d/mid_video/$codec.jsonl")
    echo "  video $codec, full after $limit_video KB: exit $rc, $json JSON lines, file decodes to $frames frames: $err"
    if [ "$rc" = 1 ] && [[ $err == *"out.$ext"* ]]; then
      figs+=("$codec full mid-run: exit 1, $frames of $json frames readable")
    else
      ok=0; why+=("$codec video full mid-run: exit $rc (expected 1 naming the file), $frames of $json frames readable")
    fi
  done
  # A real ENOSPC: a 512 KB tmpfs (root only, where mount is allowed) holding the video and JSON lines.
  local mnt=$d/tmpfs
  mkdir -p "$mnt"
  if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=512k tmpfs "$mnt" 2>/dev/null; then
    rc=0
    rt_run --source "$VIDEO" --json "$mnt/out.jsonl" -o "$mnt/out.mp4" >"$d/tmpfs.stdout" 2>"$d/tmpfs.stderr" || rc=$?
    err=$(error_line "$d/tmpfs.stderr")
    json=$(check jsonl "$mnt/out.jsonl")
    local frames
    frames=$(check video "$mnt/out.mp4")
    umount "$mnt"
    echo "  512 KB tmpfs: exit $rc, $json JSON lines, video decodes to $frames frames: $err"
    if [ "$rc" = 1 ] && [[ $err == *"$mnt/out."* ]] && [[ $json != BAD* ]]; then
      figs+=("512 KB tmpfs (ENOSPC): exit 1 at JSON line $((json + 1)), $json lines parse, video: $frames frames readable")
    else
      ok=0; why+=("512 KB tmpfs: exit $rc, lines: $json, '$err'")
    fi
  else
    figs+=("tmpfs: skipped (needs root and mount)")
  fi
  local IFS=';'
  if [ $ok = 1 ]; then report disk_full PASS "${figs[*]}"; else report disk_full FAIL "${why[*]}"; fi
}

# ---- c. read-only output folder ----

readonly_dir() {
  local d=$OUT/readonly_dir ok=1 figs=() why=()
  mkdir -p "$d/ro" "$d/cache"
  chmod 555 "$d/ro"
  chmod 777 "$d/cache" "$d"
  local as=()
  if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null || { report readonly_dir FAIL "running as root and setpriv is missing"; return; }
    as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  fi
  local name args
  for name in json video images images_existing summary; do
    case $name in
      json) args=(--json "$d/ro/out.jsonl"); pat=$d/ro/out.jsonl ;;
      video) args=(-o "$d/ro/out.mp4"); pat=$d/ro/out.mp4 ;;
      images) args=(--images-dir "$d/ro/imgs"); pat=$d/ro/imgs ;;
      images_existing) args=(--images-dir "$d/ro"); pat=$d/ro/frame_000000.jpg ;;
      summary) args=(--summary-json "$d/ro/summary.json"); pat=$d/ro/summary.json ;;
    esac
    mkdir -p "$d/$name" && chmod 777 "$d/$name"
    local t0 secs
    t0=$(now)
    if expect_error "$d/$name" "$pat" "${as[@]}" "$RTDET" run --config "$CONFIG" --model "$PLAN" --cache "$d/cache" \
      --headless --source "$VIDEO" --max-frames 5 "${args[@]}" && [ -z "$(ls -A "$d/ro")" ]; then
      secs=$(elapsed "$t0")
      figs+=("$name: exit 1 after $secs s")
    else
      ok=0; why+=("$name: exit $rc, '$err', in the folder: $(ls -A "$d/ro" | tr '\n' ' ')")
    fi
    echo "  read-only $name: exit $rc: $err"
  done
  local IFS=';'
  if [ $ok = 1 ]; then report readonly_dir PASS "${figs[*]}"; else report readonly_dir FAIL "${why[*]}"; fi
}

# ---- d. plan from another version or device ----

# patch_plan IN OUT version|device: changes the field (same length), recomputes the header's sha256.
patch_plan() {
  $PY - "$@" <<'EOF'
import hashlib, json, re, struct, sys
src, dst, what = sys.argv[1:4]
b = bytearray(open(src, "rb").read())
mo, ms = struct.unpack_from("<QQ", b, 16)
meta = b[mo:mo + ms].decode()
j = json.loads(meta)
def other(s):  # same length, differs in every character
    return "".join("9" if c != "9" else "8" for c in s) if what == "version" else \
           "".join("X" if c != "X" else "Y" for c in s)
if what == "version":
    olds = [j["engine_version"]]
    meta = re.sub(r'("engine_version"\s*:\s*")([^"]*)"', lambda m: m.group(1) + other(m.group(2)) + '"', meta)
else:
    olds = sorted({r["device_signature"] for r in j["backends"]}, key=len, reverse=True)
    for o in olds:
        meta = meta.replace(json.dumps(o)[1:-1], other(json.dumps(o)[1:-1]))
assert len(meta.encode()) == ms and json.loads(meta) != j
b[mo:mo + ms] = meta.encode()
b[48:80] = hashlib.sha256(bytes(b[80:])).digest()
open(dst, "wb").write(b)
print("; ".join(olds))
EOF
}

foreign_plan() {
  local d=$OUT/foreign_plan ok=1 figs=() why=()
  mkdir -p "$d"
  local what cmd
  for what in version device; do
    patch_plan "$PLAN" "$d/$what.plan" $what >"$d/$what.patch" || { ok=0; why+=("cannot patch the $what"); continue; }
    for cmd in info bench run; do
      local args=()
      case $cmd in
        info) args=(info "$d/$what.plan") ;;
        bench) args=(bench "$d/$what.plan" --iterations 1 --warmup 0) ;;
        run) args=(run --config "$CONFIG" --model "$d/$what.plan" --cache "$CACHE" --headless --source "$VIDEO" --max-frames 2) ;;
      esac
      if [ $cmd = info ]; then
        # info shows any plan it can read, and says whether this rtdet can run it.
        rc=0
        "$RTDET" "${args[@]}" >"$d/$what-info.out" 2>&1 || rc=$?
        err=$(grep '^runs here' "$d/$what-info.out")
        if [ "$rc" = 0 ] && [[ $err == "runs here: no: "*"rebuild the plan"* ]]; then
          figs+=("$what/info: 'runs here: no'")
        else
          ok=0; why+=("$what/info: exit $rc, '$err'")
        fi
      elif expect_error "$d/$what-$cmd" "rebuild the plan" "$RTDET" "${args[@]}" &&
        [ "$(grep -cv '^\[' "$d/$what-$cmd/stderr.txt")" = 1 ]; then
        figs+=("$what/$cmd: one line")
      else
        ok=0; why+=("$what/$cmd: exit $rc, '$(tail -n 1 "$d/$what-$cmd/stderr.txt")'")
      fi
      echo "  $what-patched plan, rtdet $cmd: exit $rc: $err"
    done
  done
  # The plan cache: a cached plan patched in place is rebuilt, with the reason, then hit again.
  local c=$d/cache
  RT_CACHE=$c rt_run --source "$VIDEO" --max-frames 3 >"$d/cache0.out" 2>&1 || { ok=0; why+=("first cached run failed"); }
  local cached
  cached=$(ls "$c"/plans/*.plan 2>/dev/null | head -n 1)
  for what in version device; do
    if [ -z "$cached" ]; then ok=0; why+=("no plan in the cache"); break; fi
    patch_plan "$cached" "$cached" $what >/dev/null
    rc=0
    RT_CACHE=$c rt_run --source "$VIDEO" --max-frames 3 >"$d/cache-$what.out" 2>"$d/cache-$what.err" || rc=$?
    local warn summary
    warn=$(grep -F 'plan cache: rebuilding' "$d/cache-$what.err" | head -n 1)
    summary=$(grep -o 'plan: [^)]*)' "$d/cache-$what.out" | head -n 1)
    RT_CACHE=$c rt_run --source "$VIDEO" --max-frames 3 >"$d/cache-$what-again.out" 2>&1
    echo "  cached plan with another $what: exit $rc: $warn"
    if [ "$rc" = 0 ] && [[ $warn == *"rebuild the plan"* ]] && [[ $summary == "plan: rebuilt ("* ]] &&
      grep -qF 'plan: cache hit' "$d/cache-$what-again.out"; then
      figs+=("cache with another $what: rebuilt, then hit")
    else
      ok=0; why+=("cache with another $what: exit $rc, warning '$warn', summary '$summary'")
    fi
  done
  local IFS=';'
  if [ $ok = 1 ]; then report foreign_plan PASS "${figs[*]}"; else report foreign_plan FAIL "${why[*]}"; fi
}

# ---- e. model file replaced while running ----

model_swap() {
  local d=$OUT/model_swap ok=1 figs=() why=()
  mkdir -p "$d"
  local m=$d/model.onnx c=$d/cache
  cp "$MODEL_A" "$m"
  run_m() { "$RTDET" run --config "$CONFIG" --model "$m" --cache "$c" --headless --source "$VIDEO" --loop "$@"; }
  # Reference: model A, the same frames, nothing replaced (builds A's plan).
  run_m --max-frames "$SWAP_FRAMES" --json "$d/ref.jsonl" >"$d/ref.out" 2>"$d/ref.err" || { ok=0; why+=("reference run failed"); }
  # 1. Replaced by another model (atomic rename) while running.
  local rc=0 at
  run_m --max-frames "$SWAP_FRAMES" --json "$d/swap.jsonl" >"$d/swap.out" 2>"$d/swap.err" &
  local pid=$!
  has_lines_in() { [ "$(lines "$1")" -ge "$2" ]; }
  wait_for 60 has_lines_in "$d/swap.jsonl" 20
  cp "$MODEL_B" "$m.new" && mv "$m.new" "$m"
  at=$(lines "$d/swap.jsonl")
  wait_pid "$pid" 300 || rc=$?
  local same n
  same=$(check same "$d/ref.jsonl" "$d/swap.jsonl" "$at")
  n=$(lines "$d/swap.jsonl")
  echo "  renamed over at frame $at: exit $rc, $n frames, after the swap equal to the reference: $same"
  if [ "$rc" = 0 ] && [ "$n" = "$SWAP_FRAMES" ] && [[ $same != BAD* ]] && [ "$same" -gt 0 ]; then
    figs+=("renamed over at frame $at of $SWAP_FRAMES: exit 0, $same later frames as the reference")
  else
    ok=0; why+=("renamed: exit $rc, $n lines, after the swap: $same")
  fi
  # 2. The next start uses the new model: a new plan is built, the detections differ.
  rc=0
  run_m --max-frames 30 --json "$d/next.jsonl" >"$d/next.out" 2>"$d/next.err" || rc=$?
  local plan diff
  plan=$(grep -o 'plan: [a-z ]*' "$d/next.out" | head -n 1)
  diff=$(check same "$d/ref.jsonl" "$d/next.jsonl")
  echo "  next start: exit $rc, $plan, detections vs model A: $diff"
  if [ "$rc" = 0 ] && [ "$plan" = "plan: built" ] && [[ $diff == BAD* ]]; then
    figs+=("next start: new plan built, detections differ")
  else
    ok=0; why+=("next start: exit $rc, '$plan', vs model A: $diff")
  fi
  # 3. Truncated in place while running: the run goes on; the next start is a one-line error.
  rc=0
  run_m --max-frames "$SWAP_FRAMES" --json "$d/trunc.jsonl" >"$d/trunc.out" 2>"$d/trunc.err" &
  pid=$!
  wait_for 60 has_lines_in "$d/trunc.jsonl" 20
  truncate -s 2000 "$m"
  at=$(lines "$d/trunc.jsonl")
  wait_pid "$pid" 300 || rc=$?
  n=$(lines "$d/trunc.jsonl")
  echo "  truncated at frame $at: exit $rc, $n frames"
  if [ "$rc" = 0 ] && [ "$n" = "$SWAP_FRAMES" ]; then
    figs+=("truncated at frame $at: exit 0, all $n frames")
  else
    ok=0; why+=("truncated while running: exit $rc, $n lines")
  fi
  if expect_error "$d/truncated" "$m" run_m --max-frames 5; then
    figs+=("truncated model at start: '${err#rtdet: error: }'")
  else
    ok=0; why+=("truncated model at start: exit $rc, '$(tail -n 1 "$d/truncated/stderr.txt")'")
  fi
  echo "  start with the truncated model: exit $rc: $err"
  local IFS=';'
  if [ $ok = 1 ]; then report model_swap PASS "${figs[*]}"; else report model_swap FAIL "${why[*]}"; fi
}

# ---- f. SIGINT at random points ----

sigint() {
  local d=$OUT/sigint ok=1 why=() i
  mkdir -p "$d"
  local n0=0 n130=0 nint=0 nvideo=0 total_lines=0 builds=0
  # Delays cover the start (model load; the handler is installed after it) and 3 s of the video:
  # uniform in [0, start + 3000 ms], the start measured here (it varies with the machine's load).
  local t0 start_ms max_ms
  rt_run --source "$VIDEO" --max-frames 1 >/dev/null 2>&1  # the plan cache warm
  t0=$(now)
  rt_run --source "$VIDEO" --max-frames 1 >/dev/null 2>&1
  start_ms=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }')
  max_ms=${SIGINT_MAX_MS:-$((start_ms + 3000))}
  echo "  start to first frame: $start_ms ms; SIGINT delays in [0, $max_ms] ms"
  for ((i = 1; i <= SIGINT_RUNS; i++)); do
    local ms=$(((RANDOM * 32768 + RANDOM) % (max_ms + 1))) c=$CACHE rc=0
    # Every 5th run starts with an empty plan cache: the signal may land in the plan build.
    if [ $((i % 5)) = 0 ]; then c=$d/cache$i; builds=$((builds + 1)); fi
    local base=$d/run$i
    set -m
    RT_CACHE=$c rt_exec --source "$VIDEO" --json "$base.jsonl" -o "$base.mp4" >"$base.out" 2>"$base.err" &
    local pid=$!
    set +m
    sleep "$(awk -v ms=$ms 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -INT "$pid" 2>/dev/null
    wait_pid "$pid" 120 || rc=$?
    local json=0 frames=-
    [ -f "$base.jsonl" ] && json=$(check jsonl "$base.jsonl")
    [ -e "$base.mp4" ] && frames=$(check video "$base.mp4")
    local bad=""
    grep -qF '(interrupted)' "$base.out" && nint=$((nint + 1))
    case $rc in
      0) n0=$((n0 + 1)) ;;
      130) n130=$((n130 + 1)) ;;
      124) bad="hung (killed after 120 s)" ;;
      *) bad="exit $rc" ;;
    esac
    [[ $json != BAD* ]] || bad="$bad JSON: $json"
    if [ "$frames" != - ]; then
      nvideo=$((nvideo + 1))
      [ "$frames" = "$json" ] || bad="$bad video decodes to $frames frames, $json JSON lines"
    elif [ "$json" != 0 ]; then
      bad="$bad $json JSON lines but no video"
    fi
    [[ $json == BAD* ]] || total_lines=$((total_lines + json))
    printf '  run %2d: SIGINT after %4d ms: exit %3s, %3s JSON lines, video %s frames%s\n' "$i" "$ms" "$rc" "$json" \
      "$frames" "${bad:+  <- $bad}"
    [ -z "$bad" ] || { ok=0; why+=("run $i ($ms ms): $bad"); }
  done
  local fig="$SIGINT_RUNS runs, delays 0-$max_ms ms ($builds with a plan build): exit 0: $n0 ($nint of them stopped mid-video), exit 130 (signal before the handler): $n130; $nvideo videos, each with as many frames as JSON lines ($total_lines in all)"
  [ "$nint" -gt 0 ] || { ok=0; why+=("no run was interrupted mid-video: the signal does not reach rtdet"); }
  local IFS=';'
  if [ $ok = 1 ]; then report sigint PASS "$fig"; else report sigint FAIL "${why[*]}"; fi
}

start=$(now)
for s in "${scenarios[@]}"; do
  case $s in
    live_restart | disk_full | readonly_dir | foreign_plan | model_swap | sigint) "$s" ;;
    *) echo "faults: unknown scenario '$s'" >&2; exit 2 ;;
  esac
done

echo
echo "| scenario | result | figures |"
echo "|---|---|---|"
for r in "${results[@]}"; do
  IFS='|' read -r status name fig <<<"$r"
  echo "| $name | $status | $fig |"
done
echo "faults: $(elapsed "$start") s, $([ $failed = 0 ] && echo "all passed" || echo FAILED) (output in $OUT)"
exit $failed
