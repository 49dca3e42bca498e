#!/usr/bin/env python3
"""Quantizes a float ONNX model to the QDQ form (as TensorRT's explicit quantization and onnxruntime's
quantize_static QDQ format write it), for checking rtdet's QDQ import on real models:

  - BatchNormalization after a Conv is folded into the Conv's weights and bias first;
  - every Conv weight: symmetric int8 per output channel (scale_c = max |W_c| / 127, so each channel
    reaches +-127), stored as an int8 initializer read through DequantizeLinear (axis 0);
  - every Conv's activation input: symmetric int8 per tensor, scale = amax / 127 with amax from an rtdet
    calibration cache (`rtdet calibrate MODEL --method minmax ...`: the largest |x| over the images),
    one QuantizeLinear -> DequantizeLinear pair per tensor;
  - biases stay float (TensorRT's form), or with --bias-int32 become int32 initializers read through
    DequantizeLinear with scale x_scale * w_scale_c (onnxruntime's form).

The model's metadata (the YOLO heads rtdet reads) is kept. Build/test-time tool; needs python3-onnx
and numpy.

    /usr/bin/python3 scripts/tools/make_qdq_model.py MODEL.onnx CALIB.json -o MODEL.qdq.onnx [--bias-int32]
"""
import argparse
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


