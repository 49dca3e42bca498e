// ONNX node conformance: runs ONNX's own node test cases (generated at build time by
// scripts/tools/gen_onnx_conformance.py into <build>/onnx_node_tests/node) for every op the engine supports,
// through the public path: import -> build_plan (device "reference", then "cpu") -> plan bytes ->
// Engine -> ExecutionContext::run, and compares with the case's expected outputs.
//
// Outcomes per case:
//   PASS  every variant matches output_<i>.pb (float: within 1e-5 of max|ref|, at least 1e-6 absolute;
//         integers and bools: exactly; bfloat16: also within one bf16 ulp, see compare()).
//   SKIP  import or build of the first variant threw a clean (one-line) engine::Error: an unsupported
//         feature. The case must be listed in expected_skips.txt, or the case fails, so coverage cannot
//         drop silently; a listed case that passes fails too, so the list stays honest.
//   FAIL  wrong numbers, wrong shapes, a non-engine exception, an error at run time, or a later device
//         rejecting what the first one built. A crash kills the process and fails the case.
//
// Feeding: cases whose op takes only data tensors at run time keep input 0 (and, for elementwise ops
// and Concat, every float input with the same dim 0) as runtime inputs, with max_batch and the import
// batch set to its dim 0; the rest (weights, pads, scales, shapes, axes...) become initializers, as in
// real models. Cases of the import-time constant-chain ops (Shape, Gather, Unsqueeze, Squeeze, Cast) or
// with a non-float32 input are fed entirely as initializers, so the importer folds them (folded outputs
// are also checked right after import); Squeeze/Unsqueeze also run once with a runtime input (they
// import as Reshape then).
//
// Adaptations, each listed in the case's notes in the summary:
//   - plans have float32 outputs by design, so other outputs get an appended Cast to float;
//   - integer data of Pad/MaxPool/Clip (which only move or compare values) is fed as float32;
//   - Softplus and HardSigmoid cases (opsets 1 and 6, below the engine's 9) import at opset 9, where
//     they are unchanged;
//   - onnx 1.12 stores BFLOAT16 test data as UINT16: it is given its declared type;
//   - QuantizeLinear's uint8 output, read through the appended Cast to float, imports as a
//     DequantizeLinear with scale 1 and zero point 0 (the same numbers), which the engine fuses with
//     the QuantizeLinear into one float FakeQuant; DequantizeLinear's uint8 input is not a float32
//     tensor, so it is fed as an initializer and the node folds to a constant at build time.
//
// At the end of a full run, a table (per op, per backend, per skip reason) is printed and every case is
// listed in <build>/conformance_summary.txt ($RTDET_CONFORMANCE_SUMMARY overrides the path).
// $RTDET_CONFORMANCE_DEVICES (default "reference,cpu") picks the devices; $RTDET_ONNX_NODE_TESTS the
// data; $RTDET_CONFORMANCE_DUMP=<dir> writes each rewritten model there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/builder/builder.h"
#include "engine/core/error.h"
#include "engine/onnx/importer.h"
#include "engine/runtime/runtime.h"
#include "tests/engine/conformance/tensor_proto.h"

