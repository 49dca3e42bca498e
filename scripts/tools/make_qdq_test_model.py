#!/usr/bin/env python3
"""A small ONNX QDQ model and its outputs computed independently in numpy, for the engine's QDQ tests:
tests/data/qdq_small.onnx and tests/data/qdq_small_expected.json.

The model has the quantization forms real QDQ models carry (onnxruntime's quantize_static QDQ format,
TensorRT's explicit quantization):

    x [2,3,8,8] -> QDQ(A: int8, 2^-5, 0) -> Conv1 (int8 weights -> DequantizeLinear per channel,
                   int32 bias -> DequantizeLinear, scale x_scale * w_scale) -> LeakyRelu(0.125)
      -> QDQ(B: int8, 2^-4, 0) -> Conv2 1x1 (float weights -> QuantizeLinear -> DequantizeLinear per
                   channel, float bias) -> Relu = r
    r -> QDQ(D: uint8, 2^-4, zero point 128) -> MaxPool 2x2 -> Conv3 1x1 (float weights, no bias)
      -> QDQ(E: int8, 2^-3, 0) -> y1 [2,4,4,4]
    r -> QDQ(C: uint8, 0.05, zero point 0, asymmetric) -> y2 [2,8,8,8]

Every conv input and weight is a dyadic rational with few bits (activation scales A, B, D and the
weight scales are powers of two), so each conv's sums are exact in float32 whatever the order of
accumulation: the engine (any backend) and numpy must agree to the bit, rounding ties included
(inputs on multiples of 1/64 make x / 2^-5 land on .5; W2 / 2^-7 too). QuantizeLinear divides in
float32 and rounds half to even (np.round), as ONNX Runtime does.

    /usr/bin/python3 scripts/tools/make_qdq_test_model.py [OUT_DIR]      (default tests/data)
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F32 = np.float32


def quantize(x, scale, zero, dtype, axis=1):
    scale = np.asarray(scale, F32)
    zero = np.asarray(zero)
    if scale.size > 1:
        shape = [1] * x.ndim
        shape[axis] = scale.size
        scale = scale.reshape(shape)
        zero = zero.reshape(shape)
    info = np.iinfo(dtype)
    q = np.round(x.astype(F32) / scale).astype(np.float64) + zero.astype(np.float64)
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q, scale, zero, axis=1):
    scale = np.asarray(scale, F32)
    zero = np.asarray(zero)
    if scale.size > 1:
        shape = [1] * q.ndim
        shape[axis] = scale.size
        scale = scale.reshape(shape)
        zero = zero.reshape(shape)
    return (q.astype(np.int64) - zero.astype(np.int64)).astype(F32) * scale


def qdq(x, scale, zero, dtype, axis=1):
    return dequantize(quantize(x, scale, zero, dtype, axis), scale, zero, axis)


def fraction_bits(a):
    """The smallest k with every a * 2^k an integer (a few-bit dyadic rational), up to 40."""
    a = np.asarray(a, np.float64)
    for k in range(41):
        if np.all(np.floor(a * 2.0**k) == a * 2.0**k):
            return k
    raise AssertionError("not a dyadic rational with few bits")


def conv(x, w, b, pad):
    """NCHW convolution, stride 1, in float64; asserts every partial sum, in any order, is exact in
    float32: operands on multiples of 2^-k, all sums of magnitudes below 2^24 such steps."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    y = np.zeros((n, o, h, wd), np.float64)
    mag = np.zeros_like(y)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + h, j:j + wd]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j].astype(np.float64))
            mag += np.einsum("nchw,oc->nohw", np.abs(patch), np.abs(w[:, :, i, j].astype(np.float64)))
    if b is not None:
        y += b.astype(np.float64).reshape(1, -1, 1, 1)
        mag += np.abs(b.astype(np.float64)).reshape(1, -1, 1, 1)
    step = 2.0 ** -(fraction_bits(x) + fraction_bits(w))
    if b is not None:
        assert fraction_bits(b) <= fraction_bits(x) + fraction_bits(w)
    assert mag.max() < 2.0**24 * step, "conv sums too large to stay exact in float32"
    return y.astype(F32)


