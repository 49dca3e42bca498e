#!/usr/bin/env bash
# Runs on the GPU machine (device tool), from the repository root, with .gpu_bundle/ carried (made by
# scripts/gpu/bundle.sh here). Writes its results under $OUT (at most 8 files come back):
#   run.log        everything printed (nvidia-smi, library check, tests, builds, benchmarks, peer)
#   tests.xml, tests_int8.xml  engine_cuda_tests' GoogleTest reports (the INT8 suites in the second)
#   bench.jsonl    one JSON line per `rtdet bench` run (model, precision, batch, timings)
#   peer.json      the PyTorch peer's timings (scripts/gpu/torch_peer.py)
#   summary.txt    ours vs PyTorch, with the ratios
#   eval.jsonl     one JSON line per `rtdet eval` run on coco128 (model, device, precision, mAPs, ms)
#   app.jsonl      one JSON line per `rtdet run` (stage `app`): model, source, batch, FPS, ms per image
#   streams.jsonl  one JSON line per `rtdet bench --streams N` (stage `streams`)
#   mstreams.jsonl one JSON line per many-stream `rtdet run` (stage `mstreams`)
#   detector_tests.xml  detector_cuda_tests' report (stage `tests` or `dtests`)
#   csan.txt       one line per compute-sanitizer run (stage `csan`): tool, target, exit code, summary
#   ab.jsonl       stage `ab` (issue 15's before/after A/B; needs .gpu_bundle/before/ from
#                  scripts/gpu/add_before.sh): one JSON line per configuration, each side's img/s per pair,
#                  their medians and the median of the pairs' B/A ratios; ab_summary.txt the same as a
#                  table; ab_runs.jsonl one line per bench
#   int8_bench.jsonl   stage `int8` (issue 16): one JSON line per `rtdet bench` of YOLOv3-416 at fp16/int8/best
#   int8_summary.txt   ours (FP16, INT8, best) vs PyTorch at its best (peer.json: fp16_graph, fp16_compile)
#   inductor_cache.tar.xz  stages `int8` (when it compiled) and `peerc`: Inductor's cache, to carry back
#   int8eval.jsonl, int8eval_summary.txt  stage `int8eval`: coco128 mAP at fp32/fp16/int8/int8mixed/best
#   logs.tar.gz    the int8, peerc and int8eval stages' build, bench, eval and compile logs
#   int8diag_choices.txt, int8diag_layers.txt, int8diag_profile_{best,i8,f16}.txt  stage `int8diag`: each
#                  INT8 conv's measured forms and choice, each conv's INT8 and FP16 time as `best` measured
#                  them, and the per-layer profiles of YOLOv3-416 best, INT8 and FP16 at batch 64
#   int8ncu.txt    stage `int8ncu`: Nsight Compute's report on the first INT8 conv kernels of YOLOv3-416 b64
#   int8tiles.txt, int8tiles_build.log  stage `int8tiles`: per INT8 conv of YOLOv3-416 b64, the chosen
#                  form's time beside the fastest experimental tile's (scripts/gpu/tile_report.py; the
#                  builder may choose them here), int8tiles_bench.json: that plan's batch 64 bench
#   int8search.txt, int8search_build.log, int8search_bench_*.json  stage `int8search`: YOLOv3-416 b64
#                  built with cuDNN's configurations searched widely (every one timed, per layer), that plan
#                  and the default one benched alternately
#   int8wsncu.txt, int8wsncu_src.csv.xz  stage `int8wsncu`: Nsight Compute on one launch of a warp-specialized
#                  tile (the TMA 128x256 by default) as the builder times it on YOLOv3-416 b64, and its stall
#                  samples per SASS line
#   int8sass.txt.xz, int8sass_ncu.txt, int8sass_src.csv.xz  stage `int8sass`: the conv kernels' SASS, Nsight
#                  Compute's instruction mix and per-instruction counts on the first INT8 convs
# Usage: scripts/gpu/run.sh [all|tests|dtests|dbench|bench|peer|compare|cache|quick|diag|eval|app|streams|mstreams|ab|csan|csan2|int8|peerc|int8eval|int8tests|int8diag|int8prof|int8tiles|int8search|int8ncu|int8wsncu|int8sass]...   (default: all; stages run in the order given)
# Each stage fits well inside the device tool's 10-minute command limit; `all` is about 6 minutes, `ab`
# about 6 (estimated; no pair starts that would end after AB_BUDGET_S, 430 s, but the first); `int8`
# (ours at FP16/INT8/best + the PyTorch peer, issue 16) at most 9 by its budget, `peerc` (the peer's
# torch.compile mode; one call each: a cold compile of both batches takes most of the 10 minutes)
# about 9, `int8eval` about 3 (estimated).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=${RTDET_BUNDLE:-$ROOT/.gpu_bundle}  # RTDET_BUNDLE: another bundle (e.g. a CPU dry run of a stage)
OUT=${OUT:-/tmp/rtdet_gpu_out}
mkdir -p "$OUT"
LOG=$OUT/run.log
exec > >(tee -a "$LOG") 2>&1
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(all)

say() { echo "=== $* ($(date -u +%H:%M:%S))"; }

# CUDA's libraries: the toolkit's, else the ones PyTorch's wheels carry (cuDNN usually only there).
find_lib_dir() {
  local d
  for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/lib/x86_64-linux-gnu; do
    [ -e "$d/$1" ] && { echo "$d"; return; }
  done
  d=$(find / -xdev \( -path /proc -o -path /sys \) -prune -o -name "$1" -print 2>/dev/null | head -1)
  [ -n "$d" ] && dirname "$d"
}
libdirs=$B/lib
for l in libcudart.so.13 libcublas.so.13 libcudnn.so.9; do
  d=$(find_lib_dir "$l")
  if [ -z "$d" ]; then echo "run: $l not found on this machine"; else libdirs=$libdirs:$d; fi
done
export LD_LIBRARY_PATH=$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# The bundled C++ runtime only when the machine's is older than the one the binaries were built with.
if ldd "$B/bin/engine_cuda_tests" 2>&1 | grep -q "not found\|version .* not found"; then
  export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$B/lib/compat
fi
export RTDET_DATA=$B/data
export RTDET_CACHE=/tmp/rtdet_cache
RTDET=$B/bin/rtdet
WORK=/tmp/rtdet_gpu_work
mkdir -p "$WORK"

say "machine"
nvidia-smi || true
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,memory.total --format=csv || true
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
ldd "$B/bin/engine_cuda_tests" | grep -E "cud|cublas|not found|stdc" || true

# The INT8 suites first, in their own process and report (tests_int8.xml: about 2-3 minutes with every
# tile of our kernel against the reference; stage `int8tests` alone; INT8_TEST_FILTER narrows them),
# then the rest (tests.xml).
# INT8_TEST_TIMEOUT (seconds, 280): the suites' limit (EveryTile alone ran past 280 s on the H100 with the
# direct tiles, 2026-12-06; give it 500 in a call of its own).
run_int8_tests() {
  say "engine_cuda_tests: INT8 suites"
  timeout "${INT8_TEST_TIMEOUT:-280}" "$B/bin/engine_cuda_tests" --gtest_filter="${INT8_TEST_FILTER:-*Int8*}" --gtest_output="xml:$OUT/tests_int8.xml" \
    --gtest_brief="${INT8_TEST_BRIEF:-1}"  # INT8_TEST_BRIEF=0: every test's name and time (a hang's place)
  echo "engine_cuda_tests (INT8) exit code $?"
}
run_tests() {
  run_int8_tests
  say "engine_cuda_tests: the rest"
  timeout 280 "$B/bin/engine_cuda_tests" --gtest_filter='-*Int8*' --gtest_output="xml:$OUT/tests.xml" \
    --gtest_brief=1
  echo "engine_cuda_tests exit code $?"
  run_detector_tests
}

# The Detector's GPU pre/post-processing (detector/cuda) vs the CPU code.
run_detector_tests() {
  [ -x "$B/bin/detector_cuda_tests" ] || return 0
  say "detector_cuda_tests"
  timeout 240 "$B/bin/detector_cuda_tests" --gtest_output="xml:$OUT/detector_tests.xml" --gtest_brief=1
  echo "detector_cuda_tests exit code $?"
}

# ms per Detector::detect, host vs GPU pre/post-processing, YOLOv3-416 FP16, batch 1 and 64.
run_detector_bench() {
  [ -x "$B/bin/detector_cuda_tests" ] || return 0
  convert_models
  say "detector bench (host vs GPU path)"
  RTDET_DETECTOR_BENCH=$WORK/yolov3-416.onnx RTDET_DETECTOR_BENCH_CACHE=$WORK/dcache timeout 240 \
    "$B/bin/detector_cuda_tests" --gtest_filter=GpuDetectorBench.* | grep -E "detector bench|OK|FAIL|Skipped"
}

# bench MODEL_ONNX NAME PRECISION BATCH ITERATIONS
bench_one() {
  local onnx=$1 name=$2 prec=$3 batch=$4 iters=$5
  local plan=$WORK/$name.$prec.b$batch.plan json=$WORK/$name.$prec.b$batch.json
  say "build $name $prec max-batch $batch"
  timeout 150 "$RTDET" build "$onnx" --device cuda --precision "$prec" --max-batch "$batch" \
    --timing-cache "$WORK/timing.cache" -o "$plan" || return
  say "bench $name $prec batch $batch"
  timeout 90 "$RTDET" bench "$plan" --batch "$batch" --warmup 20 --iterations "$iters" --json "$json" || return
  record "$json" "$name" "$prec" "$batch" true
  # The GPU's work alone (inputs and outputs in the context's device buffers: no host<->device copies),
  # as PyTorch's graph-replay time.
  say "bench $name $prec batch $batch, no transfers"
  timeout 90 "$RTDET" bench "$plan" --batch "$batch" --warmup 20 --iterations "$iters" --no-transfers \
    --json "$json.nt" | tail -2 || return
  record "$json.nt" "$name" "$prec" "$batch" false
}

record() {  # JSON MODEL PRECISION BATCH TRANSFERS: one line of bench.jsonl
  python3 - "$@" >> "$OUT/bench.jsonl" <<'PY'
import json, sys
path, name, prec, batch, transfers = sys.argv[1:6]
d = json.load(open(path))
d.update({"model": name, "precision": prec, "batch": int(batch), "transfers": transfers == "true"})
print(json.dumps(d))
PY
}

