#include "app/mqtt_sink.h"

#include <mosquitto.h>
#include <netdb.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <thread>

#include "app/spool.h"
#include "engine/core/error.h"

namespace app {
namespace fs = std::filesystem;

namespace {

using SteadyClock = std::chrono::steady_clock;

// In flight: sent, not yet acknowledged (libmosquitto's own limit is set to the same).
constexpr size_t kMaxInflight = 20;
// The memory queue: about 2 s of 512 frames a second; past it, messages go to the spool.
constexpr size_t kQueueMessages = 1024;
constexpr size_t kQueueBytes = 8u << 20;
// Reconnect backoff: 250 ms doubling to 2 s (a restarted broker is found within 2 s).
constexpr auto kBackoffFirst = std::chrono::milliseconds(250);
constexpr auto kBackoffMax = std::chrono::milliseconds(2000);
// A broker that accepts TCP but sends no CONNACK in this time counts as unreachable.
constexpr auto kConnackTimeout = std::chrono::seconds(10);
// How long the constructor waits for the first connection (to report refused credentials at start).
constexpr auto kStartWait = std::chrono::seconds(3);

struct Msg {
    std::string topic, payload;
    int mid = 0;
    bool acked = false;
    size_t bytes() const { return topic.size() + payload.size(); }
};

// Spool records: [u16 topic length][topic][payload].
void encode_record(std::string_view topic, std::string_view payload, std::string& out) {
    const auto n = static_cast<uint16_t>(topic.size());  // parse_mqtt_url: topics up to 60000 bytes
    out.assign(reinterpret_cast<const char*>(&n), 2);
    out += topic;
    out += payload;
}

bool decode_record(const std::string& rec, Msg& m) {
    if (rec.size() < 2) return false;
    uint16_t n = 0;
    std::memcpy(&n, rec.data(), 2);
    if (rec.size() < 2u + n) return false;
    m.topic.assign(rec, 2, n);
    m.payload.assign(rec, 2u + n, std::string::npos);
    return true;
}

std::string default_client_id() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "host");
    return engine::concat("rtdet-", host, "-", ::getpid());
}

// The environment wins over the file (a secret kept out of files), and both are optional.
std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::string folder_safe(std::string s) {
    for (char& c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') c = '_';
    return s;
}

}  // namespace

struct MqttSink::Impl {
    PublishConfig cfg;
    MqttUrl url;
    std::string where;  // "mqtt://host:port" for messages (the URL holds no secret; the topic is left out)
    std::string model;
    const std::vector<std::string>& names;
    std::string client_id, username, password;
    std::unique_ptr<Spool> spool;  // null: spool_max_mb 0

    // Shared by the output thread and the network thread.
    mutable std::mutex mu;
    std::condition_variable cv;
    std::deque<Msg> queue;  // older than everything in the spool
    size_t queue_bytes = 0;
    std::vector<Msg> spare;  // acknowledged messages, their buffers reused
    bool connected = false, finishing = false, stop = false, thread_done = false, first_try_done = false;
    std::string fatal;  // refused credentials and the like: the run stops with this line
    bool fatal_thrown = false;
    PublishStats st;
    bool warned_full = false;

    // The network thread's own.
    mosquitto* mosq = nullptr;
    std::deque<Msg> inflight;
    bool connack = false, lost = false, outage = false;
    std::string lost_reason;
    SteadyClock::time_point connect_started{}, next_attempt{};
    SteadyClock::duration backoff = kBackoffFirst;
    std::thread thread;
    bool finished = false;

    // The output thread's buffers (reused).
    std::string topic_buf, payload_buf, record_buf;

    Impl(const PublishConfig& c, std::string m, const std::vector<std::string>& n)
        : cfg(c), model(std::move(m)), names(n) {}

    static Impl* of(void* obj) { return static_cast<Impl*>(obj); }

    // ---- network thread ----

