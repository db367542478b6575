import Foundation
@testable import ParleyServer
import Testing

/// WHIP and WHEP over Parley's HTTP port, as encoders and players use them (media itself: e2e/test_whip.py).
@Suite struct WHIPTests {
    static func fixture(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SDPTests/Fixtures/\(name)")
        return try String(contentsOf: url, encoding: .utf8)
    }

    static let sdp = "Content-Type: application/sdp"

    /// A header's value in a response head, by case-insensitive name.
    static func header(_ name: String, _ head: String) -> String? {
        for line in head.components(separatedBy: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    @Test func obsPublishesIntoARoomAndDeleteEndsItsParticipant() async throws {
        let server = try await RunningServer.start()
        defer { Task { try? await server.stop() } }
        let watcher = try await TestClient.connected(server, as: "watcher")
        _ = try await watcher.request("join", ["room": "r"])

        let offer = try Self.fixture("obs30-whip-offer.sdp")
        let created = try await RawSocket.request(port: server.port, "POST", "/whip/r/obs",
                                                  headers: [Self.sdp, "Authorization: Bearer obs-stream-key", "User-Agent: Mozilla/5.0 (OBS-Studio/30.1.0)"],
                                                  body: offer)
        #expect(created.status == 201, "\(created.head)\n\(created.body)")
        let location = try #require(Self.header("Location", created.head))
        #expect(location.range(of: #"^/whip/r/obs/[0-9a-f]{32}$"#, options: .regularExpression) != nil, "\(location)")
        #expect(Self.header("Content-Type", created.head) == "application/sdp")
        #expect(Self.header("ETag", created.head)?.hasPrefix("\"") == true)
        #expect(Self.header("Access-Control-Allow-Origin", created.head) == "*")
        #expect(Self.header("Access-Control-Expose-Headers", created.head)?.contains("Location") == true)
        // The answer takes OBS's offer whole: both sections, its codecs, one BUNDLE, Parley receiving.
        let answer = created.body
        #expect(answer.contains("a=group:BUNDLE 0 1"), "\(answer)")
        #expect(answer.contains("m=audio") && answer.contains("m=video"))
        #expect(answer.lowercased().contains("a=rtpmap:111 opus/48000/2") && answer.contains("a=rtpmap:96 H264/90000"))
        #expect(answer.components(separatedBy: "a=recvonly").count == 3)
        #expect(answer.contains("a=candidate:") && answer.contains("a=fingerprint:sha-256"))

        // The room sees a participant named as the URL says.
        let joined = try await watcher.nextEvent("joined")
        #expect((joined["participant"] as? [String: Any])?["name"] as? String == "obs")
        // The same name again is taken.
        let again = try await RawSocket.request(port: server.port, "POST", "/whip/r/obs", headers: [Self.sdp], body: offer)
        #expect(again.status == 409 && again.body.contains("taken"), "\(again.status) \(again.body)")

        let deleted = try await RawSocket.request(port: server.port, "DELETE", location, headers: ["Authorization: Bearer obs-stream-key"])
        #expect(deleted.status == 200)
        let left = try await watcher.nextEvent("left")
        #expect((left["participant"] as? [String: Any])?["name"] as? String == "obs" && left["reason"] as? String == "left")
        #expect(try await RawSocket.request(port: server.port, "DELETE", location).status == 404, "an ended session is gone")
        #expect(await server.server.whipEndpoints.count == 0)
    }

    @Test func gstreamersOfferWithABundleOnlyAudioIsTakenWhole() async throws {
        let server = try await RunningServer.start()
        defer { Task { try? await server.stop() } }
        let created = try await RawSocket.request(port: server.port, "POST", "/whip/r/gst", headers: [Self.sdp],
                                                  body: try Self.fixture("gstreamer-whip-offer.sdp"))
        #expect(created.status == 201, "\(created.status) \(created.body)")
        let answer = created.body
        #expect(answer.contains("a=group:BUNDLE video0 audio1"), "\(answer)")
        #expect(answer.contains("a=rtpmap:96 VP8/90000") && answer.lowercased().contains("a=rtpmap:111 opus/48000/2"))
        #expect(answer.components(separatedBy: "a=recvonly").count == 3, "both sections received")
        #expect(!answer.contains("m=audio 0 "), "the bundle-only audio is accepted, not rejected")
    }

    @Test func offersParleyCannotTakeWholeAreRefusedWithWhy() async throws {
        let server = try await RunningServer.start()
        defer { Task { try? await server.stop() } }
        let offer = try Self.fixture("obs30-whip-offer.sdp")
        func post(_ path: String, _ headers: [String], _ body: String) async throws -> (status: Int, body: String, head: String) {
            try await RawSocket.request(port: server.port, "POST", path, headers: headers, body: body)
        }
        let wrongType = try await post("/whip/r/a", ["Content-Type: text/plain"], offer)
        #expect(wrongType.status == 415 && Self.header("Content-Type", wrongType.head) == "application/problem+json")
        #expect(try await post("/whip/r/a", [Self.sdp], "v=0\r\nthis is not sdp\r\n").status == 400)
        #expect(try await post("/whip/r/a", [Self.sdp], "").status == 400)
        // A second video track: 422, never a partial answer.
        let videoSection = "m=video" + offer.components(separatedBy: "m=video")[1]
        let twoVideos = offer.replacingOccurrences(of: "a=group:BUNDLE 0 1", with: "a=group:BUNDLE 0 1 2")
            + videoSection.replacingOccurrences(of: "a=mid:1", with: "a=mid:2").replacingOccurrences(of: "3388068601", with: "3388068602")
        let second = try await post("/whip/r/b", [Self.sdp], twoVideos)
        #expect(second.status == 422, "\(second.status) \(second.body)")
        // Sections that do not share one transport.
        let unbundled = try await post("/whip/r/c", [Self.sdp], offer.replacingOccurrences(of: "a=group:BUNDLE 0 1\r\n", with: ""))
        #expect(unbundled.status == 422, "\(unbundled.status) \(unbundled.body)")
        // No codec Parley has.
        let noCodec = try await post("/whip/r/d", [Self.sdp], offer.replacingOccurrences(of: "H264/90000", with: "AV1/90000")
            .replacingOccurrences(of: "OPUS/48000/2", with: "ISAC/16000"))
        #expect(noCodec.status == 422, "\(noCodec.status) \(noCodec.body)")
        #expect(try await post("/whip/bad%20room!/a", [Self.sdp], offer).status == 400)
        // Nothing was left behind by the refusals.
        #expect(await server.server.whipEndpoints.count == 0)
        #expect(await server.server.hub.stats.participants == 0)
    }

    @Test func aFullRoomOrAnOversizedOfferIsRefused() async throws {
        let server = try await RunningServer.start { $0.maxParticipants = 1 }
        defer { Task { try? await server.stop() } }
        let alice = try await TestClient.connected(server, as: "alice")
        _ = try await alice.request("join", ["room": "r"])
        let full = try await RawSocket.request(port: server.port, "POST", "/whip/r/obs", headers: [Self.sdp],
                                               body: try Self.fixture("obs30-whip-offer.sdp"))
        #expect(full.status == 503 && Self.header("Retry-After", full.head) == "10", "\(full.status) \(full.body)")
        let huge = try await RawSocket.request(port: server.port, "POST", "/whip/other/obs", headers: [Self.sdp],
                                               body: String(repeating: "a=x\r\n", count: 20_000))
        #expect(huge.status == 413, "\(huge.status)")
        #expect(await server.server.hub.stats.participants == 1)
    }

    @Test func whepFindsTheParticipantsStreamOrSaysWhyNot() async throws {
        let server = try await RunningServer.start()
        defer { Task { try? await server.stop() } }
        let player = try Self.fixture("chrome-recvonly.sdp")
        func play(_ path: String) async throws -> (status: Int, body: String, head: String) {
            try await RawSocket.request(port: server.port, "POST", path, headers: [Self.sdp], body: player)
        }
        #expect(try await play("/whep/nowhere/alice").status == 404)
        let alice = try await TestClient.connected(server, as: "alice")
        _ = try await alice.request("join", ["room": "r"])
        #expect(try await play("/whep/r/bob").status == 404)
        let idle = try await play("/whep/r/alice")
        #expect(idle.status == 409 && Self.header("Retry-After", idle.head) == "5", "\(idle.status) \(idle.head)")
    }

    @Test func patchTakesTrickleRefusesARestartAndPreflightsAnswer() async throws {
        let server = try await RunningServer.start()
        defer { Task { try? await server.stop() } }
        let created = try await RawSocket.request(port: server.port, "POST", "/whip/r/obs", headers: [Self.sdp],
                                                  body: try Self.fixture("obs30-whip-offer.sdp"))
        let location = try #require(Self.header("Location", created.head))
        let etag = try #require(Self.header("ETag", created.head))
        let trickle = "Content-Type: application/trickle-ice-sdpfrag"
        let candidate = "a=ice-ufrag:nxcM\r\na=ice-pwd:ezjAjgSSLLvbRhUA1zc6Se\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
            + "a=candidate:2 1 UDP 1686052607 127.0.0.1 40000 typ srflx raddr 127.0.0.1 rport 57249\r\n"
        #expect(try await RawSocket.request(port: server.port, "PATCH", location, headers: [trickle, "If-Match: \(etag)"], body: candidate).status == 204)
        #expect(try await RawSocket.request(port: server.port, "PATCH", location, headers: [trickle, "If-Match: \"other\""], body: candidate).status == 412)
        let restart = candidate.replacingOccurrences(of: "nxcM", with: "Zk9q")
        #expect(try await RawSocket.request(port: server.port, "PATCH", location, headers: [trickle, "If-Match: *"], body: restart).status == 422)
        #expect(try await RawSocket.request(port: server.port, "PATCH", location, headers: [Self.sdp], body: candidate).status == 415)
        #expect(try await RawSocket.request(port: server.port, "PATCH", "/whip/r/obs/0123", headers: [trickle], body: candidate).status == 404)
        // A WHEP URL does not reach a WHIP session.
        #expect(try await RawSocket.request(port: server.port, "DELETE", location.replacingOccurrences(of: "/whip/", with: "/whep/")).status == 404)

        let preflight = try await RawSocket.request(port: server.port, "OPTIONS", "/whip/r/someone",
                                                    headers: ["Origin: https://app.example", "Access-Control-Request-Method: POST"])
        #expect(preflight.status == 204)
        #expect(Self.header("Accept-Post", preflight.head) == "application/sdp")
        #expect(Self.header("Access-Control-Allow-Headers", preflight.head)?.contains("Authorization") == true)
        #expect(Self.header("Access-Control-Allow-Methods", preflight.head)?.contains("DELETE") == true)
        let sessionPreflight = try await RawSocket.request(port: server.port, "OPTIONS", location)
        #expect(sessionPreflight.status == 204 && Self.header("Accept-Patch", sessionPreflight.head) == "application/trickle-ice-sdpfrag")
    }

    @Test func anAddressThatFloodsIsSlowedDown() async throws {
        let server = try await RunningServer.start()
        defer { Task { try? await server.stop() } }
        // Sixty at once: far over 20 a second, however slow the machine.
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<60 {
                group.addTask { try await RawSocket.request(port: server.port, "DELETE", "/whip/r/x/00000000000000000000000000000000").status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.contains(404) && statuses.contains(429), "\(Set(statuses))")
    }
}
