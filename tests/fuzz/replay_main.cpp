// main() for the fuzz targets in the default (non-libFuzzer) build. Two jobs:
//
//   fuzz_<parser> PATH...                     replay: runs LLVMFuzzerTestOneInput over every file of the
//                                             files and folders given (folders recursively, sorted;
//                                             names starting with '.' skipped), so ctest replays the
//                                             seed corpus and every committed crash as regression tests
//   fuzz_<parser> --mutate SECONDS PATH...    then a mutation smoke run: for SECONDS, inputs made from
//                                             the replayed files by random byte-level mutations (bit
//                                             flips, special byte values, insertions, deletions,
//                                             duplicated ranges, truncation, splices of two files) with a
//                                             fixed PRNG seed (--seed N, default 1), so a run is
//                                             reproducible up to where the time limit cuts it
//
// A target that defines libFuzzer's LLVMFuzzerCustomMutator (fuzz_onnx: structure-aware) gets every
// other mutation from it, with the byte-level mutations here as its LLVMFuzzerMutate.
//
// The mutation run is not coverage-guided (that is libFuzzer's job, scripts/hardening/fuzz.sh): it is
// the smoke run CI can afford with the normal compiler, and under the sanitizer build
// (scripts/hardening/sanitize.sh) it checks every parser against ASan/UBSan on thousands of broken
// inputs. When an input crashes the process (a signal), it is written to `fuzz-crash-<target>-<n>` in
// the working folder first, and --only N reruns mutation n alone.
//
// Fails when a path is missing or no input was run at all; a crash or an unexpected exception of the
// target ends the process (abort), which fails the test.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Optional in a target (libFuzzer's hook for structure-aware mutation).
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed)
    __attribute__((weak));

namespace {

namespace fs = std::filesystem;

bool hidden(const fs::path& p) {
    const std::string name = p.filename().string();
    return !name.empty() && name[0] == '.';
}

// The input being run, for the crash handler (which may only use async-signal-safe calls).
const uint8_t* g_current = nullptr;
size_t g_current_size = 0;
char g_crash_path[256] = {};

void on_crash(int sig) {
    if (g_current != nullptr && g_crash_path[0] != '\0') {
        const int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            size_t done = 0;
            while (done < g_current_size) {
                const ssize_t n = ::write(fd, g_current + done, g_current_size - done);
                if (n <= 0) break;
                done += static_cast<size_t>(n);
            }
            ::close(fd);
            static const char msg[] = "replay: crashing input written to ";
            [[maybe_unused]] ssize_t w = ::write(2, msg, sizeof(msg) - 1);
            w = ::write(2, g_crash_path, std::strlen(g_crash_path));
            w = ::write(2, "\n", 1);
        }
    }
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

void run_one(const std::vector<uint8_t>& bytes) {
    g_current = bytes.data();
    g_current_size = bytes.size();
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    g_current = nullptr;
}

// One random mutation of `in` (a few stacked edits), using the other inputs for splices.
std::vector<uint8_t> mutate(const std::vector<std::vector<uint8_t>>& inputs, std::mt19937_64& rng) {
    auto pick = [&rng](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
    std::vector<uint8_t> out = inputs[pick(inputs.size())];
    const int edits = 1 + static_cast<int>(pick(4));
    static constexpr uint8_t kSpecial[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, '-', '9', '\n', '='};
    for (int e = 0; e < edits; ++e) {
        const size_t kind = pick(8);
        if (out.empty() && kind < 6) {
            out.push_back(static_cast<uint8_t>(rng()));
            continue;
        }
        switch (kind) {
            case 0:  // flip a bit
                out[pick(out.size())] ^= static_cast<uint8_t>(1u << pick(8));
                break;
            case 1:  // a special byte value
                out[pick(out.size())] = kSpecial[pick(sizeof(kSpecial))];
                break;
            case 2: {  // overwrite 4 bytes with a random little-endian integer (sizes, counts, offsets)
                const size_t at = pick(out.size());
                const uint32_t v = static_cast<uint32_t>(rng() >> (pick(4) * 8));
                for (size_t i = 0; i < 4 && at + i < out.size(); ++i)
                    out[at + i] = static_cast<uint8_t>(v >> (8 * i));
                break;
            }
            case 3: {  // insert random bytes
                const size_t at = pick(out.size() + 1), n = 1 + pick(16);
                std::vector<uint8_t> ins(n);
                for (uint8_t& b : ins) b = static_cast<uint8_t>(rng());
                out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
                break;
            }
            case 4: {  // delete a range
                const size_t at = pick(out.size()), n = 1 + pick(std::min<size_t>(out.size() - at, 64));
                out.erase(out.begin() + static_cast<std::ptrdiff_t>(at),
                          out.begin() + static_cast<std::ptrdiff_t>(std::min(out.size(), at + n)));
                break;
            }
            case 5: {  // duplicate a range
                const size_t at = pick(out.size()), n = 1 + pick(std::min<size_t>(out.size() - at, 64));
                const std::vector<uint8_t> range(out.begin() + static_cast<std::ptrdiff_t>(at),
                                                 out.begin() + static_cast<std::ptrdiff_t>(at + n));
                const size_t to = pick(out.size() + 1);
                out.insert(out.begin() + static_cast<std::ptrdiff_t>(to), range.begin(), range.end());
                break;
            }
            case 6:  // truncate
                out.resize(pick(out.size() + 1));
                break;
            default: {  // splice: this input's head, another's tail
                const std::vector<uint8_t>& other = inputs[pick(inputs.size())];
                const size_t head = pick(out.size() + 1), tail = pick(other.size() + 1);
                out.resize(head);
                out.insert(out.end(), other.begin() + static_cast<std::ptrdiff_t>(tail), other.end());
                break;
            }
        }
    }
    return out;
}

// The generator of the mutation run; LLVMFuzzerMutate draws from it too, so a run stays reproducible.
std::mt19937_64 g_rng;

// The mutation run's next input: from the target's own mutator (every other input, when it has one),
// else mutate().
std::vector<uint8_t> next_input(const std::vector<std::vector<uint8_t>>& inputs) {
    if (LLVMFuzzerCustomMutator == nullptr || g_rng() % 2 == 0) return mutate(inputs, g_rng);
    std::vector<uint8_t> out = inputs[g_rng() % inputs.size()];
    const size_t size = out.size(), max_size = std::max<size_t>(size * 2, 4096);
    out.resize(max_size);
    out.resize(LLVMFuzzerCustomMutator(out.data(), size, max_size, static_cast<unsigned int>(g_rng())));
    return out;
}

}  // namespace

// libFuzzer's byte-level mutation entry point, for a target's LLVMFuzzerCustomMutator: mutate() on this
// one input, cut to max_size.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size) {
    std::vector<uint8_t> out = mutate({std::vector<uint8_t>(data, data + size)}, g_rng);
    if (out.size() > max_size) out.resize(max_size);
    std::copy(out.begin(), out.end(), data);
    return out.size();
}