convert_models() {
  [ -f "$WORK/yolov3-416.onnx" ] && [ -f "$WORK/yolo-fastest-1.1.onnx" ] && return 0
  say "convert"
  "$RTDET" convert "$RTDET_DATA/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg" \
    "$RTDET_DATA/models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.weights" -o "$WORK/yolo-fastest-1.1.onnx"
  "$RTDET" convert "$RTDET_DATA/models/darknet_cfg/yolov3.cfg" --random-weights 4321 --width 416 --height 416 \
    -o "$WORK/yolov3-416.onnx"
}

run_bench() {
  [ -x "$RTDET" ] || { echo "run: no rtdet in the bundle (it did not build without OpenCV): bench skipped"; return; }
  convert_models
  : > "$OUT/bench.jsonl"
  for prec in fp16 fp32; do
    bench_one "$WORK/yolov3-416.onnx" yolov3-416 $prec 1 300
    bench_one "$WORK/yolov3-416.onnx" yolov3-416 $prec 64 30
    bench_one "$WORK/yolo-fastest-1.1.onnx" yolo-fastest-1.1 $prec 1 500
    bench_one "$WORK/yolo-fastest-1.1.onnx" yolo-fastest-1.1 $prec 64 50
  done
}

# FP16 vs FP32 per output (rtdet bench --compare): both plans built from the ONNX model, same inputs.
run_compare() {
  [ -x "$RTDET" ] || return 0
  convert_models
  local m
  for m in yolov3-416 yolo-fastest-1.1; do
    [ -f "$WORK/$m.onnx" ] || continue
    say "compare $m fp16 vs fp32"
    timeout 200 "$RTDET" bench "$WORK/$m.onnx" --device cuda --precision fp16 --compare fp32 --batch 1 \
      --warmup 2 --iterations 5 --json "$WORK/$m.compare.json" && cp "$WORK/$m.compare.json" "$OUT/" 2>/dev/null
  done
}

run_peer() {
  say "PyTorch peer"
  # PyTorch brings its own cuDNN: without our LD_LIBRARY_PATH (the system cuDNN is older).
  env -u LD_LIBRARY_PATH PYTHONUNBUFFERED=1 timeout 240 python3 scripts/gpu/torch_peer.py --cfg "$RTDET_DATA/models/darknet_cfg/yolov3.cfg" \
    --size 416 --json "$OUT/peer.json"
}

# coco128 mAP and mean time per image with `rtdet eval` (JPEGs through libjpeg in this build):
# Yolo-Fastest-1.1 and -1.1-XL on the GPU at FP32 and FP16, and 1.1 on the CPU reference backend
# (FP32) as a cross-check of the GPU's FP32 figures. Each run first builds its plan (cache
# $RTDET_CACHE). EVAL_REFERENCE=0 skips the CPU run.
run_eval() {
  [ -x "$RTDET" ] || return 0
  local ds=$RTDET_DATA/datasets/coco128 mdir=$RTDET_DATA/models/yolo-fastest/yolo-fastest-1.1_coco
  [ -d "$ds/images" ] || { echo "run: no coco128 in the bundle: eval skipped"; return 0; }
  : > "$OUT/eval.jsonl"
  local m dev prec runs=()
  for m in yolo-fastest-1.1 yolo-fastest-1.1-xl; do
    for prec in fp32 fp16; do runs+=("$m cuda $prec"); done
  done
  [ "${EVAL_REFERENCE:-1}" = 1 ] && runs+=("yolo-fastest-1.1 reference fp32")
  local r
  for r in "${runs[@]}"; do
    read -r m dev prec <<< "$r"
    say "eval $m $dev $prec"
    local j=$WORK/eval.$m.$dev.$prec.json
    local txt=$OUT/eval.$m.$dev.$prec.txt  # the whole output, per-class table included
    timeout 240 "$RTDET" eval --model "$mdir/$m.cfg" --images "$ds/images/train2017" \
      --labels "$ds/labels/train2017" --device "$dev" --precision "$prec" --json "$j" > "$txt" 2>&1
    local rc=$?
    grep -E "^(model|images|plan|\[|[0-9]+ images|mAP|[0-9.]+ s,)" "$txt"
    [ $rc = 0 ] || { echo "eval $m $dev $prec: exit code $rc"; tail -3 "$txt"; continue; }
    python3 - "$j" "$m" "$dev" "$prec" >> "$OUT/eval.jsonl" <<'PY'
import json, sys
path, m, dev, prec = sys.argv[1:5]
d = json.load(open(path))
d.pop("pr_curve50", None); d.pop("classes", None)
d.update({"name": m, "device": dev, "precision": prec})
print(json.dumps(d))
PY
  done
  python3 - "$OUT/eval.jsonl" <<'PY' | tee "$OUT/eval_summary.txt"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
fp32 = {r["name"]: r for r in rows if r["device"] == "cuda" and r["precision"] == "fp32"}
print(f"{'model':22} {'device':9} {'prec':5} {'mAP50':>7} {'mAP50:95':>8} {'d50 pts':>8} {'d50:95 pts':>10} {'ms/img':>7} {'pre':>6} {'net':>6} {'post':>6}")
for r in rows:
    ms = r["mean_ms"]; ref = fp32.get(r["name"])
    d50 = f"{100 * (r['map50'] - ref['map50']):+.2f}" if ref and r is not ref else ""
    d95 = f"{100 * (r['map50_95'] - ref['map50_95']):+.2f}" if ref and r is not ref else ""
    tot = ms["preprocess"] + ms["inference"] + ms["postprocess"]
    print(f"{r['name']:22} {r['device']:9} {r['precision']:5} {r['map50']:7.4f} {r['map50_95']:8.4f} {d50:>8} {d95:>10} {tot:7.3f} {ms['preprocess']:6.3f} {ms['inference']:6.3f} {ms['postprocess']:6.3f}")
PY
}

# `rtdet run` end to end (issue 6): JPEG images in (libjpeg-turbo on the capture stage's decode
# threads), the detector on the GPU, JSON lines out; coco128 and the real video's frames (bundle.sh
# extracts them: no FFmpeg here), as fast as they go (no --realtime). Yolo-Fastest-1.1-XL (its
# weights) and YOLOv3-416 (random weights), batch 1 and APP_BATCH (8). A run builds its plan (cache
# $RTDET_CACHE) before its clock starts. APP_DEVICE / APP_PRECISION (cuda / fp16) pick the device, so
# the same logic runs on a CPU; APP_DECODE_THREADS (4) the decode threads; APP_MODELS the models;
# APP_MAX_FRAMES stops each run early (slow CPU dry runs).
# app_one MODEL SOURCE BATCH DECODE_THREADS: one `rtdet run`, one line of app.jsonl.
app_one() {
  local model=$1 src=$2 batch=$3 threads=$4
  local dev=${APP_DEVICE:-cuda} prec=${APP_PRECISION:-fp16}
  local dir=$RTDET_DATA/datasets/coco128/images/train2017
  [ "$src" = video ] && dir=$RTDET_DATA/videos/car-detection
  [ -d "$dir" ] || { echo "run: $dir not in the bundle: app $src skipped"; return 0; }
  say "app $model $src $dev $prec batch $batch, $threads decode threads"
  local base=$WORK/app.$model.$src.$dev.$prec.b$batch.t$threads config=configs/$model.yaml
  [ "$model" = yolo-fastest-1.1-xl ] && config=configs/yolo-fastest-xl.yaml
  timeout 200 "$RTDET" run --config "$config" --source "$dir" --device "$dev" --precision "$prec" \
    --max-batch "$batch" --decode-threads "$threads" --headless --json "$base.jsonl" \
    --summary-json "$base.summary.json" ${APP_MAX_FRAMES:+--max-frames "$APP_MAX_FRAMES"} > "$base.txt" 2>&1
  local rc=$?
  grep -E "^(summary|  model|  frames|  wall|mean time)|error" "$base.txt"
  # 2: done, but some files were skipped (named in the log)
  [ $rc = 0 ] || [ $rc = 2 ] || { echo "app $model $src: exit code $rc"; tail -3 "$base.txt"; return 0; }
  python3 - "$base.summary.json" "$model" "$src" "$dev" "$prec" "$batch" "$threads" >> "$OUT/app.jsonl" <<'PY'
import json, sys
path, model, src, dev, prec, batch, threads = sys.argv[1:8]
d = json.load(open(path))
st = d["stages"]
print(json.dumps({"model": model, "source": src, "device": dev, "precision": prec, "batch": int(batch),
                  "decode_threads": int(threads), "frames": d["frames_out"], "skipped": d["skipped"],
                  "wall_s": round(d["wall_s"], 4), "fps": round(d["fps"], 2),
                  "ms_per_image_wall": round(1000 * d["wall_s"] / max(1, d["frames_out"]), 4),
                  "mean_ms": {k: round(v["mean_ms"], 4) for k, v in st.items()},
                  "p99_ms": {k: round(v["p99_ms"], 4) for k, v in st.items()},
                  "detector": d["model"]}))
PY
}

run_app() {
  [ -x "$RTDET" ] || return 0
  "$RTDET" run --help 2>&1 | grep -q -- --decode-threads || { echo "run: this rtdet has no 'run' (built without libjpeg/yaml-cpp): app skipped"; return 0; }
  local threads=${APP_DECODE_THREADS:-4} big=${APP_BATCH:-8}
  : > "$OUT/app.jsonl"
  local model src batch
  for model in ${APP_MODELS:-yolo-fastest-1.1-xl yolov3-416}; do
    for batch in 1 "$big"; do
      for src in coco128 video; do app_one "$model" "$src" "$batch" "$threads"; done
    done
  done
  # Does decoding keep the GPU fed? The fastest case again with one decode thread.
  [ "$threads" != 1 ] && app_one "$(set -- ${APP_MODELS:-yolo-fastest-1.1-xl}; echo "$1")" video "$big" 1
  python3 - "$OUT/app.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'model':20} {'source':8} {'dev':5} {'prec':5} {'batch':>5} {'dec':>3} {'frames':>6} {'FPS':>8} {'ms/img':>7} {'pre':>6} {'net':>6} {'post':>6} {'e2e':>7}")
