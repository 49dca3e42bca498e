#include "detector/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "engine/core/error.h"

namespace detector {
namespace {

constexpr float kInv255 = 1.f / 255.f;

// darknet resize_image(): corner-aligned bilinear, horizontal pass into `part` (net_w x img_h), then a
// vertical pass. The float expressions follow darknet's order so results match it bit for bit on the
// same input floats, including its quirk on the last row/column.
void resize_darknet(const ImageView& img, int net_w, int net_h, float* out, std::vector<float>& scratch) {
    const int iw = img.width, ih = img.height;
    const size_t part_plane = static_cast<size_t>(net_w) * ih;
    // scratch: the horizontal pass (3 planes of net_w x ih), then per output column its source byte
    // offset and weight (computed once instead of per row and channel: the same float values).
    scratch.resize(3 * part_plane + 2 * static_cast<size_t>(net_w));
    float* part = scratch.data();
    float* col_dx = part + 3 * part_plane;
    int32_t* col_off = reinterpret_cast<int32_t*>(col_dx + net_w);
    static_assert(sizeof(int32_t) == sizeof(float));
    const float w_scale = static_cast<float>(iw - 1) / static_cast<float>(net_w - 1);
    const float h_scale = static_cast<float>(ih - 1) / static_cast<float>(net_h - 1);
    for (int c = 0; c < net_w; ++c) {
        if (c == net_w - 1 || iw == 1) {
            col_off[c] = 3 * (iw - 1);
            col_dx[c] = -1.f;  // darknet copies the last column
            continue;
        }
        const float sx = static_cast<float>(c) * w_scale;
        const int ix = static_cast<int>(sx);
        col_off[c] = 3 * ix;
        col_dx[c] = sx - static_cast<float>(ix);
    }
    float* p0 = part;
    float* p1 = part + part_plane;
    float* p2 = part + 2 * part_plane;
    for (int r = 0; r < ih; ++r) {
        const uint8_t* row = img.data + r * img.row_stride;
        const size_t o = static_cast<size_t>(r) * net_w;
        for (int c = 0; c < net_w; ++c) {
            const uint8_t* a = row + col_off[c];
            const float dx = col_dx[c];
            if (dx < 0) {
                p0[o + c] = static_cast<float>(a[2]) * kInv255;  // output planes are R, G, B
                p1[o + c] = static_cast<float>(a[1]) * kInv255;
                p2[o + c] = static_cast<float>(a[0]) * kInv255;
                continue;
            }
            p0[o + c] =
                (1 - dx) * (static_cast<float>(a[2]) * kInv255) + dx * (static_cast<float>(a[5]) * kInv255);
            p1[o + c] =
                (1 - dx) * (static_cast<float>(a[1]) * kInv255) + dx * (static_cast<float>(a[4]) * kInv255);
            p2[o + c] =
                (1 - dx) * (static_cast<float>(a[0]) * kInv255) + dx * (static_cast<float>(a[3]) * kInv255);
        }
    }
    for (int k = 0; k < 3; ++k) {
        const float* pk = part + static_cast<size_t>(k) * part_plane;
        float* ok = out + static_cast<size_t>(k) * net_w * net_h;
        for (int r = 0; r < net_h; ++r) {
            const float sy = static_cast<float>(r) * h_scale;
            const int iy = static_cast<int>(sy);
            const float dy = sy - static_cast<float>(iy);
            float* orow = ok + static_cast<size_t>(r) * net_w;
            const float* r0 = pk + static_cast<size_t>(iy) * net_w;
            if (r == net_h - 1 || ih == 1) {
                for (int c = 0; c < net_w; ++c) orow[c] = (1 - dy) * r0[c];
                continue;
            }
            const float* r1 = pk + static_cast<size_t>(iy + 1) * net_w;
            // darknet: out = (1-dy)*p0, then out += dy*p1 (two roundings, kept in this order).
            for (int c = 0; c < net_w; ++c) {
                const float first = (1 - dy) * r0[c];
                orow[c] = first + dy * r1[c];
            }
        }
    }
}

// Half-pixel-centre bilinear of the image into an out_w x out_h window at (ox, oy) of the
// net_w x net_h planes (OpenCV INTER_LINEAR sampling, computed in float).
void resize_half_pixel(const ImageView& img, int out_w, int out_h, int ox, int oy, int net_w, int net_h,
                       float* out, std::vector<float>& scratch) {
    const float sx = static_cast<float>(img.width) / static_cast<float>(out_w);
    const float sy = static_cast<float>(img.height) / static_cast<float>(out_h);
    (void)scratch;
    const auto tap = [&](int x, int& x0, int& x1, float& w) {
        float fx = (static_cast<float>(x) + 0.5f) * sx - 0.5f;
        if (fx < 0) fx = 0;
        x0 = std::min(static_cast<int>(fx), img.width - 1);
        x1 = std::min(x0 + 1, img.width - 1);
        w = fx - static_cast<float>(x0);
    };
    const size_t plane = static_cast<size_t>(net_w) * net_h;
    for (int y = 0; y < out_h; ++y) {
        float fy = (static_cast<float>(y) + 0.5f) * sy - 0.5f;
        if (fy < 0) fy = 0;
        int y0 = static_cast<int>(fy);
        if (y0 > img.height - 1) y0 = img.height - 1;
        const int y1 = std::min(y0 + 1, img.height - 1);
        const float wy = fy - static_cast<float>(y0);
        const uint8_t* r0 = img.data + y0 * img.row_stride;
        const uint8_t* r1 = img.data + y1 * img.row_stride;
        const size_t orow = static_cast<size_t>(oy + y) * net_w + static_cast<size_t>(ox);
        for (int x = 0; x < out_w; ++x) {
            int x0, x1;
            float wx;
            tap(x, x0, x1, wx);
            const int a = 3 * x0, b = 3 * x1;
            for (int k = 0; k < 3; ++k) {
                const int ch = 2 - k;
                const float top =
                    static_cast<float>(r0[a + ch]) * (1 - wx) + static_cast<float>(r0[b + ch]) * wx;
                const float bot =
                    static_cast<float>(r1[a + ch]) * (1 - wx) + static_cast<float>(r1[b + ch]) * wx;
                out[static_cast<size_t>(k) * plane + orow + static_cast<size_t>(x)] =
                    (top * (1 - wy) + bot * wy) * kInv255;
            }
        }
    }
}

}  // namespace

std::string_view resize_policy_name(ResizePolicy p) {
    switch (p) {
        case ResizePolicy::Darknet:
            return "darknet";
        case ResizePolicy::Stretch:
            return "stretch";
        case ResizePolicy::Letterbox:
            return "letterbox";
    }
    return "?";
}

ResizePolicy resize_policy_from_name(std::string_view name) {
    if (name == "darknet") return ResizePolicy::Darknet;
    if (name == "stretch") return ResizePolicy::Stretch;
    if (name == "letterbox") return ResizePolicy::Letterbox;
    ENGINE_THROW("unknown resize policy '", name, "' (allowed: darknet, stretch, letterbox)");
}

ResizePolicy model_resize_policy(const std::optional<ResizePolicy>& configured,
                                 const std::map<std::string, std::string>& metadata) {
    if (configured) return *configured;
    const auto it = metadata.find("rtdet.resize");
    return it == metadata.end() ? ResizePolicy::Darknet : resize_policy_from_name(it->second);
}

Box InputTransform::to_image(const Box& b) const {
    const auto cx = [&](float x) {
        return std::clamp((x - pad_x) / scale_x, 0.f, static_cast<float>(image_w));
    };
    const auto cy = [&](float y) {
        return std::clamp((y - pad_y) / scale_y, 0.f, static_cast<float>(image_h));
    };
    return {cx(b.x1), cy(b.y1), cx(b.x2), cy(b.y2)};
}

InputTransform make_transform(ResizePolicy policy, int image_w, int image_h, int net_w, int net_h) {
    InputTransform t;
    t.image_w = image_w;
    t.image_h = image_h;
    if (policy == ResizePolicy::Letterbox) {
        const float s = std::min(static_cast<float>(net_w) / static_cast<float>(image_w),
                                 static_cast<float>(net_h) / static_cast<float>(image_h));
        const int new_w = std::max(1, static_cast<int>(std::lround(static_cast<float>(image_w) * s)));
        const int new_h = std::max(1, static_cast<int>(std::lround(static_cast<float>(image_h) * s)));
        t.scale_x = static_cast<float>(new_w) / static_cast<float>(image_w);
        t.scale_y = static_cast<float>(new_h) / static_cast<float>(image_h);
        t.pad_x = static_cast<float>((net_w - new_w) / 2);
        t.pad_y = static_cast<float>((net_h - new_h) / 2);
    } else {
        t.scale_x = static_cast<float>(net_w) / static_cast<float>(image_w);
        t.scale_y = static_cast<float>(net_h) / static_cast<float>(image_h);
    }
    return t;
}

InputTransform preprocess(const ImageView& img, ResizePolicy policy, int net_w, int net_h, float pad_value,
                          float* out, std::vector<float>& scratch) {
    ENGINE_CHECK(img.data && img.width > 0 && img.height > 0, "preprocess: empty image");
    ENGINE_CHECK(net_w > 1 && net_h > 1, "preprocess: network input ", net_w, "x", net_h, " too small");
    const InputTransform t = make_transform(policy, img.width, img.height, net_w, net_h);
    switch (policy) {
        case ResizePolicy::Darknet:
            resize_darknet(img, net_w, net_h, out, scratch);
            break;
        case ResizePolicy::Stretch:
            resize_half_pixel(img, net_w, net_h, 0, 0, net_w, net_h, out, scratch);
            break;
        case ResizePolicy::Letterbox: {
            std::fill(out, out + static_cast<size_t>(3) * net_w * net_h, pad_value);
            const int new_w = static_cast<int>(std::lround(t.scale_x * static_cast<float>(img.width)));
            const int new_h = static_cast<int>(std::lround(t.scale_y * static_cast<float>(img.height)));
            resize_half_pixel(img, new_w, new_h, static_cast<int>(t.pad_x), static_cast<int>(t.pad_y), net_w,
                              net_h, out, scratch);
            break;
        }
    }
    return t;
}

}  // namespace detector
