// `rtdet run --publish` end to end: the real binary on the sample video, a real mosquitto started here
// on a free loopback port (persistence on), and a subscriber with a persistent session
// (mosquitto_sub -c -q 1). One message per frame; the broker killed and restarted mid-run (every frame
// still arrives, in order, duplicates counted); refused credentials; a broker never there with a tiny
// spool (the overflow counted, exit 4) and that spool delivered by the next run; bad URLs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/mqtt_sink.h"
#include "tests/app/app_test_util.h"
#include "tests/app/mqtt/mqtt_test_util.h"

namespace {

namespace fs = std::filesystem;
using app_test::Process;
using mqtt_test::Broker;
using mqtt_test::Subscriber;

std::vector<std::string> rtdet_run(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--headless", "--source", app_test::video_path()});
    return app_test::rtdet_run_args(std::string(RTDET_SOURCE_DIR) + "/configs/yolo-fastest.yaml", extra);
}

std::string url(int port) { return "mqtt://127.0.0.1:" + std::to_string(port) + "/rtdet/{stream}"; }

std::string fmt_ms(int64_t ms) {
    std::string s = std::to_string(ms);
    return std::string(3 - std::min<size_t>(3, s.size()), '0') + s;
}

double now_unix_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

#define SKIP_OR_FAIL_WITHOUT_REQUIREMENTS() \
    SKIP_OR_FAIL_WITHOUT_DATA();            \
    SKIP_OR_FAIL_WITHOUT_MOSQUITTO()

TEST(MqttRun, OneMessagePerFrameWithTheRightFields) {
    SKIP_OR_FAIL_WITHOUT_REQUIREMENTS();
    const fs::path dir = app_test::scratch_dir("mqtt_run_all");
    Broker broker(dir, mqtt_test::free_port());
    ASSERT_TRUE(broker.start()) << broker.log();
    Subscriber sub(dir, broker.port());
    ASSERT_TRUE(sub.ready()) << sub.err();

    const double start_ms = now_unix_ms();
    std::string out, err;
    const int code = app_test::run_to_end(
        rtdet_run({"--publish", url(broker.port()), "--json", (dir / "out.jsonl").string(), "--summary-json",
                   (dir / "summary.json").string(), "--set",
                   "publish.spool_dir=" + (dir / "spool").string()}),
        dir, &out, &err, 300);
    const double end_ms = now_unix_ms();
    ASSERT_EQ(code, 0) << err;

    // finish() waited for every acknowledgement, so the subscriber has them all within moments.
    const std::vector<nlohmann::json> lines = app_test::read_json_lines(dir / "out.jsonl");
    ASSERT_EQ(lines.size(), 377u);
    app_test::wait_until([&] { return sub.messages().size() >= lines.size(); }, 20);
    const std::vector<mqtt_test::Received> msgs = sub.messages();
    ASSERT_EQ(msgs.size(), lines.size()) << "exactly one message per frame (no reconnect: no duplicate)";
    double last_time = 0;
    for (size_t i = 0; i < msgs.size(); ++i) {
        const nlohmann::json& m = msgs[i].body;
        ASSERT_EQ(msgs[i].topic, "rtdet/0");
        ASSERT_EQ(m["schema"], "rtdet.detections/1");
        ASSERT_EQ(m["stream"], 0);
        ASSERT_EQ(m["name"], "car-detection");
        ASSERT_EQ(m["frame"], static_cast<int64_t>(i)) << "frames 0..N-1, in order";
        EXPECT_NEAR(m["timestamp_ms"].get<double>(), 80.0 * static_cast<double>(i), 1.0);
        EXPECT_EQ(m["width"], 768);
        EXPECT_EQ(m["height"], 432);
        EXPECT_NE(m["model"].get<std::string>().find("yolo-fastest-1.1"), std::string::npos) << m["model"];
        // Wall-clock capture time: within the run, never going back, and "time" says the same.
        const double t = m["time_unix_ms"].get<double>();
        EXPECT_GE(t, start_ms - 1);
        EXPECT_LE(t, end_ms + 1);
        EXPECT_GE(t, last_time);
        last_time = t;
        const std::string iso = m["time"];
        ASSERT_EQ(iso.size(), 24u) << iso;
        EXPECT_EQ(iso.substr(20, 3), fmt_ms(static_cast<int64_t>(t) % 1000)) << iso;
        // The same detections as the JSON lines output of the same run.
        const nlohmann::json& want = lines[i]["detections"];
        ASSERT_EQ(m["detections"].size(), want.size()) << "frame " << i;
        for (size_t k = 0; k < want.size(); ++k) {
            EXPECT_EQ(m["detections"][k]["class"], want[k]["class"]);
            EXPECT_EQ(m["detections"][k]["class_id"], want[k]["class_id"]);
            EXPECT_EQ(m["detections"][k]["score"], want[k]["score"]);
            EXPECT_EQ(m["detections"][k]["box"], want[k]["box"]);
        }
    }
    EXPECT_NE(
        out.find("publish: " + url(broker.port()) +
                 ": messages 377, acknowledged 377, published 377, spooled 0, spool overflow dropped 0, "
                 "reconnects 0"),
        std::string::npos)
        << out;
    const auto summary = nlohmann::json::parse(app_test::read_text(dir / "summary.json"));
    EXPECT_EQ(summary["publish"]["acknowledged"], 377);
    EXPECT_EQ(summary["publish"]["dropped"], 0);
}

TEST(MqttRun, BrokerKilledMidRunLosesNothing) {
    SKIP_OR_FAIL_WITHOUT_REQUIREMENTS();
    const fs::path dir = app_test::scratch_dir("mqtt_run_kill");
    Broker broker(dir, mqtt_test::free_port());
    ASSERT_TRUE(broker.start()) << broker.log();
    Subscriber sub(dir, broker.port());
    ASSERT_TRUE(sub.ready()) << sub.err();
    // The subscriber's session must be in the broker's saved database before the SIGKILL (saved each second).
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));

    // Two streams (the video twice) played as cameras (--realtime: 12.5 frames a second each), 300
    // frames in all: 12 s, so the broker is away in the middle. The run's own JSON lines say which
    // (stream, frame) pairs were detected (a live stream may drop): each must arrive over MQTT.
    const int frames = 300;
    Process rtdet(
        rtdet_run({"--source", app_test::video_path(), "--realtime", "--max-batch", "2", "--max-frames",
                   std::to_string(frames), "--publish", url(broker.port()), "--json",
                   (dir / "out.jsonl").string(), "--summary-json", (dir / "summary.json").string(), "--set",
                   "publish.spool_dir=" + (dir / "spool").string()}),
        dir / "rtdet.out", dir / "rtdet.err");
    ASSERT_TRUE(app_test::wait_until([&] { return sub.messages().size() >= 50 || !rtdet.running(); }, 120))
        << rtdet.err();
    ASSERT_TRUE(rtdet.running()) << rtdet.err();
    // Frozen for a second first: the messages rtdet sends meanwhile are in flight, unacknowledged, when
    // the broker dies with them unread; they must be sent again after the restart.
    broker.freeze();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    broker.kill9();
    const size_t before_kill = sub.messages().size();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    ASSERT_TRUE(broker.start()) << broker.log();
    const int code = rtdet.wait(120);
    ASSERT_EQ(code, 0) << rtdet.err();

    std::map<int, std::vector<int64_t>> detected;  // stream -> frames, from the JSON lines
    for (const nlohmann::json& j : app_test::read_json_lines(dir / "out.jsonl"))
        detected[j["stream"].get<int>()].push_back(j["frame"].get<int64_t>());
    ASSERT_EQ(detected.size(), 2u);
    size_t total = 0;
    for (const auto& [stream, fs_] : detected) total += fs_.size();
    app_test::wait_until(
        [&] {
            const auto d = mqtt_test::deliveries(sub.messages());
            size_t n = 0;
            for (const auto& [stream, fs_] : d.frames) n += fs_.size();
            return n >= total;
        },
        30);
    const std::vector<mqtt_test::Received> msgs = sub.messages();
    const mqtt_test::Delivery d = mqtt_test::deliveries(msgs);
    std::printf("[ broker frozen and killed after %zu messages; %zu received in all, %lld duplicates ]\n",
                before_kill, msgs.size(), static_cast<long long>(d.duplicates));
    ASSERT_EQ(d.frames.size(), 2u);
    for (const auto& [stream, want] : detected)
        ASSERT_EQ(d.frames.at(stream), want)
            << "stream " << stream << ": every frame at least once, in order";
    EXPECT_EQ(msgs.size(), total + static_cast<size_t>(d.duplicates));
    for (const mqtt_test::Received& m : msgs)
        ASSERT_EQ(m.topic, "rtdet/" + std::to_string(m.body["stream"].get<int>())) << "topic per stream";

    const std::string out = rtdet.out();
    EXPECT_NE(out.find("publish: "), std::string::npos) << out;
    const auto summary = nlohmann::json::parse(app_test::read_text(dir / "summary.json"));
    const nlohmann::json& p = summary["publish"];
    EXPECT_GE(p["reconnects"].get<int>(), 1) << p;
    EXPECT_GT(p["spooled"].get<int>(), 0)
        << "frames captured while the broker was away went to the spool: " << p;
    EXPECT_EQ(p["messages"], total);
    EXPECT_EQ(p["acknowledged"], total) << p;
    EXPECT_GT(p["published"].get<size_t>(), total)
        << "the ones in flight at the crash were sent again: " << p;
    EXPECT_EQ(p["dropped"], 0);
    EXPECT_EQ(p["left_in_spool"], 0);
    const std::string err = rtdet.err();
    EXPECT_NE(err.find("publish: lost the connection to mqtt://127.0.0.1:" + std::to_string(broker.port())),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("publish: reconnected to"), std::string::npos) << err;
}

