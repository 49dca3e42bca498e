// Fuzz target: image-list files (`rtdet run --source list.txt`: one image path per line, relative to
// the list's folder, '#' comments), read by app::list_images (app/capture.cpp).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/capture.h"
#include "engine/core/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_util::init_once();
    static const std::string path = fuzz_util::temp_path("list.txt");
    fuzz_util::write_file(path, data, size);
    app::SourceSpec spec;
    spec.kind = app::SourceKind::ImageList;
    spec.location = path;
    try {
        const std::vector<std::string> paths = app::list_images(spec);
        for (const std::string& p : paths)
            if (p.empty()) std::abort();  // every listed entry names a file
    } catch (const engine::Error& e) {
        fuzz_util::expected_error(e);
    }
    return 0;
}