for r in rows:
    m = r["mean_ms"]
    print(f"{r['model']:20} {r['source']:8} {r['device']:5} {r['precision']:5} {r['batch']:5} {r['decode_threads']:3} {r['frames']:6} {r['fps']:8.1f} "
          f"{r['ms_per_image_wall']:7.3f} {m.get('preprocess', 0):6.3f} {m.get('inference', 0):6.3f} {m.get('postprocess', 0):6.3f} {m.get('end-to-end', 0):7.2f}")
PY
}

# NVIDIA's compute-sanitizer over the CUDA code (docs/reliability.md): memcheck (out-of-bounds and
# misaligned device accesses, CUDA API errors, device leaks) over both CUDA test suites and over
# `rtdet run` on video frames (the GPU pre/post path end to end); racecheck (shared-memory hazards) over
# the reorder kernels (our only kernels with shared memory), synccheck over our kernels' suites,
# initcheck (reads of uninitialized device memory) over the ops, the detector kernels, device I/O and
# the detector path. One line per run in csan.txt: tool, target, exit code, error summary.
run_csan() {
  local cs
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
  [ -n "$cs" ] || { echo "run: compute-sanitizer not found: csan skipped"; return 0; }
  "$cs" --version | tail -1
  [ "$1" = mem ] && : > "$OUT/csan.txt"
  csan_one() {  # TOOL NAME TIMEOUT COMMAND...
    local tool=$1 name=$2 limit=$3
    shift 3
    local extra=()
    [ "$tool" = memcheck ] && extra=(--leak-check full)
    say "compute-sanitizer $tool: $name"
    timeout "$limit" "$cs" --tool "$tool" "${extra[@]}" --error-exitcode 86 --print-limit 20 "$@" \
      > "$WORK/csan.$tool.$name.log" 2>&1
    local rc=$?
    grep -E "ERROR SUMMARY|LEAK SUMMARY|RACECHECK SUMMARY|Invalid|Uninitialized|Race reported|Barrier|\[  (PASSED|FAILED)|tests ran|error" \
      "$WORK/csan.$tool.$name.log" | head -20
    echo "$tool $name exit=$rc $(grep -E "(ERROR|RACECHECK) SUMMARY" "$WORK/csan.$tool.$name.log" | tail -1)" | tee -a "$OUT/csan.txt"
  }
  local gt=(--gtest_brief=1)
  if [ "$1" = mem ]; then
    csan_one memcheck engine_cuda_tests 300 "$B/bin/engine_cuda_tests" "${gt[@]}"
    csan_one memcheck detector_cuda_tests 120 "$B/bin/detector_cuda_tests" "${gt[@]}" --gtest_filter=-GpuDetectorBench.*
    local dir=$RTDET_DATA/videos/car-detection
    if [ -x "$RTDET" ] && [ -d "$dir" ]; then
      csan_one memcheck rtdet-run 120 "$RTDET" run --config configs/yolo-fastest-xl.yaml --source "$dir" \
        --device cuda --precision fp16 --max-batch 4 --max-frames 40 --headless --json "$WORK/csan.run.jsonl"
      echo "rtdet run under memcheck: $(wc -l < "$WORK/csan.run.jsonl" 2>/dev/null) JSON lines (40 expected)" | tee -a "$OUT/csan.txt"
    fi
    return 0
  fi
  # racecheck: shared-memory hazards; of our kernels only the reorders use shared memory.
  csan_one racecheck reorder 150 "$B/bin/engine_cuda_tests" "${gt[@]}" --gtest_filter='Storage/CudaReorder.*'
  csan_one synccheck ops 100 "$B/bin/engine_cuda_tests" "${gt[@]}" --gtest_filter='Storage/*:Policies/*:CudaDecode.*'
  # initcheck, one group at a time (which group a report comes from says whose memory it is).
  csan_one initcheck ops 100 "$B/bin/engine_cuda_tests" "${gt[@]}" --gtest_filter='Storage/*'
  csan_one initcheck detector-kernels 100 "$B/bin/engine_cuda_tests" "${gt[@]}" --gtest_filter='Policies/*:CudaDecode.*'
  csan_one initcheck device-io 100 "$B/bin/engine_cuda_tests" --gtest_filter='Precisions/CudaDeviceIo.*'
  csan_one initcheck detector 120 "$B/bin/detector_cuda_tests" "${gt[@]}" --gtest_filter=-GpuDetectorBench.*
  # initcheck does not see the stores of some cuDNN kernels (its reports then name the kernel that
  # reads a cuDNN output). The check behind it: every activation arena filled with NaN bytes first
  # (RTDET_TEST_POISON: the tests' contexts get ContextOptions::poison_device_memory), so a read of
  # memory nobody wrote turns into NaNs the tests compare.
  say "engine_cuda_tests with NaN-poisoned arenas"
  RTDET_TEST_POISON=1 timeout 240 "$B/bin/engine_cuda_tests" "${gt[@]}" > "$WORK/poison.log" 2>&1
  local rc=$?
  grep -E "\[  (PASSED|FAILED)|tests ran" "$WORK/poison.log"
  echo "poisoned-arena engine_cuda_tests exit=$rc" | tee -a "$OUT/csan.txt"
}

# Overlapped copies: `rtdet bench --streams N` runs N contexts from N threads (on CUDA each thread has
# its own stream), so one context's host<->device copies overlap another's compute. YOLOv3-416 FP16
# with the FP32 copies, batch 64 and 1; one line of streams.jsonl per run.
run_streams() {
  [ -x "$RTDET" ] || return 0
  convert_models
  : > "$OUT/streams.jsonl"
  local batch n plan
  for batch in 64 1; do
    plan=$WORK/yolov3-416.fp16.b$batch.plan
    [ -f "$plan" ] || timeout 150 "$RTDET" build "$WORK/yolov3-416.onnx" --device cuda --precision fp16 \
      --max-batch "$batch" --timing-cache "$WORK/timing.cache" -o "$plan" > /dev/null || continue
    for n in 1 2 3 4; do
      say "bench yolov3-416 fp16 batch $batch, $n streams"
      local iters=$((batch == 1 ? 300 : 30))
      timeout 120 "$RTDET" bench "$plan" --batch "$batch" --warmup 10 --iterations "$iters" --streams "$n" \
        --json "$WORK/streams.$batch.$n.json" | grep -E "timed runs|latency|throughput"
      python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({k: d[k] for k in ('batch','streams','iterations','throughput_ips','latency_ms')}))" \
        "$WORK/streams.$batch.$n.json" >> "$OUT/streams.jsonl"
    done
  done
}

