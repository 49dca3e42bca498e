// The Detector's GPU pre/post-processing (built only with CUDA; no CUDA types here, so detector.cpp
// includes it as plain C++):
//   GpuPreprocessor: 8-bit BGR frames -> one pinned staging buffer per batch slot (reused, grown to the
//     largest frame seen; skipped for frames already in pinned memory, detector/gpu_host.h) -> device copy ->
//     the preprocess kernel (detector/cuda/preprocess.cuh: the ResizePolicy, BGR -> RGB, / 255) writing FP32
//     NCHW straight into a device buffer (the engine's device input, ExecutionContext::device_input).
//   GpuDecoder: the YOLO heads in device memory (ExecutionContext::device_output) -> the decode kernel
//     (detector/cuda/decode.cuh: threshold on the GPU, candidates compacted through an atomic counter
//     into a bounded buffer, `capacity` per image) -> only the counts and the candidates come back ->
//     sorted into the CPU decoder's order. An image with more candidates than `capacity` is decoded on
//     the host instead (its heads copied back, decode_yolo_head), with a warning the first time: the
//     result is always complete, never truncated.
// Both work on the stream given (the engine context's, ExecutionContext::stream) and return when their
// work is done.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "detector/preprocess.h"
#include "detector/types.h"

namespace detector::cuda {

// Whether `p` lies in page-locked host memory (cudaHostAlloc'd, e.g. detector/gpu_host.h, or
// registered): GpuPreprocessor uploads such frames directly.
bool is_pinned(const void* p);

class GpuPreprocessor {
  public:
    // stream: a cudaStream_t (nullptr: the legacy default stream).
    GpuPreprocessor(int max_batch, void* stream);
    ~GpuPreprocessor();
    GpuPreprocessor(const GpuPreprocessor&) = delete;
    GpuPreprocessor& operator=(const GpuPreprocessor&) = delete;

    // Image b -> out + b * 3 * net_w * net_h (device memory, planes R, G, B); transforms[b] gets the
    // mapping back to image pixels. Throws engine::Error naming the image on an empty image.
    void run(std::span<const ImageView> images, ResizePolicy policy, int net_w, int net_h, float pad_value,
             float* out, std::span<InputTransform> transforms);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One head output of the whole batch in device memory: [N, anchors * (5 + classes), gh, gw] FP32.
struct GpuHead {
    const float* data = nullptr;
    int gh = 0, gw = 0;
};

class GpuDecoder {
  public:
    static constexpr int kDefaultCapacity = 1 << 16;  // candidates per image

    GpuDecoder(std::vector<YoloHead> heads, int max_batch, void* stream, int capacity = kDefaultCapacity);
    ~GpuDecoder();
    GpuDecoder(const GpuDecoder&) = delete;
    GpuDecoder& operator=(const GpuDecoder&) = delete;

    // out[b] (cleared first) gets image b's detections, as decode_yolo_head of every head in order
    // gives them (before NMS), for b < n. heads: parallel to the heads given at construction.
    void run(std::span<const GpuHead> heads, int n, int net_w, int net_h, float conf_threshold,
             std::span<const InputTransform> transforms, std::vector<std::vector<Detection>>& out);

    // Images decoded on the host because they had more than `capacity` candidates, since creation.
    int overflows() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace detector::cuda
