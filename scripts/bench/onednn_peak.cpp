// Peak convolution throughput of this machine through oneDNN: large 3x3 convolutions (the shapes of
// YOLOv3's middle stages) in FP32 and, where the CPU has it, BF16, with activations in the format
// oneDNN picks (`any`, usually blocked) and in NHWC (AMX BF16 is fastest there). The best GFLOP/s
// over shapes and formats is the "peak" scripts/bench/cpu.sh compares whole networks against.
//
//   cmake --build build --target onednn_peak && build/scripts/bench/onednn_peak [threads]
//   (the target exists when oneDNN is on: scripts/bench/CMakeLists.txt; not installed)
//
// Prints one JSON object: {"isa", "threads", "f32_gflops", "bf16_gflops" (0 without BF16), "shapes": [...]}.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" void omp_set_num_threads(int);

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct Shape {
    int c, h;
};

// Best GFLOP/s of one conv (c -> c channels, h x h, 3x3, pad 1) over a few timed batches of runs.
double conv_gflops(const dnnl::engine& eng, dnnl::stream& s, dt type, Shape sh, tag act, std::string* impl) {
    const dnnl::memory::dim c = sh.c, h = sh.h;
    const dnnl::memory::desc src({1, c, h, h}, type, act), dst({1, c, h, h}, type, act);
    const dnnl::memory::desc wei({c, c, 3, 3}, type, tag::any), bias({c}, dt::f32, tag::a);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                      src, wei, bias, dst, {1, 1}, {1, 1}, {1, 1});
    dnnl::convolution_forward::primitive_desc pd(d, eng);
    *impl = std::string(pd.impl_info_str()) + (act == tag::nhwc ? " nhwc" : " any");
    dnnl::memory ms(pd.src_desc(), eng), mw(pd.weights_desc(), eng), mb(bias, eng), md(pd.dst_desc(), eng);
    // Ordinary values (no denormals, which would measure the FPU's slow path): 0.25 in f32 or bf16.
    for (auto* m : {&ms, &mw, &mb}) {
        const bool is_bf16 = m->get_desc().data_type() == dt::bf16;
        const size_t n = m->get_desc().get_size() / (is_bf16 ? 2 : 4);
        if (is_bf16) {
            auto* p = static_cast<uint16_t*>(m->get_data_handle());
            std::fill(p, p + n, uint16_t{0x3e80});
        } else {
            auto* p = static_cast<float*>(m->get_data_handle());
            std::fill(p, p + n, 0.25f);
        }
    }
    dnnl::convolution_forward conv(pd);
    const std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}};
    for (int i = 0; i < 3; ++i) conv.execute(s, args);
    s.wait();
    const double flop = 2.0 * static_cast<double>(c * c * 9 * h * h);
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        const int runs = 10;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < runs; ++i) conv.execute(s, args);
        s.wait();
        const double sec =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / runs;
        best = std::max(best, flop / sec / 1e9);
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : 0;
    if (threads > 0) omp_set_num_threads(threads);
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream s(eng);
    const auto isa = dnnl::get_effective_cpu_isa();
    const bool bf16 = isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
    const std::vector<Shape> shapes = {{256, 52}, {512, 26}, {128, 104}};
    double f32 = 0, b16 = 0;
    std::string report;
    for (const Shape& sh : shapes) {
        for (tag act : {tag::any, tag::nhwc}) {
            for (dt type : {dt::f32, dt::bf16}) {
                if (type == dt::bf16 && !bf16) continue;
                std::string impl;
                const double g = conv_gflops(eng, s, type, sh, act, &impl);
                (type == dt::f32 ? f32 : b16) = std::max(type == dt::f32 ? f32 : b16, g);
                report += (report.empty() ? "" : ", ") + std::string("{\"type\": \"") +
                          (type == dt::f32 ? "f32" : "bf16") + "\", \"c\": " + std::to_string(sh.c) +
                          ", \"hw\": " + std::to_string(sh.h) + ", \"gflops\": " + std::to_string(g) +
                          ", \"impl\": \"" + impl + "\"}";
            }
        }
    }
    std::printf(
        "{\"isa\": %d, \"threads\": %d, \"f32_gflops\": %.1f, \"bf16_gflops\": %.1f, \"shapes\": [%s]}\n",
        static_cast<int>(isa), threads, f32, b16, report.c_str());
    return 0;
}