class Model:
    def __init__(self, model):
        self.model = model
        self.g = model.graph
        self.inits = {t.name: numpy_helper.to_array(t) for t in self.g.initializer}
        self.new_inits = {}

    def producers(self):
        return {o: n for n in self.g.node for o in n.output}

    def consumers(self):
        c = {}
        for n in self.g.node:
            for i in n.input:
                c.setdefault(i, []).append(n)
        return c

    def add_init(self, name, array):
        assert name not in self.inits and name not in self.new_inits, name
        self.new_inits[name] = array
        return name

    def fold_batch_norms(self):
        producers, consumers = self.producers(), self.consumers()
        graph_outputs = {o.name for o in self.g.output}
        folded = []
        for bn in [n for n in self.g.node if n.op_type == "BatchNormalization"]:
            conv = producers.get(bn.input[0])
            if conv is None or conv.op_type != "Conv" or len(consumers[bn.input[0]]) != 1:
                continue
            if bn.input[0] in graph_outputs:
                continue
            scale, bias, mean, var = (self.inits[i].astype(np.float64) for i in bn.input[1:5])
            k = scale / np.sqrt(var + attr(bn, "epsilon", 1e-5))
            w = self.inits[conv.input[1]].astype(np.float64)
            b = self.inits[conv.input[2]].astype(np.float64) if len(conv.input) > 2 and conv.input[2] else 0.0
            wname = self.add_init(conv.name + "_w_bn", (w * k.reshape(-1, 1, 1, 1)).astype(np.float32))
            bname = self.add_init(conv.name + "_b_bn", ((b - mean) * k + bias).astype(np.float32))
            del conv.input[1:]
            conv.input.extend([wname, bname])
            conv.output[0] = bn.output[0]
            folded.append(bn)
        for bn in folded:
            self.g.node.remove(bn)
        return len(folded)

    def quantize(self, amax, bias_int32):
        producers = self.producers()

        def range_of(name):
            # A value the passes remove (Dropout, Identity) is calibrated under its input's name.
            seen = name
            while name not in amax and name in producers and producers[name].op_type in ("Dropout", "Identity"):
                name = producers[name].input[0]
            if name not in amax or not amax[name] > 0:
                raise SystemExit(f"make_qdq_model: no calibrated range for '{seen}' (looked up as '{name}')")
            return float(amax[name])

        nodes = []
        quantized = {}  # activation name -> its DequantizeLinear output
        stats = {"convs": 0, "activations": 0}
        for n in self.g.node:
            if n.op_type != "Conv":
                nodes.append(n)
                continue
            stats["convs"] += 1
            x = n.input[0]
            if x not in quantized:
                s = np.float32(range_of(x) / 127.0)
                sname = self.add_init(x + "_scale", np.array(s, np.float32))
                zname = self.add_init(x + "_zero_point", np.array(0, np.int8))
                nodes.append(helper.make_node("QuantizeLinear", [x, sname, zname], [x + "_q"], x + "_QuantizeLinear"))
                nodes.append(helper.make_node("DequantizeLinear", [x + "_q", sname, zname], [x + "_dq"],
                                              x + "_DequantizeLinear"))
                quantized[x] = (x + "_dq", s)
                stats["activations"] += 1
            x_dq, x_scale = quantized[x]
            w = self.inits.get(n.input[1], self.new_inits.get(n.input[1]))
            if w is None:
                raise SystemExit(f"make_qdq_model: conv '{n.name}' weight '{n.input[1]}' is not an initializer")
            m = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
            ws = np.where(m > 0, m / 127.0, 1.0).astype(np.float32)
            wq = np.clip(np.round(w / ws.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
            base = n.name or n.output[0]
            wq_name = self.add_init(base + "_w_int8", wq)
            ws_name = self.add_init(base + "_w_scale", ws)
            wz_name = self.add_init(base + "_w_zero_point", np.zeros(w.shape[0], np.int8))
            nodes.append(helper.make_node("DequantizeLinear", [wq_name, ws_name, wz_name], [base + "_w_dq"],
                                          base + "_w_DequantizeLinear", axis=0))
            inputs = [x_dq, base + "_w_dq"]
            if len(n.input) > 2 and n.input[2]:
                b = self.inits.get(n.input[2], self.new_inits.get(n.input[2]))
                if bias_int32 and b is not None:
                    bs = (x_scale * ws).astype(np.float32)
                    bq = np.round(b.astype(np.float64) / bs).astype(np.int32)
                    bq_name = self.add_init(base + "_b_int32", bq)
                    bs_name = self.add_init(base + "_b_scale", bs)
                    bz_name = self.add_init(base + "_b_zero_point", np.zeros(w.shape[0], np.int32))
                    nodes.append(helper.make_node("DequantizeLinear", [bq_name, bs_name, bz_name], [base + "_b_dq"],
                                                  base + "_b_DequantizeLinear", axis=0))
                    inputs.append(base + "_b_dq")
                else:
                    inputs.append(n.input[2])
            del n.input[:]
            n.input.extend(inputs)
            nodes.append(n)
        del self.g.node[:]
        self.g.node.extend(nodes)
        return stats

    def finish(self):
        used = {i for n in self.g.node for i in n.input}
        kept = [t for t in self.g.initializer if t.name in used]
        del self.g.initializer[:]
        self.g.initializer.extend(kept)
        for name, a in self.new_inits.items():
            if name in used:
                self.g.initializer.append(numpy_helper.from_array(a, name))
        # Initializers listed as graph inputs (old IR versions) that are gone.
        inputs = [i for i in self.g.input if i.name not in self.inits or i.name in used]
        del self.g.input[:]
        self.g.input.extend(inputs)
        for imp in self.model.opset_import:
            if imp.domain in ("", "ai.onnx") and imp.version < 13:
                imp.version = 13  # per-axis DequantizeLinear
        onnx.checker.check_model(self.model)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("calibration", help="rtdet calibration cache (JSON); minmax ranges give max-calibrated scales")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--bias-int32", action="store_true", help="biases as int32 through DequantizeLinear")
    args = ap.parse_args(argv[1:])
    with open(args.calibration) as f:
        cache = json.load(f)
    if cache.get("format") != "rtdet-calibration":
        raise SystemExit(f"make_qdq_model: {args.calibration} is not an rtdet calibration cache")
    m = Model(onnx.load(args.model))
    folded = m.fold_batch_norms()
    stats = m.quantize(cache["amax"], args.bias_int32)
    m.finish()
    onnx.save(m.model, args.output)
    print(f"make_qdq_model: {args.output}: {folded} BatchNormalization folded, {stats['convs']} convs with int8 "
          f"per-channel weights, {stats['activations']} activations quantized per tensor "
          f"({cache.get('method', '?')} ranges over {cache.get('inputs', '?')} inputs)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
