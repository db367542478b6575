import DTLS
import Foundation
import Logging
import Rooms
import SDP
import SFU
import Signaling
import Synchronization

/// The media service the signaling adapters use: SDP offers in, answers out, transports and SFU tracks made on
/// the media engine. Negotiation lives here, in a module of its own between Signaling and the SFU; the media plane
/// only sees numbers (payload types, SSRCs, ids), and the adapters only SDP text and stream events.
public final class NegotiatingMediaService: MediaService {
    let engine: MediaEngine
    private let logger: Logger
    /// Each published stream's tracks as players are answered (the publisher's codecs), by stream id.
    private let published = Mutex<[String: [PlayableTrack]]>([:])
    /// The transport (its ICE ufrag) of each stream this service started, by stream id.
    private let transports = Mutex<[String: String]>([:])
    /// The ceiling Parley announces by REMB to publishers that negotiated it (transport-cc finds the real rate).
    static let publishBitrateCeiling: UInt64 = 4_000_000

    public init(engine: MediaEngine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    // MARK: echo

    public func startEcho(offer: String, onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> (id: String, answer: String) {
        let local = engine.makeLocalParameters()
        var rng = SystemRandomNumberGenerator()
        var oneWay = false
        let negotiation: Negotiation
        do {
            negotiation = try negotiate(offer, local: local) { offered in
                // An echo sends back what it receives: a section that only sends or only receives cannot take part.
                guard offered.direction == .sendrecv else {
                    oneWay = true
                    return .reject
                }
                return .accept(direction: .sendrecv, outgoing: OutgoingTrack(
                    ssrc: UInt32.random(in: 1...UInt32.max, using: &rng), cname: "parley",
                    streamID: "parley-echo", trackID: "\(offered.kind)-echo"))
            }
        } catch where oneWay && error.code == "bad_sdp" {
            throw MediaServiceError(code: "bad_sdp", message: "An echo offer needs a sendrecv section: its media comes back on it")
        }
        let ssrcByPT = Dictionary(negotiation.media.compactMap { m in m.outgoing.map { (m.codec.payloadType, $0.ssrc) } },
                                  uniquingKeysWith: { a, _ in a })
        let id = StreamID.mint()
        transports.withLock { $0[id] = local.iceUfrag }
        do {
            _ = try await engine.createTransport(local: local, remote: remote(negotiation), onEvent: relay(id, onEvent)) { _ in
                let handler = EchoHandler()
                handler.ssrcForPayloadType = ssrcByPT
                return handler
            }
        } catch {
            transports.withLock { $0[id] = nil }
            throw unavailable(error)
        }
        return (id, negotiation.answerSDP)
    }

    // MARK: publish

    public func publish(stream id: String, offer: String, preferH264: Bool = false, whole: Bool = false,
                        onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> PublishedMedia {
        let local = engine.makeLocalParameters()
        // Parley only receives on a publish: a sendrecv section is answered recvonly, a recvonly one rejected.
        // H.264 first when RTMP watches the room: it is repackaged for RTMP, where VP8 would be transcoded.
        var kinds: [MediaKind] = []
        let negotiation = try negotiate(offer, local: local) { offered in
            guard offered.direction.sends else { return .reject }
            if whole, kinds.contains(offered.kind) { return .reject }  // one track per kind (WHIP)
            kinds.append(offered.kind)
            return .accept(direction: .recvonly, codecs: preferH264 && offered.kind == .video ? [.h264, .vp8] : nil)
        } refuse: { rejected throws(MediaServiceError) in
            guard whole else { return }
            throw MediaServiceError(code: "unsupported_offer", message: "Parley cannot take the offer's \(rejected.kind) section \(rejected.mid.map { "'\($0)' " } ?? "")whole: \(rejected.reason)")
        }
        if whole, negotiation.media.count > 1, negotiation.bundle.count != negotiation.media.count {
            throw MediaServiceError(code: "unsupported_offer", message: "The offer's sections must share one BUNDLE transport")
        }
        let tracks = negotiation.media.map { m in
            ProducerParameters(
                kind: m.kind == .video ? .video : .audio, codec: Self.keyframeCodec(m.codec.codec),
                clockRate: m.codec.clockRate, payloadType: m.codec.payloadType, rtxPayloadType: m.rtxPayloadType,
                ssrc: m.remoteSSRC, rtxSSRC: m.remoteRTXSSRC, mid: m.mid,
                nack: m.hasFeedback(.nack), pli: m.hasFeedback(.pli), fir: m.hasFeedback(.fir))
        }
        let remb = negotiation.media.contains { $0.hasFeedback(.remb) } ? Self.publishBitrateCeiling : nil
        published.withLock { $0[id] = negotiation.media.map(PlayableTrack.init) }
        transports.withLock { $0[id] = local.iceUfrag }
        do {
            try await engine.publish(stream: id, local: local, remote: remote(negotiation), tracks: tracks,
                                     extensions: Self.extensionIDs(negotiation.media), rembBitrate: remb,
                                     onEvent: relay(id) { [weak self] event in
                                         if case .connected = event {} else { self?.published.withLock { $0[id] = nil } }
                                         onEvent(event)
                                     })
        } catch {
            published.withLock { $0[id] = nil }
            transports.withLock { $0[id] = nil }
            throw unavailable(error)
        }
        return PublishedMedia(id: id, answer: negotiation.answerSDP,
                              audio: negotiation.media.contains { $0.kind == .audio },
                              video: negotiation.media.contains { $0.kind == .video },
                              tracks: negotiation.media.map { m in
                                  StreamRecord.Track(kind: m.kind == .video ? .video : .audio, codec: m.codec.name,
                                                     clockRate: Int(m.codec.clockRate))
                              },
                              mediaLoop: local.mediaLoop)
    }

    // MARK: play

    public func play(source: String, offer: String, onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> (id: String, answer: String) {
        guard let tracks = published.withLock({ $0[source] }) else {
            throw MediaServiceError(code: "unknown_stream", message: "Stream '\(source)' is not being published")
        }
        let local = engine.makeLocalParameters(forPlaying: source)
        var rng = SystemRandomNumberGenerator()
        var assigned: [Int: Int] = [:]  // offer section index → producer index
        let negotiation = try negotiate(offer, local: local, capabilities: Self.playCapabilities) { offered in
            // Each offered section takes the next published track of its kind, in the codec the publisher sends.
            guard let index = tracks.indices.first(where: { i in
                tracks[i].kind == offered.kind && !assigned.values.contains(i)
            }) else { return .reject }
            assigned[offered.index] = index
            let track = tracks[index]
            let ssrc = UInt32.random(in: 1...UInt32.max, using: &rng)
            return .accept(direction: .sendonly, codecs: [track.preference], outgoing: OutgoingTrack(
                ssrc: ssrc, rtxSSRC: UInt32.random(in: 1...UInt32.max, using: &rng), cname: "parley-\(source)",
                streamID: Self.msidToken(source), trackID: "\(track.kind)-\(index)"))
        } refuse: { (rejected) throws(MediaServiceError) in
            // A track the browser cannot decode fails the play with the reason, rather than playing without it.
            if case .noCommonCodec = rejected.reason, let index = assigned[rejected.index] {
                throw MediaServiceError(code: "no_common_codec", message:
                    "This browser cannot receive \(tracks[index].codecName) \(tracks[index].kind), which the publisher sends")
            }
        }
        let consumers = negotiation.media.compactMap { m -> ConsumerParameters? in
            guard let index = assigned[m.index], let out = m.outgoing else { return nil }
            return ConsumerParameters(producerIndex: index, ssrc: out.ssrc, rtxSSRC: out.rtxSSRC,
                                      payloadType: m.codec.payloadType, rtxPayloadType: m.rtxPayloadType, mid: m.mid)
        }
        guard !consumers.isEmpty else {
            throw MediaServiceError(code: "bad_sdp", message: "The offer receives none of the stream's tracks")
        }
        let id = StreamID.mint()
        transports.withLock { $0[id] = local.iceUfrag }
        do {
            try await engine.play(source: source, local: local, remote: remote(negotiation), tracks: consumers,
                                  extensions: Self.extensionIDs(negotiation.media), onEvent: relay(id, onEvent))
        } catch MediaEngineError.unknownStream {
            transports.withLock { $0[id] = nil }
            throw MediaServiceError(code: "unknown_stream", message: "Stream '\(source)' is not being published")
        } catch {
            transports.withLock { $0[id] = nil }
            throw unavailable(error)
        }
        return (id, negotiation.answerSDP)
    }

    // MARK: sources that are not WebRTC

    /// Publishes stream `id` fed by a `MediaSource` (an RTMP encoder's media, a relay, a test) and makes it
    /// playable like a WebRTC publish: players are answered with `tracks`' codecs. The caller announces it in a
    /// room; it is forgotten here when its feed ends.
    public func publish(stream id: String, tracks: [SourceTrack],
                 makeSource: @escaping @Sendable (MediaFeed) -> any MediaSource) async throws -> MediaFeedHandle {
        published.withLock { $0[id] = tracks.map(PlayableTrack.init) }
        do {
            return try await engine.publish(stream: id, tracks: tracks.map(\.producerParameters),
                                            onEnd: { [weak self] in self?.published.withLock { $0[id] = nil } },
                                            makeSource: makeSource)
        } catch {
            published.withLock { $0[id] = nil }
            throw error
        }
    }

    public func setMuted(stream id: String, audio: Bool?, video: Bool?) async {
        await engine.setMuted(stream: id, audio: audio, video: video)
    }

    public func stop(stream id: String) async {
        published.withLock { $0[id] = nil }
        guard let transport = transports.withLock({ $0.removeValue(forKey: id) }) else { return }
        await engine.closeTransport(id: transport)
    }

    // MARK: negotiation

    /// What players negotiate: no transport-cc or abs-send-time, since Parley does not estimate the subscriber's
    /// bandwidth from them (yet); everything else as for publishers, and the playout delay Parley sets.
    static let playCapabilities = ServerCapabilities(
        codecs: ServerCapabilities.parley.codecs,
        rtcpFeedback: [.nack, .pli, .fir],
        headerExtensions: [HeaderExtensionURI.mid, HeaderExtensionURI.audioLevel, HeaderExtensionURI.videoOrientation,
                           HeaderExtensionURI.playoutDelay])

    private func negotiate(_ offer: String, local: LocalTransportParameters,
                           capabilities: ServerCapabilities = .parley,
                           plan: (OfferedMedia) -> MediaPlan,
                           refuse: (RejectedMedia) throws(MediaServiceError) -> Void = { _ in }) throws(MediaServiceError) -> Negotiation {
        guard let fingerprint = DTLSCertificate.parseFingerprint(local.fingerprint) else {
            throw MediaServiceError(code: "media_unavailable", message: "The media plane has no usable certificate")
        }
        let parameters = AnswerParameters(
            iceUsernameFragment: local.iceUfrag, icePassword: local.icePassword,
            fingerprint: Fingerprint(algorithm: "sha-256", bytes: fingerprint),
            candidates: local.candidates.map { HostCandidate(ip: $0.ip, port: UInt16(clamping: $0.port)) })
        let negotiation: Negotiation
        do {
            negotiation = try SDPNegotiator(capabilities: capabilities).answer(offer, parameters: parameters, plan: plan)
        } catch .noCommonCodec(let detail) {
            throw MediaServiceError(code: "no_common_codec", message: "No codec Parley can use: \(detail)")
        } catch {
            throw MediaServiceError(code: "bad_sdp", message: "The SDP offer cannot be used: \(error)")
        }
        for rejected in negotiation.rejected { try refuse(rejected) }
        guard negotiation.remoteTransport.fingerprints.contains(where: { $0.algorithm == "sha-256" && $0.bytes.count == 32 }) else {
            throw MediaServiceError(code: "bad_sdp", message: "Parley needs a sha-256 fingerprint in the offer")
        }
        return negotiation
    }

    private func remote(_ negotiation: Negotiation) -> RemoteTransportParameters {
        let t = negotiation.remoteTransport
        let fingerprint = t.fingerprints.first { $0.algorithm == "sha-256" }?.bytes ?? []
        return RemoteTransportParameters(iceUfrag: t.iceUsernameFragment, icePassword: t.icePassword, fingerprint: fingerprint)
    }

    private func unavailable(_ error: any Error) -> MediaServiceError {
        logger.warning("media transport refused", metadata: ["error": "\(error)"])
        return MediaServiceError(code: "media_unavailable", message: "The media plane could not open a transport")
    }

    /// A transport's events as the stream's; once it has ended, the stream's transport is forgotten.
    private func relay(_ id: String, _ onEvent: @escaping @Sendable (StreamEvent) -> Void) -> @Sendable (TransportEvent) -> Void {
        { [weak self] event in
            switch event {
            case .connected: onEvent(.connected)
            case .failed(let reason):
                self?.transports.withLock { $0[id] = nil }
                onEvent(.failed(Self.streamEndReason(reason)))
            case .closed(let reason):
                self?.transports.withLock { $0[id] = nil }
                onEvent(.closed(Self.streamEndReason(reason)))
            }
        }
    }

    static func streamEndReason(_ reason: TransportEndReason) -> StreamEndReason {
        switch reason {
        case .peerClosed: .peerClosed
        case .consentExpired: .consentExpired
        case .dtlsHandshakeFailed(let detail): .dtlsFailed(detail: detail)
        case .fingerprintMismatch: .fingerprintMismatch
        case .srtpSetupFailed: .srtpFailed
        case .sourceUnpublished: .unpublished
        case .closedByServer: .stopped
        }
    }

    static func extensionIDs(_ media: [NegotiatedMedia]) -> HeaderExtensionIDs {
        // Under BUNDLE one id means one extension across sections, so the first section that has it decides.
        func id(_ uri: String) -> UInt8 {
            media.lazy.compactMap { $0.extensionID(uri) }.first.map { UInt8(clamping: $0) } ?? 0
        }
        return HeaderExtensionIDs(mid: id(HeaderExtensionURI.mid), absSendTime: id(HeaderExtensionURI.absSendTime),
                                  transportWideCC: id(HeaderExtensionURI.transportWideCC),
                                  audioLevel: id(HeaderExtensionURI.audioLevel),
                                  videoOrientation: id(HeaderExtensionURI.videoOrientation),
                                  playoutDelay: id(HeaderExtensionURI.playoutDelay))
    }

    static func keyframeCodec(_ codec: Codec) -> KeyframeDetector.Codec {
        switch codec {
        case .vp8: .vp8
        case .h264: .h264
        default: .other
        }
    }

    /// The publisher's codec as the only choice for a player (H.264: the same profile, RFC 6184).
    static func preference(for codec: NegotiatedCodec) -> CodecPreference {
        switch codec.codec {
        case .opus: .opus
        case .pcmu: .pcmu
        case .pcma: .pcma
        case .vp8: .vp8
        case .h264:
            if let h264 = codec.h264 { .h264(H264Constraints(profiles: [h264.profile])) } else { .h264 }
        }
    }

    /// Stream ids may hold '+' and '/', which msid tokens allow; anything else is replaced.
    static func msidToken(_ id: String) -> String {
        String(id.map { $0.isLetter || $0.isNumber || $0 == "+" || $0 == "/" || $0 == "-" ? $0 : "-" })
    }
}