int main(int argc, char** argv) {
    double mutate_seconds = -1;
    uint64_t seed = 1;
    long only = -1;
    std::vector<fs::path> files;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--mutate" || a == "--seed" || a == "--only") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "replay: %s needs a value\n", a.c_str());
                return 2;
            }
            char* end = nullptr;
            const char* v = argv[++i];
            double number = 0;  // every value is a number >= 0
            if (a == "--mutate") number = mutate_seconds = std::strtod(v, &end);
            if (a == "--seed") seed = std::strtoull(v, &end, 10);
            if (a == "--only") number = static_cast<double>(only = std::strtol(v, &end, 10));
            if (end == v || *end != '\0' || number < 0 || v[0] == '-') {
                std::fprintf(stderr, "replay: %s: not a number >= 0: %s\n", a.c_str(), v);
                return 2;
            }
            continue;
        }
        const fs::path arg = a;
        std::error_code ec;
        if (fs::is_directory(arg, ec)) {
            std::vector<fs::path> found;
            for (auto it = fs::recursive_directory_iterator(arg); it != fs::recursive_directory_iterator();
                 ++it) {
                if (hidden(it->path())) {
                    if (it->is_directory()) it.disable_recursion_pending();
                    continue;
                }
                if (it->is_regular_file()) found.push_back(it->path());
            }
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else if (fs::is_regular_file(arg, ec)) {
            files.push_back(arg);
        } else {
            std::fprintf(stderr, "replay: %s: no such file or folder\n", argv[i]);
            return 2;
        }
    }
    if (files.empty()) {
        std::fprintf(stderr, "replay: no inputs given\n");
        return 2;
    }
    const std::string target = fs::path(argv[0]).filename().string();
    std::snprintf(g_crash_path, sizeof(g_crash_path), "fuzz-crash-%s", target.c_str());
    for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_crash);

    std::vector<std::vector<uint8_t>> inputs;
    size_t total_bytes = 0;
    for (const fs::path& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "replay: cannot read %s\n", f.c_str());
            return 2;
        }
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        total_bytes += bytes.size();
        if (only < 0) {
            std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), bytes.size());
            run_one(bytes);
        }
        inputs.push_back(std::move(bytes));
    }
    if (only < 0)
        std::printf("replay: %zu inputs (%zu bytes) ran without a finding\n", files.size(), total_bytes);
    if (mutate_seconds < 0 && only < 0) return 0;

    g_rng.seed(seed);
    using Clock = std::chrono::steady_clock;
    const Clock::time_point end =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(std::max(mutate_seconds, 0.0)));
    long n = 0;
    for (; only >= 0 ? n <= only : Clock::now() < end; ++n) {
        const std::vector<uint8_t> input = next_input(inputs);
        if (only >= 0 && n != only) continue;
        std::snprintf(g_crash_path, sizeof(g_crash_path), "fuzz-crash-%s-%ld", target.c_str(), n);
        run_one(input);
    }
    std::printf("replay: %ld mutated inputs (seed %llu) ran without a finding\n", only >= 0 ? 1L : n,
                static_cast<unsigned long long>(seed));
    return 0;
}
