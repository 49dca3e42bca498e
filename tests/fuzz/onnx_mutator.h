// Structure-aware mutation of ONNX models for fuzz_onnx (issue 18): byte-level mutations of a protobuf
// mostly break the encoding, so a campaign spends its time in the protobuf parser. This mutator parses
// the input as a ModelProto, changes one thing that import, constant folding and shape inference read,
// and serializes it again, so the result is a valid model that differs where it matters:
//   - an integer attribute (axis, pads, perm, starts, kernel_shape, group, ...) or an element of one,
//   - a dim of a graph input, output, value_info or initializer,
//   - a value of an integer initializer or Constant tensor (Reshape targets, Slice bounds, Pad pads,
//     Resize sizes, Range bounds, ...), or of a float one (Resize scales),
//   - the op type of a node (to another op rtdet imports), an input of a node (to another name of the
//     model), the opset version, or a node removed.
// New integer values are boundaries (0, +-1, 2^31, 2^32, 2^40, 2^62, INT64_MAX, INT64_MIN, ...), small
// numbers, or the old value nudged, negated or doubled. An input that does not parse, and every fourth
// mutation, gets byte-level mutations (LLVMFuzzerMutate: libFuzzer's, or the replay driver's).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/onnx/import_context.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace onnx_mutator {

using Rng = std::mt19937_64;

inline size_t pick(Rng& rng, size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); }

inline int64_t new_int(Rng& rng, int64_t old) {
    static constexpr int64_t kBoundaries[] = {0,
                                              1,
                                              -1,
                                              2,
                                              3,
                                              -2,
                                              int64_t{1} << 31,
                                              (int64_t{1} << 31) - 1,
                                              -(int64_t{1} << 31),
                                              int64_t{1} << 32,
                                              int64_t{1} << 40,
                                              (int64_t{1} << 40) + 1,
                                              int64_t{1} << 48,
                                              int64_t{1} << 62,
                                              std::numeric_limits<int64_t>::max(),
                                              std::numeric_limits<int64_t>::max() - 1,
                                              std::numeric_limits<int64_t>::min(),
                                              std::numeric_limits<int64_t>::min() + 1};
    const auto u = static_cast<uint64_t>(old);
    switch (pick(rng, 4)) {
        case 0:
            return kBoundaries[pick(rng, std::size(kBoundaries))];
        case 1:
            return static_cast<int64_t>(pick(rng, 40)) - 8;
        case 2:  // nudged (wrapping: the fuzzer wants the edges)
            return static_cast<int64_t>(u + (pick(rng, 2) ? 1u : ~uint64_t{0}));
        default:  // negated or doubled
            return static_cast<int64_t>(pick(rng, 2) ? 0 - u : u << 1);
    }
}

inline float new_float(Rng& rng) {
    static constexpr float kFloats[] = {0.f,
                                        1.f,
                                        2.f,
                                        0.5f,
                                        -1.f,
                                        1e-30f,
                                        1e30f,
                                        3e12f,
                                        std::numeric_limits<float>::infinity(),
                                        std::numeric_limits<float>::quiet_NaN()};
    return kFloats[pick(rng, std::size(kFloats))];
}

// An integer or float element of an initializer / Constant tensor, wherever it is stored.
inline bool mutate_tensor(Rng& rng, ::onnx::TensorProto& t) {
    using T = ::onnx::TensorProto;
    if (t.dims_size() > 0 && pick(rng, 3) == 0) {
        const int d = static_cast<int>(pick(rng, static_cast<size_t>(t.dims_size())));
        t.set_dims(d, new_int(rng, t.dims(d)));
        return true;
    }
    if (t.int64_data_size() > 0) {
        const int i = static_cast<int>(pick(rng, static_cast<size_t>(t.int64_data_size())));
        t.set_int64_data(i, new_int(rng, t.int64_data(i)));
        return true;
    }
    if (t.int32_data_size() > 0) {
        const int i = static_cast<int>(pick(rng, static_cast<size_t>(t.int32_data_size())));
        t.set_int32_data(i, static_cast<int32_t>(new_int(rng, t.int32_data(i))));
        return true;
    }
    if (t.float_data_size() > 0) {
        t.set_float_data(static_cast<int>(pick(rng, static_cast<size_t>(t.float_data_size()))),
                         new_float(rng));
        return true;
    }
    std::string& raw = *t.mutable_raw_data();
    const size_t elem = t.data_type() == T::INT64                                ? 8
                        : t.data_type() == T::INT32 || t.data_type() == T::FLOAT ? 4
                                                                                 : 0;
    if (elem == 0 || raw.size() < elem) return false;
    const size_t at = pick(rng, raw.size() / elem) * elem;
    if (t.data_type() == T::FLOAT) {
        const float f = new_float(rng);
        std::memcpy(&raw[at], &f, 4);
    } else {
        int64_t v = 0;
        std::memcpy(&v, &raw[at], elem);  // little-endian; an int32 lands in the low half
        v = new_int(rng, elem == 8 ? v : static_cast<int32_t>(v));
        std::memcpy(&raw[at], &v, elem);
    }
    return true;
}

