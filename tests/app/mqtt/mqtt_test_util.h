// A real mosquitto broker on a free loopback port (persistence on, its own config in a scratch folder)
// and a persistent-session subscriber (mosquitto_sub -c -q 1), for the MQTT tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/app/app_test_util.h"

namespace mqtt_test {

namespace fs = std::filesystem;

// mosquitto lives in /usr/sbin (not on a user's PATH).
inline std::string mosquitto_exe() {
    for (const char* p : {"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"})
        if (fs::exists(p)) return p;
    return app_test::have_program("mosquitto") ? "mosquitto" : "";
}

inline bool have_mosquitto() {
    return !mosquitto_exe().empty() && app_test::have_program("mosquitto_sub") &&
           app_test::have_program("mosquitto_pub") && app_test::have_program("mosquitto_passwd");
}

#define SKIP_OR_FAIL_WITHOUT_MOSQUITTO()                                               \
    do {                                                                               \
        if (!mqtt_test::have_mosquitto())                                              \
            RTDET_SKIP_OR_FAIL(                                                        \
                "mosquitto, mosquitto_sub/pub/passwd not found (Debian mosquitto and " \
                "mosquitto-clients)");                                                 \
    } while (0)

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice).
inline int free_port() { return app_test::free_tcp_port(); }

inline bool port_accepts(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// mosquitto with `listener PORT 127.0.0.1`, persistence into `dir` (saved every second, so a session
// outlives a SIGKILL), plus `extra` config lines.
class Broker {
  public:
    Broker(fs::path dir, int port, const std::string& extra = "allow_anonymous true\n")
        : dir_(std::move(dir)), port_(port) {
        // As root, mosquitto would switch to the user "mosquitto", which cannot write the scratch folder.
        const passwd* pw = ::getpwuid(::getuid());
        app_test::write_bytes(
            dir_ / "mosquitto.conf",
            "listener " + std::to_string(port) + " 127.0.0.1\npersistence true\n" + "persistence_location " +
                (dir_ / "").string() + "\nautosave_interval 1\n" +
                // No queue limits towards the (slow, file-writing) subscriber: a burst
                // of messages must not be dropped by the broker before it reads them.
                "max_queued_messages 0\nmax_inflight_messages 0\nqueue_qos0_messages true\n" + "user " +
                (pw ? pw->pw_name : "root") + "\n" + extra);
    }
    // Starts it; false when it does not accept connections within 10 s.
    bool start() {
        proc_ = std::make_unique<app_test::Process>(
            std::vector<std::string>{mosquitto_exe(), "-v", "-c", (dir_ / "mosquitto.conf").string()},
            dir_ / ("broker" + std::to_string(starts_) + ".out"),
            dir_ / ("broker" + std::to_string(starts_) + ".log"));
        ++starts_;
        return app_test::wait_until([&] { return port_accepts(port_) || !proc_->running(); }, 10) &&
               proc_->running();
    }
    void kill9() {
        proc_->signal(SIGKILL);
        proc_->wait(10);
    }
    // Freezes it (SIGSTOP): connections stay open, the kernel still takes what clients send, nothing
    // is acknowledged. kill9() then loses all of that, as a crash would.
    void freeze() { proc_->signal(SIGSTOP); }
    std::string log() const { return proc_ ? proc_->err() : ""; }
    int port() const { return port_; }
    const fs::path& dir() const { return dir_; }

  private:
    fs::path dir_;
    int port_;
    int starts_ = 0;
    std::unique_ptr<app_test::Process> proc_;
};

// One received message: "TOPIC PAYLOAD" as mosquitto_sub -v prints it.
struct Received {
    std::string topic;
    nlohmann::json body;
};

// mosquitto_sub -c -i ID -q 1 -t 'rtdet/#' -v, ready (a probe message came through) when started.
class Subscriber {
  public:
    Subscriber(fs::path dir, int port, std::vector<std::string> extra = {})
        : dir_(std::move(dir)), port_(port) {
        std::vector<std::string> argv = {"mosquitto_sub",
                                         "-h",
                                         "127.0.0.1",
                                         "-p",
                                         std::to_string(port),
                                         "-c",
                                         "-i",
                                         "rtdet-test-sub",
                                         "-q",
                                         "1",
                                         "-t",
                                         "rtdet/#",
                                         "-v"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        extra_ = extra;
        proc_ = std::make_unique<app_test::Process>(argv, dir_ / "sub.txt", dir_ / "sub.err");
    }
    // Publishes a probe until it is seen: the subscription is in place. False after 10 s.
    bool ready() {
        std::vector<std::string> pub = {"mosquitto_pub",       "-h", "127.0.0.1", "-p",
                                        std::to_string(port_), "-q", "1",         "-t",
                                        "rtdet/probe",         "-m", "{}"};
        pub.insert(pub.end(), extra_.begin(), extra_.end());
        return app_test::wait_until(
            [&] {
                app_test::run_to_end(pub, dir_, nullptr, nullptr, 5);
                return app_test::read_text(dir_ / "sub.txt").find("rtdet/probe") != std::string::npos;
            },
            10);
    }
    // Every message but the probes, in arrival order.
    std::vector<Received> messages() const {
        std::vector<Received> out;
        for (const std::string& line : app_test::read_lines(dir_ / "sub.txt")) {
            const size_t sp = line.find(' ');
            if (sp == std::string::npos || line.compare(0, sp, "rtdet/probe") == 0) continue;
            out.push_back({line.substr(0, sp), nlohmann::json::parse(line.substr(sp + 1))});
        }
        return out;
    }
    std::string err() const { return proc_->err(); }

  private:
    fs::path dir_;
    int port_;
    std::vector<std::string> extra_;
    std::unique_ptr<app_test::Process> proc_;
};

// Per stream: the frame numbers in arrival order with repeats removed, and how many repeats there were.
struct Delivery {
    std::map<int, std::vector<int64_t>> frames;  // stream -> first arrivals, in order
    int64_t duplicates = 0;
};

inline Delivery deliveries(const std::vector<Received>& msgs) {
    Delivery d;
    std::map<int, std::set<int64_t>> seen;
    for (const Received& m : msgs) {
        const int stream = m.body.at("stream").get<int>();
        const int64_t frame = m.body.at("frame").get<int64_t>();
        if (!seen[stream].insert(frame).second) {
            ++d.duplicates;
            continue;
        }
        d.frames[stream].push_back(frame);
    }
    return d;
}

}  // namespace mqtt_test
