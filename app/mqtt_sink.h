// `rtdet run --publish mqtt://HOST:PORT/TOPIC`: one JSON message per frame to an MQTT broker
// (libmosquitto; schema, guarantees and errors in docs/mqtt.md).
//
//   output thread: write() ──► memory queue (bounded) ──► network thread ──► broker
//                       └────► spool on disk (bounded) ──┘  (while the broker is away, or anything is
//                                                            spooled: order is kept)
//
// write() formats the message and queues it; it never waits for the network. A network thread of the
// sink's own owns the libmosquitto client: it connects (again and again, with backoff up to 2 s, while
// the broker is away), takes messages oldest first (the memory queue, then the spool), keeps up to 20
// in flight and lets one go only when the broker acknowledges it (PUBACK at QoS 1, PUBCOMP at 2). A
// lost connection puts the unacknowledged ones back at the head, so they are sent again, first
// (duplicates are possible: at-least-once). Each connection is a fresh client with a clean session,
// so libmosquitto keeps no queue of its own beside this one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/publish.h"
#include "app/sinks.h"

namespace app {

class MqttSink final : public Sink {
  public:
    // Checks the URL, resolves the host, opens the spool (publish.spool_dir, else
    // <cache_dir>/mqtt-spool/<host>-<port>) and tries the broker for up to 3 s. Throws engine::Error (one
    // line) for a bad URL, a host that does not resolve, a spool folder it cannot use, TLS files it cannot
    // load, and a broker that refuses the credentials or the client id. A broker that cannot be reached
    // is no error: a warning names it, and messages are spooled until it can.
    MqttSink(const PublishConfig& config, std::string model, const std::vector<std::string>& class_names,
             const std::string& cache_dir);
    ~MqttSink() override;
    MqttSink(const MqttSink&) = delete;
    MqttSink& operator=(const MqttSink&) = delete;

    bool wants_annotated() const override { return false; }
    // Throws engine::Error when the broker refused the credentials on a reconnect (the run stops).
    SinkAction write(const Frame& frame) override;
    // Waits up to publish.flush_timeout_s for the broker to take everything; what it did not take is
    // put back into the spool for the next run (counted in left_in_spool), or without a spool counted
    // as lost. Idempotent.
    void finish() override;
    // The counters so far (final after finish()).
    PublishStats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace app