TEST(MqttRun, RefusedCredentialsFailTheRunInOneLine) {
    SKIP_OR_FAIL_WITHOUT_REQUIREMENTS();
    const fs::path dir = app_test::scratch_dir("mqtt_run_auth");
    const std::string passwd = (dir / "passwd").string();
    ASSERT_EQ(
        std::system(("mosquitto_passwd -c -b '" + passwd + "' alice right-pass-7 > /dev/null 2>&1").c_str()),
        0);
    Broker broker(dir, mqtt_test::free_port(), "allow_anonymous false\npassword_file " + passwd + "\n");
    ASSERT_TRUE(broker.start()) << broker.log();

    // Wrong password from the environment: one line naming the broker and the fault, never the password.
    ::setenv("RTDET_MQTT_USERNAME", "alice", 1);
    ::setenv("RTDET_MQTT_PASSWORD", "wrong-pass-3", 1);
    std::string out, err;
    int code = app_test::run_to_end(rtdet_run({"--max-frames", "3", "--publish", url(broker.port()), "--set",
                                               "publish.spool_dir=" + (dir / "spool1").string()}),
                                    dir, &out, &err, 120);
    ::unsetenv("RTDET_MQTT_USERNAME");
    ::unsetenv("RTDET_MQTT_PASSWORD");
    EXPECT_NE(code, 0) << err;
    // mosquitto answers "not authorised" (CONNACK 5) or "bad user name or password" (4).
    const std::string want = "rtdet: error: publish: mqtt://127.0.0.1:" + std::to_string(broker.port()) +
                             " refused the connection: Connection Refused: ";
    const size_t at = err.find(want);
    ASSERT_NE(at, std::string::npos) << err;
    const std::string line = err.substr(at, err.find('\n', at) - at);
    EXPECT_NE(line.find(". (check publish.username / publish.password, or RTDET_MQTT_USERNAME / "
                        "RTDET_MQTT_PASSWORD)"),
              std::string::npos)
        << line;
    EXPECT_EQ(err.find("wrong-pass-3"), std::string::npos) << "the password is never printed: " << err;
    EXPECT_EQ(out.find("wrong-pass-3"), std::string::npos) << out;

    // No credentials at all: the same, saying none were set.
    code = app_test::run_to_end(rtdet_run({"--max-frames", "3", "--publish", url(broker.port()), "--set",
                                           "publish.spool_dir=" + (dir / "spool2").string()}),
                                dir, &out, &err, 120);
    EXPECT_NE(code, 0);
    EXPECT_NE(err.find("(no username set: publish.username, or RTDET_MQTT_USERNAME / RTDET_MQTT_PASSWORD)"),
              std::string::npos)
        << err;

    // The password on the command line is refused before anything runs, and not echoed.
    code = app_test::run_to_end(
        rtdet_run({"--publish", url(broker.port()), "--set", "publish.password=hunter2"}), dir, &out, &err,
        60);
    EXPECT_NE(code, 0);
    EXPECT_NE(err.find("rtdet: error: --set: publish.password cannot be given on the command line"),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;

    // The right credentials from the config file: messages arrive.
    Subscriber sub(dir, broker.port(), {"-u", "alice", "-P", "right-pass-7"});
    ASSERT_TRUE(sub.ready()) << sub.err();
    app_test::write_bytes(dir / "creds.yaml",
                          "model:\n  path: " + app_test::small_model() +
                              "\npublish:\n  username: alice\n  password: right-pass-7\n");
    std::vector<std::string> args = rtdet_run({"--max-frames", "3", "--publish", url(broker.port()), "--set",
                                               "publish.spool_dir=" + (dir / "spool3").string()});
    args[3] = (dir / "creds.yaml").string();  // --config
    code = app_test::run_to_end(args, dir, &out, &err, 120);
    ASSERT_EQ(code, 0) << err;
    app_test::wait_until([&] { return sub.messages().size() >= 3; }, 20);
    EXPECT_EQ(sub.messages().size(), 3u);
}

TEST(MqttRun, UnreachableBrokerWithATinySpoolCountsTheOverflow) {
    SKIP_OR_FAIL_WITHOUT_REQUIREMENTS();
    const fs::path dir = app_test::scratch_dir("mqtt_run_unreachable");
    const int port = mqtt_test::free_port();  // nobody listens there
    const std::string spool = (dir / "spool").string();
    std::string out, err;
    // 0.02 MiB: about 40 messages of ~500 bytes; 120 frames.
    const int code = app_test::run_to_end(
        rtdet_run({"--max-frames", "120", "--publish", url(port), "--summary-json",
                   (dir / "summary.json").string(), "--set", "publish.spool_dir=" + spool, "--set",
                   "publish.spool_max_mb=0.02", "--set", "publish.flush_timeout_s=1"}),
        dir, &out, &err, 300);
    EXPECT_EQ(code, 4) << "4: messages were lost\n" << err;
    const std::string where = "mqtt://127.0.0.1:" + std::to_string(port);
    EXPECT_NE(err.find("publish: cannot reach " + where + " ("), std::string::npos) << err;
    EXPECT_NE(err.find("publish: the spool is full (0.02 MiB, publish.spool_max_mb)"), std::string::npos)
        << err;
    EXPECT_NE(out.find("MESSAGES WERE LOST"), std::string::npos) << out;
    EXPECT_NE(out.find("(never connected)"), std::string::npos) << out;
    const auto summary = nlohmann::json::parse(app_test::read_text(dir / "summary.json"));
    const nlohmann::json& p = summary["publish"];
    EXPECT_EQ(p["messages"], 120);
    EXPECT_EQ(p["acknowledged"], 0);
    EXPECT_GT(p["spooled"].get<int>(), 10) << p;
    EXPECT_GT(p["spool_overflow_dropped"].get<int>(), 10) << p;
    EXPECT_EQ(p["spooled"].get<int>() + p["spool_overflow_dropped"].get<int>(), 120)
        << "none unaccounted: " << p;
    EXPECT_EQ(p["left_in_spool"], p["spooled"]) << "kept for the next run";
    EXPECT_EQ(p["ever_connected"], false);
    const int kept = p["left_in_spool"].get<int>();

    // The next run with the same spool and a broker there: the kept messages go first, in order.
    SKIP_OR_FAIL_WITHOUT_MOSQUITTO();
    Broker broker(dir, port);
    ASSERT_TRUE(broker.start()) << broker.log();
    Subscriber sub(dir, port);
    ASSERT_TRUE(sub.ready()) << sub.err();
    const int code2 = app_test::run_to_end(
        rtdet_run({"--max-frames", "5", "--publish", url(port), "--summary-json",
                   (dir / "summary2.json").string(), "--set", "publish.spool_dir=" + spool}),
        dir, &out, &err, 300);
    ASSERT_EQ(code2, 0) << err;
    app_test::wait_until([&] { return static_cast<int>(sub.messages().size()) >= kept + 5; }, 20);
    const std::vector<mqtt_test::Received> msgs = sub.messages();
    ASSERT_EQ(static_cast<int>(msgs.size()), kept + 5);
    for (int i = 0; i < kept; ++i)
        ASSERT_EQ(msgs[static_cast<size_t>(i)].body["frame"], i) << "the kept ones first";
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(msgs[static_cast<size_t>(kept + i)].body["frame"], i) << "then this run's";
    const auto summary2 = nlohmann::json::parse(app_test::read_text(dir / "summary2.json"));
    EXPECT_EQ(summary2["publish"]["recovered"], kept);
    EXPECT_EQ(summary2["publish"]["acknowledged"], kept + 5);
    EXPECT_EQ(summary2["publish"]["left_in_spool"], 0);
}

TEST(MqttRun, BadUrlsAndHostsAreOneLine) {
    SKIP_OR_FAIL_WITHOUT_DATA();
    const fs::path dir = app_test::scratch_dir("mqtt_run_bad");
    struct Case {
        std::string url, expected;
    };
    const std::vector<Case> cases = {
        {"mqtt://127.0.0.1:0/t", "rtdet: error: publish.url: port 0 is out of range (expected 1-65535)\n"},
        {"mqtt://127.0.0.1:http/t",
         "rtdet: error: publish.url: port 'http' is not a number (expected 1-65535)\n"},
        {"tcp://127.0.0.1/t", "rtdet: error: publish.url: unsupported scheme 'tcp'"},
        {"mqtt://127.0.0.1:1883", "rtdet: error: publish.url: no topic in 'mqtt://127.0.0.1:1883'"},
        {"mqtt://127.0.0.1/a/#", "rtdet: error: publish.url: topic 'a/#' contains '#'"},
    };
    for (const Case& c : cases) {
        std::string out, err;
        const int code =
            app_test::run_to_end(rtdet_run({"--max-frames", "2", "--publish", c.url}), dir, &out, &err, 120);
        EXPECT_EQ(code, 1) << c.url << "\n" << err;
        // Checked with the config, before the model loads: the only line on stderr.
        EXPECT_EQ(err.rfind(c.expected, 0), 0u) << "expected: " << c.expected << "\ngot: " << err;
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line on stderr:\n" << err;
    }
    // A host that does not resolve is found when the publisher starts (after the model is loaded).
    std::string out, err;
    const int code = app_test::run_to_end(
        rtdet_run({"--max-frames", "2", "--publish", "mqtt://no-such-host.invalid/t"}), dir, &out, &err, 120);
    EXPECT_EQ(code, 1) << err;
    const std::string want = "rtdet: error: publish.url: cannot resolve host 'no-such-host.invalid' (";
    EXPECT_NE(err.find(want), std::string::npos) << err;
    EXPECT_EQ(err.find("rtdet: error:"), err.rfind("rtdet: error:")) << "one error line:\n" << err;
}

}  // namespace

