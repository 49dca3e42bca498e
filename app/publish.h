// `rtdet run --publish`: what the MQTT publisher needs that does not need libmosquitto, so it is built
// (and checked by validate_config) in every build: its configuration, the URL and topic rules, the
// message schema and the delivery counters for the summary. The client itself is app/mqtt_sink.h;
// the protocol, schema and guarantees are documented in docs/mqtt.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "app/frame.h"

namespace app {

// The `publish:` section of the config (docs/mqtt.md). Credentials come from the config file or the
// environment (RTDET_MQTT_USERNAME / RTDET_MQTT_PASSWORD, which win), never from the command line.
struct PublishConfig {
    std::string url;        // mqtt://HOST[:PORT]/TOPIC or mqtts://... (empty: no publishing)
    int qos = 1;            // 0, 1 (at least once) or 2
    std::string client_id;  // empty: rtdet-<hostname>-<pid>
    std::string username;   // empty: none (or $RTDET_MQTT_USERNAME)
    std::string password;   // never printed (--print-config shows ***)
    std::string tls_ca;     // CA file (mqtts: empty means the system's CAs)
    std::string tls_cert;   // client certificate and key, both or neither
    std::string tls_key;
    std::string spool_dir;     // empty: <cache dir>/mqtt-spool/<host>-<port>
    float spool_max_mb = 256;  // bound of the on-disk spool; 0: no spool (an outage drops, counted)
    int keepalive_s = 30;
    int flush_timeout_s = 10;  // at the end of a run: how long to wait for the broker to take the rest
};

// What a publisher did in a run (summary line and summary JSON).
struct PublishStats {
    std::string url;                     // as configured (never holds credentials: they are refused)
    int64_t messages = 0;                // frames handed to the publisher
    int64_t published = 0;               // PUBLISH packets sent, resends included
    int64_t acknowledged = 0;            // messages the broker took (PUBACK; QoS 0: written to it)
    int64_t spooled = 0;                 // messages that went through the on-disk spool
    int64_t spool_overflow_dropped = 0;  // messages lost because the spool was full
    int64_t recovered = 0;               // messages left in the spool by an earlier run, taken at start
    int64_t left_in_spool = 0;           // not delivered at exit, kept in the spool for the next run
    int64_t lost = 0;                    // not delivered at exit and not kept (no spool): lost
    int64_t reconnects = 0;              // connections made again after one was lost
    bool ever_connected = false;
    std::string spool_dir;

    // Messages that will never arrive: the spool's overflow and what could not be kept at exit.
    int64_t dropped() const { return spool_overflow_dropped + lost; }
};

// "publish: mqtt://... : messages 377, acknowledged 377, ..." (no newline); says MESSAGES WERE LOST
// when dropped() > 0.
std::string publish_summary_line(const PublishStats& s);
// The counters as a JSON object text (for the summary JSON).
std::string publish_stats_json(const PublishStats& s);

struct MqttUrl {
    bool tls = false;   // mqtts://
    std::string host;   // without brackets for IPv6
    int port = 0;       // 1883 (mqtt) or 8883 (mqtts) when not given
    std::string topic;  // the template: may hold {stream} and {name}
};

// Parses `url` (see the rules in docs/mqtt.md). Throws engine::Error, one line starting
// "publish.url: ", naming the fault; credentials in the URL are refused without echoing them.
MqttUrl parse_mqtt_url(std::string_view url);

// The topic for one frame: {stream} -> the index, {name} -> the stream's name with the characters
// MQTT gives a meaning to in topics ('+', '#', '/') and NUL replaced by '_' (an empty name gives
// "stream<index>"). Into `out` (reused).
void expand_topic(const std::string& topic_template, int stream, std::string_view name, std::string& out);

// The schema name of every message.
inline constexpr std::string_view kDetectionsSchema = "rtdet.detections/1";

// One message (docs/mqtt.md, "Message"):
//   {"schema":"rtdet.detections/1","stream":0,"name":"car-detection","frame":12,"timestamp_ms":960.000,
//    "time":"2026-12-03T18:00:00.123Z","time_unix_ms":1796320800123,"model":"...","width":768,
//    "height":432,"detections":[{"class":"car","class_id":2,"score":0.87000,"box":[x1,y1,x2,y2]}]}
// plus "source" (the file) for image sources. Into `out` (reused).
void format_detections_message(const Frame& frame, std::string_view model,
                               const std::vector<std::string>& class_names, std::string& out);

// "2026-12-03T18:00:00.123Z" for milliseconds since the Unix epoch (UTC).
std::string iso8601_utc_ms(int64_t unix_ms);

}  // namespace app
