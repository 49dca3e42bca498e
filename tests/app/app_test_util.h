// Helpers for the app tests: the data folder, scratch folders, and child processes (the real rtdet
// binary, ffmpeg, xvfb-run) with output captured to files, timeouts and signals.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <opencv2/videoio.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "tests/testing/require.h"
#include "tests/testing/tensor_compare.h"

namespace app_test {

namespace fs = std::filesystem;

inline std::string data_dir() { return testing_util::data_dir(); }

// The data file, or empty when the data folder or the file is missing.
inline std::string data_file(const std::string& rel) {
    const std::string d = data_dir();
    if (d.empty()) return "";
    const fs::path p = fs::path(d) / rel;
    return fs::exists(p) ? p.string() : "";
}

inline std::string video_path() { return data_file("videos/car-detection.mp4"); }
// An ffmpeg command sending the real video, looped at its own rate, as MPEG-TS to `url` (loopback
// only). MPEG-2 with a short GOP, so a receiver that joins or rejoins mid-stream decodes within half a
// second.
inline std::vector<std::string> video_sender(const std::string& url) {
    return {"ffmpeg", "-hide_banner", "-loglevel",  "error", "-re", "-stream_loop", "-1", "-i", video_path(),
            "-an",    "-c:v",         "mpeg2video", "-q:v",  "5",   "-g",           "6",  "-f", "mpegts",
            url};
}
inline std::string small_model() {
    return data_file("models/yolo-fastest/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg");
}

// The tests that run the real binary on the sample video with Yolo-Fastest-1.1 (skip, or fail under
// CI=true: tests/testing/require.h).
#define SKIP_OR_FAIL_WITHOUT_DATA()                                            \
    do {                                                                       \
        if (app_test::video_path().empty() || app_test::small_model().empty()) \
            RTDET_SKIP_OR_FAIL(                                                \
                "data folder (../shared or $RTDET_DATA) with the video and "   \
                "Yolo-Fastest-1.1 not found");                                 \
    } while (0)

// A fresh, empty folder under the build tree for one test.
inline fs::path scratch_dir(const std::string& name) {
    const fs::path d = fs::path(RTDET_BINARY_DIR) / "app_test_tmp" / name;
    std::error_code ec;
    fs::remove_all(d, ec);
    fs::create_directories(d);
    return d;
}

// Shared by all tests so the plan is built once.
inline std::string plan_cache() { return (fs::path(RTDET_BINARY_DIR) / "app_test_cache").string(); }

inline std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::vector<std::string> read_lines(const fs::path& p) {
    std::vector<std::string> lines;
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) lines.push_back(line);
    return lines;
}

inline size_t count_lines(const fs::path& p) { return read_lines(p).size(); }

// Writes `bytes` to p as they are (test inputs, broken files).
inline void write_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
}

// Every line of a JSON-lines file, parsed (a line that does not parse throws: the test fails).
inline std::vector<nlohmann::json> read_json_lines(const fs::path& p) {
    std::vector<nlohmann::json> out;
    for (const std::string& line : read_lines(p)) out.push_back(nlohmann::json::parse(line));
    return out;
}

// Polls `cond` every 100 ms up to `timeout_s`. True when it became true.
inline bool wait_until(const std::function<bool()>& cond, double timeout_s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < end) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return cond();
}

// A child process; stdout and stderr go to files. Killed (SIGKILL) by the destructor if still running.
class Process {
  public:
    Process(const std::vector<std::string>& argv, const fs::path& out, const fs::path& err)
        : out_(out), err_(err) {
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setpgid(0, 0);  // own process group: signals reach its children (xvfb-run's)
            const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int n = ::open("/dev/null", O_RDONLY);
            ::dup2(n, 0);
            ::dup2(o, 1);
            ::dup2(e, 2);
            std::vector<char*> args;
            for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
    }
    ~Process() {
        if (running()) {
            ::kill(-pid_, SIGKILL);
            ::kill(pid_, SIGKILL);
            wait(5);
        }
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    bool running() {
        if (done_) return false;
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) finish(status);
        return !done_;
    }
    // Waits up to timeout_s; the exit code (128 + signal when killed), or -1 on timeout.
    int wait(double timeout_s) {
        wait_until([this] { return !running(); }, timeout_s);
        return done_ ? code_ : -1;
    }
    void signal(int sig) {
        if (running()) ::kill(pid_, sig);
    }
    void signal_group(int sig) {
        if (running()) ::kill(-pid_, sig);
    }
    std::string out() const { return read_text(out_); }
    std::string err() const { return read_text(err_); }
    pid_t pid() const { return pid_; }

  private:
    void finish(int status) {
        done_ = true;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    pid_t pid_ = -1;
    bool done_ = false;
    int code_ = -1;
    fs::path out_, err_;
};

// Runs to completion (bounded); returns the exit code, -1 on timeout.
inline int run_to_end(const std::vector<std::string>& argv, const fs::path& dir, std::string* out = nullptr,
                      std::string* err = nullptr, double timeout_s = 120) {
    Process p(argv, dir / "stdout.txt", dir / "stderr.txt");
    const int code = p.wait(timeout_s);
    if (out) *out = p.out();
    if (err) *err = p.err();
    return code;
}

// Frames a video decodes to through OpenCV's FFmpeg (the oracle for "every frame came out"); -1 when
// it does not open.
inline int decoded_frame_count(const std::string& video, cv::Size* size = nullptr, double* fps = nullptr) {
    cv::VideoCapture cap(video, cv::CAP_FFMPEG);
    if (!cap.isOpened()) return -1;
    if (fps) *fps = cap.get(cv::CAP_PROP_FPS);
    cv::Mat m;
    int n = 0;
    while (cap.read(m)) {
        if (size) *size = m.size();
        ++n;
    }
    return n;
}

// A loopback port free at the time of the call (SOCK_DGRAM: UDP, SOCK_STREAM: TCP).
inline int free_port(int type) {
    const int fd = ::socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}
inline int free_udp_port() { return free_port(SOCK_DGRAM); }
inline int free_tcp_port() { return free_port(SOCK_STREAM); }

// The error message of `f`, or "" when it does not throw; an engine::Error must be one line.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const engine::Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << "errors are one line: " << msg;
        return msg;
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

// `rtdet run` with the small model (Yolo-Fastest-1.1) and the test plan cache, then `extra`.
inline std::vector<std::string> rtdet_run_args(const std::string& config,
                                               const std::vector<std::string>& extra) {
    std::vector<std::string> args = {RTDET_EXE, "run",         "--config", config,
                                     "--model", small_model(), "--cache",  plan_cache()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

inline bool have_program(const std::string& name) {
    return std::system(("command -v " + name + " > /dev/null 2>&1").c_str()) == 0;
}

}  // namespace app_test