# Many streams in one `rtdet run` (issue 14): S streams, each the real video's JPEG frames (377),
# decoded by libjpeg-turbo on the streams' capture threads, batched across streams into one engine.
#   throughput: the streams as files (never dropped), as fast as they go: total FPS (MS_WORKERS
#               inference workers; more than one overlaps one batch's copies and pre/post with
#               another's network);
#   sustained:  the streams as 30-FPS cameras (fps=30: newest frame, drops counted); a stream is
#               sustained when it drops < 0.1 % of its frames and its p99 capture-to-output latency
#               stays under 200 ms. One line of mstreams.jsonl per run (per-stream figures summarized).
# MS_MODELS (yolo-fastest-1.1-xl yolov3-416), MS_THROUGHPUT ("200"), MS_SUSTAINED_XL / MS_SUSTAINED_V3
# (stream counts tried), MS_BATCH (64), MS_WORKERS ("2"), MS_SUSTAINED_WORKERS (the cameras runs' worker
# counts; default: the first of MS_WORKERS), MS_GPU_WAIT (the cameras runs' --gpu-wait modes, "auto"),
# MS_BATCH_TIMEOUT (the cameras runs' --batch-timeout-ms values, "0").
ms_one() {  # MODEL STREAMS FPS(0: files) WORKERS BATCH [GPU_WAIT [BATCH_TIMEOUT_MS]]
  local model=$1 n=$2 fps=$3 workers=$4 batch=$5 wait=${6:-auto} bto=${7:-0}
  local dir=$RTDET_DATA/videos/car-detection config=configs/$model.yaml
  [ "$model" = yolo-fastest-1.1-xl ] && config=configs/yolo-fastest-xl.yaml
  [ -d "$dir" ] || { echo "run: $dir not in the bundle: mstreams skipped"; return 0; }
  local list=$WORK/ms.$n.$fps.streams i
  : > "$list"
  for i in $(seq "$n"); do
    if [ "$fps" = 0 ]; then echo "$dir name=s$i" >> "$list"; else echo "$dir name=s$i fps=$fps" >> "$list"; fi
  done
  local base=$WORK/ms.$model.$n.$fps.w$workers.b$batch.$wait.t$bto
  say "mstreams $model: $n streams, fps $fps, $workers workers, batch $batch, gpu wait $wait, batch timeout $bto ms"
  # YOLOv3 has random weights: at its config's conf 0.25 a frame has ~99,000 boxes and NMS dominates;
  # at 0.9999 ~170, the count a real model's frame has before NMS.
  local extra=()
  [ "$model" = yolov3-416 ] && extra=(--conf 0.9999)
  timeout 240 "$RTDET" -q run --config "$config" --source "$list" --device cuda --precision fp16 \
    --max-batch "$batch" --inference-workers "$workers" --queue-depth 4 --gpu-wait "$wait" --batch-timeout-ms "$bto" --headless "${extra[@]}" \
    --summary-json "$base.summary.json" > "$base.txt" 2>&1
  local rc=$?
  grep -E "^(  frames|  wall|mean time)" "$base.txt"
  [ $rc = 0 ] || { echo "mstreams: exit code $rc"; tail -5 "$base.txt"; return 0; }
  python3 - "$base.summary.json" "$model" "$n" "$fps" "$workers" "$batch" "$wait" "$bto" >> "$OUT/mstreams.jsonl" <<'PY'
import json, sys
path, model, n, fps, workers, batch, wait, bto = sys.argv[1:9]
d = json.load(open(path))
ss = d["streams"]
drop = [s["dropped"] / max(1, s["frames_in"]) for s in ss]
p99 = [s["latency_ms"]["p99"] for s in ss]
ok = sum(1 for s, dr, p in zip(ss, drop, p99) if dr < 0.001 and p < 200 and s["frames_out"] > 0)
st = d["stages"]
print(json.dumps({"model": model, "streams": int(n), "fps_per_stream": float(fps), "workers": int(workers), "gpu_wait": wait, "batch_timeout_ms": int(bto),
                  "batch": int(batch), "frames_out": d["frames_out"], "dropped": d["dropped"], "wall_s": round(d["wall_s"], 3),
                  "fps": round(d["fps"], 1), "sustained": ok, "max_drop_pct": round(100 * max(drop), 3),
                  "max_p99_ms": round(max(p99), 1), "median_p99_ms": round(sorted(p99)[len(p99) // 2], 1),
                  "mean_ms": {k: round(v["mean_ms"], 4) for k, v in st.items()}}))
PY
  tail -1 "$OUT/mstreams.jsonl"
}

run_mstreams() {
  [ -x "$RTDET" ] || return 0
  : > "$OUT/mstreams.jsonl"
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x $(nproc)"
  local model n w
  for model in ${MS_MODELS:-yolo-fastest-1.1-xl yolov3-416}; do
    # The plan at this batch, built (and cached) before the timed runs.
    ms_one "$model" 2 0 1 "${MS_BATCH:-64}" > /dev/null
    for w in ${MS_WORKERS:-2}; do
      for n in ${MS_THROUGHPUT:-200}; do ms_one "$model" "$n" 0 "$w" "${MS_BATCH:-64}"; done
    done
    local counts=${MS_SUSTAINED_XL:-100 200 300}
    [ "$model" = yolov3-416 ] && counts=${MS_SUSTAINED_V3:-50 100 150}
    local gw bt
    for bt in ${MS_BATCH_TIMEOUT:-0}; do
      for gw in ${MS_GPU_WAIT:-auto}; do
        for w in ${MS_SUSTAINED_WORKERS:-${MS_WORKERS%% *}}; do
          for n in $counts; do ms_one "$model" "$n" 30 "$w" "${MS_BATCH:-64}" "$gw" "$bt"; done
        done
      done
    done
  done
}

# Issue 15's before/after A/B on the GPU: the bundle's rtdet (B, after) against a before build's (A:
# .gpu_bundle/before/, added by scripts/gpu/add_before.sh) in one call. A runs with .gpu_bundle/before/lib
# first in LD_LIBRARY_PATH and B without it, so each loads its own librtdet_* (checked with ldd first: the
# stage stops if either side resolves one elsewhere). Each side converts the models (the ONNX files are
# compared byte for byte; both sides build A's) and builds every plan itself; then `rtdet bench` (host<->
# device copies included, CUDA graphs on) alternates them: pair i runs each configuration A then B (odd i)
# or B then A (even i), so order effects cancel over the pairs. Per configuration: each side's median
# img/s and the median of the pairs' B/A ratios (ab.jsonl, ab_summary.txt; one line per bench in
# ab_runs.jsonl).
#   AB_CONFIGS  MODEL:PRECISION:BATCH ..., models xl (Yolo-Fastest-1.1-XL, its weights) and v3 (YOLOv3-416,
#               random weights, seed 1); default "xl:fp16:1 xl:fp16:64 xl:fp32:1 xl:fp32:64 v3:fp16:1
#               v3:fp16:64 v3:fp32:1" (v3:fp32:64 left out: 171 ms per batch, its build and 6 benches
#               would add about 2 minutes)
#   AB_PAIRS    pairs (3)
#   AB_TIMING   "shared" (the default: B builds with a copy of A's timing cache, so both plans hold the
#               same tactics and the A/B measures the code, not the autotuner's choice between near-equal
#               tactics; the stage says how many of A's and B's plans are byte-identical) or "own" (each
#               side times its own tactics: about 2.5 minutes more)
#   AB_BUDGET_S the stage's seconds (430): the first pair always runs; a later one starts only if it would
#               end inside them (taking as long as the last)
#   AB_ITER_SCALE scales the warm-up and timed run counts (1); AB_DEVICE (cuda): "cpu" runs the logic
#               without a GPU (a dry run; the bundle's CPU backend is the reference one)
ab_side() {  # SIDE: sets bin and path, that side's rtdet and LD_LIBRARY_PATH
  bin=$RTDET path=$LD_LIBRARY_PATH
  [ "$1" = A ] && { bin=$B/before/bin/rtdet; path=$B/before/lib:$LD_LIBRARY_PATH; }
}

ab_run() {  # SIDE TIMEOUT ARGS...: that side's rtdet with its own libraries, none of the old env switches
  local side=$1 limit=$2 bin path
  shift 2
  ab_side "$side"
  timeout "$limit" env -u RTDET_NO_GRAPHS -u RTDET_CUDA_POISON -u RTDET_CUDNN_LEGACY -u RTDET_CUDA_NO_TRANSFERS \
    LD_LIBRARY_PATH="$path" "$bin" "$@"
}

ab_libs() {  # SIDE FOLDER: every librtdet_* that side's rtdet loads resolves in FOLDER, nothing is missing
  local side=$1 want=$2 bin path out
  ab_side "$side"
  out=$(LD_LIBRARY_PATH=$path ldd "$bin" 2>&1)
  echo "$side: $bin"
  echo "$out" | grep -E "librtdet_|not found" | sed 's/ (0x[0-9a-f]*)//'
  if echo "$out" | grep -q "not found"; then echo "ab: $side: libraries not found: ab stopped"; return 1; fi
  if echo "$out" | grep librtdet_ | grep -qv "=> $want/librtdet_"; then
    echo "ab: $side loads librtdet_* from outside $want: ab stopped"
    return 1
  fi
}

ab_iters() {  # MODEL BATCH: "WARMUP TIMED" runs per bench (timed: about 0.3-2 s of GPU work on the H200), x AB_ITER_SCALE
  local n=30 w=10
  [ "$2" = 1 ] && w=50
  case "$1.$2" in
    xl.1) n=1000 ;;
    v3.1) n=400 ;;
    xl.*) n=60 ;;
  esac
  python3 -c "import sys; f = float(sys.argv[3]); print(*(max(1, round(int(a) * f)) for a in sys.argv[1:3]))" "$w" "$n" "${AB_ITER_SCALE:-1}"
}

run_ab() {
  [ -x "$RTDET" ] || { echo "run: no rtdet in the bundle: ab skipped"; return 0; }
  [ -x "$B/before/bin/rtdet" ] || { echo "run: no $B/before/bin/rtdet (scripts/gpu/add_before.sh adds it): ab skipped"; return 0; }
  local t0=$SECONDS dev=${AB_DEVICE:-cuda} pairs=${AB_PAIRS:-3} timing=${AB_TIMING:-shared} dir=$WORK/ab
  local mdir=$RTDET_DATA/models/yolo-fastest/yolo-fastest-1.1_coco
  rm -rf "$dir"
  mkdir -p "$dir"
  : > "$OUT/ab.jsonl"
  : > "$OUT/ab_runs.jsonl"
  say "ab: libraries"
  [ -f "$B/before/REVISION" ] && echo "A (before): $(cat "$B/before/REVISION")"
  ab_libs A "$B/before/lib" || return 0
  ab_libs B "$B/lib" || return 0
  say "ab: convert"
  local side m p b c rc
  for side in A B; do
    if ! ab_run $side 60 -q convert "$mdir/yolo-fastest-1.1-xl.cfg" "$mdir/yolo-fastest-1.1-xl.weights" \
      -o "$dir/xl.$side.onnx" || ! ab_run $side 60 -q convert "$RTDET_DATA/models/darknet_cfg/yolov3.cfg" \
      --random-weights 1 --width 416 --height 416 -o "$dir/v3.$side.onnx"; then
      echo "ab: convert $side failed: ab stopped"
      return 0
    fi
  done
  for m in xl v3; do
    if cmp -s "$dir/$m.A.onnx" "$dir/$m.B.onnx"; then echo "$m: A's and B's ONNX files are identical"
    else echo "$m: A's and B's ONNX files differ (both sides build A's)"; fi
  done
  local cfgs=()  # "MODEL PRECISION BATCH"
  for c in ${AB_CONFIGS:-xl:fp16:1 xl:fp16:64 xl:fp32:1 xl:fp32:64 v3:fp16:1 v3:fp16:64 v3:fp32:1}; do
    cfgs+=("${c//:/ }")
  done
  echo "ab: ${#cfgs[@]} configurations, $pairs pairs, device $dev, timing cache $timing"
  # One timing-cache path for both sides (a plan records its build options, that path too): B starts
  # from A's cache (shared) or from none (own); A's is kept as timing.A.
  for side in A B; do
    if [ "$side" = B ]; then
      cp "$dir/timing.cache" "$dir/timing.A" 2>/dev/null
      [ "$timing" = shared ] || rm -f "$dir/timing.cache"
    fi
    for c in "${cfgs[@]}"; do
      read -r m p b <<< "$c"
      local base=$dir/$m.$p.b$b.$side
      say "ab: build $side $m $p max-batch $b"
      ab_run $side 200 build "$dir/$m.A.onnx" --device "$dev" --precision "$p" --max-batch "$b" \
        --timing-cache "$dir/timing.cache" -o "$base.plan" > "$base.build.log" 2>&1
      rc=$?
      grep -E "^built" "$base.build.log" | sed 's/: [0-9]* layers.*//'
      [ $rc = 0 ] || { echo "ab: build $side $m $p b$b: exit code $rc"; tail -3 "$base.build.log"; rm -f "$base.plan"; }
    done
  done
  # Plans are deterministic: with the same tactics (AB_TIMING=shared) a behaviour-neutral builder writes
  # the same bytes, and the A/B then times two runtimes on one plan.
  local same=0 built=0
  for c in "${cfgs[@]}"; do
    read -r m p b <<< "$c"
    if [ ! -f "$dir/$m.$p.b$b.A.plan" ] || [ ! -f "$dir/$m.$p.b$b.B.plan" ]; then continue; fi
    built=$((built + 1))
    if cmp -s "$dir/$m.$p.b$b.A.plan" "$dir/$m.$p.b$b.B.plan"; then same=$((same + 1)); else echo "ab: $m $p b$b: A's and B's plans differ"; fi
  done
  echo "ab: $same of $built plan pairs byte-identical"
  local i order w n j t_pair=0 budget=${AB_BUDGET_S:-430}
  for i in $(seq "$pairs"); do
    if [ "$i" -gt 1 ] && [ $((SECONDS - t0 + t_pair)) -gt "$budget" ]; then
      echo "ab: $((SECONDS - t0)) s into the stage, a pair takes $t_pair s, AB_BUDGET_S=$budget: $((i - 1)) of $pairs pairs run"
      break
    fi
    t_pair=$SECONDS
    order="A B"
    [ $((i % 2)) = 0 ] && order="B A"
    say "ab: pair $i ($order)"
    for c in "${cfgs[@]}"; do
      read -r m p b <<< "$c"
      if [ ! -f "$dir/$m.$p.b$b.A.plan" ] || [ ! -f "$dir/$m.$p.b$b.B.plan" ]; then continue; fi
      read -r w n <<< "$(ab_iters "$m" "$b")"
      local line="  $m $p b$b:"
      for side in $order; do
        j=$dir/$m.$p.b$b.$side.$i.json
        ab_run "$side" 120 -q bench "$dir/$m.$p.b$b.$side.plan" --batch "$b" --warmup "$w" \
          --iterations "$n" --json "$j" > "$j.log" 2>&1
        rc=$?
        [ $rc = 0 ] || { echo "ab: bench $side $m $p b$b pair $i: exit code $rc"; tail -3 "$j.log"; continue; }
        line+=" $(python3 - "$j" "$m" "$p" "$b" "$side" "$i" "$order" "$OUT/ab_runs.jsonl" <<'PY'
import json, sys
path, m, p, b, side, i, order, runs = sys.argv[1:9]
d = json.load(open(path))
r = {"model": m, "precision": p, "batch": int(b), "side": side, "pair": int(i), "order": order,
     "iterations": d["iterations"], "img_s": round(d["throughput_ips"], 2),
     "median_ms": round(d["latency_ms"]["median"], 4), "mean_ms": round(d["latency_ms"]["mean"], 4)}
open(runs, "a").write(json.dumps(r) + "\n")
print(f"{side} {r['img_s']:.1f} img/s")
PY
)"
      done
      echo "$line"
    done
    t_pair=$((SECONDS - t_pair))
  done
  python3 - "$OUT/ab_runs.jsonl" "$OUT/ab.jsonl" "$timing" "$dev" <<'PY' | tee "$OUT/ab_summary.txt"