    void run() {
        // A broker closing the socket must not kill rtdet with SIGPIPE: blocked here, the write fails
        // with EPIPE instead (a thread-directed signal, so only this thread is concerned).
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
        while (true) {
            {
                std::unique_lock lock(mu);
                if (stop || !fatal.empty()) break;
                if (finishing && queue.empty() && inflight.empty() && (!spool || spool->empty())) break;
                if (mosq == nullptr && SteadyClock::now() < next_attempt) {
                    cv.wait_until(lock, next_attempt, [&] { return stop; });
                    continue;
                }
            }
            if (mosq == nullptr) {
                start_connect();
                continue;
            }
            const int rc = mosquitto_loop(mosq, 10, 1);
            if (rc != MOSQ_ERR_SUCCESS && !lost) {
                lost = true;
                lost_reason = rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc);
            }
            if (!lost && !connack && SteadyClock::now() - connect_started > kConnackTimeout) {
                lost = true;
                lost_reason = "no answer to CONNECT within 10 s";
            }
            if (lost) {
                drop_connection();
                continue;
            }
            if (connack) send_more();
        }
        if (mosq != nullptr) {
            if (connack) {
                mosquitto_disconnect(mosq);
                mosquitto_loop(mosq, 10, 1);
            }
            mosquitto_destroy(mosq);
            mosq = nullptr;
        }
        std::lock_guard lock(mu);
        connected = false;
        thread_done = true;
        first_try_done = true;
        cv.notify_all();
    }

    void start_connect() {
        mosq = mosquitto_new(client_id.c_str(), /*clean_session=*/true, this);
        if (mosq == nullptr) {
            set_fatal(engine::concat("publish: cannot create an MQTT client: ", std::strerror(errno)));
            return;
        }
        mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_max_inflight_messages_set(mosq, kMaxInflight);
        if (!username.empty())
            mosquitto_username_pw_set(mosq, username.c_str(), password.empty() ? nullptr : password.c_str());
        if (url.tls) {
            const auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
            if (cfg.tls_ca.empty()) mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
            const int rc = mosquitto_tls_set(mosq, opt(cfg.tls_ca), nullptr, opt(cfg.tls_cert),
                                             opt(cfg.tls_key), nullptr);
            if (rc != MOSQ_ERR_SUCCESS) {
                set_fatal(engine::concat("publish.tls_ca/tls_cert/tls_key: cannot use the TLS files (",
                                         mosquitto_strerror(rc), ")"));
                return;
            }
        }
        mosquitto_connect_callback_set(mosq, [](mosquitto*, void* obj, int rc) { of(obj)->on_connect(rc); });
        mosquitto_disconnect_callback_set(mosq,
                                          [](mosquitto*, void* obj, int rc) { of(obj)->on_disconnect(rc); });
        mosquitto_publish_callback_set(mosq,
                                       [](mosquitto*, void* obj, int mid) { of(obj)->on_publish(mid); });
        connack = false;
        lost = false;
        connect_started = SteadyClock::now();
        const int rc = mosquitto_connect_async(mosq, url.host.c_str(), url.port, cfg.keepalive_s);
        if (rc != MOSQ_ERR_SUCCESS) {
            lost = true;
            lost_reason = rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc);
            drop_connection();
        }
    }

    void set_fatal(std::string line) {
        std::lock_guard lock(mu);
        if (fatal.empty()) fatal = std::move(line);
        first_try_done = true;
        cv.notify_all();
    }

    void on_connect(int rc) {
        if (rc == 0) {
            connack = true;
            backoff = kBackoffFirst;
            std::lock_guard lock(mu);
            const size_t waiting = queue.size() + inflight.size() + (spool ? spool->count() : 0);
            if (outage) {
                ++st.reconnects;
                spdlog::info("publish: reconnected to {}; {} message(s) waiting, oldest first", where,
                             waiting);
            } else if (!st.ever_connected) {
                spdlog::info(
                    "publish: connected to {} as {}{}", where, client_id,
                    waiting > 0 ? engine::concat("; ", waiting, " message(s) waiting") : std::string());
            }
            outage = false;
            st.ever_connected = true;
            connected = true;
            first_try_done = true;
            cv.notify_all();
            return;
        }
        // CONNACK refused. Credentials and the client id are configuration: the run stops. "Server
        // unavailable" is the broker's state: try again.
        const std::string why = mosquitto_connack_string(rc);
        if (rc == 4 || rc == 5) {
            set_fatal(engine::concat(
                "publish: ", where, " refused the connection: ", why,
                username.empty()
                    ? " (no username set: publish.username, or RTDET_MQTT_USERNAME / RTDET_MQTT_PASSWORD)"
                    : " (check publish.username / publish.password, or RTDET_MQTT_USERNAME / "
                      "RTDET_MQTT_PASSWORD)"));
        } else if (rc == 1 || rc == 2) {
            set_fatal(engine::concat("publish: ", where, " refused the connection: ", why,
                                     rc == 2
                                         ? engine::concat(" (client id '", client_id, "': publish.client_id)")
                                         : std::string(" (the broker does not speak MQTT 3.1.1)")));
        } else {
            lost = true;
            lost_reason = why;
        }
    }

    void on_disconnect(int rc) {
        if (!lost) {
            lost = true;
            lost_reason = rc == 0 ? "disconnected" : "connection lost";
        }
    }

    void on_publish(int mid) {
        for (Msg& m : inflight) {
            if (m.mid == mid && !m.acked) {
                m.acked = true;
                break;
            }
        }
        std::lock_guard lock(mu);
        while (!inflight.empty() && inflight.front().acked) {
            ++st.acknowledged;
            if (spare.size() < kMaxInflight * 2) spare.push_back(std::move(inflight.front()));
            inflight.pop_front();
        }
        if (finishing) cv.notify_all();
    }

    // Takes messages oldest first (the memory queue, refilled from the spool when empty) while fewer
    // than kMaxInflight are unacknowledged.
    void send_more() {
        while (inflight.size() < kMaxInflight && connack && !lost) {
            Msg m;
            {
                std::lock_guard lock(mu);
                if (queue.empty() && spool && !spool->empty()) refill();
                if (queue.empty()) return;
                m = std::move(queue.front());
                queue.pop_front();
                queue_bytes -= m.bytes();
            }
            m.acked = false;
            inflight.push_back(std::move(m));
            Msg& b = inflight.back();
            // libmosquitto sets the mid before sending; at QoS 0 it may call on_publish (which pops `b`)
            // before returning, so `b` is not touched after this call.
            const int rc =
                mosquitto_publish(mosq, &b.mid, b.topic.c_str(), static_cast<int>(b.payload.size()),
                                  b.payload.data(), cfg.qos, /*retain=*/false);
            if (rc == MOSQ_ERR_SUCCESS) {
                std::lock_guard lock(mu);
                ++st.published;
                continue;
            }
            if (rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_MALFORMED_UTF8 || rc == MOSQ_ERR_INVAL) {
                // This message can never be sent (a stream name that is not UTF-8 in the topic, ...).
                const Msg bad = std::move(inflight.back());
                inflight.pop_back();
                std::lock_guard lock(mu);
                ++st.lost;
                spdlog::error("publish: cannot publish to topic '{}': {}; message dropped (counted as lost)",
                              bad.topic, mosquitto_strerror(rc));
                continue;
            }
            lost = true;
            lost_reason = rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc);
            return;
        }
    }

    // Under mu: moves spooled records into the memory queue (the queue is empty: order holds).
    void refill() {
        std::string rec;
        while (queue.size() < kQueueMessages / 4 && queue_bytes < kQueueBytes / 4 && spool->pop(rec)) {
            Msg m;
            if (!decode_record(rec, m)) {
                ++st.lost;
                continue;
            }
            queue_bytes += m.bytes();
            queue.push_back(std::move(m));
        }
    }

    void drop_connection() {
        const bool was_connected = connack;
        if (mosq != nullptr) mosquitto_destroy(mosq);
        mosq = nullptr;
        connack = false;
        lost = false;
        std::lock_guard lock(mu);
        connected = false;
        // Unacknowledged messages go back to the head, in order: sent again first on the next connection.
        for (auto it = inflight.rbegin(); it != inflight.rend(); ++it) {
            if (it->acked) continue;
            queue_bytes += it->bytes();
            queue.push_front(std::move(*it));
        }
        inflight.clear();
        if (was_connected) {
            outage = true;
            spdlog::warn("publish: lost the connection to {} ({}); spooling and reconnecting", where,
                         lost_reason);
        } else if (!first_try_done && !st.ever_connected) {
            spdlog::warn(
                "publish: cannot reach {} ({}); detection goes on, messages are spooled{} until it can",
                where, lost_reason,
                spool ? engine::concat(" in ", spool->dir(), " (at most ", cfg.spool_max_mb, " MiB)")
                      : std::string(" in memory (no spool: publish.spool_max_mb is 0)"));
        }
        first_try_done = true;
        cv.notify_all();
        next_attempt = SteadyClock::now() + backoff;
        backoff = std::min<SteadyClock::duration>(backoff * 2, kBackoffMax);
    }

    // ---- output thread ----

    // Under mu.
    void enqueue(const std::string& topic, const std::string& payload) {
        ++st.messages;
        const bool queue_full = queue.size() >= kQueueMessages || queue_bytes >= kQueueBytes;
        if (spool && (!spool->empty() || !connected || queue_full)) {
            encode_record(topic, payload, record_buf);
            if (spool->push(record_buf)) {
                ++st.spooled;
                return;
            }
            ++st.spool_overflow_dropped;
            if (!warned_full) {
                warned_full = true;
                if (spool->last_error() == "full")
                    spdlog::warn(
                        "publish: the spool is full ({} MiB, publish.spool_max_mb); new messages are "
                        "dropped until the broker takes spooled ones (counted in the summary)",
                        cfg.spool_max_mb);
                else
                    spdlog::warn("publish: cannot spool ({}); messages are dropped (counted in the summary)",
                                 spool->last_error());
            }
            return;
        }
        if (!spool && queue_full) {
            ++st.spool_overflow_dropped;
            if (!warned_full) {
                warned_full = true;
                spdlog::warn(
                    "publish: {} messages wait in memory and there is no spool (publish.spool_max_mb "
                    "is 0); new messages are dropped (counted in the summary)",
                    queue.size());
            }
            return;
        }
        Msg m;
        if (!spare.empty()) {
            m = std::move(spare.back());
            spare.pop_back();
        }
        m.topic.assign(topic);
        m.payload.assign(payload);
        m.acked = false;
        queue_bytes += m.bytes();
        queue.push_back(std::move(m));
    }
};

