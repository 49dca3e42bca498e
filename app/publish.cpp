#include "app/publish.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"

namespace app {

namespace {

constexpr const char* kUrlForm =
    "expected mqtt://HOST[:PORT]/TOPIC or mqtts://..., e.g. mqtt://localhost/rtdet/{stream}";

void append_json_text(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(u));
        } else {
            out += c;
        }
    }
    out += '"';
}

// A character shown in an error: printable as itself, else as its code.
std::string shown(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u > 0x20 && u < 0x7f) return engine::concat("'", c, "'");
    return fmt::format("0x{:02x}", static_cast<int>(u));
}

}  // namespace

MqttUrl parse_mqtt_url(std::string_view url) {
    MqttUrl u;
    const size_t sep = url.find("://");
    ENGINE_CHECK(!url.empty(), "publish.url: empty (", kUrlForm, ")");
    ENGINE_CHECK(sep != std::string_view::npos, "publish.url: '", url, "' is not a URL (", kUrlForm, ")");
    std::string scheme(url.substr(0, sep));
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ENGINE_CHECK(scheme == "mqtt" || scheme == "mqtts", "publish.url: unsupported scheme '",
                 url.substr(0, sep), "' (", kUrlForm, ")");
    u.tls = scheme == "mqtts";
    const std::string_view rest = url.substr(sep + 3);
    const size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    // user:password@ would put a secret on the command line, in shell history and in logs: refused,
    // and the URL is not repeated (it holds the secret).
    ENGINE_CHECK(authority.find('@') == std::string_view::npos,
                 "publish.url: credentials in the URL are not accepted (they would show in the process list "
                 "and logs); set publish.username / publish.password in the config file, or "
                 "RTDET_MQTT_USERNAME / RTDET_MQTT_PASSWORD");
    std::string_view host, port;
    if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
        const size_t close = authority.find(']');
        ENGINE_CHECK(close != std::string_view::npos, "publish.url: unclosed '[' in host '", authority, "'");
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        ENGINE_CHECK(after.empty() || after.front() == ':', "publish.url: unexpected '", after,
                     "' after the IPv6 address in '", url, "'");
        ENGINE_CHECK(after.size() != 1, "publish.url: empty port after ':' in '", url,
                     "' (expected 1-65535)");
        if (!after.empty()) port = after.substr(1);
        for (const char c : host)
            ENGINE_CHECK(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.',
                         "publish.url: bad character ", shown(c), " in IPv6 address '", host, "'");
    } else {
        const size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            ENGINE_CHECK(!port.empty(), "publish.url: empty port after ':' in '", url,
                         "' (expected 1-65535)");
        }
        for (const char c : host)
            ENGINE_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_',
                         "publish.url: bad character ", shown(c), " in host '", host, "'");
    }
    ENGINE_CHECK(!host.empty(), "publish.url: no host in '", url, "' (", kUrlForm, ")");
    u.host = std::string(host);
    u.port = u.tls ? 8883 : 1883;
    if (!port.empty()) {
        int p = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        const bool digits = port.find_first_not_of("0123456789") == std::string_view::npos;
        ENGINE_CHECK(digits, "publish.url: port '", port, "' is not a number (expected 1-65535)");
        ENGINE_CHECK(ec == std::errc() && end == port.data() + port.size() && p >= 1 && p <= 65535,
                     "publish.url: port ", port, " is out of range (expected 1-65535)");
        u.port = p;
    }
    ENGINE_CHECK(slash != std::string_view::npos && slash + 1 < rest.size(), "publish.url: no topic in '",
                 url, "' (", kUrlForm, ")");
    const std::string_view topic = rest.substr(slash + 1);
    for (const char c : topic) {
        ENGINE_CHECK(c != '+' && c != '#', "publish.url: topic '", topic, "' contains '", c,
                     "' (wildcards are for subscribing, not publishing)");
        ENGINE_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f, "publish.url: bad character ",
                     shown(c), " in topic '", topic, "'");
    }
    ENGINE_CHECK(topic.front() != '$', "publish.url: topic '", topic,
                 "' starts with '$' (topics starting with $ belong to the broker)");
    ENGINE_CHECK(topic.size() <= 60000, "publish.url: topic is ", topic.size(),
                 " bytes long (at most 60000)");
    // Placeholders: {stream} and {name}; any other {...} is a typo to report now, not a topic to create.
    for (size_t open = topic.find('{'); open != std::string_view::npos; open = topic.find('{', open + 1)) {
        const size_t close = topic.find('}', open);
        ENGINE_CHECK(close != std::string_view::npos, "publish.url: unclosed '{' in topic '", topic,
                     "' (placeholders: {stream}, {name})");
        const std::string_view ph = topic.substr(open, close - open + 1);
        ENGINE_CHECK(ph == "{stream}" || ph == "{name}", "publish.url: unknown placeholder '", ph,
                     "' in topic '", topic, "' (placeholders: {stream}, {name})");
    }
    u.topic = std::string(topic);
    return u;
}

