#!/usr/bin/env node
// ONNX Runtime peer for the CPU benchmarks (scripts/bench/int8_cpu.sh): times onnxruntime-node's CPU
// execution provider (all graph optimizations, the given intra-op thread count, sequential execution)
// on a uniform [0, 1) input of the model's input shape, batch 1. Prints JSON
//   {"onnxruntime": version, "threads", "iterations", "min_ms", "mean_ms", "median_ms"}.
//
//   NODE_PATH=DIR/node_modules node scripts/bench/ort_peer.js MODEL.onnx SHAPE THREADS ITERATIONS WARMUP
//   SHAPE: the input's dims joined by x, e.g. 1x3x416x416
//
// ONNX Runtime 1.30 comes from npm (`npm install --ignore-scripts onnxruntime-node@1.30.0`: its CPU
// binaries are in the package; the install script only fetches GPU add-ons). Benchmarks only: the
// product never uses it.
'use strict';
const ort = require('onnxruntime-node');

async function main() {
    const [model, shapeArg, threadsArg, itersArg, warmupArg] = process.argv.slice(2);
    if (!model || !shapeArg) {
        console.error('usage: ort_peer.js MODEL.onnx SHAPE THREADS ITERATIONS WARMUP');
        process.exit(2);
    }
    const shape = shapeArg.split('x').map(Number);
    const threads = Number(threadsArg || 1), iterations = Number(itersArg || 20), warmup = Number(warmupArg || 3);
    const session = await ort.InferenceSession.create(model, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
    });
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    let seed = 1;
    for (let i = 0; i < n; ++i) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        data[i] = seed / 2147483648;
    }
    const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, shape)};
    for (let i = 0; i < warmup; ++i) await session.run(feeds);
    const ms = [];
    for (let i = 0; i < iterations; ++i) {
        const t0 = process.hrtime.bigint();
        await session.run(feeds);
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const sorted = [...ms].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]
                                     : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    console.log(JSON.stringify({
        onnxruntime: require('onnxruntime-node/package.json').version,
        threads, iterations,
        min_ms: sorted[0],
        mean_ms: ms.reduce((a, b) => a + b, 0) / ms.length,
        median_ms: median,
    }));
}
main().catch((e) => {
    console.error(`ort_peer: ${e.message || e}`);
    process.exit(1);
});
