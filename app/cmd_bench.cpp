// rtdet bench MODEL.onnx|MODEL.plan: latency and throughput in the manner of trtexec.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "app/commands.h"
#include "app/model_source.h"
#include "engine/core/error.h"
#include "engine/runtime/runtime.h"

namespace app {
namespace {

struct LatencyStats {
    double min = 0, mean = 0, median = 0, p99 = 0, max = 0;
};

LatencyStats summarize(std::vector<double> ms) {
    LatencyStats s;
    if (ms.empty()) return s;
    std::sort(ms.begin(), ms.end());
    double sum = 0;
    for (double v : ms) sum += v;
    const auto at = [&](double q) {
        const auto idx = static_cast<size_t>(q * static_cast<double>(ms.size() - 1) + 0.5);
        return ms[std::min(idx, ms.size() - 1)];
    };
    s.min = ms.front();
    s.max = ms.back();
    s.mean = sum / static_cast<double>(ms.size());
    s.median = at(0.5);
    s.p99 = at(0.99);
    return s;
}

}  // namespace

CommandFn setup_bench(CLI::App& root) {
    struct Opts {
        std::string model, device = "cpu", precision = "fp32", json, compare;
        int batch = 1, iterations = 50, warmup = 5, threads = 0, streams = 1;
        double duration = 0;
        bool profile = false, no_graphs = false, no_transfers = false, poison = false, cudnn_legacy = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = root.add_subcommand("bench", "Measure latency and throughput of a model or plan");
    cmd->add_option("model", o->model, "Plan file, ONNX model, or darknet .cfg")->required();
    cmd->add_option("--device", o->device, "When building: cpu | reference | cuda")->capture_default_str();
    cmd->add_option("--precision", o->precision, "When building: fp32 | fp16 | bf16 | best")
        ->capture_default_str();
    cmd->add_option("--batch", o->batch, "Batch size (a plan must have max batch >= this)")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    cmd->add_option("--iterations", o->iterations, "Timed runs")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    cmd->add_option("--warmup", o->warmup, "Untimed runs first")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    cmd->add_option("--duration", o->duration, "Keep running at least this many seconds")
        ->check(CLI::Range(0.0, 3600.0));
    cmd->add_option("--threads", o->threads, "CPU threads (0: all cores)")
        ->check(CLI::Range(0, 1024))
        ->capture_default_str();
    cmd->add_option("--streams", o->streams,
                    "Concurrent contexts, each run from its own thread (on CUDA: its own stream, so one "
                    "context's copies overlap another's compute); throughput is their sum")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_flag("--profile", o->profile, "Per-layer time table");
    cmd->add_flag("--no-graphs", o->no_graphs,
                  "Device plans: launch the kernels on every run instead of replaying a recorded CUDA graph");
    cmd->add_flag("--no-transfers", o->no_transfers,
                  "Device plans: keep the inputs and outputs in the context's device buffers (no host <-> "
                  "device copies; the inputs are whatever those buffers hold), to time the GPU's work alone "
                  "(trtexec's --noDataTransfers)");
    cmd->add_flag("--poison", o->poison,
                  "Device plans: fill the device buffers with NaN bytes first (a read of memory no kernel "
                  "wrote then shows as NaN outputs)");
    cmd->add_flag("--cudnn-legacy", o->cudnn_legacy,
                  "When building for cuda: time cuDNN's legacy API only, not its graph API (comparisons)");
    cmd->add_option("--json", o->json, "Write the results as JSON to this file");
    cmd->add_option("--compare", o->compare,
                    "Also build the model at this precision (e.g. fp32) on the same device and report each "
                    "output's error against it (ONNX model or .cfg only)");
    return [o]() {
        engine::BuildOptions bopts;
        bopts.device = o->device;
        bopts.precision = engine::precision_from_name(o->precision);
        bopts.max_batch = o->batch;
        bopts.threads = o->threads;
        bopts.cudnn_graph_api = !o->cudnn_legacy;
        const auto tb = std::chrono::steady_clock::now();
        const engine::Plan plan = load_or_build_plan(o->model, bopts);
        const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - tb).count();
        auto eng = engine::Engine::load(plan);
        const auto& info = eng->info();
        ENGINE_CHECK(o->batch <= info.max_batch, "--batch ", o->batch, " exceeds the plan's max batch ",
                     info.max_batch, " (rebuild with --max-batch)");
        ENGINE_CHECK(o->streams == 1 || (!o->profile && o->compare.empty()),
                     "--streams: --profile and --compare take one stream");
        engine::ContextOptions copt;
        copt.threads = o->threads;
        copt.device_graphs = !o->no_graphs;
        copt.poison_device_memory = o->poison;
        auto ctx = eng->create_context(copt);
        const engine::IoMemory io = o->no_transfers ? engine::IoMemory::Device : engine::IoMemory::Host;
        if (o->no_transfers) {
            for (size_t i = 0; i < ctx->num_inputs(); ++i)
                ENGINE_CHECK(ctx->device_input(i) != nullptr, "--no-transfers: input ", i,
                             " is read by a host backend (a plan of a device backend, e.g. --device cuda, "
                             "keeps its inputs and outputs in device buffers)");
            for (size_t i = 0; i < ctx->num_outputs(); ++i)
                ENGINE_CHECK(ctx->device_output(i) != nullptr, "--no-transfers: output ", i,
                             " is written by a host backend or is a constant");
        }
        const int threads =
            o->threads > 0 ? o->threads : static_cast<int>(std::thread::hardware_concurrency());

        std::mt19937 rng(1234);
        std::uniform_real_distribution<float> dist(0.f, 1.f);
        for (size_t i = 0; i < ctx->num_inputs(); ++i) {
            const auto shape = ctx->input_shape(i, o->batch);
            int64_t n = 1;
            for (auto d : shape) n *= d;
            float* p = ctx->input(i);
            for (int64_t k = 0; k < n; ++k) p[k] = dist(rng);
        }
        std::printf(
            "model: %s\nplan: %zu layers, device '%s', precision %s, max batch %d, arena %.1f MB, weights "
            "%.1f MB\n",
            o->model.c_str(), info.layers.size(), info.device_signature.c_str(), info.precision.c_str(),
            info.max_batch, static_cast<double>(ctx->arena_bytes()) / 1e6,
            static_cast<double>(info.weight_bytes) / 1e6);
        // --streams: more contexts with the same inputs, each warmed up and timed on its own thread.
        std::vector<std::unique_ptr<engine::ExecutionContext>> extra;
        for (int k = 1; k < o->streams; ++k) {
            extra.push_back(eng->create_context(copt));
            for (size_t i = 0; i < ctx->num_inputs(); ++i) {
                int64_t n = 1;
                for (auto d : ctx->input_shape(i, o->batch)) n *= d;
                std::copy(ctx->input(i), ctx->input(i) + n, extra.back()->input(i));
            }
        }
        ctx->set_profiling(o->profile);
        const auto time_runs = [&](engine::ExecutionContext& c, std::vector<double>& ms,
                                   std::chrono::steady_clock::time_point start) {
            for (int i = 0;; ++i) {
                const auto t0 = std::chrono::steady_clock::now();
                c.run(o->batch, io);
                const auto t1 = std::chrono::steady_clock::now();
                ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
                const double elapsed = std::chrono::duration<double>(t1 - start).count();
                if (i + 1 >= o->iterations && elapsed >= o->duration) break;
            }
        };
        std::vector<double> ms;
        double wall_s = 0;
        if (extra.empty()) {
            ctx->set_profiling(false);
            for (int i = 0; i < o->warmup; ++i) ctx->run(o->batch, io);
            ctx->set_profiling(o->profile);
            const auto start = std::chrono::steady_clock::now();
            time_runs(*ctx, ms, start);
            wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        } else {
            std::vector<engine::ExecutionContext*> all{ctx.get()};
            for (auto& c : extra) all.push_back(c.get());
            std::vector<std::vector<double>> per(all.size());
            std::vector<std::exception_ptr> errors(all.size());
            std::atomic<int> ready{0};
            std::atomic<bool> go{false};
            std::vector<std::thread> workers;
            std::chrono::steady_clock::time_point start;
            for (size_t k = 0; k < all.size(); ++k) {
                workers.emplace_back([&, k] {
                    try {
                        for (int i = 0; i < o->warmup; ++i) all[k]->run(o->batch, io);
                    } catch (...) {
                        errors[k] = std::current_exception();
                    }
                    ready.fetch_add(1);
                    while (!go.load()) std::this_thread::yield();
                    if (errors[k]) return;
                    try {
                        time_runs(*all[k], per[k], start);
                    } catch (...) {
                        errors[k] = std::current_exception();
                    }
                });
            }
            while (ready.load() < static_cast<int>(all.size())) std::this_thread::yield();
            start = std::chrono::steady_clock::now();
            go.store(true);
            for (auto& w : workers) w.join();
            wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            for (const auto& e : errors)
                if (e) std::rethrow_exception(e);
            for (const auto& v : per) ms.insert(ms.end(), v.begin(), v.end());
        }
        const LatencyStats s = summarize(ms);
        // One stream: images per mean latency. Several: every stream's images over the wall time.
        const double throughput =
            o->streams == 1 ? 1000.0 * o->batch / s.mean : static_cast<double>(ms.size()) * o->batch / wall_s;
        std::printf("batch %d, threads %d, %zu timed runs after %d warm-up", o->batch, threads, ms.size(),
                    o->warmup);
        if (o->streams > 1)
            std::printf(", %d streams (contexts on their own threads), %.3f s", o->streams, wall_s);
        std::printf("\n");
        std::printf("latency (ms): min %.3f  mean %.3f  median %.3f  p99 %.3f  max %.3f\n", s.min, s.mean,
                    s.median, s.p99, s.max);
        std::printf("throughput: %.1f images/s\n", throughput);

        nlohmann::json j;
        if (!o->compare.empty()) {
            // The same inputs through a plan of the other precision: per-output max |diff| and that over
            // the reference's max |value|.
            ENGINE_CHECK(o->model.size() < 5 || o->model.substr(o->model.size() - 5) != ".plan",
                         "--compare needs an ONNX model or .cfg, not a plan ('", o->model, "')");
            engine::BuildOptions copts = bopts;
            copts.precision = engine::precision_from_name(o->compare);
            auto ceng = engine::Engine::load(load_or_build_plan(o->model, copts));
            auto cctx = ceng->create_context(o->threads);
            for (size_t i = 0; i < ctx->num_inputs(); ++i) {
                int64_t n = 1;
                for (auto d : ctx->input_shape(i, o->batch)) n *= d;
                std::copy(ctx->input(i), ctx->input(i) + n, cctx->input(i));
            }
            ctx->run(o->batch);
            cctx->run(o->batch);
            std::printf("compare: %s vs %s, batch %d\n", info.precision.c_str(), o->compare.c_str(),
                        o->batch);
            for (size_t i = 0; i < ctx->num_outputs(); ++i) {
                int64_t n = 1;
                for (auto d : ctx->output_shape(i, o->batch)) n *= d;
                const float* a = ctx->output(i);
                const float* b = cctx->output(i);
                double max_diff = 0, max_ref = 0, sum_sq = 0, ref_sq = 0;
                for (int64_t k = 0; k < n; ++k) {
                    const double d = std::abs(static_cast<double>(a[k]) - b[k]);
                    max_diff = std::max(max_diff, d);
                    max_ref = std::max(max_ref, std::abs(static_cast<double>(b[k])));
                    sum_sq += d * d;
                    ref_sq += static_cast<double>(b[k]) * b[k];
                }
                const double rel = max_ref > 0 ? max_diff / max_ref : max_diff;
                const double l2 = ref_sq > 0 ? std::sqrt(sum_sq / ref_sq) : std::sqrt(sum_sq);
                std::printf("  output %zu: max |diff| %.4g, max |ref| %.4g, max rel %.3g, l2 rel %.3g\n", i,
                            max_diff, max_ref, rel, l2);
                j["compare"].push_back({{"output", i},
                                        {"max_abs", max_diff},
                                        {"max_ref", max_ref},
                                        {"max_rel", rel},
                                        {"l2_rel", l2},
                                        {"against", o->compare}});
            }
        }
        if (o->profile) {
            const auto& prof = ctx->profile();
            double total = 0;
            for (const auto& l : prof) total += l.total_ms;
            std::printf("\n%-4s %-40s %-10s %-10s %10s %7s\n", "#", "layer", "op", "backend", "mean ms", "%");
            int idx = 0;
            for (const auto& l : prof) {
                const double mean = l.runs ? l.total_ms / l.runs : 0.0;
                std::printf("%-4d %-40.40s %-10s %-10s %10.4f %6.2f%%\n", idx++, l.name.c_str(), l.op.c_str(),
                            l.backend.c_str(), mean, total > 0 ? 100.0 * l.total_ms / total : 0.0);
                j["profile"].push_back(
                    {{"name", l.name}, {"op", l.op}, {"backend", l.backend}, {"mean_ms", mean}});
            }
            std::printf("sum of layers: %.3f ms per run\n",
                        prof.empty() || !prof[0].runs ? 0.0 : total / prof[0].runs);
        }
        if (!o->json.empty()) {
            j["model"] = o->model;
            j["device_signature"] = info.device_signature;
            j["precision"] = info.precision;
            j["batch"] = o->batch;
            j["threads"] = threads;
            j["streams"] = o->streams;
            j["iterations"] = ms.size();
            j["build_or_load_s"] = build_s;
            j["latency_ms"] = {
                {"min", s.min}, {"mean", s.mean}, {"median", s.median}, {"p99", s.p99}, {"max", s.max}};
            j["throughput_ips"] = throughput;
            j["arena_bytes"] = ctx->arena_bytes();
            std::ofstream f(o->json);
            ENGINE_CHECK(f.good(), "cannot write ", o->json);
            f << j.dump(2) << "\n";
            ENGINE_CHECK(f.good(), "cannot write ", o->json);
        }
        return 0;
    };
}

}  // namespace app