void expand_topic(const std::string& tmpl, int stream, std::string_view name, std::string& out) {
    out.clear();
    size_t i = 0;
    while (i < tmpl.size()) {
        if (tmpl[i] == '{' && tmpl.compare(i, 8, "{stream}") == 0) {
            fmt::format_to(std::back_inserter(out), "{}", stream);
            i += 8;
        } else if (tmpl[i] == '{' && tmpl.compare(i, 6, "{name}") == 0) {
            if (name.empty()) {
                fmt::format_to(std::back_inserter(out), "stream{}", stream);
            } else {
                for (const char c : name) out += (c == '+' || c == '#' || c == '/' || c == '\0') ? '_' : c;
            }
            i += 6;
        } else {
            out += tmpl[i++];
        }
    }
}

std::string iso8601_utc_ms(int64_t unix_ms) {
    // Floor division, so times before 1970 still get milliseconds in [0, 999].
    int64_t secs = unix_ms / 1000, ms = unix_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void format_detections_message(const Frame& frame, std::string_view model,
                               const std::vector<std::string>& class_names, std::string& out) {
    out.clear();
    auto it = std::back_inserter(out);
    const auto unix_ms = static_cast<int64_t>(std::floor(frame.wall_clock_ms));
    out += "{\"schema\":\"";
    out += kDetectionsSchema;
    fmt::format_to(it, "\",\"stream\":{},\"name\":", frame.stream);
    append_json_text(out, frame.stream_label());
    fmt::format_to(it, ",\"frame\":{},\"timestamp_ms\":{:.3f},\"time\":\"{}\",\"time_unix_ms\":{},\"model\":",
                   frame.index, frame.timestamp_ms, iso8601_utc_ms(unix_ms), unix_ms);
    append_json_text(out, model);
    if (!frame.name.empty()) {
        out += ",\"source\":";
        append_json_text(out, frame.name);
    }
    fmt::format_to(it, ",\"width\":{},\"height\":{},\"detections\":[", frame.image.cols, frame.image.rows);
    for (size_t i = 0; i < frame.detections.size(); ++i) {
        const detector::Detection& d = frame.detections[i];
        out += i ? ",{\"class\":" : "{\"class\":";
        if (d.class_id >= 0 && static_cast<size_t>(d.class_id) < class_names.size())
            append_json_text(out, class_names[static_cast<size_t>(d.class_id)]);
        else
            fmt::format_to(it, "\"class{}\"", d.class_id);
        fmt::format_to(it, ",\"class_id\":{},\"score\":{:.5f},\"box\":[{:.2f},{:.2f},{:.2f},{:.2f}]}}",
                       d.class_id, d.score, d.box.x1, d.box.y1, d.box.x2, d.box.y2);
    }
    out += "]}";
}

std::string publish_summary_line(const PublishStats& s) {
    std::string line = fmt::format(
        "publish: {}: messages {}, acknowledged {}, published {}, spooled {}, spool overflow dropped {}, "
        "reconnects {}",
        s.url, s.messages, s.acknowledged, s.published, s.spooled, s.spool_overflow_dropped, s.reconnects);
    if (s.recovered > 0) line += fmt::format(", recovered from an earlier run {}", s.recovered);
    if (!s.ever_connected) line += " (never connected)";
    if (s.left_in_spool > 0)
        line += fmt::format("; {} not delivered, kept in the spool {} for the next run", s.left_in_spool,
                            s.spool_dir);
    if (s.dropped() > 0)
        line += fmt::format("; MESSAGES WERE LOST: {} ({} spool overflow, {} not delivered at exit)",
                            s.dropped(), s.spool_overflow_dropped, s.lost);
    return line;
}

std::string publish_stats_json(const PublishStats& s) {
    const nlohmann::json j = {{"url", s.url},
                              {"messages", s.messages},
                              {"published", s.published},
                              {"acknowledged", s.acknowledged},
                              {"spooled", s.spooled},
                              {"spool_overflow_dropped", s.spool_overflow_dropped},
                              {"recovered", s.recovered},
                              {"left_in_spool", s.left_in_spool},
                              {"lost", s.lost},
                              {"dropped", s.dropped()},
                              {"reconnects", s.reconnects},
                              {"ever_connected", s.ever_connected},
                              {"spool_dir", s.spool_dir}};
    return j.dump();
}

}  // namespace app