// ---- the sink alone (no model): every QoS level delivers each frame, in order ----

namespace {

TEST(MqttSinkDirect, EveryQosDeliversInOrder) {
    SKIP_OR_FAIL_WITHOUT_MOSQUITTO();
    const fs::path dir = app_test::scratch_dir("mqtt_sink_qos");
    Broker broker(dir, mqtt_test::free_port());
    ASSERT_TRUE(broker.start()) << broker.log();
    Subscriber sub(dir, broker.port());
    ASSERT_TRUE(sub.ready()) << sub.err();
    const std::vector<std::string> names = {"person"};
    const std::string stream_name = "cam";
    int total = 0;
    for (int qos = 0; qos <= 2; ++qos) {
        app::PublishConfig cfg;
        cfg.url = "mqtt://127.0.0.1:" + std::to_string(broker.port()) + "/rtdet/q" + std::to_string(qos) +
                  "/{name}";
        cfg.qos = qos;
        // One id per client: a broker closes the older connection of an id taken over, with what it had
        // not read of it yet (at QoS 0, messages the sender counts as written).
        cfg.client_id = "rtdet-test-qos" + std::to_string(qos);
        cfg.spool_dir = (dir / ("spool" + std::to_string(qos))).string();
        app::MqttSink sink(cfg, "test model", names, (dir / "cache").string());
        app::Frame f;
        f.stream = qos;
        f.stream_name = &stream_name;
        f.image.create(8, 4);
        for (int i = 0; i < 500; ++i) {
            f.index = i;
            sink.write(f);
        }
        sink.finish();
        const app::PublishStats st = sink.stats();
        EXPECT_EQ(st.messages, 500) << "qos " << qos;
        EXPECT_EQ(st.acknowledged, 500) << "qos " << qos;
        EXPECT_EQ(st.dropped(), 0);
        EXPECT_EQ(st.left_in_spool, 0);
        total += 500;
    }
    app_test::wait_until([&] { return static_cast<int>(sub.messages().size()) >= total; }, 20);
    const std::vector<mqtt_test::Received> msgs = sub.messages();
    ASSERT_EQ(static_cast<int>(msgs.size()), total);
    const mqtt_test::Delivery d = mqtt_test::deliveries(msgs);
    EXPECT_EQ(d.duplicates, 0);
    for (int qos = 0; qos <= 2; ++qos) {
        ASSERT_EQ(d.frames.at(qos).size(), 500u);
        for (size_t i = 0; i < 500; ++i)
            ASSERT_EQ(d.frames.at(qos)[i], static_cast<int64_t>(i)) << "qos " << qos;
    }
    EXPECT_EQ(msgs.front().topic, "rtdet/q0/cam");
    EXPECT_EQ(msgs.back().topic, "rtdet/q2/cam");
}

}  // namespace

