import Foundation
import Testing
@testable import SDP

@Suite("Parsing and writing")
struct ParserTests {
    @Test("every fixture round-trips line for line", arguments: Fixture.all)
    func roundTrip(name: String) throws {
        let text = try Fixture.text(name)
        let parsed = try SessionDescription.parse(text)
        let written = parsed.serialize()
        #expect(Fixture.lines(written) == Fixture.lines(text))
        #expect(written.hasSuffix("\r\n"))
        #expect(!written.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(try SessionDescription.parse(written) == parsed)
    }

    @Test("every .sdp file in Fixtures is covered")
    func fixtureListIsComplete() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixture.directory.path)
        #expect(Set(files.filter { $0.hasSuffix(".sdp") }) == Set(Fixture.all))
    }

    @Test("LF and CRLF parse the same")
    func lineEndings() throws {
        let crlf = try Fixture.text("chrome-sendrecv.sdp")
        #expect(crlf.contains("\r\n"))
        let lf = crlf.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(try SessionDescription.parse(lf) == SessionDescription.parse(crlf))
        // Firefox 60's published offer is LF-only and still round-trips.
        #expect(!(try Fixture.text("firefox60-recvonly-h264.sdp")).contains("\r"))
    }

    @Test("Chrome sendrecv: typed views")
    func chromeTypedViews() throws {
        let sdp = try Fixture.parsed("chrome-sendrecv.sdp")
        #expect(sdp.origin.sessionID == "113241991542434646")
        #expect(sdp.origin.sessionVersion == 2)
        #expect(sdp.bundleGroup == Group(semantics: "BUNDLE", mids: ["0", "1"]))
        #expect(sdp.hasExtmapAllowMixed)
        #expect(sdp.firstValue(of: "msid-semantic") == " WMS 506818f0-0315-4d96-ae45-e92381313ffe")
        #expect(sdp.media.count == 2)

        let audio = sdp.media[0]
        #expect(audio.kind == .audio)
        #expect(audio.port == 50644)
        #expect(audio.proto == "UDP/TLS/RTP/SAVPF")
        #expect(audio.formats == ["111", "63", "9", "0", "8", "13", "110", "126"])
        #expect(audio.connection == Connection(address: "10.77.0.1"))
        #expect(audio.mid == "0")
        #expect(audio.direction == .sendrecv)
        #expect(audio.isRTCPMux && audio.isRTCPReducedSize)
        #expect(audio.iceUsernameFragment == "IbUw")
        #expect(audio.icePassword == "dPVPVrXFrgt56PaXz/m7HAI9")
        #expect(audio.iceOptions == ["trickle"])
        #expect(audio.setup == .actpass)
        #expect(audio.fingerprints.first?.algorithm == "sha-256")
        #expect(audio.fingerprints.first?.bytes.prefix(3) == [0x0F, 0xB1, 0x61])
        #expect(audio.fingerprints.first?.bytes.count == 32)
        let opus = try #require(audio.payloadFormats.first)
        #expect(opus.rtpMap == RTPMap(payloadType: 111, encodingName: "opus", clockRate: 48000, channels: 2))
        #expect(opus.parameters == [FormatParameter("minptime", "10"), FormatParameter("useinbandfec", "1")])
        #expect(opus.feedback == [.transportCC])
        #expect(audio.payloadFormats.map(\.payloadType) == [111, 63, 9, 0, 8, 13, 110, 126])
        #expect(audio.payloadFormats[1].parameters == [FormatParameter("111/111")])
        #expect(audio.extensionMaps.map(\.uri).first == HeaderExtensionURI.audioLevel)
        #expect(audio.ssrcs == [702953245])
        #expect(audio.mediaStreamIDs == [MediaStreamID(streamID: "506818f0-0315-4d96-ae45-e92381313ffe",
                                                       trackID: "4d5e0c1c-f394-4fda-8d16-329855d393a8")])
        let candidate = try #require(audio.candidates.first)
        #expect(candidate.foundation == "3771711431")
        #expect(candidate.component == 1 && candidate.transport == "udp" && candidate.priority == 2122260223)
        #expect(candidate.address == "10.77.0.1" && candidate.port == 50644 && candidate.type == "host")
        #expect(candidate.extensions.map(\.name) == ["generation", "network-id"])
        #expect(audio.candidates[1].extensions.first! == ("tcptype", "active"))

        let video = sdp.media[1]
        #expect(video.ssrcGroups == [SSRCGroup(semantics: "FID", ssrcs: [1084669544, 704315794])])
        let h264 = video.payloadFormats.filter { $0.encodingName == "H264" }
        #expect(h264.map { $0.parameter("profile-level-id") } == ["42001f", "42001f", "42e01f", "42e01f", "4d001f", "4d001f"])
        #expect(video.payloadFormats[0].feedback == [.remb, .transportCC, .fir, .nack, .pli])
        #expect(video.payloadFormats[1].parameter("apt") == "96")
    }

    @Test("Firefox: session-level fingerprint, RTCP candidates, extmap directions")
    func firefoxTypedViews() throws {
        let sdp = try Fixture.parsed("firefox-sendrecv.sdp")
        #expect(sdp.origin.username == "mozilla...THIS_IS_SDPARTA-99.0")
        #expect(sdp.fingerprints.count == 1)
        #expect(sdp.media[0].fingerprints.isEmpty)
        #expect(sdp.direction == .sendrecv)
        #expect(sdp.media[0].candidates.map(\.component) == [1, 1, 2, 2])
        #expect(sdp.media[0].hasEndOfCandidates)
        #expect(sdp.media[0].extensionMaps[1] == ExtensionMap(id: 2, uri: "urn:ietf:params:rtp-hdrext:csrc-audio-level",
                                                              direction: .recvonly))
        #expect(sdp.media[0].payloadFormats.first { $0.payloadType == 9 }?.rtpMap?.channels == 1)
        #expect(sdp.media[1].ssrcGroups.first?.ssrcs.count == 2)
    }

    @Test("Chrome simulcast and data channel attributes stay generic")
    func genericAttributes() throws {
        let simulcast = try Fixture.parsed("chrome-simulcast.sdp")
        #expect(simulcast.media[0].rids.map(\.id) == ["q", "h", "f"])
        #expect(simulcast.media[0].firstValue(of: "simulcast") == "send q;h;f")
        let data = try Fixture.parsed("chrome-datachannel.sdp")
        let application = data.media[2]
        #expect(application.kind == .application)
        #expect(application.proto == "UDP/DTLS/SCTP")
        #expect(application.formats == ["webrtc-datachannel"])
        #expect(application.firstValue(of: "sctp-port") == "5000")
        #expect(application.payloadFormats.isEmpty)
        let safari = try Fixture.parsed("safari-sendrecv.sdp")
        #expect(safari.media[2].proto == "DTLS/SCTP" && safari.media[2].formats == ["5000"])
    }

    @Test("building a description from typed values")
    func buildAndSerialize() throws {
        var media = MediaDescription(kind: .video, port: 9, proto: "UDP/TLS/RTP/SAVPF", formats: ["96", "97"],
                                     connection: Connection(address: "::1"))
        media.append(.mid("v"))
        media.append(RTPMap(payloadType: 96, encodingName: "VP8", clockRate: 90000))
        media.append(RTCPFeedback(payloadType: nil, feedback: .pli))
        media.append(FormatParameters(payloadType: 97, parameters: [FormatParameter("apt", "96")]))
        media.append(ExtensionMap(id: 3, uri: HeaderExtensionURI.mid, direction: .sendonly))
        media.append(Candidate(foundation: "1", component: 1, transport: "udp", priority: 7, address: "::1", port: 5,
                               type: "srflx", relatedAddress: "::2", relatedPort: 6, extensions: [("generation", "0")]))
        let sdp = SessionDescription(origin: Origin(sessionID: "1", sessionVersion: 1), media: [media])
        let text = sdp.serialize()
        #expect(Fixture.lines(text) == [
            "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0",
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "c=IN IP6 ::1", "a=mid:v", "a=rtpmap:96 VP8/90000",
            "a=rtcp-fb:* nack pli", "a=fmtp:97 apt=96", "a=extmap:3/sendonly urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=candidate:1 1 udp 7 ::1 5 typ srflx raddr ::2 rport 6 generation 0",
        ])
        #expect(try SessionDescription.parse(text) == sdp)
        #expect(media.payloadFormats[0].feedback == [.pli])
    }

    @Test("optional session fields are kept")
    func optionalFields() throws {
        let text = ["v=0", "o=alice 1 2 IN IP4 192.0.2.1", "s=Talk", "i=about", "u=http://x", "e=a@b", "p=+1 555",
                    "c=IN IP4 192.0.2.1", "b=AS:300", "t=1 2", "r=7d 1h 0 25h", "z=2882844526 -1h", "k=prompt",
                    "a=recvonly", "m=audio 49170 RTP/AVP 0", "i=voice", "c=IN IP4 192.0.2.2", "b=TIAS:64000",
                    "k=clear:x", "a=ptime:20"]
            .joined(separator: "\n")
        let sdp = try SessionDescription.parse(text)
        #expect(sdp.information == "about" && sdp.uri == "http://x" && sdp.emails == ["a@b"] && sdp.phones == ["+1 555"])
        #expect(sdp.timing == [Timing(start: 1, stop: 2, repeats: ["7d 1h 0 25h"])])
        #expect(sdp.bandwidths == [Bandwidth(type: "AS", value: 300)])
        #expect(sdp.media[0].title == "voice" && sdp.media[0].bandwidths == [Bandwidth(type: "TIAS", value: 64000)])
        #expect(sdp.media[0].payloadFormats.first?.rtpMap?.encodingName == "PCMU")
        #expect(Fixture.lines(sdp.serialize()) == Fixture.lines(text))
    }

    static let malformed: [(String, SDPError)] = [
        ("", .empty),
        ("\r\n\n", .empty),
        ("o=- 1 1 IN IP4 0.0.0.0\r\n", .missingVersion),
        ("v=1\r\n", .unsupportedVersion("1")),
        ("v=0\r\n", .missingField("o")),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\n", .missingField("s")),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\n", .missingField("t")),
        ("v=0\r\ngarbage\r\n", .malformedLine(line: 2, "garbage")),
        ("v=0\r\nA=b\r\n", .malformedLine(line: 2, "A=b")),
        ("v=0\r\no=- 1 x IN IP4 1.1.1.1\r\n", .badOrigin(line: 2, "- 1 x IN IP4 1.1.1.1")),
        ("v=0\r\no=- 1 1 IN IP4\r\n", .badOrigin(line: 2, "- 1 1 IN IP4")),
        ("v=0\r\nx=1\r\n", .unexpectedLine(line: 2, "x=1")),
        ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\no=- 1 1 IN IP4 1.1.1.1\r\n", .unexpectedLine(line: 3, "o=- 1 1 IN IP4 1.1.1.1")),
        ("v=0\r\nt=0\r\n", .badTiming(line: 2, "0")),
        ("v=0\r\nc=IN IP4\r\n", .badConnection(line: 2, "IN IP4")),
        ("v=0\r\nb=AS\r\n", .badBandwidth(line: 2, "AS")),
        ("v=0\r\nr=1\r\n", .unexpectedLine(line: 2, "r=1")),
    ]

    @Test("session-level errors", arguments: malformed)
    func sessionErrors(text: String, expected: SDPError) {
        #expect(throws: expected) { try SessionDescription.parse(text) }
    }

    static let header = "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n"

    static let badMedia: [(String, SDPError)] = [
        ("m=audio\r\n", .badMediaLine(line: 5, "audio")),
        ("m=audio 9 UDP/TLS/RTP/SAVPF\r\n", .badMediaLine(line: 5, "audio 9 UDP/TLS/RTP/SAVPF")),
        ("m=audio x UDP/TLS/RTP/SAVPF 0\r\n", .badMediaLine(line: 5, "audio x UDP/TLS/RTP/SAVPF 0")),
        ("m=audio 70000 UDP/TLS/RTP/SAVPF 0\r\n", .badMediaLine(line: 5, "audio 70000 UDP/TLS/RTP/SAVPF 0")),
        ("m=audio 9/x RTP/AVP 0\r\n", .badMediaLine(line: 5, "audio 9/x RTP/AVP 0")),
        ("m=audio 9 UDP/TLS/RTP/SAVPF 128\r\n", .badMediaLine(line: 5, "audio 9 UDP/TLS/RTP/SAVPF 128")),
        ("m=audio 9 UDP/TLS/RTP/SAVPF opus\r\n", .badMediaLine(line: 5, "audio 9 UDP/TLS/RTP/SAVPF opus")),
        ("m=audio 9 RTP/AVP 0\r\nt=0 0\r\n", .unexpectedLine(line: 6, "t=0 0")),
        ("m=audio 9 RTP/AVP 0\r\nc=IN IP4 1.1.1.1\r\nc=IN IP4 1.1.1.1\r\n", .unexpectedLine(line: 7, "c=IN IP4 1.1.1.1")),
        ("m=audio 9 RTP/AVP 111\r\na=rtpmap:111 opus\r\n", .badRTPMap(line: 6, "rtpmap:111 opus")),
        ("m=audio 9 RTP/AVP 111\r\na=rtpmap:x opus/48000\r\n", .badRTPMap(line: 6, "rtpmap:x opus/48000")),
        ("m=audio 9 RTP/AVP 111\r\na=rtpmap:111 opus/0\r\n", .badRTPMap(line: 6, "rtpmap:111 opus/0")),
        ("m=audio 9 RTP/AVP 111\r\na=rtpmap\r\n", .badRTPMap(line: 6, "rtpmap")),
        ("m=audio 9 RTP/AVP 111\r\na=fmtp:999 x=1\r\n", .badAttribute(line: 6, name: "fmtp", value: "999 x=1")),
        ("m=audio 9 RTP/AVP 111\r\na=rtcp-fb:111\r\n", .badAttribute(line: 6, name: "rtcp-fb", value: "111")),
        ("m=audio 9 RTP/AVP 111\r\na=extmap:0 urn:x\r\n", .badAttribute(line: 6, name: "extmap", value: "0 urn:x")),
        ("m=audio 9 RTP/AVP 111\r\na=extmap:1/up urn:x\r\n", .badAttribute(line: 6, name: "extmap", value: "1/up urn:x")),
        ("m=audio 9 RTP/AVP 111\r\na=ssrc:4294967296 cname:x\r\n",
         .badAttribute(line: 6, name: "ssrc", value: "4294967296 cname:x")),
        ("m=audio 9 RTP/AVP 111\r\na=ssrc-group:FID 1 x\r\n", .badAttribute(line: 6, name: "ssrc-group", value: "FID 1 x")),
        ("m=audio 9 RTP/AVP 111\r\na=fingerprint:sha-256 ZZ\r\n",
         .badAttribute(line: 6, name: "fingerprint", value: "sha-256 ZZ")),
        ("m=audio 9 RTP/AVP 111\r\na=fingerprint:sha-256 AB:CD\r\n",
         .badAttribute(line: 6, name: "fingerprint", value: "sha-256 AB:CD")),
        ("m=audio 9 RTP/AVP 111\r\na=setup:sideways\r\n", .badAttribute(line: 6, name: "setup", value: "sideways")),
        ("m=audio 9 RTP/AVP 111\r\na=candidate:1 1 udp\r\n", .badAttribute(line: 6, name: "candidate", value: "1 1 udp")),
        ("m=audio 9 RTP/AVP 111\r\na=candidate:1 1 udp 1 1.1.1.1 70000 typ host\r\n",
         .badAttribute(line: 6, name: "candidate", value: "1 1 udp 1 1.1.1.1 70000 typ host")),
        ("m=audio 9 RTP/AVP 111\r\na=mid:\r\n", .badAttribute(line: 6, name: "mid", value: "")),
        ("m=audio 9 RTP/AVP 111\r\na=msid:a b c\r\n", .badAttribute(line: 6, name: "msid", value: "a b c")),
        ("m=audio 9 RTP/AVP 111\r\na=:x\r\n", .badAttribute(line: 6, name: "", value: "x")),
        ("m=audio 9 RTP/AVP 0\r\na=mid:a\r\nm=video 9 RTP/AVP 96\r\na=mid:a\r\n", .duplicateMid("a")),
    ]

    @Test("media-level errors carry line numbers", arguments: badMedia)
    func mediaErrors(text: String, expected: SDPError) {
        #expect(throws: expected) { try SessionDescription.parse(ParserTests.header + text) }
    }

    @Test("size limits")
    func limits() {
        let big = ParserTests.header + String(repeating: "a=x\r\n", count: SessionDescription.maximumSize / 5 + 1)
        #expect(throws: SDPError.self) { try SessionDescription.parse(big) }
        let many = ParserTests.header + String(repeating: "m=audio 9 RTP/AVP 0\r\n", count: SessionDescription.maximumMediaSections + 1)
        #expect(throws: SDPError.tooLarge("more than 1024 media sections")) { try SessionDescription.parse(many) }
    }

    @Test("errors read as sentences")
    func errorMessages() {
        #expect(SDPError.badRTPMap(line: 7, "rtpmap:1 x").description == "line 7: bad a=rtpmap \"rtpmap:1 x\"")
        #expect(SDPError.missingVersion.description.contains("v="))
        #expect(SDPError.incompatibleSetupRole(mid: "0", "passive").description.contains("DTLS server"))
    }
}
