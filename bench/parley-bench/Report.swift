// One run's figures, the side-by-side table and its JSON form.
import Foundation

struct RunResult: Codable, Sendable {
    var server: String
    var scenario: String
    var publishers: Int
    var subscribers: Int            // subscriber transports measured (live at the end plus departed)
    var liveSubscribers: Int
    var videoKbps: Double
    var windowSeconds: Double
    var setupSeconds: Double
    var egressMbps: Double
    var egressPacketsPerSecond: Double
    var serverCPUCores: Double?
    /// The same window's CPU from the threads' schedstat: a cross-check of /proc/PID/stat.
    var serverCPUCoresSchedstat: Double?
    var mbpsPerCore: Double?
    var expectedPackets: Int
    var receivedPackets: Int
    var lossPercent: Double
    var duplicates: Int
    var outOfOrder: Int
    var silentSubscribers: Int
    var latencyP50Ms: Double
    var latencyP99Ms: Double
    var latencyMaxMs: Double
    var latencySamples: Int
    /// Send → the generator read it: adds the generator's own receive loop to the server's latency.
    var endToEndP50Ms: Double
    var endToEndP99Ms: Double
    var endToEndMaxMs: Double
    var rssMiB: Double?
    var rssBaselineMiB: Double?
    var rssPerSubscriberKiB: Double?
    var firstPacketP50Ms: Double?
    var firstPacketP99Ms: Double?
    var firstKeyframeP50Ms: Double?
    var firstKeyframeP99Ms: Double?
    var firstKeyframeMaxMs: Double?
    var subscribeToKeyframeP50Ms: Double?
    var subscribeToKeyframeP99Ms: Double?
    var keyframesFromCache: Int
    var keyframesMeasured: Int
    var setupP50Ms: Double?
    var setupP99Ms: Double?
    var generatorCPUCores: Double
    var udpReceiveBufferErrors: Int
    /// Packets a subscriber could not use: SRTP failures, not ours, before its keys.
    var undecryptable: Int
    var foreign: Int
    var publisherSendErrors: Int
    var srtpProfile: String
    /// What the publishers negotiated with the server (the subscribers' is `srtpProfile`).
    var publisherSRTPProfile: String
    var keyframesSent: Int
    var keyframeRequests: Int
    var nacksToPublishers: Int
    var failures: [String]
    var churned: Int
    var rssStartMiB: Double?
    var rssEndMiB: Double?
    var rssMaxMiB: Double?
    var rssSlopeKiBPerMinute: Double?
    /// Server RSS through the window: [seconds since it opened, MiB], one a second.
    var rssSamples: [[Double]]

