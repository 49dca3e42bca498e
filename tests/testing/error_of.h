// The message of the engine::Error a call throws, for tests that check what an error says.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "engine/core/error.h"

namespace testing_util {

// e.what() of the engine::Error f() throws; "" and a test failure when it throws none.
template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const engine::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected an engine::Error";
    return {};
}

}  // namespace testing_util