MqttSink::MqttSink(const PublishConfig& config, std::string model,
                   const std::vector<std::string>& class_names, const std::string& cache_dir)
    : impl_(std::make_unique<Impl>(config, std::move(model), class_names)) {
    static std::once_flag lib_init;
    std::call_once(lib_init, [] { mosquitto_lib_init(); });
    Impl& s = *impl_;
    s.url = parse_mqtt_url(config.url);
    s.where = engine::concat(s.url.tls ? "mqtts://" : "mqtt://",
                             s.url.host.find(':') != std::string::npos ? "[" + s.url.host + "]" : s.url.host,
                             ":", s.url.port);
    ENGINE_CHECK(config.qos >= 0 && config.qos <= 2, "publish.qos: must be 0, 1 or 2 (got ", config.qos, ")");
    {
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        const int rc = ::getaddrinfo(s.url.host.c_str(), nullptr, &hints, &res);
        ENGINE_CHECK(rc == 0, "publish.url: cannot resolve host '", s.url.host, "' (", ::gai_strerror(rc),
                     ")");
        ::freeaddrinfo(res);
    }
    s.client_id = config.client_id.empty() ? default_client_id() : config.client_id;
    s.username = env_or("RTDET_MQTT_USERNAME", config.username);
    s.password = env_or("RTDET_MQTT_PASSWORD", config.password);
    ENGINE_CHECK(s.password.empty() || !s.username.empty(),
                 "publish.password: set, but no username (publish.username or RTDET_MQTT_USERNAME)");
    if (config.spool_max_mb > 0) {
        std::string dir = config.spool_dir;
        if (dir.empty()) {
            dir = (fs::path(cache_dir) / "mqtt-spool" /
                   folder_safe(engine::concat(s.url.host, "-", s.url.port)))
                      .string();
            // Two runs to one broker from one machine (shards) each get their own default spool.
            if (Spool::in_use(dir)) dir += engine::concat("-", ::getpid());
        }
        s.spool = std::make_unique<Spool>(dir, static_cast<uint64_t>(config.spool_max_mb * 1048576.0));
        s.st.spool_dir = dir;
        s.st.recovered = static_cast<int64_t>(s.spool->recovered());
        if (s.spool->recovered() > 0)
            spdlog::info("publish: {} message(s) left in the spool {} by an earlier run are sent first",
                         s.spool->recovered(), dir);
    }
    s.st.url = config.url;
    s.thread = std::thread([&s] { s.run(); });
    std::unique_lock lock(s.mu);
    s.cv.wait_for(lock, kStartWait, [&s] { return s.first_try_done; });
    if (!s.fatal.empty()) {
        const std::string line = s.fatal;
        s.stop = true;
        lock.unlock();
        s.cv.notify_all();
        s.thread.join();
        s.finished = true;
        throw engine::Error(line);
    }
}