namespace conformance {
namespace {

namespace fs = std::filesystem;

// Test-name prefixes (after "test_") of the ops the engine supports, with the ONNX op they test; a
// case is selected when its name is test_<prefix> or test_<prefix>_... (the longest prefix wins).
struct Selection {
    const char* prefix;
    const char* op;
};
constexpr Selection kSelection[] = {
    {"conv", "Conv"},
    {"basic_conv", "Conv"},
    {"batchnorm", "BatchNormalization"},
    {"relu", "Relu"},
    {"leakyrelu", "LeakyRelu"},
    {"sigmoid", "Sigmoid"},
    {"tanh", "Tanh"},
    {"softplus", "Softplus"},
    {"mul", "Mul"},
    {"add", "Add"},
    {"sub", "Sub"},
    {"div", "Div"},
    {"concat", "Concat"},
    {"resize", "Resize"},
    {"upsample", "Upsample"},
    {"maxpool", "MaxPool"},
    {"reshape", "Reshape"},
    {"transpose", "Transpose"},
    {"slice", "Slice"},
    {"split", "Split"},
    {"softmax", "Softmax"},
    {"identity", "Identity"},
    {"dropout", "Dropout"},
    {"training_dropout", "Dropout"},
    {"constant", "Constant"},
    {"pad", "Pad"},
    {"constant_pad", "Pad"},
    {"edge_pad", "Pad"},
    {"reflect_pad", "Pad"},
    {"clip", "Clip"},
    {"hardsigmoid", "HardSigmoid"},
    {"shape", "Shape"},
    {"gather", "Gather"},
    {"unsqueeze", "Unsqueeze"},
    {"squeeze", "Squeeze"},
    {"cast", "Cast"},
    {"flatten", "Flatten"},
    {"quantizelinear", "QuantizeLinear"},
    {"dequantizelinear", "DequantizeLinear"},
};
// Other ops that share a prefix above (GatherElements is not Gather).
constexpr const char* kExcludedPrefixes[] = {"gather_elements"};
// Function-expansion variants test other ops (ReduceMax, Exp, ...), not the named one.
constexpr const char* kExcludedSuffix = "_expanded";

// Ops the engine evaluates only as import-time constant chains.
const std::set<std::string> kConstChainOps = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Cast"};
// Ops whose second-and-later float inputs are data (not parameters) and stay runtime inputs.
const std::set<std::string> kDataInputOps = {"Add", "Sub", "Mul", "Div", "Concat"};
// Ops that, besides being folded, also run with input 0 at run time.
const std::set<std::string> kAlsoRuntimeOps = {"Unsqueeze", "Squeeze"};

constexpr double kRelTol = 1e-5;
constexpr double kAbsTol = 1e-6;
constexpr double kBf16Ulp = 1.0 / 128;  // relative spacing of bfloat16 values (7 stored mantissa bits)

fs::path data_root() {
    if (const char* env = std::getenv("RTDET_ONNX_NODE_TESTS"); env != nullptr && *env != '\0') return env;
    return RTDET_ONNX_NODE_TESTS_DEFAULT;
}

// The ONNX op a case tests ("" when not selected).
std::string op_of_case(const std::string& name) {
    const std::string head = "test_";
    if (name.rfind(head, 0) != 0) return "";
    if (name.ends_with(kExcludedSuffix)) return "";
    auto matches = [&](const std::string& prefix) {
        const std::string p = head + prefix;
        return name.rfind(p, 0) == 0 && (name.size() == p.size() || name[p.size()] == '_');
    };
    for (const char* ex : kExcludedPrefixes)
        if (matches(ex)) return "";
    const Selection* best = nullptr;
    for (const Selection& sel : kSelection)
        if (matches(sel.prefix) && (best == nullptr || std::strlen(sel.prefix) > std::strlen(best->prefix)))
            best = &sel;
    return best != nullptr ? best->op : "";
}

std::vector<std::string> list_cases() {
    std::vector<std::string> out;
    std::error_code ec;
    const fs::path root = data_root();
    if (!fs::is_directory(root, ec)) return out;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
        const std::string name = entry.path().filename().string();
        if (entry.is_directory() && !op_of_case(name).empty() && fs::exists(entry.path() / "model.onnx"))
            out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

const std::vector<std::string>& all_cases() {
    static const std::vector<std::string> cases = list_cases();
    return cases;
}

// expected_skips.txt: "<case name> <short reason>" per line, '#' comments.
struct SkipList {
    std::map<std::string, std::string> reasons;
    std::string error;  // non-empty when the file is unreadable or malformed
};

const SkipList& expected_skips() {
    static const SkipList list = [] {
        SkipList l;
        std::ifstream in(RTDET_CONFORMANCE_SKIPS);
        if (!in) {
            l.error = std::string("cannot open ") + RTDET_CONFORMANCE_SKIPS;
            return l;
        }
        std::string line;
        int line_no = 0;
        while (std::getline(in, line)) {
            ++line_no;
            const size_t hash = line.find('#');
            if (hash != std::string::npos) line.resize(hash);
            std::istringstream ls(line);
            std::string name;
            if (!(ls >> name)) continue;
            std::string reason;
            std::getline(ls >> std::ws, reason);
            while (!reason.empty() && std::isspace(static_cast<unsigned char>(reason.back())))
                reason.pop_back();
            if (reason.empty() || l.reasons.count(name) != 0) {
                l.error += engine::concat(RTDET_CONFORMANCE_SKIPS, ":", line_no, ": ",
                                          reason.empty() ? "no reason for " : "duplicate ", name, "; ");
                continue;
            }
            l.reasons[name] = reason;
        }
        return l;
    }();
    return list;
}

// ---------------------------------------------------------------------------------------------------
// Outcomes, collected for the summary.

struct Outcome {
    enum Kind { kPass, kSkip, kFail } kind = kPass;
    std::string detail;              // skip reason (engine message) or failure description
    std::string notes;               // how the case was adapted or what was checked, "; "-joined
    std::set<std::string> backends;  // "<device>:<backend>" of every plan layer that ran
};

std::map<std::string, Outcome>& recorded() {
    static std::map<std::string, Outcome> outcomes;
    return outcomes;
}

// ---------------------------------------------------------------------------------------------------
// Values of any engine tensor as doubles / int64, decoded here (not by engine code under test).

double half_bits_to_double(uint16_t h) {
    const int sign = (h & 0x8000) != 0 ? -1 : 1;
    const int exp = (h >> 10) & 0x1f;
    const int mant = h & 0x3ff;
    if (exp == 0) return sign * std::ldexp(static_cast<double>(mant), -24);
    if (exp == 31) return mant == 0 ? sign * INFINITY : NAN;
    return sign * std::ldexp(static_cast<double>(mant | 0x400), exp - 25);
}

double bf16_bits_to_double(uint16_t h) {
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

std::vector<double> values_of(const engine::Tensor& t) {
    std::vector<double> v(static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < v.size(); ++i) {
        switch (t.dtype()) {
            case engine::DataType::F32:
                v[i] = t.data_as<float>()[i];
                break;
            case engine::DataType::F64:
                v[i] = t.data_as<double>()[i];
                break;
            case engine::DataType::F16:
                v[i] = half_bits_to_double(t.data_as<uint16_t>()[i]);
                break;
            case engine::DataType::BF16:
                v[i] = bf16_bits_to_double(t.data_as<uint16_t>()[i]);
                break;
            case engine::DataType::I64:
                v[i] = static_cast<double>(t.data_as<int64_t>()[i]);
                break;
            case engine::DataType::I32:
                v[i] = t.data_as<int32_t>()[i];
                break;
            case engine::DataType::I8:
                v[i] = t.data_as<int8_t>()[i];
                break;
            case engine::DataType::U8:
                v[i] = t.data_as<uint8_t>()[i];
                break;
            case engine::DataType::Bool:
                v[i] = t.data_as<uint8_t>()[i] != 0 ? 1 : 0;
                break;
        }
    }
    return v;
}

// Empty when `got` matches `want`; otherwise what differs.
std::string compare(const engine::Tensor& got, const engine::Tensor& want) {
    if (got.shape() != want.shape())
        return engine::concat("shape ", engine::shape_str(got.shape()), " (", engine::dtype_name(got.dtype()),
                              "), expected ", engine::shape_str(want.shape()), " (",
                              engine::dtype_name(want.dtype()), ")");
    const std::vector<double> g = values_of(got);
    const std::vector<double> w = values_of(want);
    if (!engine::is_float(want.dtype())) {
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < w.size(); ++i)
            if (g[i] != w[i] && bad++ == 0) first = i;
        if (bad == 0) return "";
        return engine::concat(bad, " of ", w.size(), " ", engine::dtype_name(want.dtype()),
                              " values differ (exact compare); first at ", first, ": ", g[first],
                              " vs expected ", w[first]);
    }
    double ref_max = 0;
    for (double x : w)
        if (std::isfinite(x)) ref_max = std::max(ref_max, std::fabs(x));
    const double tol = std::max(kRelTol * ref_max, kAbsTol);
    // bfloat16 expectations allow one bf16 ulp per value: onnx 1.12's data truncates float32 to
    // bfloat16, while the spec (from onnx 1.14 on) and the engine round to nearest even.
    const bool bf16 = want.dtype() == engine::DataType::BF16;
    size_t bad = 0, worst = 0;
    double worst_excess = -INFINITY;  // err - allowed error, over the values
    for (size_t i = 0; i < w.size(); ++i) {
        const double allowed = bf16 ? std::max(tol, std::fabs(w[i]) * kBf16Ulp) : tol;
        double err;
        if (std::isnan(w[i]) || std::isnan(g[i]))
            err = std::isnan(w[i]) && std::isnan(g[i]) ? 0 : INFINITY;
        else if (std::isinf(w[i]) || std::isinf(g[i]))
            err = w[i] == g[i] ? 0 : INFINITY;
        else
            err = std::fabs(g[i] - w[i]);
        if (err > allowed) ++bad;
        if (err - allowed > worst_excess) {
            worst_excess = err - allowed;
            worst = i;
        }
    }
    if (bad == 0) return "";
    return engine::concat(bad, " of ", w.size(), " values off by more than ", tol, " (1e-5 of max|ref| ",
                          ref_max, bf16 ? ", or one bf16 ulp" : "", "); worst at ", worst, ": ", g[worst],
                          " vs expected ", w[worst], " (err ", std::fabs(g[worst] - w[worst]), ")");
}

// ---------------------------------------------------------------------------------------------------
// One case: its model and data, and how it is fed.

struct DataSet {
    std::vector<onnx::TensorProto> inputs;                // one per fed graph input, in order
    std::vector<std::optional<engine::Tensor>> expected;  // one per graph output; empty when undecodable
    std::vector<std::string> expected_errors;             // why an expected output is empty
};

struct Case {
    std::string name;
    onnx::ModelProto model;
    std::vector<int> feed_inputs;  // indexes into graph.input() of the non-initializer inputs
    bool tensors_only = true;      // every graph input and output is a tensor
    std::vector<std::string> ops;  // op types of the graph's nodes
    std::vector<DataSet> data_sets;
};

int declared_elem_type(const onnx::ValueInfoProto& vi) { return vi.type().tensor_type().elem_type(); }

// onnx 1.12 writes BFLOAT16 test data as UINT16 tensors of the same bits; give them their declared type.
void fix_bf16_quirk(onnx::TensorProto& t, int declared) {
    if (declared == onnx::TensorProto::BFLOAT16 && t.data_type() == onnx::TensorProto::UINT16)
        t.set_data_type(onnx::TensorProto::BFLOAT16);
}

Case load_case(const std::string& name) {
    const fs::path dir = data_root() / name;
    Case c;
    c.name = name;
    c.model = read_model_proto((dir / "model.onnx").string());
    const onnx::GraphProto& g = c.model.graph();
    std::set<std::string> initializers;
    for (const auto& init : g.initializer()) initializers.insert(init.name());
    for (int i = 0; i < g.input_size(); ++i) {
        if (initializers.count(g.input(i).name()) != 0) continue;
        c.feed_inputs.push_back(i);
        if (!g.input(i).type().has_tensor_type()) c.tensors_only = false;
    }
    for (const auto& o : g.output())
        if (!o.type().has_tensor_type()) c.tensors_only = false;
    for (const auto& n : g.node()) c.ops.push_back(n.op_type());

    std::vector<fs::path> set_dirs;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
            set_dirs.push_back(entry.path());
    std::sort(set_dirs.begin(), set_dirs.end());
    ENGINE_CHECK(!set_dirs.empty(), dir.string(), ": no test_data_set_*");
    if (!c.tensors_only) return c;  // sequence/optional data cannot be read as tensors
    for (const fs::path& sd : set_dirs) {
        DataSet ds;
        for (size_t i = 0; i < c.feed_inputs.size(); ++i) {
            ds.inputs.push_back(read_tensor_proto((sd / engine::concat("input_", i, ".pb")).string()));
            fix_bf16_quirk(ds.inputs.back(), declared_elem_type(g.input(c.feed_inputs[i])));
        }
        for (int i = 0; i < g.output_size(); ++i) {
            const std::string path = (sd / engine::concat("output_", i, ".pb")).string();
            onnx::TensorProto proto = read_tensor_proto(path);
            fix_bf16_quirk(proto, declared_elem_type(g.output(i)));
            try {
                ds.expected.emplace_back(tensor_from_proto(proto, path));
                ds.expected_errors.emplace_back();
            } catch (const engine::Error& e) {  // a STRING output, say: only fatal if the engine builds it
                ds.expected.emplace_back();
                ds.expected_errors.emplace_back(e.what());
            }
        }
        c.data_sets.push_back(std::move(ds));
    }
    return c;
}

enum class Feed { kRuntime, kFolded };

bool all_ops_in(const Case& c, const std::set<std::string>& ops) {
    return std::all_of(c.ops.begin(), c.ops.end(), [&](const std::string& op) { return ops.count(op) != 0; });
}

std::vector<Feed> feeds_of(const Case& c) {
    bool const_chain = false, also_runtime = false;
    for (const std::string& op : c.ops) {
        const_chain = const_chain || kConstChainOps.count(op) != 0;
        also_runtime = also_runtime || kAlsoRuntimeOps.count(op) != 0;
    }
    if (!const_chain) return {Feed::kRuntime};  // falls back to all-initializers when input 0 cannot run
    if (also_runtime) return {Feed::kFolded, Feed::kRuntime};
    return {Feed::kFolded};
}

// Which inputs stay runtime inputs under `feed`.
std::vector<bool> runtime_mask(const Case& c, const std::vector<onnx::TensorProto>& inputs, Feed feed) {
    std::vector<bool> mask(inputs.size(), false);
    if (feed == Feed::kFolded || inputs.empty()) return mask;
    auto runnable = [](const onnx::TensorProto& t) {
        return t.data_type() == onnx::TensorProto::FLOAT && t.dims_size() >= 1 && t.dims(0) >= 1;
    };
    if (!runnable(inputs[0])) return mask;
    mask[0] = true;
    if (all_ops_in(c, kDataInputOps))
        for (size_t i = 1; i < inputs.size(); ++i)
            mask[i] = runnable(inputs[i]) && inputs[i].dims(0) == inputs[0].dims(0);
    return mask;
}

// Integer data of these ops is fed as float: they only move or compare values, so float32 (exact for
// these small integers) tests the same semantics (edge/reflect padding, pooling, clipping) on the
// engine's float32-only kernels.
const std::set<std::string> kDtypeAgnosticOps = {"Pad", "MaxPool", "Clip"};
constexpr int kIntAsFloatTypes[] = {onnx::TensorProto::INT8, onnx::TensorProto::UINT8,
                                    onnx::TensorProto::INT32};
// Ops whose only definition up to opset 9 is the one of their case's opset (Softplus: 1, HardSigmoid:
// 6): their cases import at opset 9.
const std::set<std::string> kUnchangedSinceOpset1 = {"Softplus", "HardSigmoid"};
constexpr int kMinEngineOpset = 9;

onnx::TensorProto int_to_float_proto(const onnx::TensorProto& t, const std::string& source) {
    const engine::Tensor decoded = tensor_from_proto(t, source);
    const std::vector<double> values = values_of(decoded);
    onnx::TensorProto out;
    out.set_name(t.name());
    out.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : t.dims()) out.add_dims(d);
    for (double v : values) {
        ENGINE_CHECK(std::fabs(v) <= 16777216.0, source, ": value ", v, " is not exact in float32");
        out.add_float_data(static_cast<float>(v));
    }
    return out;
}

// The model and runtime inputs of one variant: adaptations applied, masked-out inputs moved into
// initializers holding the data set's values.
struct Prepared {
    onnx::ModelProto model;
    std::vector<engine::Tensor> inputs;
    int batch = 0;  // dim 0 of the runtime inputs; 0 when everything is an initializer
    std::string label;
};

Prepared prepare(const Case& c, const DataSet& ds, Feed feed, std::set<std::string>& notes) {
    Prepared p;
    p.model = c.model;
    onnx::GraphProto* g = p.model.mutable_graph();
    std::vector<onnx::TensorProto> inputs = ds.inputs;

    const int int_type = inputs.empty() ? 0 : inputs[0].data_type();
    if (all_ops_in(c, kDtypeAgnosticOps) &&
        std::find(std::begin(kIntAsFloatTypes), std::end(kIntAsFloatTypes), int_type) !=
            std::end(kIntAsFloatTypes)) {
        for (size_t i = 0; i < inputs.size(); ++i) {
            if (inputs[i].data_type() != int_type) continue;
            inputs[i] = int_to_float_proto(inputs[i], engine::concat(c.name, " input_", i));
            g->mutable_input(c.feed_inputs[i])
                ->mutable_type()
                ->mutable_tensor_type()
                ->set_elem_type(onnx::TensorProto::FLOAT);
        }
        notes.insert(onnx_dtype_name(int_type) + " data fed as float32");
    }

    for (auto& imp : *p.model.mutable_opset_import()) {
        if ((imp.domain().empty() || imp.domain() == "ai.onnx") && imp.version() < kMinEngineOpset &&
            all_ops_in(c, kUnchangedSinceOpset1)) {
            notes.insert(
                engine::concat("opset ", imp.version(), " imported as ", kMinEngineOpset, " (op unchanged)"));
            imp.set_version(kMinEngineOpset);
        }
    }

    const std::vector<bool> mask = runtime_mask(c, inputs, feed);
    std::set<int> drop;
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (mask[i]) {
            p.inputs.push_back(tensor_from_proto(inputs[i], engine::concat(c.name, " input_", i)));
            if (p.batch == 0) p.batch = static_cast<int>(p.inputs.back().shape()[0]);
            continue;
        }
        const int gi = c.feed_inputs[i];
        onnx::TensorProto* init = g->add_initializer();
        *init = inputs[i];
        init->set_name(g->input(gi).name());
        drop.insert(gi);
    }
    if (!drop.empty()) {
        google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
        for (int i = 0; i < g->input_size(); ++i)
            if (drop.count(i) == 0) *kept.Add() = g->input(i);
        g->mutable_input()->Swap(&kept);
        // IR < 4 wanted every initializer listed as an input too; from 4 on they may stand alone.
        if (p.model.ir_version() < 4) p.model.set_ir_version(4);
    }
    p.label = p.inputs.empty() ? "inputs as initializers" : "runtime input";

