// Peak convolution throughput of this machine through oneDNN: large 3x3 convolutions (the shapes of
// YOLOv3's middle stages) in FP32, BF16 where the CPU has it, and INT8 (u8 activations x s8 weights,
// int32 accumulation, s8 output through an output scale: what VNNI's vpdpbusd and AMX-INT8 run; on a
// CPU without VNNI oneDNN emulates it with AVX2/AVX-512 multiply-adds), with activations in the format
// oneDNN picks (`any`, usually blocked) and in NHWC (AMX is fastest there). The best GFLOP/s (GOP/s
// for INT8) over shapes and formats is the "peak" scripts/bench/cpu.sh compares whole networks
// against.
//
//   cmake --build build --target onednn_peak && build/scripts/bench/onednn_peak [threads]
//   (the target exists when oneDNN is on: scripts/bench/CMakeLists.txt; not installed)
//
// Prints one JSON object: {"isa", "threads", "f32_gflops", "bf16_gflops" (0 without BF16), "int8_gops",
// "shapes": [...]}.
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
    const bool int8 = type == dt::u8;
    const dnnl::memory::desc src({1, c, h, h}, type, act), dst({1, c, h, h}, int8 ? dt::s8 : type, act);
    const dnnl::memory::desc wei({c, c, 3, 3}, int8 ? dt::s8 : type, tag::any), bias({c}, dt::f32, tag::a);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                      src, wei, bias, dst, {1, 1}, {1, 1}, {1, 1});
    dnnl::primitive_attr attr;
    if (int8) attr.set_output_scales(0, {0.01f});  // the requantization an INT8 layer does
    dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
    *impl = std::string(pd.impl_info_str()) + (act == tag::nhwc ? " nhwc" : " any");
    dnnl::memory ms(pd.src_desc(), eng), mw(pd.weights_desc(), eng), mb(bias, eng), md(pd.dst_desc(), eng);
    // Ordinary values (no denormals, which would measure the FPU's slow path): 0.25 in f32 or bf16,
    // 1 in the 8-bit types.
    for (auto* m : {&ms, &mw, &mb}) {
        const dt mt = m->get_desc().data_type();
        if (mt == dt::u8 || mt == dt::s8) {
            std::fill_n(static_cast<uint8_t*>(m->get_data_handle()), m->get_desc().get_size(), uint8_t{1});
            continue;
        }
        const bool is_bf16 = mt == dt::bf16;
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
    double f32 = 0, b16 = 0, i8 = 0;
    std::string report;
    for (const Shape& sh : shapes) {
        for (tag act : {tag::any, tag::nhwc}) {
            for (dt type : {dt::f32, dt::bf16, dt::u8}) {
                if (type == dt::bf16 && !bf16) continue;
                std::string impl;
                const double g = conv_gflops(eng, s, type, sh, act, &impl);
                double& best = type == dt::f32 ? f32 : type == dt::bf16 ? b16 : i8;
                best = std::max(best, g);
                const char* name = type == dt::f32 ? "f32" : type == dt::bf16 ? "bf16" : "int8";
                report += (report.empty() ? "" : ", ") + std::string("{\"type\": \"") + name +
                          "\", \"c\": " + std::to_string(sh.c) + ", \"hw\": " + std::to_string(sh.h) +
                          ", \"gflops\": " + std::to_string(g) + ", \"impl\": \"" + impl + "\"}";
            }
        }
    }
    std::printf(
        "{\"isa\": %d, \"threads\": %d, \"f32_gflops\": %.1f, \"bf16_gflops\": %.1f, \"int8_gops\": %.1f, "
        "\"shapes\": [%s]}\n",
        static_cast<int>(isa), threads, f32, b16, i8, report.c_str());
    return 0;
}
