// JPEG decoding with libjpeg(-turbo) for builds without OpenCV (app/image_io.h: decode_jpeg).
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "app/image_io.h"

// jpeglib.h needs size_t and FILE declared before it.
#include <jpeglib.h>

namespace app {
namespace {

// libjpeg reports a fatal error by calling error_exit, which must not return: jump back to the
// decoder's setjmp with the message saved (libjpeg is C: no exceptions through it).
struct JpegError {
    jpeg_error_mgr mgr;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<JpegError*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
}

// Warnings (corrupt data libjpeg recovers from) are not printed: the image still decodes, as with
// OpenCV's reader.
void on_message(j_common_ptr) {}

// Where decoded rows go: `alloc(ctx, width, height, stride)` returns the first row of a buffer for a
// width x height BGR image and sets its row stride in bytes; null when out of memory (never throws).
using RowAlloc = uint8_t* (*)(void* ctx, int width, int height, size_t& stride) noexcept;

// Only trivially destructible locals in this frame: longjmp skips destructors. The buffer belongs to
// the caller (through `alloc`). Returns false with `message` set when libjpeg fails.
bool decode(const uint8_t* bytes, size_t size, RowAlloc alloc, void* ctx, int& width, int& height,
            char* message) {
    jpeg_decompress_struct cinfo;
    JpegError err;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = on_error;
    err.mgr.output_message = on_message;
    err.message[0] = '\0';
    if (setjmp(err.jump)) {
        std::memcpy(message, err.message, JMSG_LENGTH_MAX);
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(size));
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_EXT_BGR;  // libjpeg-turbo: BGR directly (grayscale expanded too)
    jpeg_start_decompress(&cinfo);
    width = static_cast<int>(cinfo.output_width);
    height = static_cast<int>(cinfo.output_height);
    size_t stride = 0;
    uint8_t* out = width > 0 && height > 0 ? alloc(ctx, width, height, stride) : nullptr;
    if (out == nullptr) {
        jpeg_destroy_decompress(&cinfo);
        if (width <= 0 || height <= 0) return true;  // the caller reports the empty image
        std::snprintf(message, JMSG_LENGTH_MAX, "out of memory for %dx%d", width, height);
        return false;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return true;
}

uint8_t* alloc_vector(void* ctx, int width, int height, size_t& stride) noexcept {
    auto* v = static_cast<std::vector<uint8_t>*>(ctx);
    stride = static_cast<size_t>(width) * 3;
    try {
        v->resize(stride * static_cast<size_t>(height));
    } catch (const std::exception&) {
        return nullptr;
    }
    return v->data();
}

uint8_t* alloc_frame(void* ctx, int width, int height, size_t& stride) noexcept {
    auto* img = static_cast<FrameImage*>(ctx);
    try {
        img->create(width, height);    // reuses the buffer when it is large enough
    } catch (const std::exception&) {  // std::bad_alloc
        return nullptr;
    }
    stride = static_cast<size_t>(image_stride(*img));
    return img->data;
}

// Runs decode() with `why` set on failure ("cannot decode: <libjpeg's message>").
bool run_decode(const uint8_t* bytes, size_t size, RowAlloc alloc, void* ctx, int& width, int& height,
                std::string& why) {
    char message[JMSG_LENGTH_MAX] = {};
    const bool ok = decode(bytes, size, alloc, ctx, width, height, message);
    if (!ok) {
        why = std::string("cannot decode: ") + message;
        return false;
    }
    if (width <= 0 || height <= 0) {
        why = "not a readable image";
        return false;
    }
    return true;
}

}  // namespace

BgrImage decode_jpeg(const uint8_t* bytes, size_t size, std::string& why) {
    BgrImage img;
    int width = 0, height = 0;
    if (!run_decode(bytes, size, alloc_vector, &img.pixels, width, height, why)) return {};
    img.data = img.pixels.data();
    img.width = width;
    img.height = height;
    img.stride = static_cast<int64_t>(width) * 3;
    return img;
}

bool decode_jpeg_into(const uint8_t* bytes, size_t size, FrameImage& out, std::string& why) {
    int width = 0, height = 0;
    if (run_decode(bytes, size, alloc_frame, &out, width, height, why)) return true;
    out.release();
    return false;
}

}  // namespace app