    // Plans have float32 outputs only (by design), so other outputs are read through an appended Cast to
    // float and compared as their expected type says (see compare()).
    for (int i = 0; i < g->output_size(); ++i) {
        onnx::ValueInfoProto* out = g->mutable_output(i);
        const int dtype = declared_elem_type(*out);
        if (dtype == onnx::TensorProto::FLOAT || dtype == onnx::TensorProto::STRING ||
            dtype == onnx::TensorProto::UNDEFINED)
            continue;
        onnx::NodeProto* cast = g->add_node();
        cast->set_op_type("Cast");
        cast->set_name(engine::concat("rtdet_conformance_cast_", i));
        cast->add_input(out->name());
        cast->add_output(out->name() + "_as_float");
        onnx::AttributeProto* to = cast->add_attribute();
        to->set_name("to");
        to->set_type(onnx::AttributeProto::INT);
        to->set_i(onnx::TensorProto::FLOAT);
        out->set_name(cast->output(0));
        out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
        notes.insert(onnx_dtype_name(dtype) + " output read through an appended Cast to float");
    }
    return p;
}

bool clean_message(const std::string& msg) { return !msg.empty() && msg.find('\n') == std::string::npos; }

// Raised inside run_case to end the case with an outcome.
struct CaseEnd {
    Outcome outcome;
};

[[noreturn]] void end_case(Outcome::Kind kind, std::string detail) {
    CaseEnd end;
    end.outcome.kind = kind;
    end.outcome.detail = std::move(detail);
    throw end;
}

[[noreturn]] void fail(std::string detail) { end_case(Outcome::kFail, std::move(detail)); }

// Runs `fn`; an engine::Error becomes a skip when `may_skip` (and its message is one clean line),
// otherwise a failure; any other exception is a failure.
template <typename Fn>
auto guarded(const std::string& stage, bool may_skip, Fn&& fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (const CaseEnd&) {
        throw;
    } catch (const engine::Error& e) {
        const std::string msg = e.what();
        if (may_skip && clean_message(msg)) end_case(Outcome::kSkip, stage + ": " + msg);
        fail(engine::concat(stage, " threw engine::Error", may_skip ? " with a malformed message" : "", ": ",
                            msg));
    } catch (const std::exception& e) {
        fail(engine::concat(stage, " threw a non-engine exception: ", e.what()));
    }
}

// Sample 0 of a tensor whose dim 0 is the batch.
engine::Tensor first_sample(const engine::Tensor& t) {
    engine::Shape shape = t.shape();
    const size_t bytes = shape[0] > 0 ? t.bytes() / static_cast<size_t>(shape[0]) : 0;
    shape[0] = 1;
    return engine::Tensor::from_bytes(t.dtype(), shape, t.data(), bytes);
}

// Empty when `got` matches expected output i of the data set.
std::string compare_expected(const engine::Tensor& got, const DataSet& ds, size_t i) {
    if (!ds.expected[i]) return "the driver cannot read the expected output: " + ds.expected_errors[i];
    return compare(got, *ds.expected[i]);
}

// Devices to build for, in order (the first may skip; the others must then build too):
// $RTDET_CONFORMANCE_DEVICES (comma-separated, e.g. "reference,cpu,cuda") or reference and cpu.
std::vector<std::string> devices() {
    std::vector<std::string> out;
    const char* env = std::getenv("RTDET_CONFORMANCE_DEVICES");
    std::istringstream in(env != nullptr && *env != '\0' ? env : "reference,cpu");
    for (std::string d; std::getline(in, d, ',');)
        if (!d.empty()) out.push_back(d);
    return out;
}

void run_variant(const Case& c, const DataSet& ds, Feed feed, bool first_variant,
                 std::set<std::string>& notes, std::set<std::string>& backends) {
    const Prepared p = guarded("prepare", false, [&] { return prepare(c, ds, feed, notes); });
    std::string bytes;
    ENGINE_CHECK(p.model.SerializeToString(&bytes), c.name, ": cannot serialize the rewritten model");
    if (const char* dump = std::getenv("RTDET_CONFORMANCE_DUMP"); dump != nullptr && *dump != '\0') {
        // Debugging aid: the model exactly as imported, <dir>/<case>.<feed>.onnx.
        std::ofstream(
            fs::path(dump) / engine::concat(c.name, feed == Feed::kRuntime ? ".runtime" : ".folded", ".onnx"),
            std::ios::binary)
            << bytes;
    }

    engine::onnx::ImportOptions import_options;
    import_options.batch = p.batch;
    const std::string where = " (" + p.label + ")";
    engine::Graph graph = guarded("import" + where, first_variant, [&] {
        return engine::onnx::import_bytes(bytes.data(), bytes.size(), c.name, import_options);
    });

    // Outputs the importer folded to constants are checked right here (the const-eval path).
    const auto& outs = graph.outputs();
    if (outs.size() != ds.expected.size())
        fail(engine::concat("import", where, ": ", outs.size(), " graph outputs, expected ",
                            ds.expected.size()));
    bool folded = false;
    for (size_t i = 0; i < outs.size(); ++i) {
        if (!graph.is_constant(outs[i])) continue;
        const std::string diff = compare_expected(graph.constant(outs[i]), ds, i);
        if (!diff.empty()) fail(engine::concat("import", where, ", folded output ", i, ": ", diff));
        folded = true;
    }
    if (folded) notes.insert("outputs folded at import and matched");

    const std::vector<std::string> device_list = devices();
    for (const std::string& device : device_list) {
        const bool may_skip = first_variant && device == device_list.front();
        const std::string stage = engine::concat("build device=", device, where);
        engine::BuildOptions options;
        options.device = device;
        options.max_batch = std::max(p.batch, 1);
        options.threads = 1;
        const engine::Plan plan = guarded(stage, may_skip, [&] {
            engine::Plan built = engine::build_plan(graph, options, c.name, "");
            // Through the serialized form, as a saved plan would be loaded.
            return engine::Plan::from_bytes(built.bytes(), c.name);
        });
        for (const engine::LayerInfo& layer : plan.info().layers)
            backends.insert(device + ":" + layer.backend);
        std::shared_ptr<engine::Engine> eng;
        std::unique_ptr<engine::ExecutionContext> ctx;
        std::vector<engine::Tensor> got = guarded("run device=" + device + where, false, [&] {
            eng = engine::Engine::load(plan);
            ctx = eng->create_context(1);
            return ctx->run(p.inputs);
        });
        if (got.size() != ds.expected.size())
            fail(engine::concat("device=", device, where, ": ", got.size(), " outputs, expected ",
                                ds.expected.size()));
        for (size_t i = 0; i < got.size(); ++i) {
            const std::string diff = compare_expected(got[i], ds, i);
            if (!diff.empty()) fail(engine::concat("device=", device, where, ", output ", i, ": ", diff));
        }

        // A plan that says it runs below max_batch claims dim 0 is a batch of independent samples: the
        // first sample alone must give the first sample of every batched output.
        const engine::PlanInfo& info = plan.info();
        if (info.fixed_batch || p.batch <= 1) continue;
        std::vector<engine::Tensor> first_inputs;
        for (size_t i = 0; i < p.inputs.size(); ++i)
            first_inputs.push_back(info.inputs.at(i).batched ? first_sample(p.inputs[i]) : p.inputs[i]);
        const std::string stage1 = engine::concat("run device=", device, where, " at batch 1 of ", p.batch);
        const std::vector<engine::Tensor> got1 =
            guarded(stage1, false, [&] { return ctx->run(first_inputs); });
        for (size_t i = 0; i < got1.size() && i < ds.expected.size(); ++i) {
            if (!ds.expected[i]) continue;
            const engine::Tensor& want = *ds.expected[i];
            const bool batched = info.outputs.at(i).batched;
            if (batched && (want.shape().empty() || want.shape()[0] != p.batch))
                fail(engine::concat(stage1, ": output ", i, " is marked batched but its expected shape is ",
                                    engine::shape_str(want.shape())));
            const std::string diff = compare(got1[i], batched ? first_sample(want) : want);
            if (!diff.empty()) fail(engine::concat(stage1, ", output ", i, ": ", diff));
        }
        notes.insert("batch-1 run matched (plan not fixed-batch)");
    }
}

std::string join(const std::set<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += (out.empty() ? "" : "; ") + s;
    return out;
}

Outcome run_case(const std::string& name) {
    std::set<std::string> notes, backends;
    Outcome outcome;
    try {
        const Case c = guarded("load case data", false, [&] { return load_case(name); });
        if (!c.tensors_only) {
            // Sequence / optional values: the importer must reject the model cleanly.
            std::string bytes;
            c.model.SerializeToString(&bytes);
            guarded("import", true,
                    [&] { return engine::onnx::import_bytes(bytes.data(), bytes.size(), name); });
            fail("import accepted a model with non-tensor inputs or outputs");
        }
        bool first = true;
        for (const DataSet& ds : c.data_sets) {
            for (Feed feed : feeds_of(c)) {
                run_variant(c, ds, feed, first, notes, backends);
                first = false;
            }
        }
    } catch (const CaseEnd& end) {
        outcome = end.outcome;
    }
    outcome.notes = join(notes);
    outcome.backends = std::move(backends);
    return outcome;
}

// ---------------------------------------------------------------------------------------------------
// The parameterized suite: one instance per selected case.

class OnnxNode : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxNode, Run) {
    const std::string& name = GetParam();
    Outcome outcome = run_case(name);
    const SkipList& skips = expected_skips();
    const auto listed = skips.reasons.find(name);
    const bool is_listed = listed != skips.reasons.end();
    if (outcome.kind == Outcome::kSkip && !is_listed) {
        outcome.kind = Outcome::kFail;
        outcome.detail = "unexpected skip (add it to expected_skips.txt if intended): " + outcome.detail;
    } else if (outcome.kind == Outcome::kPass && is_listed) {
        outcome.kind = Outcome::kFail;
        outcome.detail = "passes but is listed in expected_skips.txt (\"" + listed->second + "\"): remove it";
    }
    recorded()[name] = outcome;
    if (!outcome.notes.empty()) std::printf("[ notes    ] %s\n", outcome.notes.c_str());
    switch (outcome.kind) {
        case Outcome::kPass:
            break;
        case Outcome::kSkip:
            GTEST_SKIP() << "[" << listed->second << "] " << outcome.detail;
        case Outcome::kFail:
            FAIL() << outcome.detail;
    }
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
    std::string s = info.param;
    for (char& ch : s)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return s;
}

