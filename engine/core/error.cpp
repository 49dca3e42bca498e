#include "engine/core/error.h"

#include <cstdio>
#include <cstdlib>

namespace engine::detail {

void assert_fail(const char* file, int line, const char* cond) {
    std::fprintf(stderr, "rtdet internal error: %s:%d: assertion '%s' failed\n", file, line, cond);
    std::abort();
}

}  // namespace engine::detail
