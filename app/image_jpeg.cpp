// JPEG decoding with libjpeg(-turbo) for builds without OpenCV (app/image_io.h: decode_jpeg).
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>

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

// Only trivially destructible locals in this frame: longjmp skips destructors. `out` belongs to the
// caller. Returns false with `message` set when libjpeg fails.
bool decode(const uint8_t* bytes, size_t size, std::vector<uint8_t>& out, int& width, int& height,
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
    const size_t stride = static_cast<size_t>(width) * 3;
    out.resize(stride * static_cast<size_t>(height));
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out.data() + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return true;
}

}  // namespace

BgrImage decode_jpeg(const uint8_t* bytes, size_t size, std::string& why) {
    BgrImage img;
    char message[JMSG_LENGTH_MAX] = {};
    int width = 0, height = 0;
    bool ok = false;
    try {
        ok = decode(bytes, size, img.pixels, width, height, message);
    } catch (const std::bad_alloc&) {
        why = "cannot decode: out of memory";
        return {};
    }
    if (!ok) {
        why = std::string("cannot decode: ") + message;
        return {};
    }
    if (width <= 0 || height <= 0) {
        why = "not a readable image";
        return {};
    }
    img.data = img.pixels.data();
    img.width = width;
    img.height = height;
    img.stride = static_cast<int64_t>(width) * 3;
    return img;
}

}  // namespace app
