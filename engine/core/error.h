// Errors: one exception type for everything a user can cause (bad model, bad plan, bad option),
// and an assert for our own bugs.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace engine {

// Thrown for every failure caused by input (model files, plans, options). The message is one line,
// names the offending file/node/key, and says what was expected.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// concat("a", 1, 'b') -> "a1b". Used to build error messages without format strings.
template <typename... Args>
std::string concat(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}

namespace detail {
[[noreturn]] void assert_fail(const char* file, int line, const char* cond);
}  // namespace detail

}  // namespace engine

// ENGINE_CHECK(cond, message parts...): throws engine::Error(message) when cond is false.
#define ENGINE_CHECK(cond, ...)                                            \
    do {                                                                   \
        if (!(cond)) throw ::engine::Error(::engine::concat(__VA_ARGS__)); \
    } while (0)

// ENGINE_CHECK_EQ(a, b, message parts...): as ENGINE_CHECK(a == b), and the message shows both values.
#define ENGINE_CHECK_EQ(a, b, ...)                                                                        \
    do {                                                                                                  \
        const auto& engine_check_a_ = (a);                                                                \
        const auto& engine_check_b_ = (b);                                                                \
        if (!(engine_check_a_ == engine_check_b_))                                                        \
            throw ::engine::Error(::engine::concat(__VA_ARGS__, " (", #a, "=", engine_check_a_, ", ", #b, \
                                                   "=", engine_check_b_, ")"));                           \
    } while (0)

#define ENGINE_THROW(...) throw ::engine::Error(::engine::concat(__VA_ARGS__))

// Internal invariant: a failure is a bug in rtdet, never a user error. Always on; aborts with file:line.
#define ENGINE_ASSERT(cond)                                                    \
    do {                                                                       \
        if (!(cond)) ::engine::detail::assert_fail(__FILE__, __LINE__, #cond); \
    } while (0)
