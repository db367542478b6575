import SFU
/// Prometheus's text exposition format (0.0.4) of the server's counters, read when scraped: the media loops keep
/// their own atomics and never call a registry. No room or participant labels (their number is unbounded).
struct MetricsText {
    private(set) var text = ""

    mutating func gauge(_ name: String, _ help: String, _ value: Double, labels: [(String, String)] = []) {
        family(name, help, "gauge", [(labels, value)])
    }

    mutating func counter(_ name: String, _ help: String, _ samples: [([(String, String)], Double)]) {
        family(name, help, "counter", samples)
    }

    mutating func family(_ name: String, _ help: String, _ type: String, _ samples: [([(String, String)], Double)]) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for (labels, value) in samples {
            let set = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            text += "\(name)\(set) \(Self.format(value))\n"
        }
    }

    /// A histogram family: cumulative buckets with `le`, then `_sum` and `_count`.
    mutating func histogram(_ name: String, _ help: String, _ snapshot: MediaHistogram.Snapshot) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for bucket in snapshot.buckets {
            text += "\(name)_bucket{le=\"\(Self.format(bucket.bound))\"} \(bucket.count)\n"
        }
        text += "\(name)_bucket{le=\"+Inf\"} \(snapshot.count)\n"
        text += "\(name)_sum \(Self.format(snapshot.sum))\n\(name)_count \(snapshot.count)\n"
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension ParleyServer {
    /// `GET /metrics` on the admin listener.
    func metrics() async -> String {
        let health = await health()
        var m = MetricsText()
        m.gauge("parley_info", "The server's version.", 1, labels: [("version", health.version)])
        m.gauge("parley_uptime_seconds", "Seconds since the server started.", health.uptime)
        m.gauge("parley_draining", "1 while a shutdown waits for the rooms to empty.", health.draining ? 1 : 0)
        m.gauge("parley_sessions", "Signaling sessions (Parley protocol, WCS, RTMP and WHIP participants).", Double(health.sessions))
        m.gauge("parley_rooms", "Rooms open.", Double(health.rooms))
        m.gauge("parley_participants", "Participants in rooms.", Double(health.participants))
        m.gauge("parley_streams", "Published streams, starting or live.", Double(health.streams))
        let stats = media.stats
        let transports = stats.transportStates
        m.family("parley_peer_connections", "WebRTC transports open, by state (connected: DTLS and SRTP up).", "gauge",
                 [([("state", "connecting")], Double(max(0, health.media.peerConnections - transports.connected))),
                  ([("state", "connected")], Double(transports.connected))])
        m.counter("parley_peer_connections_ended_total", "WebRTC transports ended, by reason (ICE consent, DTLS, SRTP failures among them).",
                  transports.ended.sorted { $0.key < $1.key }.map { ([("reason", $0.key)], Double($0.value)) })
        let feedback = stats.feedback
        m.counter("parley_nacks_total", "Sequence numbers asked again: of publishers (sent) and by viewers (received).",
                  [([("direction", "sent")], Double(feedback.nacksSent)), ([("direction", "received")], Double(feedback.nacksReceived))])
        m.counter("parley_retransmissions_sent_total", "Packets sent again to viewers in answer to their NACKs.", [([], Double(feedback.retransmissionsSent))])
        m.counter("parley_keyframe_requests_total", "PLI/FIR: sent to publishers, and received from viewers.",
                  [([("direction", "sent")], Double(feedback.keyframeRequestsSent)), ([("direction", "received")], Double(feedback.keyframeRequestsReceived))])
        m.histogram("parley_viewer_rtt_seconds", "Round-trip time to viewers, from their receiver reports.", stats.viewerRTT.snapshot)
        m.histogram("parley_viewer_jitter_seconds", "Interarrival jitter viewers report.", stats.viewerJitter.snapshot)
        m.histogram("parley_viewer_fraction_lost", "Fraction of packets lost that viewers report (per report interval).", stats.viewerLoss.snapshot)
        m.gauge("parley_whip_sessions", "WHIP publishers and WHEP players.", Double(health.whipSessions))
        m.gauge("parley_rtmp_connections", "RTMP connections open (encoders, players, handshakes).", Double(rtmpConnections.snapshot.open))
        m.gauge("parley_rtmp_publishers", "RTMP encoders publishing into rooms.", Double(rtmpPublishers.count))
        m.gauge("parley_transcodes", "VP8 to H.264 transcodes running for RTMP.", Double(health.transcodes))
        m.counter("parley_media_datagrams_total", "Datagrams received and sent on the media ports (SRTP, SRTCP, STUN, DTLS).",
                  [([("direction", "in")], Double(health.media.packetsIn)), ([("direction", "out")], Double(health.media.packetsOut))])
        m.counter("parley_media_bytes_total", "Bytes of those datagrams.",
                  [([("direction", "in")], Double(health.media.bytesIn)), ([("direction", "out")], Double(health.media.bytesOut))])
        let rtp = media.stats.rtp
        func byKind(_ pick: (MediaStats.RTPCounts) -> Int) -> [([(String, String)], Double)] {
            [("in", rtp.in), ("out", rtp.out)].flatMap { direction, counts in
                [TrackKind.audio, .video].map { ([("direction", direction), ("kind", $0.rawValue)], Double(counts[$0].map(pick) ?? 0)) }
            }
        }
        m.counter("parley_rtp_packets_total", "RTP of published tracks received (in) and forwarded to players (out), by kind.", byKind(\.packets))
        m.counter("parley_rtp_bytes_total", "Bytes of that RTP (SRTP as sent or received).", byKind(\.bytes))
        m.histogram("parley_forwarding_delay_seconds",
                    "From a read burst's first datagram to the flush that hands its copies to the socket (per flush).",
                    media.stats.forwardingDelay.snapshot)
        m.counter("parley_media_drops_total", "Datagrams dropped on the media ports, by reason.",
                  health.media.drops.sorted { $0.key < $1.key }.map { ([("reason", $0.key)], Double($0.value)) })
        m.gauge("parley_connections_open", "HTTP and WebSocket connections open.", Double(health.connections.open))
        m.counter("parley_connections_refused_total", "Connections closed by a limit, by reason.",
                  [([("reason", "per_address")], Double(health.connections.refusedPerAddress)),
                   ([("reason", "request_head_timeout")], Double(health.connections.headTimeouts)),
                   ([("reason", "new_per_second")], Double(health.connections.refusedRate))])
        m.counter("parley_requests_rate_limited_total", "Signaling and WHIP requests over their rate limit: refused, or the socket closed for flooding.",
                  [([("outcome", "refused")], Double(rateLimits.refused)), ([("outcome", "disconnected")], Double(rateLimits.disconnected))])
        m.counter("parley_auth_failures_total", "Access tokens refused.", [([], Double(health.auth.failures))])
        m.counter("parley_auth_slowed_total", "Token checks delayed for an address past its limit.", [([], Double(health.auth.slowed))])
        m.counter("parley_origin_refused_total", "WebSocket upgrades refused for their Origin.", [([], Double(health.auth.originRefused))])
        if let hook = health.auth.hook {
            m.counter("parley_auth_hook_requests_total",
                      "Authorization hook answers by outcome (failed: no answer in time, no connection, or a status other than 2xx and 403; refused as well).",
                      [([("outcome", "allowed")], Double(hook.allowed)), ([("outcome", "refused")], Double(hook.refused)),
                       ([("outcome", "failed")], Double(hook.failed))])
        }
        m.gauge("parley_recordings_active", "Recordings being written.", Double(health.recordings.active))
        m.counter("parley_recordings_total", "Recordings ended, by outcome.",
                  [([("outcome", "finished")], Double(health.recordings.finished)), ([("outcome", "stopped")], Double(health.recordings.stopped)),
                   ([("outcome", "refused")], Double(health.recordings.refused))])
        if let hooks = webhooks?.snapshot {
            m.counter("parley_webhook_deliveries_total", "Webhook events by outcome (per URL; dropped: the queue was full).",
                      [([("outcome", "delivered")], Double(hooks.delivered)), ([("outcome", "failed")], Double(hooks.failed)),
                       ([("outcome", "dropped")], Double(hooks.dropped))])
        }
        return m.text
    }
}
