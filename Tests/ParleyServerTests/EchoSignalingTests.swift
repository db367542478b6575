import Foundation
import Testing
@testable import ParleyServer

/// The echo request's refusals, over a real server: an offer Parley cannot use never opens a transport.
@Suite struct EchoSignalingTests {
    static let chromeLikeOffer = """
        v=0\r
        o=- 1 2 IN IP4 127.0.0.1\r
        s=-\r
        t=0 0\r
        a=group:BUNDLE 0 1 2\r
        m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r
        c=IN IP4 0.0.0.0\r
        a=ice-ufrag:abcd\r
        a=ice-pwd:abcdefghijklmnopqrstuvwx\r
        a=fingerprint:sha-256 \(Array(repeating: "AB", count: 32).joined(separator: ":"))\r
        a=setup:actpass\r
        a=mid:0\r
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
        a=sendrecv\r
        a=rtcp-mux\r
        a=rtpmap:111 opus/48000/2\r
        a=fmtp:111 minptime=10;useinbandfec=1\r
        a=rtpmap:0 PCMU/8000\r
        m=video 9 UDP/TLS/RTP/SAVPF 96 102\r
        c=IN IP4 0.0.0.0\r
        a=mid:1\r
        a=sendrecv\r
        a=rtcp-mux\r
        a=rtpmap:96 VP8/90000\r
        a=rtcp-fb:96 nack pli\r
        a=rtcp-fb:96 goog-remb\r
        a=rtpmap:102 H264/90000\r
        a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r
        a=mid:2\r

        """

    @Test(arguments: [
        ("", "bad_sdp"),
        ("hello", "bad_sdp"),
        ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n", "bad_sdp"),  // no ICE credentials or fingerprint
        (chromeLikeOffer.replacingOccurrences(of: "sha-256", with: "sha-1"), "bad_sdp"),
        (chromeLikeOffer.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:passive"), "bad_sdp"),
        (chromeLikeOffer.replacingOccurrences(of: "opus/48000/2", with: "G722/8000")
            .replacingOccurrences(of: "PCMU/8000", with: "iLBC/8000")
            .replacingOccurrences(of: "VP8/90000", with: "AV1/90000")
            .replacingOccurrences(of: "H264/90000", with: "VP9/90000"), "no_common_codec"),
        (String(repeating: "a=x\r\n", count: 3_000), "bad_sdp"),
    ])
    func unusableOffersAreRefusedWithAClearCode(sdp: String, code: String) async throws {
        let server = try await RunningServer.start()
        let client = try await TestClient.connected(server, as: "echo")
        let reply = try await client.request("echo", ["sdp": sdp])
        #expect(errorCode(reply) == code)
        #expect(server.server.media.stats.snapshot.peerConnections == 0)
        // The session carries on.
        #expect(try await client.request("ping")["ok"] as? Bool == true)
        client.close()
        try await server.stop()
    }

    @Test func aOneWayEchoOfferIsRefusedRatherThanAnsweredWithSilence() async throws {
        let server = try await RunningServer.start()
        let client = try await TestClient.connected(server, as: "echo")
        for direction in ["sendonly", "recvonly"] {
            let reply = try await client.request("echo", ["sdp": Self.chromeLikeOffer.replacingOccurrences(of: "a=sendrecv", with: "a=\(direction)")])
            #expect(errorCode(reply) == "bad_sdp")
            let message = (reply["error"] as? [String: Any])?["message"] as? String
            #expect(message?.contains("sendrecv") == true, "\(direction): \(String(describing: message))")
        }
        #expect(server.server.media.stats.snapshot.peerConnections == 0)
        client.close()
        try await server.stop()
    }

    @Test func echoBeforeConnectAndUnknownStreamsAreRefused() async throws {
        let server = try await RunningServer.start()
        let anonymous = TestClient(url: server.url)
        #expect(errorCode(try await anonymous.request("echo", ["sdp": Self.chromeLikeOffer])) == "not_connected")
        let client = try await TestClient.connected(server, as: "echo")
        #expect(errorCode(try await client.request("stopStream", ["stream": "nope"])) == "unknown_stream")
        let ok = try await client.request("echo", ["sdp": Self.chromeLikeOffer])
        let stream = try #require(result(ok)["stream"] as? String)
        let answer = try #require(result(ok)["sdp"] as? String)
        #expect(answer.contains("a=ice-lite"))
        #expect(answer.contains("a=setup:passive"))
        #expect(answer.contains("m=application 0 "))
        #expect(answer.contains("a=rtpmap:96 VP8/90000"))
        #expect(answer.contains("a=rtpmap:111 opus/48000/2"))
        #expect(answer.contains("a=sendrecv"))
        #expect(server.server.media.stats.snapshot.peerConnections == 1)
        #expect(try await client.request("stopStream", ["stream": stream])["ok"] as? Bool == true)
        try await waitUntil("the transport to close") { server.server.media.stats.snapshot.peerConnections == 0 }
        anonymous.close()
        client.close()
        try await server.stop()
    }
}
