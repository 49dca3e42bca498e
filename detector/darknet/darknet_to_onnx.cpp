#include "detector/darknet/darknet_to_onnx.h"

#include <onnx/onnx_pb.h>

#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <span>
#include <sstream>

#include "engine/core/checked.h"
#include "engine/core/error.h"

namespace detector {
namespace {

constexpr int64_t kOpset = 13;
constexpr int64_t kIrVersion = 7;

std::string fmt_float(float v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

// Adds nodes and initializers to one GraphProto.
class GraphWriter {
  public:
    explicit GraphWriter(onnx::GraphProto& graph) : graph_(graph) {}

    onnx::NodeProto& node(const std::string& op, const std::string& name,
                          std::initializer_list<std::string> inputs, const std::string& output) {
        return node(op, name, std::vector<std::string>(inputs), output);
    }
    onnx::NodeProto& node(const std::string& op, const std::string& name,
                          const std::vector<std::string>& inputs, const std::string& output) {
        onnx::NodeProto& n = *graph_.add_node();
        n.set_op_type(op);
        n.set_name(name);
        for (const std::string& in : inputs) n.add_input(in);
        n.add_output(output);
        return n;
    }
    static void attr_int(onnx::NodeProto& n, const std::string& name, int64_t v) {
        onnx::AttributeProto& a = *n.add_attribute();
        a.set_name(name);
        a.set_type(onnx::AttributeProto_AttributeType_INT);
        a.set_i(v);
    }
    static void attr_ints(onnx::NodeProto& n, const std::string& name, std::initializer_list<int64_t> v) {
        onnx::AttributeProto& a = *n.add_attribute();
        a.set_name(name);
        a.set_type(onnx::AttributeProto_AttributeType_INTS);
        for (int64_t x : v) a.add_ints(x);
    }
    static void attr_float(onnx::NodeProto& n, const std::string& name, float v) {
        onnx::AttributeProto& a = *n.add_attribute();
        a.set_name(name);
        a.set_type(onnx::AttributeProto_AttributeType_FLOAT);
        a.set_f(v);
    }
    static void attr_string(onnx::NodeProto& n, const std::string& name, const std::string& v) {
        onnx::AttributeProto& a = *n.add_attribute();
        a.set_name(name);
        a.set_type(onnx::AttributeProto_AttributeType_STRING);
        a.set_s(v);
    }
    const std::string& init_f32(const std::string& name, std::initializer_list<int64_t> dims,
                                const float* data) {
        onnx::TensorProto& t = *graph_.add_initializer();
        t.set_name(name);
        t.set_data_type(onnx::TensorProto_DataType_FLOAT);
        for (int64_t d : dims) t.add_dims(d);
        const std::span<const int64_t> shape(dims.begin(), dims.size());
        t.mutable_raw_data()->assign(
            reinterpret_cast<const char*>(data),
            engine::checked_bytes(engine::checked_numel(shape, name), sizeof(float), name));
        return t.name();
    }
    const std::string& init_i64(const std::string& name, std::initializer_list<int64_t> values) {
        onnx::TensorProto& t = *graph_.add_initializer();
        t.set_name(name);
        t.set_data_type(onnx::TensorProto_DataType_INT64);
        t.add_dims(static_cast<int64_t>(values.size()));
        for (int64_t v : values) t.add_int64_data(v);
        return t.name();
    }
    void value_info(onnx::ValueInfoProto& vi, const std::string& name, std::initializer_list<int64_t> dims) {
        vi.set_name(name);
        onnx::TypeProto_Tensor& tt = *vi.mutable_type()->mutable_tensor_type();
        tt.set_elem_type(onnx::TensorProto_DataType_FLOAT);
        for (int64_t d : dims) tt.mutable_shape()->add_dim()->set_dim_value(d);
    }
    onnx::GraphProto& graph() { return graph_; }

  private:
    onnx::GraphProto& graph_;
};

class Converter {
  public:
    Converter(const DarknetModel& model, const DarknetWeights& weights, const ConvertOptions& options,
              onnx::GraphProto& graph)
        : model_(model), weights_(weights), options_(options), g_(graph) {}

    std::vector<DarknetYoloHead> run() {
        const int n = static_cast<int>(model_.layers.size());
        out_.assign(n, "");
        g_.value_info(*g_.graph().add_input(), "images",
                      {options_.batch, model_.channels, model_.layers[0].in_h, model_.layers[0].in_w});
        std::vector<DarknetYoloHead> heads;
        for (int i = 0; i < n; ++i) {
            const DarknetLayer& l = model_.layers[i];
            final_ = (i + 1 < n && model_.layers[i + 1].type == DarknetLayerType::Yolo)
                         ? "yolo_" + std::to_string(i + 1)
                         : "layer_" + std::to_string(i);
            const std::string prefix = "layer_" + std::to_string(i);
            switch (l.type) {
                case DarknetLayerType::Convolutional:
                    out_[i] = conv(i, l, prefix);
                    break;
                case DarknetLayerType::Shortcut:
                    out_[i] = activation(l.activation, prefix, [&](const std::string& out) {
                        g_.node("Add", prefix + "_add", {input_of(i), ref(i, l.inputs[0])}, out);
                    });
                    break;
                case DarknetLayerType::Route:
                    out_[i] = route(i, l, prefix);
                    break;
                case DarknetLayerType::Upsample: {
                    const float s = static_cast<float>(l.stride_x);
                    const float scales[4] = {1.f, 1.f, s, s};
                    const std::string sc = g_.init_f32(prefix + ".scales", {4}, scales);
                    onnx::NodeProto& r =
                        g_.node("Resize", prefix + "_upsample", {input_of(i), "", sc}, final_);
                    GraphWriter::attr_string(r, "mode", "nearest");
                    GraphWriter::attr_string(r, "coordinate_transformation_mode", "asymmetric");
                    GraphWriter::attr_string(r, "nearest_mode", "floor");
                    out_[i] = final_;
                    break;
                }
                case DarknetLayerType::Maxpool: {
                    const int64_t top = l.padding / 2, bottom = l.padding - top;
                    onnx::NodeProto& p = g_.node("MaxPool", prefix + "_maxpool", {input_of(i)}, final_);
                    GraphWriter::attr_ints(p, "kernel_shape", {l.size, l.size});
                    GraphWriter::attr_ints(p, "strides", {l.stride_y, l.stride_x});
                    GraphWriter::attr_ints(p, "pads", {top, top, bottom, bottom});
                    out_[i] = final_;
                    break;
                }
                case DarknetLayerType::Dropout:
                    out_[i] = input_of(i);
                    break;
                case DarknetLayerType::Yolo:
                    heads.push_back(yolo(i, l));
                    break;
            }
        }
        ENGINE_CHECK(!heads.empty(), model_.cfg_path, ": no [yolo] layer, nothing to output");
        return heads;
    }

  private:
    // The previous layer's output (the image for layer 0).
    const std::string& input_of(int i) {
        if (i == 0) return kImages;
        return ref(i, i - 1);
    }
    const std::string& ref(int i, int j) {
        if (out_[j].empty()) {
            const DarknetLayer& l = model_.layers[i];
            ENGINE_THROW(model_.cfg_path, ":", l.line, ": [", darknet_layer_type_name(l.type), "] (layer ", i,
                         ") uses the output of [yolo] layer ", j,
                         ", which only exists in darknet's own decoder");
        }
        return out_[j];
    }

    // Emits `main` writing to a name, then the activation nodes; the layer's final node writes final_.
    template <typename Emit>
    std::string activation(DarknetActivation act, const std::string& prefix, Emit main) {
        if (act == DarknetActivation::Linear) {
            main(final_);
            return final_;
        }
        const std::string x = prefix + "_pre";
        main(x);
        switch (act) {
            case DarknetActivation::Leaky: {
                onnx::NodeProto& n = g_.node("LeakyRelu", prefix + "_leaky", {x}, final_);
                GraphWriter::attr_float(n, "alpha", 0.1f);
                break;
            }
            case DarknetActivation::Relu:
                g_.node("Relu", prefix + "_relu", {x}, final_);
                break;
            case DarknetActivation::Logistic:
                g_.node("Sigmoid", prefix + "_logistic", {x}, final_);
                break;
            case DarknetActivation::Tanh:
                g_.node("Tanh", prefix + "_tanh", {x}, final_);
                break;
            case DarknetActivation::Mish:
                g_.node("Softplus", prefix + "_softplus", {x}, prefix + "_softplus");
                g_.node("Tanh", prefix + "_tanh", {prefix + "_softplus"}, prefix + "_tanh");
                g_.node("Mul", prefix + "_mish", {x, prefix + "_tanh"}, final_);
                break;
            case DarknetActivation::Swish:
                g_.node("Sigmoid", prefix + "_sigmoid", {x}, prefix + "_sigmoid");
                g_.node("Mul", prefix + "_swish", {x, prefix + "_sigmoid"}, final_);
                break;
            case DarknetActivation::Linear:
                break;
        }
        return final_;
    }

    std::string conv(int i, const DarknetLayer& l, const std::string& prefix) {
        const DarknetConvWeights& w = weights_.layers[i];
        const int64_t cin = l.in_c / l.groups;
        const auto filters = static_cast<size_t>(l.filters);
        const std::array<int64_t, 3> filter_dims{cin, l.size, l.size};
        const auto per_filter = static_cast<size_t>(engine::checked_numel(filter_dims, "filter"));
        const std::string input = input_of(i);
        return activation(l.activation, prefix, [&](const std::string& out) {
            std::string conv_out = out;
            std::vector<std::string> inputs = {input};
            std::vector<float> bias;
            if (!l.batch_normalize) {
                inputs.push_back(
                    g_.init_f32(prefix + ".weight", {l.filters, cin, l.size, l.size}, w.weights.data()));
                inputs.push_back(g_.init_f32(prefix + ".bias", {l.filters}, w.biases.data()));
            } else if (options_.keep_batchnorm) {
                inputs.push_back(
                    g_.init_f32(prefix + ".weight", {l.filters, cin, l.size, l.size}, w.weights.data()));
                conv_out = prefix + "_conv";
            } else {
                // Fold: w' = w * s, b' = beta - mean * s, s = gamma / sqrt(var + eps), in double.
                std::vector<float> folded(w.weights.size());
                bias.resize(filters);
                for (size_t o = 0; o < filters; ++o) {
                    const double s =
                        static_cast<double>(w.scales[o]) /
                        std::sqrt(static_cast<double>(w.rolling_variance[o]) + kDarknetBnEpsilon);
                    for (size_t k = 0; k < per_filter; ++k)
                        folded[o * per_filter + k] = static_cast<float>(w.weights[o * per_filter + k] * s);
                    bias[o] = static_cast<float>(w.biases[o] - w.rolling_mean[o] * s);
                }
                inputs.push_back(
                    g_.init_f32(prefix + ".weight", {l.filters, cin, l.size, l.size}, folded.data()));
                inputs.push_back(g_.init_f32(prefix + ".bias", {l.filters}, bias.data()));
            }
            onnx::NodeProto& c = g_.node("Conv", prefix + "_conv", inputs, conv_out);
            GraphWriter::attr_ints(c, "kernel_shape", {l.size, l.size});
            GraphWriter::attr_ints(c, "strides", {l.stride_y, l.stride_x});
            GraphWriter::attr_ints(c, "pads", {l.padding, l.padding, l.padding, l.padding});
            GraphWriter::attr_ints(c, "dilations", {1, 1});
            GraphWriter::attr_int(c, "group", l.groups);
            if (l.batch_normalize && options_.keep_batchnorm) {
                onnx::NodeProto& bn =
                    g_.node("BatchNormalization", prefix + "_bn",
                            {conv_out, g_.init_f32(prefix + ".bn_scale", {l.filters}, w.scales.data()),
                             g_.init_f32(prefix + ".bn_bias", {l.filters}, w.biases.data()),
                             g_.init_f32(prefix + ".bn_mean", {l.filters}, w.rolling_mean.data()),
                             g_.init_f32(prefix + ".bn_var", {l.filters}, w.rolling_variance.data())},
                            out);
                GraphWriter::attr_float(bn, "epsilon", kDarknetBnEpsilon);
            }
        });
    }

    std::string route(int i, const DarknetLayer& l, const std::string& prefix) {
        std::vector<std::string> parts;
        for (size_t k = 0; k < l.inputs.size(); ++k) {
            const int j = l.inputs[k];
            const std::string& in = ref(i, j);
            if (l.groups == 1) {
                parts.push_back(in);
                continue;
            }
            const int64_t chunk = model_.layers[j].out_c / l.groups;
            const std::string part = l.inputs.size() == 1 ? final_ : prefix + "_slice" + std::to_string(k);
            const std::string p = prefix + ".slice" + std::to_string(k);
            g_.node("Slice", prefix + "_slice" + std::to_string(k),
                    {in, g_.init_i64(p + ".starts", {chunk * l.group_id}),
                     g_.init_i64(p + ".ends", {chunk * (l.group_id + 1)}), g_.init_i64(p + ".axes", {1})},
                    part);
            parts.push_back(part);
        }
        if (parts.size() == 1) return parts[0];
        onnx::NodeProto& c = g_.node("Concat", prefix + "_concat", parts, final_);
        GraphWriter::attr_int(c, "axis", 1);
        return final_;
    }

    DarknetYoloHead yolo(int i, const DarknetLayer& l) {
        DarknetYoloHead h;
        h.mask = l.mask;
        h.anchors = l.anchors;
        h.classes = l.classes;
        h.scale_x_y = l.scale_x_y;
        h.output_name = "yolo_" + std::to_string(i);
        const int net_w = model_.layers[0].in_w, net_h = model_.layers[0].in_h;
        if (net_w % l.in_w != 0 || net_h % l.in_h != 0 || net_w / l.in_w != net_h / l.in_h)
            ENGINE_THROW(model_.cfg_path, ":", l.line, ": [yolo] (layer ", i, "): grid ", l.in_w, "x", l.in_h,
                         " does not divide the input ", net_w, "x", net_h,
                         " evenly (use an input size that is a multiple of the network stride)");
        h.stride = net_w / l.in_w;
        const std::string& in = input_of(i);
        if (in != h.output_name) g_.node("Identity", h.output_name + "_identity", {in}, h.output_name);
        g_.value_info(*g_.graph().add_output(), h.output_name, {options_.batch, l.in_c, l.in_h, l.in_w});
        return h;
    }

    inline static const std::string kImages = "images";
    const DarknetModel& model_;
    const DarknetWeights& weights_;
    const ConvertOptions& options_;
    GraphWriter g_;
    std::vector<std::string> out_;  // final output name per layer ("" for [yolo])
    std::string final_;             // the name the current layer's last node writes
};

std::string heads_json(const std::vector<DarknetYoloHead>& heads) {
    std::ostringstream os;
    os << "[";
    for (size_t k = 0; k < heads.size(); ++k) {
        const DarknetYoloHead& h = heads[k];
        os << (k ? "," : "") << "{\"output\":\"" << h.output_name << "\",\"mask\":[";
        for (size_t m = 0; m < h.mask.size(); ++m) os << (m ? "," : "") << h.mask[m];
        os << "],\"anchors\":[";
        for (size_t m = 0; m < h.mask.size(); ++m) {
            const size_t a = static_cast<size_t>(h.mask[m]) * 2;
            os << (m ? "," : "") << fmt_float(h.anchors[a]) << "," << fmt_float(h.anchors[a + 1]);
        }
        os << "],\"classes\":" << h.classes << ",\"scale_x_y\":" << fmt_float(h.scale_x_y)
           << ",\"stride\":" << h.stride << "}";
    }
    os << "]";
    return os.str();
}

void add_meta(onnx::ModelProto& m, const std::string& key, const std::string& value) {
    onnx::StringStringEntryProto& e = *m.add_metadata_props();
    e.set_key(key);
    e.set_value(value);
}

}  // namespace

std::vector<DarknetYoloHead> convert_darknet(const std::string& cfg, const std::string& weights,
                                             const std::string& out_path, const ConvertOptions& options) {
    ENGINE_CHECK(options.batch >= 1, "convert: batch must be >= 1, got ", options.batch);
    ENGINE_CHECK(options.input_width >= 0 && options.input_height >= 0,
                 "convert: input size must be >= 0, got ", options.input_width, "x", options.input_height);
    DarknetModel model = parse_cfg(cfg);
    if (options.input_width > 0 || options.input_height > 0) {
        infer_darknet_shapes(model, options.input_width > 0 ? options.input_width : model.width,
                             options.input_height > 0 ? options.input_height : model.height);
    }
    const DarknetWeights w = options.random_weights_seed
                                 ? random_darknet_weights(model, *options.random_weights_seed)
                                 : read_darknet_weights(weights, model);

    onnx::ModelProto m;
    m.set_ir_version(kIrVersion);
    m.set_producer_name("rtdet convert");
    m.set_model_version(1);
    onnx::OperatorSetIdProto& opset = *m.add_opset_import();
    opset.set_domain("");
    opset.set_version(kOpset);
    onnx::GraphProto& graph = *m.mutable_graph();
    graph.set_name(std::filesystem::path(cfg).stem().string());
    const std::vector<DarknetYoloHead> heads = Converter(model, w, options, graph).run();

    add_meta(m, "rtdet.yolo.heads", heads_json(heads));
    add_meta(m, "rtdet.input_size",
             std::to_string(model.layers[0].in_w) + "x" + std::to_string(model.layers[0].in_h));
    add_meta(m, "rtdet.resize", model.letterbox ? "letterbox" : "darknet");
    add_meta(m, "rtdet.source", std::filesystem::path(cfg).filename().string());
    add_meta(m, "rtdet.classes", std::to_string(heads.front().classes));
    add_meta(m, "rtdet.weights",
             options.random_weights_seed ? "random:" + std::to_string(*options.random_weights_seed)
                                         : std::filesystem::path(weights).filename().string());

    ENGINE_CHECK(m.ByteSizeLong() < (size_t{1} << 31), cfg, ": model is ", m.ByteSizeLong(),
                 " bytes, over protobuf's 2 GiB limit");
    std::ofstream f(out_path, std::ios::binary | std::ios::trunc);
    if (!f) ENGINE_THROW(out_path, ": cannot create ONNX file");
    if (!m.SerializeToOstream(&f) || !f.flush()) ENGINE_THROW(out_path, ": write failed (disk full?)");
    return heads;
}

void write_random_weights(const std::string& cfg, uint32_t seed, const std::string& out_weights) {
    const DarknetModel model = parse_cfg(cfg);
    write_darknet_weights(out_weights, model, random_darknet_weights(model, seed));
}

}  // namespace detector