inline bool mutate_dim(Rng& rng, ::onnx::GraphProto& g) {
    std::vector<::onnx::TensorShapeProto*> shapes;
    for (auto* list : {g.mutable_input(), g.mutable_output(), g.mutable_value_info()})
        for (auto& vi : *list)
            if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape())
                shapes.push_back(vi.mutable_type()->mutable_tensor_type()->mutable_shape());
    if (shapes.empty()) return false;
    auto& s = *shapes[pick(rng, shapes.size())];
    if (s.dim_size() == 0 || pick(rng, 8) == 0) {
        s.add_dim()->set_dim_value(new_int(rng, 1));
        return true;
    }
    s.mutable_dim(static_cast<int>(pick(rng, static_cast<size_t>(s.dim_size()))))
        ->set_dim_value(new_int(rng, 1));
    return true;
}

inline bool mutate_attribute(Rng& rng, ::onnx::NodeProto& n) {
    if (n.attribute_size() == 0) return false;
    auto& a = *n.mutable_attribute(static_cast<int>(pick(rng, static_cast<size_t>(n.attribute_size()))));
    if (a.has_t()) return mutate_tensor(rng, *a.mutable_t());
    if (a.ints_size() > 0) {
        const int i = static_cast<int>(pick(rng, static_cast<size_t>(a.ints_size())));
        if (pick(rng, 6) == 0)
            a.add_ints(new_int(rng, 0));
        else
            a.set_ints(i, new_int(rng, a.ints(i)));
        return true;
    }
    if (a.floats_size() > 0) {
        a.set_floats(static_cast<int>(pick(rng, static_cast<size_t>(a.floats_size()))), new_float(rng));
        return true;
    }
    if (a.type() == ::onnx::AttributeProto::FLOAT) {
        a.set_f(new_float(rng));
        return true;
    }
    a.set_i(new_int(rng, a.i()));
    return true;
}

// Every name a node input may refer to: graph inputs, initializers, node outputs.
inline std::vector<std::string> value_names(const ::onnx::GraphProto& g) {
    std::vector<std::string> names;
    for (const auto& i : g.input()) names.push_back(i.name());
    for (const auto& t : g.initializer()) names.push_back(t.name());
    for (const auto& n : g.node())
        for (const auto& o : n.output()) names.push_back(o);
    return names;
}

// One structural mutation; false when the chosen kind does not apply to this model.
inline bool mutate_model(Rng& rng, ::onnx::ModelProto& m) {
    ::onnx::GraphProto& g = *m.mutable_graph();
    const size_t nodes = static_cast<size_t>(g.node_size());
    ::onnx::NodeProto* node = nodes ? g.mutable_node(static_cast<int>(pick(rng, nodes))) : nullptr;
    switch (pick(rng, 10)) {
        case 0:
        case 1:
        case 2:
            return node && mutate_attribute(rng, *node);
        case 3:
            return mutate_dim(rng, g);
        case 4:
        case 5:
            if (g.initializer_size() > 0)
                return mutate_tensor(rng, *g.mutable_initializer(static_cast<int>(
                                              pick(rng, static_cast<size_t>(g.initializer_size())))));
            return node && mutate_attribute(rng, *node);
        case 6: {
            if (!node) return false;
            const auto ops = engine::onnx::op_importers();
            node->set_op_type(std::string(ops[pick(rng, ops.size())].op));
            return true;
        }
        case 7: {
            if (!node || node->input_size() == 0) return false;
            const std::vector<std::string> names = value_names(g);
            node->set_input(
                static_cast<int>(pick(rng, static_cast<size_t>(node->input_size()))),
                names.empty() || pick(rng, 8) == 0 ? std::string() : names[pick(rng, names.size())]);
            return true;
        }
        case 8:
            if (m.opset_import_size() == 0) m.add_opset_import()->set_domain("");
            // the opsets rtdet imports (9..17) and one past each end
            m.mutable_opset_import(0)->set_version(static_cast<int64_t>(8 + pick(rng, 11)));
            return true;
        default:
            if (nodes < 2) return false;
            g.mutable_node()->DeleteSubrange(static_cast<int>(pick(rng, nodes)), 1);
            return true;
    }
}

inline size_t mutate(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
    Rng rng(seed);
    ::onnx::ModelProto m;
    if (pick(rng, 4) == 0 || !m.ParseFromArray(data, static_cast<int>(size)) || !m.has_graph())
        return LLVMFuzzerMutate(data, size, max_size);
    bool changed = false;
    for (size_t k = 1 + pick(rng, 3); k > 0; --k) changed = mutate_model(rng, m) || changed;
    const size_t out = m.ByteSizeLong();
    if (!changed || out > max_size || !m.SerializeToArray(data, static_cast<int>(max_size)))
        return LLVMFuzzerMutate(data, size, max_size);
    return out;
}

}  // namespace onnx_mutator