namespace {

// mqtts:// with a CA of the test's own (openssl): delivered with publish.tls_ca; with another CA the
// broker's certificate is not trusted, nothing is sent, and the messages stay in the spool.
TEST(MqttSinkDirect, TlsWithTheBrokersCa) {
    SKIP_OR_FAIL_WITHOUT_MOSQUITTO();
    if (!app_test::have_program("openssl")) RTDET_SKIP_OR_FAIL("openssl not found (Debian openssl)");
    const fs::path dir = app_test::scratch_dir("mqtt_sink_tls");
    const std::string d = dir.string();
    const std::string make_certs =
        "cd '" + d +
        "' && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "
        "/CN=rtdet-test-ca && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 -subj "
        "/CN=other-ca && "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
        "-extfile ext.cnf";
    ASSERT_EQ(std::system(("(" + make_certs + ") > '" + d + "/openssl.log' 2>&1").c_str()), 0)
        << app_test::read_text(dir / "openssl.log");
    Broker broker(dir, mqtt_test::free_port(),
                  "allow_anonymous true\ncafile " + d + "/ca.crt\ncertfile " + d + "/server.crt\nkeyfile " +
                      d + "/server.key\n");
    ASSERT_TRUE(broker.start()) << broker.log();
    Subscriber sub(dir, broker.port(), {"--cafile", d + "/ca.crt"});
    ASSERT_TRUE(sub.ready()) << sub.err();

    const std::vector<std::string> names = {"person"};
    const std::string stream_name = "cam";
    app::Frame f;
    f.stream_name = &stream_name;
    f.image.create(8, 4);
    app::PublishConfig cfg;
    cfg.url = "mqtts://127.0.0.1:" + std::to_string(broker.port()) + "/rtdet/tls";
    cfg.tls_ca = d + "/ca.crt";
    cfg.spool_dir = d + "/spool";
    {
        app::MqttSink sink(cfg, "m", names, d);
        for (int i = 0; i < 20; ++i) {
            f.index = i;
            sink.write(f);
        }
        sink.finish();
        EXPECT_EQ(sink.stats().acknowledged, 20);
    }
    app_test::wait_until([&] { return sub.messages().size() >= 20; }, 20);
    EXPECT_EQ(sub.messages().size(), 20u);

    cfg.tls_ca = d + "/other.crt";
    cfg.spool_dir = d + "/spool-untrusted";
    cfg.flush_timeout_s = 1;
    app::MqttSink sink(cfg, "m", names, d);
    for (int i = 0; i < 5; ++i) {
        f.index = i;
        sink.write(f);
    }
    sink.finish();
    const app::PublishStats st = sink.stats();
    EXPECT_FALSE(st.ever_connected);
    EXPECT_EQ(st.acknowledged, 0);
    EXPECT_EQ(st.left_in_spool, 5);
    EXPECT_EQ(st.dropped(), 0);
}

}  // namespace