INSTANTIATE_TEST_SUITE_P(Conformance, OnnxNode, ::testing::ValuesIn(all_cases()), param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxNode);  // no data: ConformanceData.Present fails instead

TEST(ConformanceData, Present) {
    ASSERT_FALSE(all_cases().empty()) << "no selected ONNX node cases under " << data_root()
                                      << " (built by the onnx_node_tests_data target, "
                                         "scripts/tools/gen_onnx_conformance.py)";
    // Every supported op has cases; an op without any means the selection or the data broke.
    std::map<std::string, int> per_op;
    for (const std::string& name : all_cases()) ++per_op[op_of_case(name)];
    for (const Selection& sel : kSelection) EXPECT_GT(per_op[sel.op], 0) << "no cases for op " << sel.op;
}

TEST(ConformanceData, SkipListNamesSelectedCases) {
    const SkipList& skips = expected_skips();
    ASSERT_TRUE(skips.error.empty()) << skips.error;
    const std::set<std::string> cases(all_cases().begin(), all_cases().end());
    for (const auto& [name, reason] : skips.reasons)
        EXPECT_TRUE(cases.count(name) != 0)
            << "expected_skips.txt lists " << name << ", which is not a selected case (renamed or dropped?)";
}

TEST(ConformanceSelection, PrefixRules) {
    EXPECT_EQ(op_of_case("test_conv_with_strides_padding"), "Conv");
    EXPECT_EQ(op_of_case("test_basic_conv_with_padding"), "Conv");
    EXPECT_EQ(op_of_case("test_relu"), "Relu");
    EXPECT_EQ(op_of_case("test_constant"), "Constant");
    EXPECT_EQ(op_of_case("test_constant_pad"), "Pad");
    EXPECT_EQ(op_of_case("test_training_dropout_mask"), "Dropout");
    EXPECT_EQ(op_of_case("test_convinteger_with_padding"), "");
    EXPECT_EQ(op_of_case("test_convtranspose"), "");
    EXPECT_EQ(op_of_case("test_castlike_FLOAT_to_DOUBLE"), "");
    EXPECT_EQ(op_of_case("test_constantofshape_int_zeros"), "");
    EXPECT_EQ(op_of_case("test_gather_elements_0"), "");
    EXPECT_EQ(op_of_case("test_gathernd_example_int32"), "");
    EXPECT_EQ(op_of_case("test_softmax_axis_0_expanded"), "");
    EXPECT_EQ(op_of_case("test_adagrad"), "");
    EXPECT_EQ(op_of_case("test_quantizelinear_axis"), "QuantizeLinear");
    EXPECT_EQ(op_of_case("test_dequantizelinear"), "DequantizeLinear");
    EXPECT_EQ(op_of_case("test_dynamicquantizelinear"), "");
}

