// Tests that need something from outside the repository (the data folder, a model file, ffmpeg,
// xvfb-run, /dev/full) skip without it, with the reason. Under CI=true they fail with the same reason
// instead: CI installs everything (scripts/setup.sh) and has the data folder, so a missing package or
// file there is a fault to see, not a skip to pass. Facts of the machine (no CUDA device, a CPU
// without BF16) stay plain GTEST_SKIPs. scripts/hardening/require.sh is the same rule for ctest's shell
// tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

namespace testing_util {

// True when the environment variable CI is "true" (CI sets it, and so does the clean-room check).
inline bool ci_requires_everything() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string_view(ci) == "true";
}

}  // namespace testing_util

// RTDET_SKIP_OR_FAIL("data folder not found" << ...): GTEST_SKIP with the reason, or under CI=true a
// fatal failure with it. Returns from the current (void) function either way, as GTEST_SKIP does.
#define RTDET_SKIP_OR_FAIL(reason)                                                                   \
    do {                                                                                             \
        if (::testing_util::ci_requires_everything()) {                                              \
            GTEST_FAIL() << reason << " (CI=true: a missing requirement fails instead of skipping)"; \
        } else {                                                                                     \
            GTEST_SKIP() << reason;                                                                  \
        }                                                                                            \
    } while (0)