def maxpool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data")
    rng = np.random.default_rng(16)

    x = (rng.integers(-320, 321, size=(2, 3, 8, 8)) / 64).astype(F32)
    sa, sb, sd, se, sc = F32(2**-5), F32(2**-4), F32(2**-4), F32(2**-3), F32(0.05)

    # Conv1: int8 weights, each channel reaching 127 in magnitude (symmetric max-calibrated, so the
    # INT8 builder's requantization gives back the same integers), power-of-two scales per channel.
    w1_q = rng.integers(-127, 128, size=(8, 3, 3, 3)).astype(np.int8)
    for o in range(8):
        w1_q[o].flat[o % 27] = 127 if o % 2 == 0 else -127
    w1_s = np.array([2.0**-k for k in (7, 8, 9, 7, 8, 9, 7, 8)], F32)
    b1_q = rng.integers(-3000, 3000, size=8).astype(np.int32)
    b1_s = (sa * w1_s).astype(F32)
    # Conv2: float weights on multiples of 2^-8 quantized by scales 2^-7 (ties at .5) per channel.
    w2 = (rng.integers(-128, 128, size=(8, 8, 1, 1)) / 256).astype(F32)
    w2_s = np.full(8, 2.0**-7, F32)
    b2 = (rng.integers(-64, 64, size=8) / 64).astype(F32)
    # Conv3: plain float weights, no bias input.
    w3 = (rng.integers(-32, 32, size=(4, 8, 1, 1)) / 32).astype(F32)

    # numpy forward pass.
    a = qdq(x, sa, np.int8(0), np.int8)
    c1 = conv(a, dequantize(w1_q, w1_s, np.zeros(8, np.int8), 0), dequantize(b1_q, b1_s, np.zeros(8, np.int32), 0), 1)
    a1 = np.where(c1 >= 0, c1, F32(0.125) * c1).astype(F32)
    w2_dq = qdq(w2, w2_s, np.zeros(8, np.int8), np.int8, 0)
    r = np.maximum(conv(qdq(a1, sb, np.int8(0), np.int8), w2_dq, b2, 0), F32(0))
    p = maxpool2(qdq(r, sd, np.uint8(128), np.uint8))
    y1 = qdq(conv(p, w3, None, 0), se, np.int8(0), np.int8)
    y2 = qdq(r, sc, np.uint8(0), np.uint8)

    inits = [
        numpy_helper.from_array(np.array(sa), "sa"),
        numpy_helper.from_array(np.array(sb), "sb"),
        numpy_helper.from_array(np.array(sd), "sd"),
        numpy_helper.from_array(np.array(se), "se"),
        numpy_helper.from_array(np.array(sc), "sc"),
        numpy_helper.from_array(np.array(0, np.int8), "z8"),
        numpy_helper.from_array(np.array(128, np.uint8), "zu128"),
        numpy_helper.from_array(np.array(0, np.uint8), "zu0"),
        numpy_helper.from_array(w1_q, "w1_q"),
        numpy_helper.from_array(w1_s, "w1_s"),
        numpy_helper.from_array(np.zeros(8, np.int8), "w1_z"),
        numpy_helper.from_array(b1_q, "b1_q"),
        numpy_helper.from_array(b1_s, "b1_s"),
        numpy_helper.from_array(np.zeros(8, np.int32), "b1_z"),
        numpy_helper.from_array(w2, "w2"),
        numpy_helper.from_array(w2_s, "w2_s"),
        numpy_helper.from_array(np.zeros(8, np.int8), "w2_z"),
        numpy_helper.from_array(b2, "b2"),
        numpy_helper.from_array(w3, "w3"),
    ]
    N = helper.make_node
    nodes = [
        N("QuantizeLinear", ["x", "sa", "z8"], ["x_q"], "A_q"),
        N("DequantizeLinear", ["x_q", "sa", "z8"], ["x_dq"], "A_dq"),
        N("DequantizeLinear", ["w1_q", "w1_s", "w1_z"], ["w1"], "w1_dq", axis=0),
        N("DequantizeLinear", ["b1_q", "b1_s", "b1_z"], ["b1"], "b1_dq", axis=0),
        N("Conv", ["x_dq", "w1", "b1"], ["c1"], "conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        N("LeakyRelu", ["c1"], ["a1"], "leaky1", alpha=0.125),
        N("QuantizeLinear", ["a1", "sb", "z8"], ["a1_q"], "B_q"),
        N("DequantizeLinear", ["a1_q", "sb", "z8"], ["a1_dq"], "B_dq"),
        N("QuantizeLinear", ["w2", "w2_s", "w2_z"], ["w2_q"], "w2_q", axis=0),
        N("DequantizeLinear", ["w2_q", "w2_s", "w2_z"], ["w2_dq"], "w2_dq", axis=0),
        N("Conv", ["a1_dq", "w2_dq", "b2"], ["c2"], "conv2"),
        N("Relu", ["c2"], ["r"], "relu2"),
        N("QuantizeLinear", ["r", "sd", "zu128"], ["r_qd"], "D_q"),
        N("DequantizeLinear", ["r_qd", "sd", "zu128"], ["r_dqd"], "D_dq"),
        N("MaxPool", ["r_dqd"], ["p"], "pool", kernel_shape=[2, 2], strides=[2, 2]),
        N("Conv", ["p", "w3"], ["c3"], "conv3"),
        N("QuantizeLinear", ["c3", "se", "z8"], ["c3_q"], "E_q"),
        N("DequantizeLinear", ["c3_q", "se", "z8"], ["y1"], "E_dq"),
        N("QuantizeLinear", ["r", "sc", "zu0"], ["r_qc"], "C_q"),
        N("DequantizeLinear", ["r_qc", "sc", "zu0"], ["y2"], "C_dq"),
    ]
    graph = helper.make_graph(
        nodes, "qdq_small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8, 8])],
        [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [2, 4, 4, 4]),
         helper.make_tensor_value_info("y2", TensorProto.FLOAT, [2, 8, 8, 8])], inits)
    model = helper.make_model(graph, producer_name="rtdet make_qdq_test_model.py",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "qdq_small.onnx"))

    def floats(t):
        return [float(v) for v in t.astype(F32).ravel()]

    expected = {
        "generator": "scripts/tools/make_qdq_test_model.py",
        "x": {"shape": list(x.shape), "data": floats(x)},
        "y1": {"shape": list(y1.shape), "data": floats(y1)},
        "y2": {"shape": list(y2.shape), "data": floats(y2)},
        # The activation ranges an INT8 build takes from the model (127 * scale), by value name.
        "amax": {"x": float(127 * sa), "a1": float(127 * sb), "r": float(127 * sd), "y1": float(127 * se)},
        # Rounding ties the data hits (the half-to-even rule matters): A's input, W2.
        "ties": {"x": int(np.sum(np.abs((x / sa) % 1) == 0.5)), "w2": int(np.sum(np.abs((w2 / w2_s[0]) % 1) == 0.5))},
    }
    with open(os.path.join(out_dir, "qdq_small_expected.json"), "w") as f:
        json.dump(expected, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote qdq_small.onnx and qdq_small_expected.json to {out_dir}: ties {expected['ties']}, "
          f"saturated at A {int(np.sum(np.abs(x) > 127 * sa))}, at B {int(np.sum(np.abs(a1) > 127 * sb))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