import json, statistics, sys
runs_path, out_path, timing, dev = sys.argv[1:5]
runs = [json.loads(l) for l in open(runs_path) if l.strip()]
names = {"xl": "Yolo-Fastest-1.1-XL", "v3": "YOLOv3-416"}
keys = list(dict.fromkeys((r["model"], r["precision"], r["batch"]) for r in runs))
print(f"A = before (.gpu_bundle/before), B = after; {dev}, timing cache {timing}; img/s, host<->device copies included")
print(f"{'model':20} {'prec':5} {'batch':>5} {'pairs':>5} {'A median':>9} {'B median':>9} {'B/A med':>8} {'B/A pair median':>15}  pairs' B/A")
with open(out_path, "w") as out:
    for k in keys:
        side = {s: {r["pair"]: r["img_s"] for r in runs if (r["model"], r["precision"], r["batch"]) == k and r["side"] == s} for s in "AB"}
        both = sorted(set(side["A"]) & set(side["B"]))
        if not both:
            continue
        a = [side["A"][i] for i in both]
        b = [side["B"][i] for i in both]
        ratios = [y / x for x, y in zip(a, b)]
        row = {"model": names.get(k[0], k[0]), "precision": k[1], "batch": k[2], "device": dev, "timing_cache": timing,
               "pairs": len(both), "a_img_s": a, "b_img_s": b, "a_median": round(statistics.median(a), 2),
               "b_median": round(statistics.median(b), 2),
               "ratio_of_medians": round(statistics.median(b) / statistics.median(a), 4),
               "median_pair_ratio": round(statistics.median(ratios), 4), "pair_ratios": [round(r, 4) for r in ratios]}
        out.write(json.dumps(row) + "\n")
        print(f"{row['model']:20} {k[1]:5} {k[2]:5} {len(both):5} {row['a_median']:9.1f} {row['b_median']:9.1f} "
              f"{row['ratio_of_medians']:8.3f} {row['median_pair_ratio']:15.3f}  " + " ".join(f"{r:.3f}" for r in ratios))
PY
  echo "ab: $((SECONDS - t0)) s"
}

# Issue 16 on the H200: INT8 plans from the calibration caches scripts/gpu/make_calib.sh made on the CPU
# (the bundle's data/calib: a cache does not depend on the device; this machine has no oneDNN to make
# them), and the PyTorch peer at its real best (scripts/gpu/torch_peer.py: BatchNorm folded, FP16,
# channels_last; CUDA-graph eager and torch.compile(mode="max-autotune")).
#
# Stage `int8` (one call; about 6-8 minutes, estimated: the INT8 builds' times are not known yet):
#   YOLOv3-416 (random weights, seed 4321; the cache's ONNX sha256 is compared with the one converted
#   here) built at fp16, int8 (--calib-cache) and best (--calib-cache), max batch 1 and 64, each timed
#   with and without host<->device transfers as bench_one does; every build's coverage line (ranges
#   for N of M activations) and its convs per precision (`rtdet info --layers`) are printed; then the
#   peer's graph modes (fp16: BatchNorm layers, as before; fp16_graph: folded) at batch 1 and 64, and
#   its compile mode when Inductor's cache was carried (INT8_COMPILE=auto) in the stage's time left;
#   int8_summary.txt: img/s, INT8/FP16, INT8/PyTorch (the better of fp16_graph and fp16_compile per
#   batch), TOPS against the H200's dense INT8 peak (1979) from the peer's FLOP count.
# Stage `peerc`: the peer alone, its compile mode at PEERC_BATCHES ("64 1") with PEERC_BUDGET_S (450)
#   for the compiles (a cold max-autotune compile is about 4-5 minutes a batch, so a cold call may finish
#   only the first; the cache it leaves makes the next call's compile short), plus its graph modes.
# Stage `int8eval` (about 3 minutes, estimated): coco128 mAP on the H200 for Yolo-Fastest-1.1 and
#   -1.1-XL at fp32, fp16, int8, int8mixed (the cache with --int8-sensitivity's float layers) and best,
#   plans built with `rtdet build --calib-cache`, evaluated on coco128's last 64 images (the caches come
#   from the first 64 + 16 video frames: scripts/bench/int8_split.sh); int8eval_summary.txt in
#   eval_int8.sh's style (mAP@0.5, mAP@0.5:0.95, deltas vs FP32).
# Inductor's cache: compiles use /tmp/rtdet_inductor; when .gpu_inductor/inductor_cache.tar.xz is
#   carried it is unpacked there first, and int8/peerc pack it into $OUT/inductor_cache.tar.xz (at most
#   INDUCTOR_MAX_MIB, 12, so that it travels with the bundle: 64 MiB in all). To carry it into the next
#   call: mkdir -p .gpu_inductor && cp FILES_AT/inductor_cache.tar.xz .gpu_inductor/ (ignored), and
#   carry [".gpu_bundle", ".gpu_inductor"].
# Switches: INT8_PRECISIONS ("fp16 best int8"), INT8_BATCHES ("64 1": the goal's batch first), INT8_BUDGET_S (520: the compile
#   gets what is left of it, less 60 s for the peer's graph modes), INT8_COMPILE (auto | 1 | 0), INT8_PEER (1; 0: no peer),
#   INT8_ITER_SCALE (1), INT8EVAL_PRECS ("fp32 fp16 int8 int8mixed best"), INT8EVAL_MODELS; INT8_DEVICE
#   (cuda): "cpu" runs the logic on a CPU build of rtdet (a dry run: RTDET_BUNDLE=a folder with
#   bin/rtdet and data/, INT8_PEER=0; see docs/int8.md).
CALIB_DIR=$RTDET_DATA/calib
INDUCTOR_DIR=/tmp/rtdet_inductor
INDUCTOR_TAR=$ROOT/.gpu_inductor/inductor_cache.tar.xz

inductor_unpack() {  # once per call: the carried cache, if any; returns 1 when none was carried
  [ -f "$INDUCTOR_TAR" ] || return 1
  [ -f "$INDUCTOR_DIR/.unpacked" ] && return 0
  say "Inductor cache: unpack $(du -h "$INDUCTOR_TAR" | cut -f1) into $INDUCTOR_DIR"
  python3 scripts/gpu/inductor_cache.py unpack "$INDUCTOR_TAR" "$INDUCTOR_DIR" && touch "$INDUCTOR_DIR/.unpacked"
}

inductor_pack() {
  [ -d "$INDUCTOR_DIR" ] || return 0
  say "Inductor cache: pack"
  timeout 90 python3 scripts/gpu/inductor_cache.py pack "$INDUCTOR_DIR" "$OUT/inductor_cache.tar.xz" \
    --max-mib "${INDUCTOR_MAX_MIB:-12}"
}

