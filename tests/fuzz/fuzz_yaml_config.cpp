// Fuzz target: `rtdet run` YAML configs (app/config), as load_config_file reads configs/*.yaml.
// A config that loads must print (config_to_yaml, --print-config) to YAML that loads back to the
// same configuration: a round-trip failure aborts (a finding like a crash).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "app/config.h"
#include "engine/core/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_util::init_once();
    const std::string text(reinterpret_cast<const char*>(data), size);
    app::AppConfig cfg;
    try {
        app::load_config_text(text, "fuzz.yaml", cfg);
    } catch (const engine::Error& e) {
        fuzz_util::expected_error(e);
        return 0;
    }
    const std::string printed = app::config_to_yaml(cfg);
    app::AppConfig again;
    try {
        app::load_config_text(printed, "printed.yaml", again);
    } catch (const engine::Error& e) {
        std::fprintf(stderr, "fuzz_yaml_config: the printed config does not load back: %s\n---\n%s\n---\n",
                     e.what(), printed.c_str());
        std::abort();
    }
    if (app::config_to_yaml(again) != printed) {
        std::fprintf(stderr, "fuzz_yaml_config: the printed config loads back differently:\n%s\n---\n%s\n",
                     printed.c_str(), app::config_to_yaml(again).c_str());
        std::abort();
    }
    return 0;
}
