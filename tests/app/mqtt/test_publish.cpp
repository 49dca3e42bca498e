// `--publish` without a broker: the URL rules (each fault with its exact line), topic templates, the
// message schema field by field against hand-computed values, the summary counters, and the config
// keys (ranges, did-you-mean, --print-config hiding the password, credentials refused from --set).
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "app/config.h"
#include "app/publish.h"
#include "app/stats.h"
#include "engine/core/error.h"
#include "tests/app/app_test_util.h"

namespace {

using app::parse_mqtt_url;

// The engine::Error message of `f` (which must throw, on one line).
std::string error_of(const std::function<void()>& f) {
    const std::string msg = app_test::error_of(f);
    if (msg.empty()) ADD_FAILURE() << "did not throw";
    return msg;
}

std::string url_error(const std::string& url) {
    return error_of([&] { parse_mqtt_url(url); });
}

TEST(MqttUrl, GoodUrls) {
    app::MqttUrl u = parse_mqtt_url("mqtt://127.0.0.1:1884/rtdet/{stream}");
    EXPECT_FALSE(u.tls);
    EXPECT_EQ(u.host, "127.0.0.1");
    EXPECT_EQ(u.port, 1884);
    EXPECT_EQ(u.topic, "rtdet/{stream}");

    u = parse_mqtt_url("mqtt://broker.example.com/a");
    EXPECT_EQ(u.port, 1883) << "default port of mqtt://";
    EXPECT_EQ(u.topic, "a");

    u = parse_mqtt_url("MQTTS://broker/cams/{name}/detections");
    EXPECT_TRUE(u.tls);
    EXPECT_EQ(u.port, 8883) << "default port of mqtts://";
    EXPECT_EQ(u.topic, "cams/{name}/detections");

    u = parse_mqtt_url("mqtt://[::1]:1999/t");
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.port, 1999);

    u = parse_mqtt_url("mqtt://h:65535/x/y/");
    EXPECT_EQ(u.port, 65535);
    EXPECT_EQ(u.topic, "x/y/") << "the topic is taken as written";
}

TEST(MqttUrl, BadUrlsSayWhatIsWrong) {
    const std::string form =
        " (expected mqtt://HOST[:PORT]/TOPIC or mqtts://..., e.g. mqtt://localhost/rtdet/{stream})";
    EXPECT_EQ(url_error("http://h/t"), "publish.url: unsupported scheme 'http'" + form);
    EXPECT_EQ(url_error("localhost:1883/t"), "publish.url: 'localhost:1883/t' is not a URL" + form);
    EXPECT_EQ(url_error(""), "publish.url: empty" + form);
    EXPECT_EQ(url_error("mqtt://h:1883"), "publish.url: no topic in 'mqtt://h:1883'" + form);
    EXPECT_EQ(url_error("mqtt://h:1883/"), "publish.url: no topic in 'mqtt://h:1883/'" + form);
    EXPECT_EQ(url_error("mqtt:///t"), "publish.url: no host in 'mqtt:///t'" + form);
    EXPECT_EQ(url_error("mqtt://h:abc/t"), "publish.url: port 'abc' is not a number (expected 1-65535)");
    EXPECT_EQ(url_error("mqtt://h:-1/t"), "publish.url: port '-1' is not a number (expected 1-65535)");
    EXPECT_EQ(url_error("mqtt://h:0/t"), "publish.url: port 0 is out of range (expected 1-65535)");
    EXPECT_EQ(url_error("mqtt://h:65536/t"), "publish.url: port 65536 is out of range (expected 1-65535)");
    EXPECT_EQ(url_error("mqtt://h:99999999999999999999/t"),
              "publish.url: port 99999999999999999999 is out of range (expected 1-65535)");
    EXPECT_EQ(url_error("mqtt://h:/t"),
              "publish.url: empty port after ':' in 'mqtt://h:/t' (expected 1-65535)");
    EXPECT_EQ(url_error("mqtt://bad host/t"), "publish.url: bad character 0x20 in host 'bad host'");
    EXPECT_EQ(url_error("mqtt://h!/t"), "publish.url: bad character '!' in host 'h!'");
    EXPECT_EQ(url_error("mqtt://h/a/+/b"),
              "publish.url: topic 'a/+/b' contains '+' (wildcards are for subscribing, not publishing)");
    EXPECT_EQ(url_error("mqtt://h/a/#"),
              "publish.url: topic 'a/#' contains '#' (wildcards are for subscribing, not publishing)");
    EXPECT_EQ(url_error("mqtt://h/a\tb"), "publish.url: bad character 0x09 in topic 'a\tb'");
    EXPECT_EQ(url_error("mqtt://h/$SYS/x"),
              "publish.url: topic '$SYS/x' starts with '$' (topics starting with $ belong to the broker)");
    EXPECT_EQ(
        url_error("mqtt://h/a/{steam}"),
        "publish.url: unknown placeholder '{steam}' in topic 'a/{steam}' (placeholders: {stream}, {name})");
    EXPECT_EQ(url_error("mqtt://h/a/{stream"),
              "publish.url: unclosed '{' in topic 'a/{stream' (placeholders: {stream}, {name})");
    EXPECT_EQ(url_error("mqtt://[::1/t"), "publish.url: unclosed '[' in host '[::1'");
}

