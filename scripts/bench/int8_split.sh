# shellcheck shell=bash
# Sourced (bash), not run: issue 16's split of the data between INT8 calibration and evaluation, one
# definition for scripts/bench/eval_int8.sh (CPU), scripts/gpu/make_calib.sh (the caches the GPU runs
# use) and scripts/gpu/run.sh's int8eval stage (H200):
#   calibration: coco128's first 64 images (in `ls` order) and 16 frames of the sample video
#                (car-detection.mp4 at 1 frame/s: ffmpeg's fps=1, frames 0..15 s);
#   evaluation:  coco128's last 64 images (disjoint from the calibration's).

# int8_calib_list DATA WORK: writes WORK/calib.txt (one image path a line) and the video frames
# WORK/video_01.jpg ... WORK/video_16.jpg (extracted once; needs ffmpeg).
int8_calib_list() {
    local data=$1 work=$2
    mkdir -p "$work"
    ls "$data"/datasets/coco128/images/train2017/*.jpg | sed -n 1,64p >"$work/calib.txt"
    if [ ! -f "$work/video_16.jpg" ]; then
        ffmpeg -loglevel error -y -i "$data/videos/car-detection.mp4" -vf "fps=1" -frames:v 16 "$work/video_%02d.jpg"
    fi
    ls "$work"/video_*.jpg >>"$work/calib.txt"
}

# int8_eval_images DATA DIR: DIR holds links to coco128's last 64 images (and nothing else).
int8_eval_images() {
    local data=$1 dir=$2 f
    mkdir -p "$dir"
    rm -f "$dir"/*.jpg
    for f in $(ls "$data"/datasets/coco128/images/train2017/*.jpg | tail -64); do ln -s "$f" "$dir/"; done
}