MqttSink::~MqttSink() {
    try {
        finish();
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
    }
}

SinkAction MqttSink::write(const Frame& frame) {
    Impl& s = *impl_;
    expand_topic(s.url.topic, frame.stream, frame.stream_label(), s.topic_buf);
    format_detections_message(frame, s.model, s.names, s.payload_buf);
    std::lock_guard lock(s.mu);
    if (!s.fatal.empty()) {
        s.fatal_thrown = true;
        throw engine::Error(s.fatal);
    }
    s.enqueue(s.topic_buf, s.payload_buf);
    return SinkAction::Continue;
}

void MqttSink::finish() {
    Impl& s = *impl_;
    if (s.finished) return;
    s.finished = true;
    std::unique_lock lock(s.mu);
    s.finishing = true;
    s.cv.notify_all();
    const bool flushed =
        s.cv.wait_for(lock, std::chrono::seconds(s.cfg.flush_timeout_s), [&s] { return s.thread_done; });
    s.stop = true;
    s.cv.notify_all();
    lock.unlock();
    s.thread.join();
    lock.lock();
    if (!flushed)
        spdlog::warn("publish: {} did not take {} message(s) within publish.flush_timeout_s ({} s)", s.where,
                     s.queue.size() + s.inflight.size() + (s.spool ? s.spool->count() : 0),
                     s.cfg.flush_timeout_s);
    // The thread has ended: what it did not deliver goes back into the spool, ahead of the rest.
    std::vector<std::string> undelivered;
    for (std::deque<Msg>* q : {&s.inflight, &s.queue}) {
        for (const Msg& m : *q) {
            if (m.acked) continue;
            encode_record(m.topic, m.payload, s.record_buf);
            undelivered.push_back(s.record_buf);
        }
        q->clear();
    }
    if (s.spool) {
        try {
            s.spool->push_front(undelivered);
        } catch (const std::exception& e) {
            s.st.lost += static_cast<int64_t>(undelivered.size());
            spdlog::error("{}", e.what());
        }
        s.st.left_in_spool = static_cast<int64_t>(s.spool->count());
        if (s.st.left_in_spool > 0)
            spdlog::warn(
                "publish: {} message(s) not delivered are kept in the spool {}; the next run with this "
                "spool sends them first",
                s.st.left_in_spool, s.spool->dir());
    } else {
        s.st.lost += static_cast<int64_t>(undelivered.size());
    }
    // Refused credentials seen only now (the run had no frame after it): the run fails with that line.
    if (!s.fatal.empty() && !s.fatal_thrown) {
        s.fatal_thrown = true;
        throw engine::Error(s.fatal);
    }
}

PublishStats MqttSink::stats() const {
    std::lock_guard lock(impl_->mu);
    return impl_->st;
}

}  // namespace app