TEST(MqttUrl, CredentialsInTheUrlAreRefusedWithoutEchoingThem) {
    const std::string e = url_error("mqtt://alice:s3cret@h/t");
    EXPECT_EQ(e,
              "publish.url: credentials in the URL are not accepted (they would show in the process list and "
              "logs); set publish.username / publish.password in the config file, or RTDET_MQTT_USERNAME / "
              "RTDET_MQTT_PASSWORD");
    EXPECT_EQ(e.find("s3cret"), std::string::npos);
}

TEST(MqttTopic, PlaceholdersAreFilledPerFrame) {
    std::string out;
    app::expand_topic("rtdet/{stream}", 7, "cam", out);
    EXPECT_EQ(out, "rtdet/7");
    app::expand_topic("site/{name}/s{stream}/{name}", 12, "front-door", out);
    EXPECT_EQ(out, "site/front-door/s12/front-door");
    app::expand_topic("x/{name}", 3, "a+b#c/d", out);
    EXPECT_EQ(out, "x/a_b_c_d") << "characters with a meaning in topics are replaced";
    app::expand_topic("x/{name}", 3, "", out);
    EXPECT_EQ(out, "x/stream3") << "an empty name falls back to the index";
    app::expand_topic("plain/topic", 1, "n", out);
    EXPECT_EQ(out, "plain/topic");
    app::expand_topic("{x}/{stream", 1, "n", out);
    EXPECT_EQ(out, "{x}/{stream") << "only whole placeholders are replaced";
}

