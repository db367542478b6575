import Foundation
import Testing
@testable import SDP

@Suite("Negotiation")
struct NegotiatorTests {
    let negotiator = SDPNegotiator()

    func answer(_ fixture: String, codecs: [CodecPreference]? = nil,
                plan: (OfferedMedia) -> MediaPlan = { _ in .accept() }) throws -> Negotiation {
        var parameters = Parley.parameters
        parameters.codecs = codecs
        return try negotiator.answer(Fixture.text(fixture), parameters: parameters, plan: plan)
    }

    /// Every answer must itself be valid SDP that round-trips.
    func checkAnswer(_ n: Negotiation) throws -> [String] {
        let text = n.answerSDP
        let reparsed = try SessionDescription.parse(text)
        #expect(reparsed == n.answer)
        #expect(Fixture.lines(reparsed.serialize()) == Fixture.lines(text))
        return Fixture.lines(text)
    }

    @Test("Chrome sendrecv (echo): Opus and VP8 with RTX, feedback and extensions from the offer")
    func chromeEcho() throws {
        let n = try answer("chrome-sendrecv.sdp", plan: Parley.sending(.sendrecv))
        #expect(n.bundle == ["0", "1"])
        #expect(n.rejected.isEmpty)
        let audio = n.media[0], video = n.media[1]

        #expect(audio.mid == "0" && audio.kind == .audio && audio.direction == .sendrecv)
        #expect(audio.codec == NegotiatedCodec(codec: .opus, payloadType: 111, name: "opus", clockRate: 48000, channels: 2,
                                               parameters: [FormatParameter("minptime", "10"),
                                                            FormatParameter("useinbandfec", "1")], h264: nil))
        #expect(audio.rtxPayloadType == nil)
        #expect(audio.rtcpFeedback == [.transportCC])
        #expect(audio.headerExtensions.map(\.uri) == [HeaderExtensionURI.audioLevel, HeaderExtensionURI.absSendTime,
                                                      HeaderExtensionURI.transportWideCC, HeaderExtensionURI.mid])
        #expect(audio.extensionID(HeaderExtensionURI.mid) == 4)
        #expect(audio.remoteSSRC == 702953245 && audio.remoteRTXSSRC == nil)
        #expect(audio.remoteCNAME == "clzKnGFTHMivx9zx")
        #expect(audio.remoteMSID == MediaStreamID(streamID: "506818f0-0315-4d96-ae45-e92381313ffe",
                                                  trackID: "4d5e0c1c-f394-4fda-8d16-329855d393a8"))
        #expect(audio.outgoing == Parley.audioTrack)

        #expect(video.codec.codec == .vp8 && video.codec.payloadType == 96 && video.codec.parameters.isEmpty)
        #expect(video.rtxPayloadType == 97)
        #expect(video.rtcpFeedback == [.remb, .transportCC, .fir, .nack, .pli])
        #expect(video.headerExtensions == [NegotiatedExtension(uri: HeaderExtensionURI.absSendTime, id: 2),
                                           NegotiatedExtension(uri: HeaderExtensionURI.videoOrientation, id: 13),
                                           NegotiatedExtension(uri: HeaderExtensionURI.transportWideCC, id: 3),
                                           NegotiatedExtension(uri: HeaderExtensionURI.mid, id: 4)])
        #expect(video.remoteSSRC == 1084669544 && video.remoteRTXSSRC == 704315794)
        #expect(video.outgoing == Parley.videoTrack)
        #expect(video.bundled && video.rtcpReducedSize)

        let transport = n.remoteTransport
        #expect(transport.iceUsernameFragment == "IbUw" && transport.icePassword == "dPVPVrXFrgt56PaXz/m7HAI9")
        #expect(transport.setup == .actpass)
        #expect(transport.fingerprints.first?.hexDigest.hasPrefix("0F:B1:61:0B") == true)
        #expect(transport.candidates.count == 2 && transport.iceOptions == ["trickle"])

        let lines = try checkAnswer(n)
        #expect(Array(lines.prefix(8)) == ["v=0", "o=- 4242 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=ice-lite",
                                           "a=group:BUNDLE 0 1", "a=extmap-allow-mixed", "a=msid-semantic: WMS *"])
        let videoLines = Array(lines.drop { !$0.hasPrefix("m=video") })
        #expect(videoLines == [
            "m=video 40000 UDP/TLS/RTP/SAVPF 96 97", "c=IN IP4 10.77.0.1", "a=mid:1", "a=sendrecv", "a=ice-ufrag:pLyU",
            "a=ice-pwd:parleyPasswordPassword+/", "a=fingerprint:sha-256 \(Parley.fingerprint.hexDigest)",
            "a=setup:passive", "a=rtcp-mux", "a=rtcp-rsize",
            "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            "a=extmap:13 urn:3gpp:video-orientation",
            "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 goog-remb", "a=rtcp-fb:96 transport-cc", "a=rtcp-fb:96 ccm fir",
            "a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
            "a=msid:stream-a video-1", "a=ssrc-group:FID 2222 3333", "a=ssrc:2222 cname:parley",
            "a=ssrc:2222 msid:stream-a video-1", "a=ssrc:3333 cname:parley", "a=ssrc:3333 msid:stream-a video-1",
            "a=candidate:\(n.answer.media[1].candidates[0].foundation) 1 udp 2130706431 10.77.0.1 40000 typ host",
            "a=candidate:\(n.answer.media[1].candidates[1].foundation) 1 udp 2130706175 127.0.0.1 40000 typ host",
            "a=end-of-candidates",
        ])
        #expect(lines.contains("a=fmtp:111 minptime=10;useinbandfec=1"))
        #expect(lines.contains("a=rtpmap:111 opus/48000/2"))
        #expect(lines.contains("a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level"))
        // Candidates for different addresses get different foundations.
        #expect(n.answer.media[1].candidates[0].foundation != n.answer.media[1].candidates[1].foundation)
    }

    @Test("Chrome with H.264 preferred picks constrained baseline 42e01f with its RTX")
    func chromeH264() throws {
        let n = try answer("chrome-sendrecv.sdp", codecs: [.h264, .vp8, .opus])
        let video = n.media[1]
        #expect(video.codec.codec == .h264 && video.codec.payloadType == 108)
        #expect(video.codec.parameters == [FormatParameter("level-asymmetry-allowed", "1"),
                                           FormatParameter("packetization-mode", "1"),
                                           FormatParameter("profile-level-id", "42e01f")])
        #expect(video.codec.h264 == H264ProfileLevelID(profile: .constrainedBaseline, level: .level3_1))
        #expect(video.rtxPayloadType == 109)
        let lines = try checkAnswer(n)
        #expect(lines.contains("m=video 40000 UDP/TLS/RTP/SAVPF 108 109"))
        #expect(lines.contains("a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"))
        #expect(lines.contains("a=fmtp:109 apt=108"))
        // A main-profile-only preference takes 4d001f with packetization-mode=1 (116), never mode 0 (39).
        let main = try answer("chrome-sendrecv.sdp", codecs: [.h264(H264Constraints(profiles: [.main])), .opus])
        #expect(main.media[1].codec.payloadType == 116 && main.media[1].rtxPayloadType == 117)
    }

    @Test("Safari: 42e01f matches constrained baseline, 640c1f only constrained high")
    func safariH264() throws {
        let byDefault = try answer("safari-sendrecv.sdp")
        #expect(byDefault.media[1].codec.codec == .vp8 && byDefault.media[1].codec.payloadType == 100)
        #expect(byDefault.media[1].rtxPayloadType == 101)
        #expect(byDefault.rejected.map(\.mid) == ["data"])
        #expect(byDefault.bundle == ["audio", "video"])

        let h264 = try answer("safari-sendrecv.sdp", codecs: [.h264(.constrainedBaselineOnly), .opus])
        #expect(h264.media[1].codec.payloadType == 98)
        #expect(h264.media[1].codec.parameter("profile-level-id") == "42e01f")
        #expect(h264.media[1].rtxPayloadType == 99)

        let high = try answer("safari-sendrecv.sdp", codecs: [.h264(H264Constraints(profiles: [.constrainedHigh])), .opus])
        #expect(high.media[1].codec.payloadType == 96)
        #expect(high.media[1].codec.parameter("profile-level-id") == "640c1f")

        // Safari's first audio codec is Opus; its SSRCs come from the FID group.
        #expect(h264.media[0].codec.payloadType == 111)
        #expect(h264.media[1].remoteSSRC == 11942296 && h264.media[1].remoteRTXSSRC == 149700150)
        #expect(h264.media[1].remoteMSID?.streamID == "cb7e185b-6110-4f65-b027-ddb8b5fa78c7")
        _ = try checkAnswer(h264)
    }

    static func h264Offer(_ profileLevelIDs: [String]) -> String {
        let pts = profileLevelIDs.indices.map { 100 + $0 }
        var lines: [String] = []
        for (pt, id) in zip(pts, profileLevelIDs) {
            lines += ["a=rtpmap:\(pt) H264/90000", "a=fmtp:\(pt) level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=\(id)"]
        }
        return syntheticOffer(sections: [
            syntheticSection("m=video 9 UDP/TLS/RTP/SAVPF " + pts.map(String.init).joined(separator: " "), mid: "0",
                             lines: lines),
        ])
    }

    @Test("a high-profile-only offer does not match a baseline-only capability")
    func highVersusBaseline() throws {
        let offer = NegotiatorTests.h264Offer(["640c1f", "64001f"])
        let baselineOnly = Parley.parameters(codecs: [.h264(H264Constraints(profiles: [.constrainedBaseline, .baseline]))])
        let error = #expect(throws: SDPError.self) { try negotiator.answer(offer, parameters: baselineOnly) }
        guard case .noCommonCodec(let message) = error else {
            Issue.record("expected noCommonCodec, got \(String(describing: error))")
            return
        }
        #expect(message.contains("H264/90000"))
        // Server capabilities restrict too: a server without high profiles refuses even if the call asks for them.
        let server = SDPNegotiator(capabilities: ServerCapabilities(
            codecs: [.opus, .vp8, .h264(.constrainedBaselineOnly)], rtcpFeedback: [], headerExtensions: []))
        #expect(throws: SDPError.self) {
            try server.answer(offer, parameters: Parley.parameters(codecs: [.h264(H264Constraints(profiles: [.high]))]))
        }
        let high = try negotiator.answer(offer, parameters: Parley.parameters(codecs: [.h264(H264Constraints(profiles: [.high]))]))
        #expect(high.media[0].codec.payloadType == 101)
    }

    @Test("H.264 level is answered at or below the offer's")
    func h264Level() throws {
        let offer = NegotiatorTests.h264Offer(["42e034"])
        let capped = try negotiator.answer(offer, parameters: Parley.parameters(
            codecs: [.h264(H264Constraints(profiles: [.constrainedBaseline], maxLevel: .level3_1))]))
        #expect(capped.media[0].codec.parameter("profile-level-id") == "42e01f")
        #expect(capped.media[0].codec.h264?.level == .level3_1)
        let uncapped = try negotiator.answer(offer, parameters: Parley.parameters(codecs: [.h264]))
        #expect(uncapped.media[0].codec.parameter("profile-level-id") == "42e034")
        // 4d40 spells constrained baseline too; the offer's own spelling is echoed.
        let odd = try negotiator.answer(NegotiatorTests.h264Offer(["4de01f"]),
                                        parameters: Parley.parameters(codecs: [.h264(.constrainedBaselineOnly)]))
        #expect(odd.media[0].codec.parameter("profile-level-id") == "4de01f")
    }

    @Test("packetization-mode 0 and missing rtpmap are never chosen")
    func h264PacketizationMode() throws {
        let offer = syntheticOffer(sections: [syntheticSection("m=video 9 UDP/TLS/RTP/SAVPF 100 101 102", mid: "v", lines: [
            "a=rtpmap:100 H264/90000", "a=fmtp:100 profile-level-id=42e01f",
            "a=rtpmap:101 H264/90000", "a=fmtp:101 profile-level-id=42e01f;packetization-mode=0",
        ])])
        let error = #expect(throws: SDPError.self) { try negotiator.answer(offer, parameters: Parley.parameters(codecs: [.h264])) }
        // The refusal names the real problem: the mode, not the codec.
        #expect(error?.description.contains("H264/90000 with packetization-mode 0 (Parley needs 1)") == true, "\(String(describing: error))")
    }

    @Test("no common codec is a clear error")
    func noCommonCodec() throws {
        let error = #expect(throws: SDPError.self) { try answer("chrome-audioonly.sdp", codecs: [.vp8]) }
        guard case .noCommonCodec(let message) = error else {
            Issue.record("expected noCommonCodec, got \(String(describing: error))")
            return
        }
        #expect(message.contains("audio section mid 0"))
        #expect(message.contains("opus/48000"))
        #expect(error?.description.hasPrefix("no common codec:") == true)
    }

    @Test("audio-only offer")
    func audioOnly() throws {
        let n = try answer("chrome-audioonly.sdp")
        #expect(n.media.count == 1 && n.media[0].codec.codec == .opus && n.bundle == ["0"])
        #expect(n.media[0].direction == .sendrecv)
        let pcmu = try answer("chrome-audioonly.sdp", codecs: [.pcma, .pcmu])
        #expect(pcmu.media[0].codec.codec == .pcma && pcmu.media[0].codec.payloadType == 8)
        #expect(try checkAnswer(pcmu).contains("a=rtpmap:8 PCMA/8000"))
    }

    @Test("video-only: audio refused by the plan, or an offer with video alone")
    func videoOnly() throws {
        let n = try answer("chrome-sendonly.sdp") { $0.kind == .audio ? .reject : .accept() }
        #expect(n.media.map(\.kind) == [.video])
        #expect(n.rejected == [RejectedMedia(index: 0, mid: "0", kind: .audio, reason: .rejectedByPlan)])
        #expect(n.bundle == ["1"])
        let lines = try checkAnswer(n)
        #expect(lines.contains("m=audio 0 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126"))
        #expect(lines.contains("a=group:BUNDLE 1"))
        // The remote transport then comes from the video section.
        #expect(n.remoteTransport.iceUsernameFragment == n.media[0].remoteTransport.iceUsernameFragment)

        let alone = try negotiator.answer(NegotiatorTests.h264Offer(["42e01f"]), parameters: Parley.parameters)
        #expect(alone.media.map(\.kind) == [.video] && alone.media[0].codec.codec == .h264)
    }

    @Test("recvonly (play) offer → sendonly answer with SSRC, RTX SSRC and msid")
    func play() throws {
        let n = try answer("chrome-recvonly.sdp", plan: Parley.sending())
        #expect(n.media.map(\.direction) == [.sendonly, .sendonly])
        #expect(n.media.map(\.offeredDirection) == [.recvonly, .recvonly])
        #expect(n.media[0].remoteSSRC == nil && n.media[1].remoteSSRC == nil)
        let lines = try checkAnswer(n)
        for expected in ["a=sendonly", "a=msid:stream-a audio-1", "a=ssrc:1111 cname:parley",
                         "a=ssrc:1111 msid:stream-a audio-1", "a=msid:stream-a video-1", "a=ssrc-group:FID 2222 3333",
                         "a=ssrc:3333 cname:parley"] {
            #expect(lines.contains(expected), "missing \(expected)")
        }
        #expect(!lines.contains("a=recvonly") && !lines.contains("a=sendrecv"))

        // Firefox recvonly, and a subscriber forced to the publisher's codec: H.264 with no RTX offered.
        let firefox = try answer("firefox60-recvonly-h264.sdp", codecs: [.h264(.constrainedBaselineOnly), .opus],
                                 plan: Parley.sending())
        #expect(firefox.media.map(\.mid) == ["sdparta_0", "sdparta_1"])
        #expect(firefox.media[0].codec.payloadType == 126 && firefox.media[0].rtxPayloadType == nil)
        #expect(firefox.media[0].outgoing?.rtxSSRC == nil)
        #expect(firefox.media[0].remoteSSRC == 4152366771)
        let ffLines = try checkAnswer(firefox)
        #expect(ffLines.contains("a=ssrc:2222 cname:parley") && !ffLines.contains { $0.contains("3333") })
        #expect(!ffLines.contains { $0.hasPrefix("a=ssrc-group") })
    }

    @Test("sendonly (publish) offer → recvonly answer without SSRC lines")
    func publish() throws {
        let n = try answer("chrome-sendonly.sdp", plan: Parley.sending())
        #expect(n.media.map(\.direction) == [.recvonly, .recvonly])
        #expect(n.media.allSatisfy { $0.outgoing == nil })
        #expect(n.media[1].remoteSSRC != nil && n.media[1].remoteRTXSSRC != nil)
        let lines = try checkAnswer(n)
        #expect(!lines.contains { $0.hasPrefix("a=ssrc") || $0.hasPrefix("a=msid:") })

        // Firefox: session-level a=sendrecv is overridden by the media-level sendonly.
        let firefox = try answer("firefox-sendonly.sdp")
        #expect(firefox.media.map(\.offeredDirection) == [.sendonly, .sendonly])
        #expect(firefox.media.map(\.direction) == [.recvonly, .recvonly])
    }

    @Test("a requested direction is narrowed to what the offer allows")
    func directionNarrowing() throws {
        let n = try answer("chrome-sendonly.sdp", plan: Parley.sending(.sendrecv))
        #expect(n.media.map(\.direction) == [.recvonly, .recvonly])
        let inactive = try answer("chrome-sendonly.sdp", plan: Parley.sending(.sendonly))
        #expect(inactive.media.map(\.direction) == [.inactive, .inactive])
    }

    @Test("PCMU-only offer with a static payload type and no rtpmap")
    func pcmuOnly() throws {
        let offer = syntheticOffer(sections: [syntheticSection("m=audio 9 UDP/TLS/RTP/SAVPF 0", mid: "a", lines: [])])
        let n = try negotiator.answer(offer, parameters: Parley.parameters)
        #expect(n.media[0].codec == NegotiatedCodec(codec: .pcmu, payloadType: 0, name: "PCMU", clockRate: 8000,
                                                    channels: 1, parameters: [], h264: nil))
        let lines = try checkAnswer(n)
        #expect(lines.contains("m=audio 40000 UDP/TLS/RTP/SAVPF 0") && lines.contains("a=rtpmap:0 PCMU/8000"))
        #expect(n.bundle.isEmpty && !lines.contains { $0.hasPrefix("a=group") })
    }

    @Test("data channel section is rejected with port 0 while audio and video negotiate")
    func dataChannelRejected() throws {
        let n = try answer("chrome-datachannel.sdp")
        #expect(n.media.map(\.mid) == ["0", "1"])
        #expect(n.rejected == [RejectedMedia(index: 2, mid: "2", kind: .application,
                                             reason: .unsupportedMedia("application"))])
        #expect(n.bundle == ["0", "1"])
        let lines = try checkAnswer(n)
        let tail = Array(lines.drop { !$0.hasPrefix("m=application") })
        #expect(tail == ["m=application 0 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0", "a=mid:2"])

        // An unsupported codec (VP9 only) rejects just that section.
        let vp9 = syntheticOffer(sessionAttributes: ["a=group:BUNDLE a v"], sections: [
            syntheticSection("m=audio 9 UDP/TLS/RTP/SAVPF 111", mid: "a", lines: ["a=rtpmap:111 opus/48000/2"]),
            syntheticSection("m=video 9 UDP/TLS/RTP/SAVPF 98", mid: "v", lines: ["a=rtpmap:98 VP9/90000"]),
        ])
        let m = try negotiator.answer(vp9, parameters: Parley.parameters)
        #expect(m.media.map(\.mid) == ["a"] && m.bundle == ["a"])
        #expect(m.rejected.first?.reason == .noCommonCodec(offered: ["VP9/90000"], allowed: ["VP8", "H264(constrainedBaseline|baseline|main|constrainedHigh|high ≤5.2)"]))
        #expect(try checkAnswer(m).contains("m=video 0 UDP/TLS/RTP/SAVPF 98"))
    }

    @Test("Firefox: session-level fingerprint, VP8 with RTX, its own extension ids")
    func firefox() throws {
        let n = try answer("firefox-sendrecv.sdp")
        let fingerprint = try Fixture.parsed("firefox-sendrecv.sdp").fingerprints[0]
        #expect(n.media.allSatisfy { $0.remoteTransport.fingerprints == [fingerprint] })
        #expect(n.remoteTransport.iceUsernameFragment == "39a219a4" && n.remoteTransport.endOfCandidates)
        #expect(n.media[0].codec.payloadType == 109)
        #expect(n.media[0].codec.parameters == [FormatParameter("useinbandfec", "1")])
        #expect(n.media[0].headerExtensions.map(\.id) == [1, 3, 7])
        #expect(n.media[1].codec.payloadType == 120 && n.media[1].rtxPayloadType == 124)
        #expect(n.media[1].headerExtensions.map(\.id) == [3, 4, 7])
        #expect(n.media[1].remoteSSRC == 3253960496 && n.media[1].remoteRTXSSRC == 953119238)
        #expect(n.media[1].remoteMSID?.trackID == "{bbfd6b29-5f6d-4e2b-b184-0bf4dae5fbbb}")
        #expect(n.bundle == ["0", "1"])
        _ = try checkAnswer(n)
    }

    @Test("setup roles: passive is refused, active and missing are accepted")
    func setupRoles() throws {
        let text = try Fixture.text("chrome-sendrecv.sdp")
        let passive = text.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:passive")
        #expect(throws: SDPError.incompatibleSetupRole(mid: "0", "passive")) {
            try negotiator.answer(passive, parameters: Parley.parameters)
        }
        let holdconn = text.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:holdconn")
        #expect(throws: SDPError.incompatibleSetupRole(mid: "0", "holdconn")) {
            try negotiator.answer(holdconn, parameters: Parley.parameters)
        }
        let active = try negotiator.answer(text.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:active"),
                                           parameters: Parley.parameters)
        #expect(active.remoteTransport.setup == .active)
        #expect(try checkAnswer(active).filter { $0.hasPrefix("a=setup") } == ["a=setup:passive", "a=setup:passive"])
        let missing = try negotiator.answer(text.replacingOccurrences(of: "a=setup:actpass\r\n", with: ""),
                                            parameters: Parley.parameters)
        #expect(missing.remoteTransport.setup == nil)
    }

    @Test("missing ICE credentials or fingerprint")
    func missingTransport() throws {
        let text = try Fixture.text("chrome-audioonly.sdp")
        let noFingerprint = Fixture.lines(text).filter { !$0.hasPrefix("a=fingerprint") }.joined(separator: "\r\n")
        #expect(throws: SDPError.missingFingerprint(mid: "0")) {
            try negotiator.answer(noFingerprint, parameters: Parley.parameters)
        }
        let noUfrag = Fixture.lines(text).filter { !$0.hasPrefix("a=ice-ufrag") }.joined(separator: "\r\n")
        #expect(throws: SDPError.missingICECredentials(mid: "0")) {
            try negotiator.answer(noUfrag, parameters: Parley.parameters)
        }
    }

    @Test("offer without a=mid and without BUNDLE still negotiates")
    func noMidNoBundle() throws {
        let text = try Fixture.text("chrome-sendrecv.sdp")
        let stripped = Fixture.lines(text)
            .filter { !$0.hasPrefix("a=mid:") && !$0.hasPrefix("a=group:") && !$0.contains("sdes:mid") }
            .joined(separator: "\r\n")
        let n = try negotiator.answer(stripped, parameters: Parley.parameters)
        #expect(n.media.map(\.mid) == [nil, nil])
        #expect(n.bundle.isEmpty && n.media.allSatisfy { !$0.bundled })
        let lines = try checkAnswer(n)
        #expect(!lines.contains { $0.hasPrefix("a=mid") || $0.hasPrefix("a=group") })
        #expect(n.media[1].extensionID(HeaderExtensionURI.mid) == nil)
    }

    @Test("ICE and fingerprint only at session level, bundle-only sections share the tagged transport")
    func sessionLevelTransportAndBundleOnly() throws {
        let fingerprint = "a=fingerprint:sha-256 " + (0..<32).map { String(format: "%02X", $0) }.joined(separator: ":")
        let offer = syntheticOffer(
            sessionAttributes: ["a=group:BUNDLE a v", "a=ice-ufrag:sess", "a=ice-pwd:sessionpasswordsessionpass",
                                fingerprint, "a=setup:actpass"],
            sections: [
                "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2",
                "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\na=bundle-only\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000",
            ])
        let n = try negotiator.answer(offer, parameters: Parley.parameters)
        #expect(n.media.map(\.mid) == ["a", "v"] && n.bundle == ["a", "v"])
        #expect(n.media.allSatisfy { $0.remoteTransport.iceUsernameFragment == "sess" })
        #expect(n.media[1].remoteTransport.fingerprints[0].bytes == Array(0..<32))
        let lines = try checkAnswer(n)
        #expect(lines.contains("m=video 40000 UDP/TLS/RTP/SAVPF 96") && !lines.contains("a=bundle-only"))

        // Port 0 without bundle-only: rejected by the offerer.
        let disabled = offer.replacingOccurrences(of: "a=bundle-only\r\n", with: "")
        let d = try negotiator.answer(disabled, parameters: Parley.parameters)
        #expect(d.rejected.map(\.reason) == [.rejectedByOfferer])
    }

    @Test("plain RTP and sections without rtcp-mux are rejected")
    func transportRules() throws {
        let offer = syntheticOffer(sections: [
            "m=audio 5004 RTP/AVP 0\r\nc=IN IP4 192.0.2.1",
            syntheticSection("m=audio 9 UDP/TLS/RTP/SAVPF 0", mid: "x", lines: []).replacingOccurrences(of: "\r\na=rtcp-mux", with: ""),
            syntheticSection("m=audio 9 UDP/TLS/RTP/SAVPF 0", mid: "y", lines: []),
        ])
        let n = try negotiator.answer(offer, parameters: Parley.parameters)
        #expect(n.rejected.map(\.reason) == [.unsupportedTransport("RTP/AVP"), .rtcpMuxRequired])
        #expect(n.media.map(\.mid) == ["y"])
        let only = syntheticOffer(sections: ["m=audio 5004 RTP/AVP 0\r\nc=IN IP4 192.0.2.1"])
        #expect(throws: SDPError.noUsableMedia("audio section #0 transport RTP/AVP is not SRTP")) {
            try negotiator.answer(only, parameters: Parley.parameters)
        }
        let empty = syntheticOffer(sections: [])
        #expect(throws: SDPError.noUsableMedia("the offer has no media section")) {
            try negotiator.answer(empty, parameters: Parley.parameters)
        }
    }

    @Test("only feedback and extensions both sides know; duplicate extension ids are dropped")
    func intersections() throws {
        let offer = syntheticOffer(sections: [syntheticSection("m=video 9 UDP/TLS/RTP/SAVPF 96", mid: "v", lines: [
            "a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack", "a=rtcp-fb:* ccm fir", "a=rtcp-fb:96 rrtr", "a=rtcp-fb:96 nack",
            "a=extmap:5 urn:ietf:params:rtp-hdrext:toffset", "a=extmap:6/recvonly \(HeaderExtensionURI.absSendTime)",
            "a=extmap:6 \(HeaderExtensionURI.transportWideCC)", "a=extmap:7 \(HeaderExtensionURI.absSendTime)",
        ])])
        let n = try negotiator.answer(offer, parameters: Parley.parameters)
        #expect(n.media[0].rtcpFeedback == [.nack, .fir])
        #expect(n.media[0].headerExtensions == [NegotiatedExtension(uri: HeaderExtensionURI.absSendTime, id: 6)])
        let lines = try checkAnswer(n)
        #expect(lines.contains("a=extmap:6/sendonly \(HeaderExtensionURI.absSendTime)"))
        #expect(lines.filter { $0.hasPrefix("a=extmap") }.count == 1)
        #expect(lines.contains("a=rtcp-fb:96 ccm fir"))
    }

    @Test("per-section codec override forces the publisher's codec")
    func perSectionOverride() throws {
        let n = try answer("chrome-recvonly.sdp") { offered in
            offered.kind == .video ? .accept(codecs: [.h264(.constrainedBaselineOnly)]) : .accept()
        }
        #expect(n.media[1].codec.codec == .h264 && n.media[1].codec.payloadType == 108)
        #expect(n.media[0].codec.codec == .opus)
        // Entries of the wrong kind are ignored, so one list can serve both sections.
        let mixed = try answer("chrome-recvonly.sdp", codecs: [.pcmu, .vp8])
        #expect(mixed.media.map(\.codec.codec) == [.pcmu, .vp8])
    }

    @Test("invalid answer parameters are refused")
    func invalidParameters() throws {
        let offer = try Fixture.text("chrome-audioonly.sdp")
        var p = Parley.parameters
        p.iceUsernameFragment = "ab"
        #expect(throws: SDPError.self) { try negotiator.answer(offer, parameters: p) }
        p = Parley.parameters
        p.icePassword = "short"
        #expect(throws: SDPError.self) { try negotiator.answer(offer, parameters: p) }
        p = Parley.parameters
        p.fingerprint = Fingerprint(algorithm: "sha-256", bytes: [1, 2, 3])
        #expect(throws: SDPError.self) { try negotiator.answer(offer, parameters: p) }
        for ip in ["host.local", "300.1.1.1", "1.2.3", "10.0.0.1\r\na=x"] {
            p = Parley.parameters
            p.candidates = [HostCandidate(ip: ip, port: 1)]
            #expect(throws: SDPError.self) { try negotiator.answer(offer, parameters: p) }
        }
        p = Parley.parameters
        p.candidates = [HostCandidate(ip: "::1", port: 5000)]
        let v6 = try negotiator.answer(offer, parameters: p)
        #expect(v6.answer.media[0].connection == Connection(networkType: "IN", addressType: "IP6", address: "::1"))
        let evil = OutgoingTrack(ssrc: 1, cname: "x\r\na=evil", streamID: "s", trackID: "t")
        #expect(throws: SDPError.self) {
            try negotiator.answer(offer, parameters: Parley.parameters) { _ in .accept(outgoing: evil) }
        }
        // No candidates: port 9 and 0.0.0.0, still a valid answer.
        p = Parley.parameters
        p.candidates = []
        let none = try negotiator.answer(offer, parameters: p)
        #expect(none.answer.media[0].port == 9 && none.answer.media[0].candidates.isEmpty)
    }

    @Test("simulcast offer: rids reported, no SSRCs signalled, simulcast itself not answered")
    func simulcast() throws {
        let n = try answer("chrome-simulcast.sdp")
        #expect(n.media.count == 1 && n.media[0].direction == .recvonly)
        #expect(n.media[0].remoteRIDs == ["q", "h", "f"])
        #expect(n.media[0].remoteSSRC == nil)
        let lines = try checkAnswer(n)
        #expect(!lines.contains { $0.hasPrefix("a=simulcast") || $0.hasPrefix("a=rid") })
    }

    @Test("session-level setup:passive is refused; several fingerprints are all reported")
    func sessionLevelSetupAndFingerprints() throws {
        let sha1 = "a=fingerprint:sha-1 " + Array(repeating: "01", count: 20).joined(separator: ":")
        let sha256 = "a=fingerprint:sha-256 " + Array(repeating: "02", count: 32).joined(separator: ":")
        let section = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\n"
            + "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2"
        let passive = syntheticOffer(sessionAttributes: [sha256, "a=setup:passive"], sections: [section])
        #expect(throws: SDPError.incompatibleSetupRole(mid: "0", "passive")) {
            try negotiator.answer(passive, parameters: Parley.parameters)
        }
        let two = syntheticOffer(sessionAttributes: [sha1, sha256, "a=setup:actpass"], sections: [section])
        let n = try negotiator.answer(two, parameters: Parley.parameters)
        #expect(n.remoteTransport.fingerprints.map(\.algorithm) == ["sha-1", "sha-256"])
        #expect(n.remoteTransport.fingerprints[1].bytes == Array(repeating: 2, count: 32))
        #expect(n.media[0].offeredDirection == .sendrecv)
    }

    @Test("every fixture negotiates with the default parameters", arguments: Fixture.all)
    func everyFixture(name: String) throws {
        let n = try answer(name, plan: Parley.sending())
        #expect(!n.media.isEmpty)
        let lines = try checkAnswer(n)
        #expect(lines.contains("a=ice-lite"))
        #expect(lines.filter { $0.hasPrefix("m=") }.count == (try Fixture.parsed(name)).media.count)
    }
}