# peer_best COMPILE_BUDGET_S COMPILE_BATCHES...: the peer's graph modes (fp16 and fp16_graph at batch
# 1 and 64) and, with a budget > 0, its compile mode at those batches; peer.json.
peer_best() {
  local budget=$1
  shift
  local compile=()
  [ "$budget" -gt 0 ] && [ $# -gt 0 ] && compile=(--compile-batches "$@" --compile-budget-s "$budget" --inductor-cache "$INDUCTOR_DIR")
  mkdir -p "$WORK/logs/peer"
  say "PyTorch peer at its best: graph modes${compile:+, compile at batches $* within $budget s}"
  env -u LD_LIBRARY_PATH PYTHONUNBUFFERED=1 timeout $((budget + 150)) python3 scripts/gpu/torch_peer.py \
    --cfg "$RTDET_DATA/models/darknet_cfg/yolov3.cfg" --size 416 --batches 1 64 --modes fp16 fp16_graph \
    "${compile[@]}" --compile-log-dir "$WORK/logs/peer" --json "$OUT/peer.json"
  echo "peer exit code $?"
}

int8_iters() {  # BATCH: "WARMUP TIMED", x INT8_ITER_SCALE
  local w=20 n=60
  [ "$1" = 1 ] && n=300
  python3 -c "import sys; f = float(sys.argv[3]); print(*(max(1, round(int(a) * f)) for a in sys.argv[1:3]))" "$w" "$n" "${INT8_ITER_SCALE:-1}"
}

# int8_plan ONNX_OR_CFG PLAN PRECISION MAX_BATCH LOG [CALIB_CACHE]: one build on INT8_DEVICE; prints the
# calibration's coverage line and the convs per precision; exit code of the build.
int8_plan() {
  local model=$1 plan=$2 prec=$3 batch=$4 log=$5 cache=${6:-}
  local extra=()
  [ -n "$cache" ] && extra=(--calib-cache "$cache")
  local t=$SECONDS
  timeout 240 "$RTDET" build "$model" --device "${INT8_DEVICE:-cuda}" --precision "$prec" --max-batch "$batch" \
    --timing-cache "$WORK/timing.int8.cache" "${extra[@]}" -o "$plan" > "$log" 2>&1
  local rc=$?
  grep -E "calibration cache|^built|no INT8|int8" "$log" | head -5 | cut -c1-400
  if [ $rc != 0 ]; then
    echo "build $(basename "$plan"): exit code $rc"
    tail -4 "$log"
    rm -f "$plan"
    return $rc
  fi
  "$RTDET" info --layers "$plan" > "$log.layers" 2>&1
  echo "  $(basename "$plan"): built in $((SECONDS - t)) s; convs by precision: $(awk '$1 == "Conv" {c[$NF]++} END {for (p in c) printf "%s %d  ", p, c[p]}' "$log.layers")"
}

run_int8() {
  [ -x "$RTDET" ] || { echo "run: no rtdet in the bundle: int8 skipped"; return 0; }
  local t0=$SECONDS dev=${INT8_DEVICE:-cuda} dir=$WORK/int8 cache=$CALIB_DIR/yolov3-416.calib.json
  [ -f "$cache" ] || { echo "run: no $cache (scripts/gpu/make_calib.sh, run by bundle.sh, makes it): int8 skipped"; return 0; }
  mkdir -p "$dir" "$WORK/logs/int8"
  : > "$OUT/int8_bench.jsonl"
  convert_models
  say "int8: calibration caches"
  head -3 "$CALIB_DIR/MANIFEST.txt" 2>/dev/null | tail -2
  local want have
  want=$(cut -d' ' -f1 "$CALIB_DIR/yolov3-416.onnx.sha256" 2>/dev/null)
  have=$(sha256sum "$WORK/yolov3-416.onnx" | cut -d' ' -f1)
  if [ "$want" = "$have" ]; then echo "yolov3-416.onnx: sha256 ${have:0:16}... = the calibrated model's"
  else echo "WARNING: yolov3-416.onnx sha256 ${have:0:16}... differs from the calibrated one (${want:0:16}...): its ranges belong to other weights"; fi
  local prec batch w n plan log
  # best first: INT8 where it measures faster than FP16 (the plan the goal is about); int8 then reuses
  # the timing cache.
  for prec in ${INT8_PRECISIONS:-fp16 best int8}; do
    for batch in ${INT8_BATCHES:-64 1}; do
      plan=$dir/yolov3-416.$prec.b$batch.plan
      log=$WORK/logs/int8/build.$prec.b$batch.log
      if [ $((SECONDS - t0)) -gt $(( ${INT8_BUDGET_S:-520} - 150 )) ]; then
        echo "int8: $((SECONDS - t0)) s into the stage (INT8_BUDGET_S ${INT8_BUDGET_S:-520}, 150 s kept for the peer): $prec batch $batch skipped"
        continue
      fi
      say "int8: build yolov3-416 $prec max-batch $batch ($((SECONDS - t0)) s into the stage)"
      local c=""
      [ "$prec" = int8 ] || [ "$prec" = best ] && c=$cache
      int8_plan "$WORK/yolov3-416.onnx" "$plan" "$prec" "$batch" "$log" $c || continue
      read -r w n <<< "$(int8_iters "$batch")"
      local io
      for io in yes no; do
        local j=$dir/yolov3-416.$prec.b$batch.$io.json nt=()
        [ $io = no ] && nt=(--no-transfers)
        [ $io = no ] && [ "$dev" != cuda ] && continue  # host plans have no device buffers
        say "int8: bench yolov3-416 $prec batch $batch, transfers $io"
        timeout 120 "$RTDET" bench "$plan" --batch "$batch" --warmup "$w" --iterations "$n" "${nt[@]}" \
          --json "$j" > "$j.log" 2>&1
        local rc=$?
        grep -E "latency|throughput" "$j.log" | head -2
        [ $rc = 0 ] || { echo "bench: exit code $rc"; tail -3 "$j.log"; continue; }
        python3 - "$j" "$prec" "$batch" "$io" "$log.layers" "$dev" >> "$OUT/int8_bench.jsonl" <<'PY'
import collections, json, sys
path, prec, batch, io, layers, dev = sys.argv[1:7]
d = json.load(open(path))
convs = collections.Counter(l.split()[-1] for l in open(layers) if l.split()[:1] == ["Conv"])
d.update({"model": "yolov3-416", "precision": prec, "batch": int(batch), "transfers": io == "yes",
          "device": dev, "convs_by_precision": dict(convs)})
print(json.dumps(d))
PY
      done
    done
  done
  echo "int8: our builds and benches took $((SECONDS - t0)) s"
  if [ "${INT8_PEER:-1}" = 1 ]; then
    local budget=0 warm=0 left
    inductor_unpack && warm=1
    left=$(( ${INT8_BUDGET_S:-520} - (SECONDS - t0) - 60 ))
    case "${INT8_COMPILE:-auto}" in
      1) budget=$left ;;
      auto) if [ $warm = 1 ]; then budget=$left; else echo "int8: no Inductor cache carried (.gpu_inductor/): compile mode skipped (stage peerc compiles it cold, about 4-5 minutes a batch)"; fi ;;
    esac
    [ "$budget" -lt 60 ] && [ "$budget" != 0 ] && { echo "int8: $left s left: compile mode skipped"; budget=0; }
    peer_best "$budget" 64 1  # batch 64 first: the headline, if the budget runs out
    [ "$budget" -gt 0 ] && inductor_pack
  fi
  say "int8: summary ($((SECONDS - t0)) s into the stage)"
  python3 scripts/gpu/int8_summary.py speed "$OUT/int8_bench.jsonl" "$OUT/peer.json" | tee "$OUT/int8_summary.txt"
}

int8_profile() {  # NAME BATCH [BENCH ARGS...]: $WORK/NAME.bBATCH.plan's per-layer profile, int8diag_profile_NAME.txt
  local name=$1 nb=$2
  shift 2
  say "int8: $name b$nb per-layer profile (synchronized per layer; --no-graphs $*)"
  timeout 90 "$RTDET" bench "$WORK/$name.b$nb.plan" --batch "$nb" --no-graphs "$@" --warmup 3 \
    --iterations 10 --profile > "$OUT/int8diag_profile_$name.txt" 2>&1
  grep "sum of layers" "$OUT/int8diag_profile_$name.txt"
  sort -k5 -n -r "$OUT/int8diag_profile_$name.txt" | head -15
}

i8_plan() {  # DEVICE BATCH: YOLOv3-416's INT8 plan at that max batch, $WORK/i8.bBATCH.plan (the timing cache kept)
  timeout 200 "$RTDET" build "$WORK/yolov3-416.onnx" --device "$1" --precision int8 \
    --calib-cache "$CALIB_DIR/yolov3-416.calib.json" --max-batch "$2" --timing-cache "$WORK/timing_i8.cache" \
    -o "$WORK/i8.b$2.plan" > /dev/null 2>&1
}

run_peerc() {
  local batches=${PEERC_BATCHES:-64 1}
  inductor_unpack || echo "peerc: no Inductor cache carried: a cold compile"
  # shellcheck disable=SC2086
  peer_best "${PEERC_BUDGET_S:-450}" $batches
  inductor_pack
  [ -s "$OUT/int8_bench.jsonl" ] && python3 scripts/gpu/int8_summary.py speed "$OUT/int8_bench.jsonl" "$OUT/peer.json" | tee "$OUT/int8_summary.txt"
  return 0
}

run_int8eval() {
  [ -x "$RTDET" ] || { echo "run: no rtdet in the bundle: int8eval skipped"; return 0; }
  local t0=$SECONDS dev=${INT8_DEVICE:-cuda} dir=$WORK/int8eval ds=$RTDET_DATA/datasets/coco128
  local mdir=$RTDET_DATA/models/yolo-fastest/yolo-fastest-1.1_coco
  [ -d "$ds/images" ] || { echo "run: no coco128 in the bundle: int8eval skipped"; return 0; }
  mkdir -p "$dir" "$WORK/logs/int8eval"
  . scripts/bench/int8_split.sh
  int8_eval_images "$RTDET_DATA" "$dir/images"
  echo "int8eval: $(ls "$dir/images" | wc -l) images (coco128's last 64: $(ls "$dir/images" | head -1) ... $(ls "$dir/images" | tail -1)); calibration: $(sed -n 5p "$CALIB_DIR/MANIFEST.txt" 2>/dev/null | sed 's/^method: *//')"
  : > "$OUT/int8eval.jsonl"
  local m p cache plan log bp
  for m in ${INT8EVAL_MODELS:-yolo-fastest-1.1 yolo-fastest-1.1-xl}; do
    for p in ${INT8EVAL_PRECS:-fp32 fp16 int8 int8mixed best}; do
      cache="" bp=$p
      case $p in
        int8|best) cache=$CALIB_DIR/$m.calib.json ;;
        int8mixed) cache=$CALIB_DIR/$m.mixed.calib.json bp=int8 ;;
      esac
      if [ -n "$cache" ] && [ ! -f "$cache" ]; then echo "int8eval: no $cache: $m $p skipped"; continue; fi
      plan=$dir/$m.$p.plan
      log=$WORK/logs/int8eval/$m.$p
      say "int8eval: $m $p ($((SECONDS - t0)) s into the stage)"
      int8_plan "$mdir/$m.cfg" "$plan" "$bp" 1 "$log.build.log" $cache || continue
      timeout 180 "$RTDET" eval --model "$plan" --images "$dir/images" --labels "$ds/labels/train2017" \
        --device "$dev" --json "$log.eval.json" > "$log.eval.txt" 2>&1
      local rc=$?
      grep -E "^mAP" "$log.eval.txt"
      [ $rc = 0 ] || { echo "eval $m $p: exit code $rc"; tail -3 "$log.eval.txt"; continue; }
      python3 - "$log.eval.json" "$m" "$p" "$dev" "$log.build.log.layers" >> "$OUT/int8eval.jsonl" <<'PY'
