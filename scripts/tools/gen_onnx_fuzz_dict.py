#!/usr/bin/env python3
"""Writes the libFuzzer dictionary of fuzz_onnx (tests/fuzz/dict/onnx.dict) from ONNX's node tests.

Usage: gen_onnx_fuzz_dict.py NODE_TESTS_DIR OUT.dict

NODE_TESTS_DIR is what the build generates (<build>/onnx_node_tests/node, target onnx_node_tests_data,
scripts/tools/gen_onnx_conformance.py). For every node test whose op rtdet imports (the op table of
engine/onnx/op_importers.cpp), the dictionary gets the protobuf encodings a mutation needs to make a
model that goes past the parser into import, constant folding and shape inference:
  - the op type as a NodeProto.op_type field ("\\x22" + length + name),
  - every attribute name those tests use as an AttributeProto.name field, and their string values,
  - AttributeProto.type values, the tags of the ModelProto / GraphProto / NodeProto / AttributeProto /
    TensorProto / ValueInfoProto fields the importer reads, opset imports of the versions rtdet knows,
  - integer boundaries (0, 1, -1, 2^31, 2^32, 2^40, 2^62, INT64_MAX, INT64_MIN) as varints after the
    tags that carry dims and int attributes.
Needs a python with onnx (Debian: /usr/bin/python3 with python3-onnx). Rerun when the op table grows.
"""

import collections
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def varint(v):
    v &= (1 << 64) - 1  # negative int64: ten-byte two's complement, as protobuf writes it
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field, wire):
    return varint((field << 3) | wire)


def ld(field, payload):  # a length-delimited field
    return tag(field, 2) + varint(len(payload)) + payload


def escape(b):
    out = []
    for c in b:
        ch = chr(c)
        if ch in '\\"':
            out.append("\\" + ch)
        elif 0x20 <= c < 0x7F:
            out.append(ch)
        else:
            out.append("\\x%02x" % c)
    return '"' + "".join(out) + '"'


def supported_ops():
    with open(os.path.join(ROOT, "engine/onnx/op_importers.cpp")) as f:
        return set(re.findall(r'^\s*\{"(\w+)",\s+\w', f.read(), re.M))


def main(argv):
    if len(argv) != 3:
        print("usage: gen_onnx_fuzz_dict.py NODE_TESTS_DIR OUT.dict", file=sys.stderr)
        return 2
    try:
        import onnx
    except ImportError as e:
        print(f"gen_onnx_fuzz_dict.py: this python ({sys.executable}) cannot import onnx: {e}", file=sys.stderr)
        return 1
    node_dir, out_path = argv[1], argv[2]
    ops = supported_ops()
    if not ops:
        print("gen_onnx_fuzz_dict.py: no op table found in engine/onnx/op_importers.cpp", file=sys.stderr)
        return 1
    seen_ops, attr_names, attr_strings = set(), collections.Counter(), collections.Counter()
    opsets, cases = set(), 0
    for case in sorted(os.listdir(node_dir)):
        path = os.path.join(node_dir, case, "model.onnx")
        if not os.path.isfile(path):
            continue
        model = onnx.load(path)
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                opsets.add(imp.version)
        used = False
        for node in model.graph.node:
            if node.op_type not in ops:
                continue
            used = True
            seen_ops.add(node.op_type)
            for a in node.attribute:
                attr_names[a.name] += 1
                if a.type == onnx.AttributeProto.STRING:
                    attr_strings[a.s] += 1
        cases += used
    if not seen_ops:
        print(f"gen_onnx_fuzz_dict.py: no node test in {node_dir} uses an op rtdet imports", file=sys.stderr)
        return 1

    entries = []  # (comment or None, bytes)

    def add(name, b):
        entries.append((name, b))

    for op in sorted(seen_ops | ops):
        add(f"op_{op}", ld(4, op.encode()))
    for name in sorted(attr_names):
        add(f"attr_{name}", ld(1, name.encode()))
    for s in sorted(attr_strings):
        add(None, ld(4, s))
    # AttributeProto.type (field 20): FLOAT, INT, STRING, TENSOR, GRAPH, FLOATS, INTS, STRINGS
    for t in (1, 2, 3, 4, 5, 6, 7, 8):
        add(None, tag(20, 0) + varint(t))
    # opset_import { version: v } for every opset the node tests use
    for v in sorted(opsets):
        add(None, ld(8, tag(2, 0) + varint(v)))
    boundaries = [0, 1, 2, 3, -1, -2, 2**31 - 1, 2**31, 2**32, 2**40, 2**48, 2**62, 2**63 - 1, -(2**63)]
    # Varint fields that hold dims, int attributes, data types, axes: AttributeProto.i (3) and .ints (8),
    # TensorProto.dims (1) and .data_type (2), TensorShapeProto.Dimension.dim_value (1)
    for field in (1, 2, 3, 8):
        for v in boundaries:
            add(None, tag(field, 0) + varint(v))
    # Tags alone: NodeProto input/output/name/op_type/attribute/domain (1, 2, 3, 4, 5, 7), GraphProto
    # node/initializer/input/output/value_info (1, 5, 11, 12, 13), AttributeProto f/i/s/t/floats/ints
    # (2 fixed32, 3, 4, 5, 7, 8 + packed), TensorProto float_data/int32_data/int64_data/raw_data
    # (4, 5, 7, 9), TypeProto.tensor_type (1), shape (2), ModelProto graph/opset_import (7, 8).
    for field, wire in ((1, 2), (2, 2), (3, 2), (4, 2), (5, 2), (7, 2), (11, 2), (12, 2), (13, 2), (2, 5),
                        (3, 0), (7, 2), (8, 0), (8, 2), (9, 2), (1, 0), (2, 0), (6, 2)):
        add(None, tag(field, wire))
    # float values of scales and attributes (fixed32, little-endian): 0, 1, 2, -1, 0.5, inf, nan, 1e30
    for bits in (0x00000000, 0x3F800000, 0x40000000, 0xBF800000, 0x3F000000, 0x7F800000, 0x7FC00000,
                 0x7149F2CA):
        add(None, tag(2, 5) + bits.to_bytes(4, "little"))

    seen, lines = set(), []
    for name, b in entries:
        if b in seen:
            continue
        seen.add(b)
        lines.append(f"{name}={escape(b)}" if name else escape(b))
    header = [
        "# libFuzzer dictionary for fuzz_onnx (scripts/hardening/fuzz.sh, scripts/gpu/fuzz_run.sh). Generated by",
        "# scripts/tools/gen_onnx_fuzz_dict.py from ONNX's node tests (onnx %s: %d cases with ops rtdet imports," % (
            onnx.__version__, cases),
        "# %d op types, %d attribute names); do not edit by hand." % (len(seen_ops | ops), len(attr_names)),
    ]
    with open(out_path, "w") as f:
        f.write("\n".join(header + lines) + "\n")
    print(f"gen_onnx_fuzz_dict.py: {len(lines)} entries ({cases} node tests) -> {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
