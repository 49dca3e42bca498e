#!/usr/bin/env node
// Cross-checks the numpy outputs of the QDQ test model (scripts/tools/make_qdq_test_model.py,
// tests/data/qdq_small_expected.json) against ONNX Runtime, so the oracle the engine's QDQ tests use is
// ONNX Runtime's reading of the spec too. Not run by ctest (ONNX Runtime is no build dependency):
//
//   (cd /tmp/ort && npm install --ignore-scripts onnxruntime-node@1.30.0)
//   NODE_PATH=/tmp/ort/node_modules node scripts/tools/check_qdq_with_ort.js [tests/data]
//
// With graph optimizations disabled ONNX Runtime runs QuantizeLinear / DequantizeLinear as written (float
// math, what an rtdet FP32 plan does): every value must equal numpy's. With them on ("all") it fuses the
// pairs into integer kernels (QLinearConv), whose requantization rounds differently: reported, not
// failed. Exit 1 when the unoptimized run differs.
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function run(dir, level) {
    const e = JSON.parse(fs.readFileSync(path.join(dir, 'qdq_small_expected.json')));
    const session = await ort.InferenceSession.create(path.join(dir, 'qdq_small.onnx'), {graphOptimizationLevel: level});
    const x = new ort.Tensor('float32', Float32Array.from(e.x.data), e.x.shape);
    const out = await session.run({x});
    let differing = 0;
    for (const name of ['y1', 'y2']) {
        const got = out[name].data, want = e[name].data;
        let bad = 0, max = 0;
        for (let i = 0; i < want.length; i++) {
            const d = Math.abs(got[i] - Math.fround(want[i]));
            if (d > 0) bad++;
            max = Math.max(max, d);
        }
        console.log(`onnxruntime ${ort.env.versions.common} (optimizations ${level}) ${name}: ${bad} of ${want.length} values differ from numpy, max |diff| ${max}`);
        differing += bad;
    }
    return differing;
}

(async () => {
    const dir = process.argv[2] || path.join(__dirname, '..', '..', 'tests', 'data');
    const bad = await run(dir, 'disabled');
    await run(dir, 'all');
    process.exit(bad === 0 ? 0 : 1);
})();
