import Logging
import Testing
@testable import Signaling

/// WHIP and WHEP sessions without HTTP, against a real hub and a media plane without media.
@Suite struct WHIPEndpointsTests {
    /// Waits until `condition` holds, checking it every 20 ms, or fails after `checks` checks. Counted in checks,
    /// not seconds: under a sanitizer the suite's CPU-bound tests can hold every task back for a minute, which a
    /// deadline would count against the condition.
    func eventually(_ what: String, checks: Int = 500, _ condition: () async -> Bool) async throws {
        for _ in 0..<checks {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw WCSTestFailure("\(what) did not happen in \(checks) checks")
    }

    /// A WHIP publish or a WHEP play whose media never connects (the encoder gave up after the answer, or UDP is
    /// blocked) has nothing else to end it: no socket, maybe no DELETE, and ICE checks without DTLS keep the SFU's
    /// consent clock fresh. It ends after `connectTimeout`; a connected one stays.
    @Test func sessionsWhoseMediaNeverConnectsEnd() async throws {
        let hub = SignalingHub(), media = FakeMedia()
        var logger = Logger(label: "whip-test")
        logger.logLevel = .critical
        let endpoints = WHIPEndpoints(hub: hub, media: media, connectTimeout: .milliseconds(500), logger: logger)
        let run = Task { await endpoints.run() }
        defer { run.cancel() }

        // This one's media connects at once (within `publish`), however late its relay gets to the event.
        _ = try await endpoints.publish(room: "r", name: "encoder", offer: "connects")
        let live = try #require(media.running.first)
        try await eventually("the connected publish to go live") {
            await hub.participants(in: "r").first { $0.name == "encoder" }?.streams.isEmpty == false
        }
        _ = try await endpoints.publish(room: "r", name: "gone", offer: "offer")
        _ = try await endpoints.play(room: "r", name: "encoder", offer: "offer")

        // A session leaves the table before its media stops and its participant leaves (each an await), so wait for
        // all three: under a held-back pool the first can be seen long before the others.
        try await eventually("the unconnected publish and play to end") {
            let left = await endpoints.count, names = await hub.participants(in: "r").map(\.name)
            return left == 1 && media.stopped.count == 2 && names == ["encoder"]
        }
        #expect(media.stopped.count == 2 && !media.stopped.contains(live))
        #expect(await hub.stats.streams == 1)
        // The connected publish, whose time ran out first, stays.
        try await Task.sleep(for: .milliseconds(500))
        #expect(await endpoints.count == 1 && media.running == [live])
    }
}