    static func make(server: String, options: BenchOptions, window: Double, windowStart: UInt64, setupSeconds: Double,
                     publishers: [PublisherSummary], subscribers: [SubscriberSummary], latency: LatencyHistogram,
                     endToEnd: LatencyHistogram,
                     baseline: ProcessSample?, afterSetup: ProcessSample?, serverStart: ProcessSample?, serverEnd: ProcessSample?,
                     generatorCores: Double, udpErrors: Int, setupTimes: [Double], failures: [String], churned: Int,
                     rssSamples: [(Double, Int)], liveSubscribers: Int, rssBeforeSubscribers: Int?) -> RunResult {
        let byID = Dictionary(uniqueKeysWithValues: publishers.map { ($0.id, $0) })
        var expected = 0, received = 0, duplicates = 0, outOfOrder = 0, silent = 0, bytes = 0, packets = 0
        for s in subscribers {
            bytes += s.measuredBytes
            packets += s.measuredPackets
            let publisher = byID[s.publisherID]
            for (track, pubWindow) in [(s.video, publisher?.videoWindow), (s.audio, publisher?.audioWindow)] {
                duplicates += track.duplicates
                outOfOrder += track.outOfOrder
                if let first = track.first {
                    var end = track.highest
                    if s.alive, publisher?.alive == true, let w = pubWindow { end = max(end, w.last) }
                    let e = Int(end - first) + 1
                    expected += e
                    received += min(track.unique, e)
                } else if s.alive, let w = pubWindow, s.connectedAt < windowStart {
                    // Connected before the window opened and got nothing of this track: all of it is lost.
                    expected += Int(w.last - w.first) + 1
                    silent += 1
                }
            }
        }
        let firstPackets = subscribers.compactMap(\.firstPacket)
        let firstKeyframes = subscribers.compactMap(\.firstKeyframe)
        let fromSubscribe = subscribers.compactMap(\.firstKeyframeFromSubscribe)
        let cores = serverStart.flatMap { a in serverEnd.map { ProcessSample.cores(a, $0) } }
        let egress = Double(bytes) * 8 / window / 1e6
        let rss = serverEnd?.rssBytes ?? afterSetup?.rssBytes
        // Fanout and churn: what each subscriber added since the publishers were up. Rooms: per transport.
        let perSubscriber: Double? = {
            guard let rss, liveSubscribers > 0 else { return nil }
            if let before = rssBeforeSubscribers { return Double(rss - before) / 1024 / Double(liveSubscribers) }
            guard let base = baseline?.rssBytes else { return nil }
            return Double(rss - base) / 1024 / Double(liveSubscribers + publishers.count)
        }()
        let mib = { (b: Int?) in b.map { Double($0) / 1_048_576 } }
        var slope: Double?
        // Least squares over the second half of the window (the first half still warms up), KiB per minute.
        let late = Array(rssSamples.suffix(rssSamples.count / 2))
        if late.count >= 3 {
            let xs = late.map { $0.0 }, ys = late.map { Double($0.1) / 1024 }
            let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
            let sxx = xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
            let sxy = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
            if sxx > 0 { slope = sxy / sxx * 60 }
        }
        let profiles = Set(subscribers.compactMap { $0.profile.map { "\($0)" } })
        return RunResult(
            server: server, scenario: options.scenario.rawValue, publishers: publishers.count, subscribers: subscribers.count,
            liveSubscribers: liveSubscribers, videoKbps: options.traffic.videoKbps, windowSeconds: window,
            setupSeconds: setupSeconds, egressMbps: egress, egressPacketsPerSecond: Double(packets) / window,
            serverCPUCores: cores,
            serverCPUCoresSchedstat: serverStart.flatMap { a in serverEnd.flatMap { ProcessSample.schedCores(a, $0) } },
            mbpsPerCore: cores.map { $0 > 0 ? egress / $0 : 0 },
            expectedPackets: expected, receivedPackets: received,
            lossPercent: expected > 0 ? Double(expected - received) * 100 / Double(expected) : 0,
            duplicates: duplicates, outOfOrder: outOfOrder, silentSubscribers: silent,
            latencyP50Ms: Double(latency.quantile(0.5)) / 1000, latencyP99Ms: Double(latency.quantile(0.99)) / 1000,
            latencyMaxMs: Double(latency.maxValue) / 1000, latencySamples: Int(latency.total),
            endToEndP50Ms: Double(endToEnd.quantile(0.5)) / 1000, endToEndP99Ms: Double(endToEnd.quantile(0.99)) / 1000,
            endToEndMaxMs: Double(endToEnd.maxValue) / 1000,
            rssMiB: mib(rss), rssBaselineMiB: mib(baseline?.rssBytes), rssPerSubscriberKiB: perSubscriber,
            firstPacketP50Ms: firstPackets.isEmpty ? nil : percentile(firstPackets, 0.5),
            firstPacketP99Ms: firstPackets.isEmpty ? nil : percentile(firstPackets, 0.99),
            firstKeyframeP50Ms: firstKeyframes.isEmpty ? nil : percentile(firstKeyframes, 0.5),
            firstKeyframeP99Ms: firstKeyframes.isEmpty ? nil : percentile(firstKeyframes, 0.99),
            firstKeyframeMaxMs: firstKeyframes.max(),
            subscribeToKeyframeP50Ms: fromSubscribe.isEmpty ? nil : percentile(fromSubscribe, 0.5),
            subscribeToKeyframeP99Ms: fromSubscribe.isEmpty ? nil : percentile(fromSubscribe, 0.99),
            keyframesFromCache: subscribers.filter { $0.firstKeyframe != nil && $0.keyframeFromCache }.count,
            keyframesMeasured: firstKeyframes.count,
            setupP50Ms: setupTimes.isEmpty ? nil : percentile(setupTimes, 0.5),
            setupP99Ms: setupTimes.isEmpty ? nil : percentile(setupTimes, 0.99),
            generatorCPUCores: generatorCores, udpReceiveBufferErrors: udpErrors,
            undecryptable: subscribers.reduce(0) { $0 + $1.undecryptable }, foreign: subscribers.reduce(0) { $0 + $1.foreign },
            publisherSendErrors: publishers.reduce(0) { $0 + $1.sendErrors },
            srtpProfile: profiles.sorted().joined(separator: ","),
            publisherSRTPProfile: Set(publishers.compactMap { $0.profile.map { "\($0)" } }).sorted().joined(separator: ","),
            keyframesSent: publishers.reduce(0) { $0 + $1.keyframes },
            keyframeRequests: publishers.reduce(0) { $0 + $1.keyframeRequests },
            nacksToPublishers: publishers.reduce(0) { $0 + $1.nacks },
            failures: failures, churned: churned,
            rssStartMiB: rssSamples.first.map { Double($0.1) / 1_048_576 },
            rssEndMiB: rssSamples.last.map { Double($0.1) / 1_048_576 },
            rssMaxMiB: rssSamples.map(\.1).max().map { Double($0) / 1_048_576 },
            rssSlopeKiBPerMinute: slope,
            rssSamples: rssSamples.map { [($0.0 * 10).rounded() / 10, (Double($0.1) / 1_048_576 * 100).rounded() / 100] })
    }
}