TEST(ConformanceCompare, ToleranceAndExactness) {
    const engine::Tensor ref = engine::Tensor::from_f32({3}, std::vector<float>{100.f, -2.f, 0.f});
    EXPECT_EQ(compare(engine::Tensor::from_f32({3}, std::vector<float>{100.0005f, -2.f, 0.f}), ref), "");
    EXPECT_NE(compare(engine::Tensor::from_f32({3}, std::vector<float>{100.f, -2.f, 0.01f}), ref), "");
    EXPECT_NE(compare(engine::Tensor::from_f32({1, 3}, std::vector<float>{100.f, -2.f, 0.f}), ref), "");
    const engine::Tensor nan_ref = engine::Tensor::from_f32({2}, std::vector<float>{NAN, 1.f});
    EXPECT_EQ(compare(engine::Tensor::from_f32({2}, std::vector<float>{NAN, 1.f}), nan_ref), "");
    EXPECT_NE(compare(engine::Tensor::from_f32({2}, std::vector<float>{0.f, 1.f}), nan_ref), "");
    const engine::Tensor iref = engine::Tensor::from_i64({2}, std::vector<int64_t>{3, -4});
    EXPECT_EQ(compare(engine::Tensor::from_f32({2}, std::vector<float>{3.f, -4.f}), iref), "");
    EXPECT_NE(compare(engine::Tensor::from_i64({2}, std::vector<int64_t>{3, -5}), iref), "");
}