import collections, json, sys
path, m, p, dev, layers = sys.argv[1:6]
d = json.load(open(path))
d.pop("pr_curve50", None); d.pop("classes", None)
convs = collections.Counter(l.split()[-1] for l in open(layers) if l.split()[:1] == ["Conv"])
d.update({"name": m, "precision": p, "device": dev, "convs_by_precision": dict(convs)})
print(json.dumps(d))
PY
    done
  done
  say "int8eval: summary ($((SECONDS - t0)) s)"
  python3 scripts/gpu/int8_summary.py eval "$OUT/int8eval.jsonl" | tee "$OUT/int8eval_summary.txt"
}

summarize() {
  [ -s "$OUT/bench.jsonl" ] || return 0
  python3 scripts/gpu/summarize.py "$OUT/bench.jsonl" "$OUT/peer.json" | tee "$OUT/summary.txt"
}

for s in "${stages[@]}"; do
  case "$s" in
    all) run_tests; run_bench; run_peer; summarize; run_compare ;;
    tests) run_tests ;;
    dtests) run_detector_tests ;;
    dbench) run_detector_bench ;;
    bench) run_bench; summarize ;;
    peer) run_peer; summarize ;;
    compare) run_compare ;;
    eval) run_eval ;;
    app) run_app ;;
    streams) run_streams ;;
    mstreams) run_mstreams ;;
    ab) run_ab ;;             # issue 15's before/after A/B (about 6 minutes, estimated)
    int8) run_int8 ;;         # issue 16: YOLOv3-416 FP16/INT8/best vs PyTorch at its best (at most 9 minutes)
    peerc) run_peerc ;;       # the peer's torch.compile(max-autotune) mode (about 9 minutes cold)
    int8eval) run_int8eval ;; # issue 16: coco128 mAP of INT8 plans on the GPU (about 3 minutes, estimated)
    csan) run_csan mem ;;     # memcheck (about 9 minutes at most)
    csan2) run_csan other ;;  # racecheck, synccheck, initcheck
    cache)  # a rebuild with the timing cache the bench stage filled skips the measurements
      convert_models
      say "rebuild yolov3-416 fp16 max-batch 1 with the timing cache ($(wc -l < "$WORK/timing.cache" 2>/dev/null) entries)"
      timeout 100 "$RTDET" build "$WORK/yolov3-416.onnx" --device cuda --precision fp16 --max-batch 1 \
        --timing-cache "$WORK/timing.cache" -o "$WORK/cached.plan" ;;
    int8tests) run_int8_tests ;;
    int8diag)  # issue 16: where YOLOv3-416 INT8 batch 64 spends its time, against FP16 (about 4 minutes)
      # INT8_DEVICE (cuda) and INT8DIAG_BATCH (64): a CPU dry run of the stage's logic at batch 1.
      convert_models
      cache=$CALIB_DIR/yolov3-416.calib.json
      dd=${INT8_DEVICE:-cuda} nb=${INT8DIAG_BATCH:-64}
      nt=(--no-transfers); [ "$dd" = cuda ] || nt=()  # host plans have no device buffers
      say "int8diag: build best b$nb on $dd (-v: each INT8 conv's form, each conv's INT8 and float time, the choice)"
      timeout 300 "$RTDET" -v build "$WORK/yolov3-416.onnx" --device "$dd" --precision best --calib-cache "$cache" \
        --max-batch "$nb" --timing-cache "$WORK/timing_i8.cache" -o "$WORK/best.b$nb.plan" > "$WORK/best_build.log" 2>&1
      tail -1 "$WORK/best_build.log"
      grep -- "best: timed" "$WORK/best_build.log" | cut -c1-600
      grep -- "int8 .* -> " "$WORK/best_build.log" | sed 's/.*cuda: //' > "$OUT/int8diag_choices.txt"
      grep -- ": int8 [0-9.]* ms, [a-z0-9]* [0-9.-]* ms$" "$WORK/best_build.log" | sed 's/^.*yolov3-416: //' \
        > "$OUT/int8diag_layers.txt"
      echo "convs on cuDNN's graph: $(grep -c -- '-> graph' "$OUT/int8diag_choices.txt"), on our kernel: $(grep -c -- '-> tile' "$OUT/int8diag_choices.txt")"
      grep -- "-> tile" "$OUT/int8diag_choices.txt" | cut -c1-200 | head -20
      echo "per conv at batch $nb (ms, each timed alone; $(wc -l < "$OUT/int8diag_layers.txt") convs), INT8 slower than float:"
      awk '$3 > $6 {print}' "$OUT/int8diag_layers.txt" | head -30
      [ -n "${INT8DIAG_QUICK:-}" ] && continue  # INT8DIAG_QUICK: the timed build alone (about 2 minutes)
      i8_plan "$dd" "$nb"
      timeout 200 "$RTDET" build "$WORK/yolov3-416.onnx" --device "$dd" --precision fp16 --max-batch "$nb" \
        --timing-cache "$WORK/timing.cache" -o "$WORK/f16.b$nb.plan" > /dev/null 2>&1
      for p in best i8 f16; do int8_profile "$p" "$nb" "${nt[@]}"; done ;;
    int8pair)  # issue 16: YOLOv3-416 INT8 b64 with the stem and the first residual block each as one
      # ConvPair kernel against the convs apart (--disable-pass fuse_conv_pair), the same binary and
      # timing cache, benched in turn
      # (PAIR_ROUNDS, 3, of 200 iterations each, GPU time), then the fused plan's per-layer profile (~3 min)
      convert_models
      for v in pair apart; do
        d=(); [ $v = apart ] && d=(--disable-pass fuse_conv_pair)
        timeout 200 "$RTDET" -v build "$WORK/yolov3-416.onnx" --device cuda --precision int8 "${d[@]}" \
          --calib-cache "$CALIB_DIR/yolov3-416.calib.json" --max-batch 64 --timing-cache "$WORK/timing_i8.cache" \
          -o "$WORK/$v.b64.plan" > "$WORK/$v.build.log" 2>&1 || { echo "int8pair: $v build failed"; tail -3 "$WORK/$v.build.log"; }
        grep -m4 "int8 conv pair" "$WORK/$v.build.log" | sed 's/.*cuda: //'
        echo "$v: $("$RTDET" info --layers "$WORK/$v.b64.plan" 2>&1 | awk '$1 ~ /^Conv/ {c[$1" "$NF]++} END {for (p in c) printf "%s %d  ", p, c[p]}')"
      done
      for r in $(seq "${PAIR_ROUNDS:-3}"); do
        for v in pair apart; do
          timeout 60 "$RTDET" bench "$WORK/$v.b64.plan" --batch 64 --warmup 20 --iterations 200 --no-transfers \
            2>&1 | grep -m1 latency | sed "s/^/round $r $v: /"
        done
      done
      cp "$WORK/pair.b64.plan" "$WORK/i8pair.b64.plan" 2>/dev/null && int8_profile i8pair 64 --no-transfers ;;
    int8prof)  # issue 16: YOLOv3-416 INT8 batch 64's per-layer profile alone (int8diag's third part; ~1.5 min)
      convert_models
      i8_plan cuda 64
      int8_profile i8 64 --no-transfers ;;
    int8tiles)  # issue 16: every INT8 tile's time per layer of YOLOv3-416 b64, the experimental ones (none
      # at present) beside the chosen form (rtdet -v build without a timing cache;
      # scripts/gpu/tile_report.py; ~1.5 min). INT8_TILES_EXPERIMENTAL=1 (the default): the builder may
      # choose them (RTDET_CUDA_INT8_EXPERIMENTAL), and the plan is benched (int8tiles_bench.json)
      convert_models
      say "int8tiles: rtdet -v build yolov3-416 int8 max-batch 64 (no timing cache; experimental tiles ${INT8_TILES_EXPERIMENTAL:-1})"
      RTDET_CUDA_INT8_EXPERIMENTAL=${INT8_TILES_EXPERIMENTAL:-1} timeout 300 "$RTDET" -v build \
        "$WORK/yolov3-416.onnx" --device cuda --precision int8 --calib-cache "$CALIB_DIR/yolov3-416.calib.json" \
        --max-batch 64 -o "$WORK/i8tiles.b64.plan" > "$OUT/int8tiles_build.log" 2>&1
      echo "build exit code $?"; grep -E "^built|error" "$OUT/int8tiles_build.log" | cut -c1-300 | head -3
      python3 scripts/gpu/tile_report.py "$OUT/int8tiles_build.log" | tee "$OUT/int8tiles.txt"
      if [ -f "$WORK/i8tiles.b64.plan" ]; then
        say "int8tiles: bench that plan, batch 64, GPU time"
        timeout 120 "$RTDET" bench "$WORK/i8tiles.b64.plan" --batch 64 --warmup 20 --iterations 60 --no-transfers \
          --json "$OUT/int8tiles_bench.json" 2>&1 | grep -E "latency|throughput"
      fi ;;
    int8search)  # issue 16: YOLOv3-416 INT8 b64 built with cuDNN's engine configurations searched widely
      # (RTDET_CUDA_INT8_GRAPH_SEARCH=${INT8_GRAPH_SEARCH:-1}: every configuration of heuristics modes A, B
      # and fallback; rtdet -v, no timing cache; int8search_build.log, tile_report), then that plan and
      # the default one benched alternately, batch 64, GPU time (int8search_bench_{wide,default}_N.json)
      convert_models
      say "int8search: rtdet -v build yolov3-416 int8 max-batch 64 (graph search ${INT8_GRAPH_SEARCH:-1})"
      start=$SECONDS
      RTDET_CUDA_INT8_GRAPH_SEARCH=${INT8_GRAPH_SEARCH:-1} timeout 480 "$RTDET" -v build \
        "$WORK/yolov3-416.onnx" --device cuda --precision int8 --calib-cache "$CALIB_DIR/yolov3-416.calib.json" \
        --max-batch 64 -o "$WORK/i8search.b64.plan" > "$OUT/int8search_build.log" 2>&1
      echo "build exit code $? after $((SECONDS - start)) s"
      grep -E "^built|error" "$OUT/int8search_build.log" | cut -c1-300 | head -3
      python3 scripts/gpu/tile_report.py "$OUT/int8search_build.log" > "$OUT/int8search.txt" 2>&1
      tail -3 "$OUT/int8search.txt"
      [ -f "$WORK/i8.b64.plan" ] || i8_plan cuda 64
      if [ -f "$WORK/i8search.b64.plan" ]; then
        for i in 1 2 3; do
          for p in wide default; do
            f=$WORK/i8search.b64.plan; [ $p = default ] && f=$WORK/i8.b64.plan
            printf '%s %s: ' "$p" "$i"
            timeout 120 "$RTDET" bench "$f" --batch 64 --warmup 20 --iterations 60 --no-transfers \
              --json "$OUT/int8search_bench_${p}_$i.json" 2>&1 | grep -E "latency" | tr '\n' ' '; echo
          done
        done
      fi ;;
    int8ncu)  # issue 16: Nsight Compute on the first INT8 convs of YOLOv3-416 b64 (after int8diag; ~2 min)
      # NCU_COUNT kernels (4) matching NCU_KERNEL (our conv kernel): throughput, occupancy, stall reasons.
      convert_models
      P=${NCU_PLAN:-$WORK/i8.b64.plan}  # NCU_PLAN: another plan (int8tiles' $WORK/i8tiles.b64.plan)
      [ -f "$P" ] || i8_plan cuda 64
      NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
      if [ -z "$NCU" ]; then echo "int8ncu: no ncu on this machine"; else
        say "int8ncu: $NCU on ${NCU_COUNT:-4} launches of ${NCU_KERNEL:-conv_int8_kernel}"
        timeout 300 "$NCU" --clock-control none --kernel-name "regex:${NCU_KERNEL:-conv_int8_kernel}" \
          --launch-count "${NCU_COUNT:-4}" --section SpeedOfLight --section LaunchStats --section Occupancy \
          --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis \
          --section ComputeWorkloadAnalysis "$RTDET" bench "$P" --batch 64 --no-graphs --no-transfers \
          --warmup 0 --iterations 1 > "$OUT/int8ncu.txt" 2>&1
        echo "ncu exit code $?"
        grep -E "conv_int8_kernel|conv_int8_direct_kernel|Duration|Registers Per|Achieved Occupancy|Theoretical Occupancy|Memory Throughput|DRAM Throughput|Compute \(SM\) Throughput|Warp Cycles Per Issued|Issued Ipc|Block Limit" \
          "$OUT/int8ncu.txt" | cut -c1-160 | head -80
      fi ;;
    int8wsncu)  # issue 16: Nsight Compute on one launch of a warp-specialized tile while the builder times
      # it (RTDET_CUDA_INT8_EXPERIMENTAL=1): NCU_WS_KERNEL (a regex on the demangled name; the TMA 128x256
      # tile by default), NCU_WS_SKIP (48: about layer_14, the seventh conv it fits, ~8 launches a layer)
      # launches skipped; int8wsncu.txt (speed of light, memory, warp states, scheduler, source counters)
      # and int8wsncu_src.csv.xz (the samples per SASS line); ~2 min
      convert_models
      NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
      if [ -z "$NCU" ]; then echo "int8wsncu: no ncu on this machine"; else
        say "int8wsncu: $NCU, launch ${NCU_WS_SKIP:-48} of ${NCU_WS_KERNEL:-WsTile<.int.5, .int.128, .int.256, .bool.0, .bool.1, .int.1, .int.64>}"
        RTDET_CUDA_INT8_EXPERIMENTAL=1 timeout 300 "$NCU" --clock-control none --kill yes \
          --kernel-name-base demangled --kernel-name "regex:${NCU_WS_KERNEL:-WsTile<.int.5, .int.128, .int.256, .bool.0, .bool.1, .int.1, .int.64>}" \
          --launch-skip "${NCU_WS_SKIP:-48}" --launch-count 1 --section SpeedOfLight --section MemoryWorkloadAnalysis \
          --section WarpStateStats --section SchedulerStats --section LaunchStats --section SourceCounters \
          -f -o "$WORK/wsncu" "$RTDET" build \
          "$WORK/yolov3-416.onnx" --device cuda --precision int8 --calib-cache "$CALIB_DIR/yolov3-416.calib.json" \
          --max-batch 64 -o "$WORK/wsncu.plan" > "$OUT/int8wsncu.txt" 2>&1
        echo "ncu exit code $?"
        # The report's text, and its stall samples per SASS line (int8wsncu_src.csv.xz)
        "$NCU" -i "$WORK/wsncu.ncu-rep" --print-details all >> "$OUT/int8wsncu.txt" 2>&1
        "$NCU" -i "$WORK/wsncu.ncu-rep" --page source --csv --print-source sass 2>/dev/null | xz -6 > "$OUT/int8wsncu_src.csv.xz"
        grep -E "Grid Size|Duration|Memory Throughput|DRAM Throughput|L1/TEX Cache Throughput|L2 Cache Throughput|Compute \(SM\) Throughput|Issued Ipc|Warp Cycles Per Issued|L2 Hit|Mem Busy|Max Bandwidth|Stall" \
          "$OUT/int8wsncu.txt" | cut -c1-160 | head -40
      fi ;;
    int8sass)  # issue 16: the INT8 conv kernels' SASS and, on the first NCU_COUNT (3) of YOLOv3-416 b64,
      # Nsight Compute's instruction mix and per-instruction counts (where the issue slots go)
      # NCU_KERNEL: another kernel (conv_int8_direct_kernel: the direct tiles); NCU_PLAN: another plan
      # (the int8tiles stage's $WORK/i8tiles.b64.plan)
      convert_models
      P=${NCU_PLAN:-$WORK/i8.b64.plan}
      [ -f "$P" ] || i8_plan cuda 64
      K=${NCU_KERNEL:-conv_int8_kernel}
      bin=$(dirname "$(command -v ncu || echo /usr/local/cuda/bin/ncu)")
      say "int8sass: cuobjdump -sass of $K"
      "$bin/cuobjdump" -sass "$B/lib/librtdet_cuda.so.0.1" 2>&1 |
        awk -v k="$K" '/Function :/{f=index($0,k)>0} f' | xz -6 > "$OUT/int8sass.txt.xz"
      echo "sass: $(xz -dc "$OUT/int8sass.txt.xz" | grep -c 'Function :') kernels"
      say "int8sass: ncu InstructionStats + SourceCounters on $P"
      timeout 300 "$bin/ncu" --clock-control none --kernel-name "regex:$K" --launch-count "${NCU_COUNT:-3}" \
        --section InstructionStats --section SourceCounters --section WarpStateStats --section SpeedOfLight \
        --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats -f -o "$WORK/src" \
        "$RTDET" bench "$P" --batch 64 --no-graphs --no-transfers --warmup 0 --iterations 1 > "$WORK/ncu_src.log" 2>&1
      echo "ncu exit code $?"; tail -3 "$WORK/ncu_src.log"
      "$bin/ncu" -i "$WORK/src.ncu-rep" --print-details all > "$OUT/int8sass_ncu.txt" 2>&1
      grep -E "  conv_int8|Duration|Registers Per|Achieved Occupancy|DRAM Throughput|Compute \(SM\) Throughput|Warp Cycles Per Issued|Issued Ipc|Executed Instructions  " \
        "$OUT/int8sass_ncu.txt" | cut -c1-160 | head -60
      "$bin/ncu" -i "$WORK/src.ncu-rep" --page source --csv --print-source sass 2>&1 | xz -6 > "$OUT/int8sass_src.csv.xz"
      echo "source page: $(xz -dc "$OUT/int8sass_src.csv.xz" | wc -l) lines" ;;
    diag)  # where the time goes: graphs on/off, per-layer profile (synchronized per layer), batch 64
      convert_models
      P=$WORK/yolov3-416.fp16.b1.plan
      say "build fp16 b1 (-v: tactic choices)"
      timeout 200 "$RTDET" -v build "$WORK/yolov3-416.onnx" --device cuda --precision fp16 --max-batch 1 \
        --timing-cache "$WORK/timing.cache" -o "$P" > "$WORK/build_v.log" 2>&1; tail -2 "$WORK/build_v.log"
      grep -- "-> algo" "$WORK/build_v.log" | sed 's/.*-> //' | sort | uniq -c | sort -rn | head -20
      grep -- "-> algo" "$WORK/build_v.log" | head -3
      say "legacy API only"; timeout 100 "$RTDET" build "$WORK/yolov3-416.onnx" --device cuda --cudnn-legacy \
        --precision fp16 --max-batch 1 -o "$WORK/legacy.plan" | tail -1
      timeout 60 "$RTDET" bench "$WORK/legacy.plan" --warmup 20 --iterations 200 | tail -2
      say "graphs on"; timeout 60 "$RTDET" bench "$P" --warmup 20 --iterations 200 | tail -3
      say "graphs off"; timeout 60 "$RTDET" bench "$P" --no-graphs --warmup 20 --iterations 200 | tail -3
      say "profile"; timeout 60 "$RTDET" bench "$P" --no-graphs --warmup 5 --iterations 50 --profile | sort -k5 -n -r | head -12
      : > "$OUT/bench.jsonl"
      bench_one "$WORK/yolov3-416.onnx" yolov3-416 fp16 64 30 ;;
    quick)  # one build + bench of each model at FP16 batch 1 (a smoke test of the whole path)
      convert_models
      : > "$OUT/bench.jsonl"
      bench_one "$WORK/yolov3-416.onnx" yolov3-416 fp16 1 200
      bench_one "$WORK/yolo-fastest-1.1.onnx" yolo-fastest-1.1 fp16 1 200 ;;
    *) echo "run: unknown stage '$s' (all, tests, dtests, dbench, bench, peer, compare, cache, quick, diag, eval, app, streams, mstreams, ab, csan, csan2, int8, peerc, int8eval, int8tests, int8diag, int8ncu, int8wsncu, ...)"; exit 2 ;;
  esac
done
[ -d "$WORK/logs" ] && tar -C "$WORK" -czf "$OUT/logs.tar.gz" logs
say "done"