TEST(MqttMessage, Iso8601) {
    EXPECT_EQ(app::iso8601_utc_ms(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(app::iso8601_utc_ms(1796320800123), "2026-12-03T18:00:00.123Z");
    EXPECT_EQ(app::iso8601_utc_ms(951782400999), "2000-02-29T00:00:00.999Z");  // a leap day
    EXPECT_EQ(app::iso8601_utc_ms(-1), "1969-12-31T23:59:59.999Z");
}

TEST(MqttMessage, SchemaFieldByField) {
    app::Frame f;
    const std::string stream_name = "cam \"east\"";
    f.stream = 3;
    f.stream_name = &stream_name;
    f.index = 12;
    f.timestamp_ms = 960.0;
    f.wall_clock_ms = 1796320800123.75;  // 2026-12-03T18:00:00.123 UTC (+0.75 ms, floored)
    f.image.create(768, 432);
    detector::Detection car;
    car.box = {10.5f, 20.25f, 110.125f, 220.0f};
    car.class_id = 2;
    car.score = 0.875f;
    detector::Detection unknown;
    unknown.box = {0, 0, 1, 1};
    unknown.class_id = 7;  // past the names given: "class7"
    unknown.score = 0.5f;
    f.detections = {car, unknown};
    const std::vector<std::string> names = {"person", "bicycle", "car"};
    std::string msg;
    app::format_detections_message(f, "rtdet cpu fp32, yolo-fastest-1.1 320x320", names, msg);

    const nlohmann::json j = nlohmann::json::parse(msg);
    EXPECT_EQ(j.size(), 11u) << msg;  // no field more, none less
    EXPECT_EQ(j["schema"], "rtdet.detections/1");
    EXPECT_EQ(j["stream"], 3);
    EXPECT_EQ(j["name"], "cam \"east\"");
    EXPECT_EQ(j["frame"], 12);
    EXPECT_DOUBLE_EQ(j["timestamp_ms"].get<double>(), 960.0);
    EXPECT_EQ(j["time"], "2026-12-03T18:00:00.123Z");
    EXPECT_EQ(j["time_unix_ms"], int64_t{1796320800123});
    EXPECT_TRUE(j["time_unix_ms"].is_number_integer());
    EXPECT_EQ(j["model"], "rtdet cpu fp32, yolo-fastest-1.1 320x320");
    EXPECT_EQ(j["width"], 768);
    EXPECT_EQ(j["height"], 432);
    ASSERT_EQ(j["detections"].size(), 2u);
    const nlohmann::json& d = j["detections"][0];
    EXPECT_EQ(d.size(), 4u);
    EXPECT_EQ(d["class"], "car");
    EXPECT_EQ(d["class_id"], 2);
    EXPECT_DOUBLE_EQ(d["score"].get<double>(), 0.875);
    ASSERT_EQ(d["box"].size(), 4u);
    // Two decimals, as in the JSON lines output: 20.25 stays, 110.125 is written 110.12 or 110.13.
    EXPECT_DOUBLE_EQ(d["box"][0].get<double>(), 10.5);
    EXPECT_DOUBLE_EQ(d["box"][1].get<double>(), 20.25);
    EXPECT_NEAR(d["box"][2].get<double>(), 110.125, 0.006);
    EXPECT_DOUBLE_EQ(d["box"][3].get<double>(), 220.0);
    EXPECT_EQ(j["detections"][1]["class"], "class7");
    EXPECT_EQ(j["detections"][1]["class_id"], 7);
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line";
    EXPECT_EQ(msg.rfind("{\"schema\":\"rtdet.detections/1\",", 0), 0u) << "the schema comes first: " << msg;

    // An image source adds "source"; no detections is an empty list.
    f.name = "dir/a.jpg";
    f.detections.clear();
    app::format_detections_message(f, "m", names, msg);
    const nlohmann::json k = nlohmann::json::parse(msg);
    EXPECT_EQ(k["source"], "dir/a.jpg");
    EXPECT_TRUE(k["detections"].is_array() && k["detections"].empty());
}

TEST(MqttSummary, LineAndJsonCarryTheCounters) {
    app::PublishStats s;
    s.url = "mqtt://h:1/t";
    s.messages = 10;
    s.published = 12;
    s.acknowledged = 7;
    s.spooled = 5;
    s.spool_overflow_dropped = 3;
    s.reconnects = 2;
    s.ever_connected = true;
    EXPECT_EQ(app::publish_summary_line(s),
              "publish: mqtt://h:1/t: messages 10, acknowledged 7, published 12, spooled 5, spool overflow "
              "dropped 3, reconnects 2; MESSAGES WERE LOST: 3 (3 spool overflow, 0 not delivered at exit)");
    app::RunSummary r;
    r.publish = s;
    EXPECT_NE(r.to_text().find("  publish: mqtt://h:1/t: messages 10,"), std::string::npos) << r.to_text();
    const nlohmann::json j = nlohmann::json::parse(r.to_json());
    EXPECT_EQ(j["publish"]["spool_overflow_dropped"], 3);
    EXPECT_EQ(j["publish"]["dropped"], 3);
    EXPECT_EQ(j["publish"]["reconnects"], 2);
    EXPECT_EQ(j["publish"]["acknowledged"], 7);
    app::RunSummary none;
    EXPECT_FALSE(nlohmann::json::parse(none.to_json()).contains("publish"));
}

// ---- config ----

TEST(PublishConfig, KeysLoadFromTheFileWithRangeChecks) {
    app::AppConfig c;
    app::load_config_text(R"(
publish:
  url: mqtt://localhost:1884/rtdet/{stream}
  qos: 2
  client_id: cam-box-1
  username: alice
  password: "s3cret"
  spool_dir: /tmp/spool
  spool_max_mb: 0.5
  keepalive_s: 15
  flush_timeout_s: 3
)",
                          "test.yaml", c);
    EXPECT_EQ(c.publish.url, "mqtt://localhost:1884/rtdet/{stream}");
    EXPECT_EQ(c.publish.qos, 2);
    EXPECT_EQ(c.publish.client_id, "cam-box-1");
    EXPECT_EQ(c.publish.username, "alice");
    EXPECT_EQ(c.publish.password, "s3cret");
    EXPECT_FLOAT_EQ(c.publish.spool_max_mb, 0.5f);
    EXPECT_EQ(c.publish.keepalive_s, 15);
    EXPECT_EQ(c.publish.flush_timeout_s, 3);

    const auto load_error = [](const std::string& yaml) {
        return error_of([&] {
            app::AppConfig x;
            app::load_config_text(yaml, "test.yaml", x);
        });
    };
    EXPECT_EQ(load_error("publish:\n  qos: 3\n"),
              "test.yaml:2: publish.qos: must be an integer in [0, 2] (got '3')");
    EXPECT_EQ(load_error("publish:\n  keepalive_s: 2\n"),
              "test.yaml:2: publish.keepalive_s: must be an integer in [5, 65535] (got '2')");
    EXPECT_EQ(load_error("publish:\n  spool_max_mb: -1\n"),
              "test.yaml:2: publish.spool_max_mb: must be a number in [0, 1.04858e+06] (got '-1')");
    EXPECT_EQ(load_error("publish:\n  spool_max: 3\n"),
              "test.yaml:2: unknown key 'publish.spool_max' (did you mean 'publish.spool_max_mb'?)");
    EXPECT_EQ(load_error("publish:\n  pasword: x\n"),
              "test.yaml:2: unknown key 'publish.pasword' (did you mean 'publish.password'?)");
    EXPECT_EQ(
        load_error("publish: 3\n").rfind("test.yaml:1: publish: expected a mapping of keys (url, qos,", 0),
        0u);
}

TEST(PublishConfig, CredentialsAreRefusedFromTheCommandLine) {
    app::AppConfig c;
    EXPECT_EQ(
        error_of([&] { app::set_config_key(c, "publish.password", "s3cret", "--set"); }),
        "--set: publish.password cannot be given on the command line (it would show in the process list "
        "and shell history); put it in the config file, or set RTDET_MQTT_PASSWORD");
    EXPECT_EQ(
        error_of([&] { app::set_config_key(c, "publish.username", "alice", "--set"); }),
        "--set: publish.username cannot be given on the command line (it would show in the process list "
        "and shell history); put it in the config file, or set RTDET_MQTT_USERNAME");
    EXPECT_TRUE(c.publish.password.empty() && c.publish.username.empty());
}

TEST(PublishConfig, PrintConfigHidesThePassword) {
    app::AppConfig c;
    std::string yaml = app::config_to_yaml(c);
    EXPECT_NE(yaml.find("publish:\n  url: \"\"\n  qos: 1\n"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("  password: \"\"\n"), std::string::npos) << yaml;
    c.publish.password = "s3cret";
    c.publish.url = "mqtt://h/t";
    yaml = app::config_to_yaml(c);
    EXPECT_EQ(yaml.find("s3cret"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("  password: \"***\"\n"), std::string::npos) << yaml;
    // What is printed loads back (and prints the same).
    app::AppConfig again;
    app::load_config_text(yaml, "printed", again);
    EXPECT_EQ(app::config_to_yaml(again), yaml);
}

}  // namespace