// ---------------------------------------------------------------------------------------------------
// The summary, after the last test.

class SummaryEnvironment : public ::testing::Environment {
  public:
    void TearDown() override {
        const auto& outcomes = recorded();
        if (outcomes.empty()) return;
        const SkipList& skips = expected_skips();
        size_t passed = 0, skipped = 0, failed = 0;
        std::map<std::string, int> by_reason;
        struct OpCount {
            int cases = 0, pass = 0, skip = 0, fail = 0;
        };
        std::map<std::string, OpCount> by_op;
        std::map<std::string, int> by_backend;  // cases with a plan layer on "<device>:<backend>"
        for (const auto& [name, o] : outcomes) {
            for (const std::string& b : o.backends) ++by_backend[b];
            OpCount& oc = by_op[op_of_case(name)];
            ++oc.cases;
            if (o.kind == Outcome::kPass) {
                ++passed;
                ++oc.pass;
            } else if (o.kind == Outcome::kSkip) {
                ++skipped;
                ++oc.skip;
                ++by_reason[skips.reasons.at(name)];
            } else {
                ++failed;
                ++oc.fail;
            }
        }
        std::ostringstream table;
        table << "ONNX node conformance (" << stamp() << "): ran " << outcomes.size() << ", passed " << passed
              << ", skipped " << skipped << ", failed " << failed << "\n";
        table << "  per op:                cases  pass  skip  fail\n";
        for (const auto& [op, oc] : by_op) {
            char line[128];
            std::snprintf(line, sizeof line, "    %-20s %6d %5d %5d %5d\n", op.c_str(), oc.cases, oc.pass,
                          oc.skip, oc.fail);
            table << line;
        }
        table << "  cases with plan layers on (device:backend):";
        for (const auto& [b, n] : by_backend) table << " " << b << " " << n << ";";
        table << " (fully folded cases have no layers)\n";
        if (!by_reason.empty()) {
            table << "  skipped by reason:\n";
            std::vector<std::pair<int, std::string>> sorted;
            for (const auto& [reason, n] : by_reason) sorted.emplace_back(-n, reason);
            std::sort(sorted.begin(), sorted.end());
            for (const auto& [neg_n, reason] : sorted) table << "    " << -neg_n << "  " << reason << "\n";
        }
        std::printf("\n%s", table.str().c_str());

        // The file lists every case, so only a run that covered them all writes it.
        if (outcomes.size() != all_cases().size()) return;
        const char* env = std::getenv("RTDET_CONFORMANCE_SUMMARY");
        const std::string path = env != nullptr && *env != '\0' ? env : RTDET_CONFORMANCE_SUMMARY_DEFAULT;
        std::ofstream out(path);
        if (!out) {
            std::printf("cannot write %s\n", path.c_str());
            return;
        }
        out << table.str() << "\n";
        for (const auto& [name, o] : outcomes) {
            if (o.kind == Outcome::kPass)
                out << "PASS  " << name;
            else if (o.kind == Outcome::kSkip)
                out << "SKIP  " << name << "  [" << skips.reasons.at(name) << "]  " << o.detail;
            else
                out << "FAIL  " << name << "  " << o.detail;
            if (!o.notes.empty()) out << "  {" << o.notes << "}";
            out << "\n";
        }
        std::printf("case list written to %s\n", path.c_str());
    }

  private:
    static std::string stamp() {
        std::ifstream in(data_root() / ".rtdet_stamp");
        std::string line;
        if (!std::getline(in, line)) line = "onnx version unknown";
        return line + ", " + data_root().string();
    }
};

const ::testing::Environment* const kSummaryEnvironment =
    ::testing::AddGlobalTestEnvironment(new SummaryEnvironment);

}  // namespace
}  // namespace conformance