/// The side-by-side table: one column per server, and Parley/Janus when both ran.
enum Table {
    static func render(_ results: [RunResult]) -> String {
        guard let first = results.first else { return "(no results)\n" }
        if Set(results.map(\.videoKbps)).count > 1 { return sweep(results) }
        let parley = results.first { $0.server == "parley" }
        let janus = results.first { $0.server == "janus" }
        var rows: [(String, (RunResult) -> Double?, String)] = [
            ("egress Mbit/s", { $0.egressMbps }, "%.1f"),
            ("egress packets/s", { $0.egressPacketsPerSecond }, "%.0f"),
            ("server CPU (cores)", { $0.serverCPUCores }, "%.3f"),
            ("Mbit/s per core", { $0.mbpsPerCore }, "%.0f"),
            ("loss %", { $0.lossPercent }, "%.4f"),
            ("duplicates", { Double($0.duplicates) }, "%.0f"),
            ("out of order", { Double($0.outOfOrder) }, "%.0f"),
            ("latency p50 ms (send → subscriber socket)", { $0.latencyP50Ms }, "%.3f"),
            ("latency p99 ms", { $0.latencyP99Ms }, "%.3f"),
            ("latency max ms", { $0.latencyMaxMs }, "%.3f"),
            ("end-to-end p99 ms (incl. generator)", { $0.endToEndP99Ms }, "%.3f"),
            ("server RSS MiB", { $0.rssMiB }, "%.1f"),
            (first.scenario == "rooms" ? "RSS per transport KiB" : "RSS per subscriber KiB", { $0.rssPerSubscriberKiB }, "%.1f"),
            ("connect → first packet p50 ms", { $0.firstPacketP50Ms }, "%.2f"),
            ("connect → first packet p99 ms", { $0.firstPacketP99Ms }, "%.2f"),
            ("connect → first keyframe p50 ms", { $0.firstKeyframeP50Ms }, "%.2f"),
            ("connect → first keyframe p99 ms", { $0.firstKeyframeP99Ms }, "%.2f"),
            ("connect → first keyframe max ms", { $0.firstKeyframeMaxMs }, "%.2f"),
            ("first keyframe sent before connect (cache)", { Double($0.keyframesFromCache) }, "%.0f"),
            ("subscribe → DTLS up p50 ms", { $0.setupP50Ms }, "%.1f"),
            ("subscribe → first keyframe p50 ms", { $0.subscribeToKeyframeP50Ms }, "%.1f"),
            ("subscribe → first keyframe p99 ms", { $0.subscribeToKeyframeP99Ms }, "%.1f"),
            ("generator CPU (cores)", { $0.generatorCPUCores }, "%.3f"),
            ("UDP receive-buffer drops", { Double($0.udpReceiveBufferErrors) }, "%.0f"),
        ]
        if first.scenario == "churn" {
            rows += [
                ("subscribers replaced", { Double($0.churned) }, "%.0f"),
                ("RSS start MiB", { $0.rssStartMiB }, "%.1f"),
                ("RSS end MiB", { $0.rssEndMiB }, "%.1f"),
                ("RSS max MiB", { $0.rssMaxMiB }, "%.1f"),
                ("RSS slope KiB/min", { $0.rssSlopeKiBPerMinute }, "%.1f"),
            ]
        }
        var header = ["metric"] + results.map(\.server)
        if parley != nil && janus != nil { header.append("parley/janus") }
        var lines = ["| " + header.joined(separator: " | ") + " |",
                     "|" + header.map { _ in "---" }.joined(separator: "|") + "|"]
        for (name, value, format) in rows {
            var cells = [name]
            for r in results { cells.append(value(r).map { $0.isFinite ? String(format: format, $0) : "–" } ?? "–") }
            if let parley, let janus {
                if let a = value(parley), let b = value(janus), b != 0, a.isFinite, b.isFinite {
                    cells.append(String(format: "%.2f×", a / b))
                } else {
                    cells.append("–")
                }
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        var out = "scenario \(first.scenario): \(first.publishers) publisher(s), \(first.subscribers) subscriber transport(s), "
            + "video \(Int(first.videoKbps)) kbit/s + audio, window \(String(format: "%.1f", first.windowSeconds)) s; "
            + "SRTP " + results.map { "\($0.server) \($0.srtpProfile)" }.joined(separator: ", ") + "\n"
        out += lines.joined(separator: "\n") + "\n"
        for r in results where !r.failures.isEmpty {
            out += "\(r.server): \(r.failures.count) peer(s) failed, e.g. \(r.failures[0])\n"
        }
        return out
    }

    /// A load sweep: one row per step and server; the ratio of Mbit/s per core at each step.
    static func sweep(_ results: [RunResult]) -> String {
        let first = results[0]
        var out = "scenario \(first.scenario) sweep: \(first.publishers) publisher(s), \(first.subscribers) subscriber transport(s), "
            + "window \(String(format: "%.0f", first.windowSeconds)) s per step\n"
        out += "| server | video kbit/s per publisher | egress Mbit/s | packets/s | server CPU (cores) | Mbit/s per core | loss % "
            + "| latency p50 / p99 / max ms | generator CPU | UDP drops |\n"
        out += "|---|---|---|---|---|---|---|---|---|---|\n"
        for r in results.sorted(by: { ($0.videoKbps, $0.server) < ($1.videoKbps, $1.server) }) {
            out += String(format: "| %@ | %.0f | %.1f | %.0f | %.3f | %.0f | %.4f | %.3f / %.3f / %.3f | %.3f | %d |\n",
                          r.server, r.videoKbps, r.egressMbps, r.egressPacketsPerSecond, r.serverCPUCores ?? .nan,
                          r.mbpsPerCore ?? .nan, r.lossPercent, r.latencyP50Ms, r.latencyP99Ms, r.latencyMaxMs,
                          r.generatorCPUCores, r.udpReceiveBufferErrors)
            if r.undecryptable + r.foreign > 0 { out += "  (\(r.server): \(r.undecryptable) undecryptable, \(r.foreign) unparsable packets)\n" }
        }
        let rates = Set(results.map(\.videoKbps)).sorted()
        var ratios: [String] = []
        for k in rates {
            if let p = results.first(where: { $0.server == "parley" && $0.videoKbps == k })?.mbpsPerCore,
               let j = results.first(where: { $0.server == "janus" && $0.videoKbps == k })?.mbpsPerCore, j > 0 {
                ratios.append(String(format: "%.0f kbit/s: %.2f×", k, p / j))
            }
        }
        if !ratios.isEmpty { out += "Mbit/s per core, parley/janus: " + ratios.joined(separator: ", ") + "\n" }
        return out
    }
}
