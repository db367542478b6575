/// Answers browser offers for Parley (RFC 8829 JSEP answerer rules, RFC 8843 BUNDLE, RFC 5761 rtcp-mux).
///
/// Parley never offers: a browser offers to publish (sendonly), to play (recvonly) or to echo (sendrecv), and
/// Parley answers as an ICE-lite, DTLS-passive endpoint with one codec (plus its RTX) per accepted section.
public struct SDPNegotiator: Sendable {
    public var capabilities: ServerCapabilities

    public init(capabilities: ServerCapabilities = .parley) {
        self.capabilities = capabilities
    }

    /// Parses and answers `offerSDP`.
    public func answer(_ offerSDP: String, parameters: AnswerParameters,
                       plan: (OfferedMedia) -> MediaPlan = { _ in .accept() }) throws(SDPError) -> Negotiation {
        try answer(SessionDescription.parse(offerSDP), parameters: parameters, plan: plan)
    }

    /// Answers `offer`. `plan` is asked once per offered audio/video section (not for data channels or sections
    /// the offerer rejected) for Parley's direction, codec override and outgoing track.
    public func answer(_ offer: SessionDescription, parameters: AnswerParameters,
                       plan: (OfferedMedia) -> MediaPlan = { _ in .accept() }) throws(SDPError) -> Negotiation {
        try validate(parameters)

        let offerBundle = offer.bundleGroup
        let offerBundleMids = Set(offerBundle?.mids ?? [])
        var decisions: [Decision] = []
        for (index, media) in offer.media.enumerated() {
            decisions.append(decide(media, index: index, offer: offer, offerBundleMids: offerBundleMids,
                                    parameters: parameters, plan: plan))
        }

        let accepted = decisions.compactMap { if case .accept(let a) = $0 { a } else { nil } }
        guard !accepted.isEmpty else { throw noMediaError(decisions, offer: offer) }

        // BUNDLE: the answer keeps the offer's group order, minus what was rejected.
        let acceptedMids = Set(accepted.compactMap(\.mid))
        let answerBundle = offerBundle?.mids.filter { acceptedMids.contains($0) } ?? []
        let bundleTag = offerBundle?.mids.lazy.compactMap { offer.media(mid: $0) }.first

        var negotiated: [NegotiatedMedia] = []
        for a in accepted {
            if let track = a.outgoing {
                // These go verbatim into a=ssrc/a=msid lines: a space or newline would forge other lines.
                guard isToken(track.cname), isToken(track.streamID), isToken(track.trackID) else {
                    throw .invalidParameters("outgoing cname, stream id and track id must be tokens without spaces")
                }
            }
            let bundled = a.mid.map { answerBundle.contains($0) } ?? false
            let transport = try remoteTransport(of: offer.media[a.index], mid: a.mid, offer: offer,
                                                fallback: bundled ? bundleTag : nil)
            negotiated.append(a.result(bundled: bundled, transport: transport))
        }
        guard let first = negotiated.first else { throw noMediaError(decisions, offer: offer) }

        let answer = buildAnswer(offer: offer, decisions: decisions, negotiated: negotiated,
                                 bundle: answerBundle, parameters: parameters)
        let rejected = decisions.compactMap { if case .reject(let r) = $0 { r } else { nil } }
        return Negotiation(answer: answer, media: negotiated, rejected: rejected, bundle: answerBundle,
                           remoteTransport: first.remoteTransport)
    }

    // MARK: - Deciding each section

    private enum Decision {
        case accept(Accepted)
        case reject(RejectedMedia)
    }

    /// Everything decided about an accepted section before the transport is resolved.
    private struct Accepted {
        var index: Int
        var mid: String?
        var kind: MediaKind
        var proto: String
        var direction: Direction
        var offeredDirection: Direction
        var codec: NegotiatedCodec
        var feedback: [RTCPFeedbackType]
        var rtx: UInt8?
        var extensions: [ExtensionMap]
        var rtcpMux: Bool
        var rtcpReducedSize: Bool
        var remote: (ssrc: UInt32?, rtx: UInt32?, cname: String?, msid: MediaStreamID?, rids: [String])
        var outgoing: OutgoingTrack?

        func result(bundled: Bool, transport: RemoteTransport) -> NegotiatedMedia {
            NegotiatedMedia(
                index: index, mid: mid, kind: kind, direction: direction, offeredDirection: offeredDirection,
                codec: codec, rtxPayloadType: rtx, rtcpFeedback: feedback,
                headerExtensions: extensions.map { NegotiatedExtension(uri: $0.uri, id: $0.id) },
                rtcpReducedSize: rtcpReducedSize, remoteSSRC: remote.ssrc, remoteRTXSSRC: remote.rtx,
                remoteCNAME: remote.cname, remoteMSID: remote.msid, remoteRIDs: remote.rids, outgoing: outgoing,
                remoteTransport: transport, bundled: bundled)
        }
    }

    private func decide(_ media: MediaDescription, index: Int, offer: SessionDescription,
                        offerBundleMids: Set<String>, parameters: AnswerParameters,
                        plan: (OfferedMedia) -> MediaPlan) -> Decision {
        let mid = media.mid
        func reject(_ reason: RejectionReason) -> Decision {
            .reject(RejectedMedia(index: index, mid: mid, kind: media.kind, reason: reason))
        }
        // A bundle-only section has port 0 yet is part of the offer (RFC 8843 §6).
        let bundleOnly = media.isBundleOnly && mid.map(offerBundleMids.contains) == true
        if media.port == 0 && !bundleOnly { return reject(.rejectedByOfferer) }
        guard media.kind == .audio || media.kind == .video else { return reject(.unsupportedMedia("\(media.kind)")) }
        guard media.proto.uppercased().contains("RTP/SAVP") else { return reject(.unsupportedTransport(media.proto)) }

        let offeredDirection = media.direction ?? offer.direction ?? .sendrecv
        let decision = plan(OfferedMedia(index: index, mid: mid, kind: media.kind, direction: offeredDirection,
                                         description: media))
        if decision.isRejected { return reject(.rejectedByPlan) }
        if capabilities.requireRTCPMux && !media.isRTCPMux { return reject(.rtcpMuxRequired) }

        let formats = media.payloadFormats
        let allowed = allowedCodecs(decision.codecs ?? parameters.codecs ?? capabilities.codecs, kind: media.kind)
        guard let (chosen, codec) = choose(from: formats, allowed: allowed) else {
            let offered = formats.map { f in
                guard let map = f.rtpMap else { return "\(f.payloadType)" }
                let name = "\(map.encodingName)/\(map.clockRate)"
                // Say why an H.264 format that looks fine is refused: Parley forwards packetization-mode 1 only.
                guard map.encodingName.uppercased() == "H264", f.parameter("packetization-mode") != "1" else { return name }
                return "\(name) with packetization-mode \(f.parameter("packetization-mode") ?? "0") (Parley needs 1)"
            }
            return reject(.noCommonCodec(offered: offered, allowed: allowed.map(\.description)))
        }

        let rtx = capabilities.rtx && media.kind == .video ? rtxPayloadType(for: chosen, in: formats) : nil
        let feedback = chosen.feedback.filter(capabilities.rtcpFeedback.contains)

        // Header extensions: the offer's ids for the URIs Parley knows, each URI and id at most once. Ids
        // 4096-4351 only say "answerer, pick one" (RFC 8285 §6); Parley does not, so they are left out.
        var extensions: [ExtensionMap] = []
        for ext in media.extensionMaps where capabilities.headerExtensions.contains(ext.uri) && ext.id <= 255 {
            guard !extensions.contains(where: { $0.uri == ext.uri || $0.id == ext.id }) else { continue }
            extensions.append(ExtensionMap(id: ext.id, uri: ext.uri, direction: ext.direction?.reversed))
        }

        // Never answer a direction the offer does not allow (RFC 3264 §6.1).
        let wanted = decision.direction ?? offeredDirection.reversed
        let direction = Direction(sends: wanted.sends && offeredDirection.receives,
                                  receives: wanted.receives && offeredDirection.sends)
        var outgoing = direction.sends ? decision.outgoing : nil
        if rtx == nil { outgoing?.rtxSSRC = nil }

        return .accept(Accepted(
            index: index, mid: mid, kind: media.kind, proto: media.proto, direction: direction,
            offeredDirection: offeredDirection, codec: codec, feedback: feedback, rtx: rtx, extensions: extensions,
            rtcpMux: media.isRTCPMux, rtcpReducedSize: media.isRTCPReducedSize, remote: remoteSources(of: media),
            outgoing: outgoing))
    }

    /// The caller's preference restricted to what the server supports, for one media kind.
    private func allowedCodecs(_ preference: [CodecPreference], kind: MediaKind) -> [CodecPreference] {
        preference.compactMap { wanted in
            guard wanted.codec.kind == kind,
                  let supported = capabilities.codecs.first(where: { $0.codec == wanted.codec }) else { return nil }
            if case .h264(let want) = wanted, case .h264(let have) = supported {
                let profiles = want.profiles.filter(have.profiles.contains)
                guard !profiles.isEmpty else { return nil }
                return .h264(H264Constraints(profiles: profiles, maxLevel: min(want.maxLevel, have.maxLevel)))
            }
            return wanted
        }
    }

    /// The first preference the offer can satisfy; within it, the first matching payload type in offer order.
    private func choose(from formats: [PayloadFormat],
                        allowed: [CodecPreference]) -> (PayloadFormat, NegotiatedCodec)? {
        for preference in allowed {
            let codec = preference.codec
            let candidates = formats.filter { f in
                guard let map = f.rtpMap else { return false }
                return map.encodingName.lowercased() == codec.encodingName.lowercased() && map.clockRate == codec.clockRate
            }
            switch preference {
            case .opus:
                // RFC 7587: opus is always signalled as 48000/2.
                guard let f = candidates.first(where: { $0.rtpMap?.channels == 2 }), let map = f.rtpMap else { continue }
                let kept = f.parameters.filter { ["minptime", "useinbandfec"].contains($0.name.lowercased()) }
                return (f, NegotiatedCodec(codec: .opus, payloadType: f.payloadType, name: map.encodingName,
                                           clockRate: 48000, channels: 2, parameters: kept, h264: nil))
            case .pcmu, .pcma:
                guard let f = candidates.first(where: { ($0.rtpMap?.channels ?? 1) == 1 }), let map = f.rtpMap
                else { continue }
                return (f, NegotiatedCodec(codec: codec, payloadType: f.payloadType, name: map.encodingName,
                                           clockRate: 8000, channels: 1, parameters: [], h264: nil))
            case .vp8:
                guard let f = candidates.first, let map = f.rtpMap else { continue }
                return (f, NegotiatedCodec(codec: .vp8, payloadType: f.payloadType, name: map.encodingName,
                                           clockRate: 90000, channels: 1, parameters: [], h264: nil))
            case .h264(let constraints):
                if let match = chooseH264(candidates, constraints) { return match }
            }
        }
        return nil
    }

    /// RFC 6184 §8.2.2: same profile, packetization-mode 1, level answered at min(offer, ours).
    private func chooseH264(_ formats: [PayloadFormat],
                            _ constraints: H264Constraints) -> (PayloadFormat, NegotiatedCodec)? {
        for profile in constraints.profiles {
            for f in formats where f.parameter("packetization-mode") == "1" {
                guard let map = f.rtpMap, let offered = H264ProfileLevelID.from(f.parameters),
                      offered.profile == profile else { continue }
                let answered = H264ProfileLevelID(profile: profile, level: min(offered.level, constraints.maxLevel))
                // Echo the offer's own spelling when the level is unchanged (42e01f stays 42e01f).
                let text = answered.level == offered.level ? f.parameter("profile-level-id") ?? answered.hexString
                                                           : answered.hexString
                guard let text else { continue }
                var parameters: [FormatParameter] = []
                if f.parameter("level-asymmetry-allowed") == "1" {
                    parameters.append(FormatParameter("level-asymmetry-allowed", "1"))
                }
                parameters.append(FormatParameter("packetization-mode", "1"))
                parameters.append(FormatParameter("profile-level-id", text))
                return (f, NegotiatedCodec(codec: .h264, payloadType: f.payloadType, name: map.encodingName,
                                           clockRate: 90000, channels: 1, parameters: parameters, h264: answered))
            }
        }
        return nil
    }

    private func rtxPayloadType(for chosen: PayloadFormat, in formats: [PayloadFormat]) -> UInt8? {
        formats.first { f in
            guard let map = f.rtpMap, map.encodingName.lowercased() == "rtx",
                  map.clockRate == chosen.rtpMap?.clockRate,
                  let apt = f.parameter("apt").flatMap({ parseDecimal($0, as: UInt8.self) }) else { return false }
            return apt == chosen.payloadType
        }?.payloadType
    }

    /// The offerer's SSRCs: media and RTX from `ssrc-group:FID` when present, else the first `a=ssrc`.
    private func remoteSources(of media: MediaDescription)
        -> (ssrc: UInt32?, rtx: UInt32?, cname: String?, msid: MediaStreamID?, rids: [String]) {
        let attributes = media.ssrcAttributes
        let fid = media.ssrcGroups.first { $0.semantics.uppercased() == "FID" && $0.ssrcs.count >= 2 }
        let ssrc = fid?.ssrcs.first ?? media.ssrcs.first
        let rtx = fid.flatMap { $0.ssrcs.count >= 2 ? $0.ssrcs[1] : nil }
        let cname = attributes.first { $0.ssrc == ssrc && $0.name == "cname" }?.value
        let msid = media.mediaStreamIDs.first
            ?? attributes.first { $0.ssrc == ssrc && $0.name == "msid" }?.value.flatMap(MediaStreamID.init(sdpValue:))
        let rids = media.rids.filter { $0.direction == "send" }.map(\.id)
        return (ssrc, rtx, cname, msid, rids)
    }

    private func remoteTransport(of media: MediaDescription, mid: String?, offer: SessionDescription,
                                 fallback: MediaDescription?) throws(SDPError) -> RemoteTransport {
        // Media level wins over session level (Firefox puts the fingerprint at session level); a bundled section
        // without its own parameters shares those of the BUNDLE-tagged section.
        let ufrag = media.iceUsernameFragment ?? offer.iceUsernameFragment ?? fallback?.iceUsernameFragment
        let pwd = media.icePassword ?? offer.icePassword ?? fallback?.icePassword
        guard let ufrag, let pwd else { throw .missingICECredentials(mid: mid) }
        var fingerprints = media.fingerprints
        if fingerprints.isEmpty { fingerprints = offer.fingerprints }
        if fingerprints.isEmpty { fingerprints = fallback?.fingerprints ?? [] }
        guard !fingerprints.isEmpty else { throw .missingFingerprint(mid: mid) }
        let setup = media.setup ?? offer.setup ?? fallback?.setup
        if let setup, setup == .passive || setup == .holdconn {
            throw .incompatibleSetupRole(mid: mid, setup.rawValue)
        }
        var options = media.iceOptions
        if options.isEmpty { options = offer.iceOptions }
        return RemoteTransport(iceUsernameFragment: ufrag, icePassword: pwd, fingerprints: fingerprints, setup: setup,
                               iceOptions: options, candidates: media.candidates,
                               endOfCandidates: media.hasEndOfCandidates)
    }

    private func noMediaError(_ decisions: [Decision], offer: SessionDescription) -> SDPError {
        let rejections = decisions.compactMap { if case .reject(let r) = $0 { r } else { nil } }
        let lines = rejections.map { r in
            "\(r.kind) section \(r.mid.map { "mid \($0)" } ?? "#\(r.index)") \(r.reason)"
        }
        let text = lines.isEmpty ? "the offer has no media section" : lines.joined(separator: "; ")
        let codecMismatch = rejections.contains { if case .noCommonCodec = $0.reason { true } else { false } }
        return codecMismatch ? .noCommonCodec(text) : .noUsableMedia(text)
    }

    // MARK: - Writing the answer

    private func buildAnswer(offer: SessionDescription, decisions: [Decision], negotiated: [NegotiatedMedia],
                             bundle: [String], parameters: AnswerParameters) -> SessionDescription {
        var answer = SessionDescription(origin: Origin(sessionID: String(parameters.sessionID),
                                                       sessionVersion: parameters.sessionVersion))
        answer.append(.iceLite)
        if !bundle.isEmpty { answer.append(Group(semantics: "BUNDLE", mids: bundle)) }
        if offer.hasExtmapAllowMixed { answer.append(.extmapAllowMixed) }
        answer.append(Attribute("msid-semantic", " WMS *"))

        let candidates = hostCandidates(parameters.candidates)
        let address = parameters.candidates.first?.ip ?? "0.0.0.0"
        let port = parameters.candidates.first?.port ?? 9

        var byIndex: [Int: NegotiatedMedia] = [:]
        for m in negotiated { byIndex[m.index] = m }

        for (index, offered) in offer.media.enumerated() {
            guard let agreed = byIndex[index] else {
                // Rejected: port 0, same proto and formats, and the mid so the offerer can match it (JSEP §5.3.1).
                var m = MediaDescription(kind: offered.kind, port: 0, proto: offered.proto, formats: offered.formats,
                                         connection: Connection(address: "0.0.0.0"))
                if let mid = offered.mid { m.append(.mid(mid)) }
                answer.media.append(m)
                continue
            }
            var formats = [String(agreed.codec.payloadType)]
            if let rtx = agreed.rtxPayloadType { formats.append(String(rtx)) }
            var m = MediaDescription(kind: agreed.kind, port: port, proto: offered.proto, formats: formats,
                                     connection: Connection(address: address))
            if let mid = agreed.mid { m.append(.mid(mid)) }
            m.append(.direction(agreed.direction))
            m.append(.iceUsernameFragment(parameters.iceUsernameFragment))
            m.append(.icePassword(parameters.icePassword))
            m.append(parameters.fingerprint)
            m.append(.setup(.passive))
            if offered.isRTCPMux { m.append(.rtcpMux) }
            if agreed.rtcpReducedSize { m.append(.rtcpReducedSize) }
            for ext in offered.extensionMaps {
                if let agreedExt = agreed.headerExtensions.first(where: { $0.uri == ext.uri && $0.id == ext.id }) {
                    m.append(ExtensionMap(id: agreedExt.id, uri: agreedExt.uri, direction: ext.direction?.reversed))
                }
            }
            let codec = agreed.codec
            m.append(RTPMap(payloadType: codec.payloadType, encodingName: codec.name, clockRate: codec.clockRate,
                            channels: codec.codec == .opus ? 2 : nil))
            for fb in agreed.rtcpFeedback { m.append(RTCPFeedback(payloadType: codec.payloadType, feedback: fb)) }
            if !codec.parameters.isEmpty {
                m.append(FormatParameters(payloadType: codec.payloadType, parameters: codec.parameters))
            }
            if let rtx = agreed.rtxPayloadType {
                m.append(RTPMap(payloadType: rtx, encodingName: "rtx", clockRate: codec.clockRate))
                m.append(FormatParameters(payloadType: rtx, parameters: [FormatParameter("apt", String(codec.payloadType))]))
            }
            if let track = agreed.outgoing {
                let msid = MediaStreamID(streamID: track.streamID, trackID: track.trackID)
                m.append(msid)
                var ssrcs = [track.ssrc]
                if let rtx = track.rtxSSRC {
                    ssrcs.append(rtx)
                    m.append(SSRCGroup(semantics: "FID", ssrcs: ssrcs))
                }
                for ssrc in ssrcs {
                    m.append(SSRCAttribute(ssrc: ssrc, name: "cname", value: track.cname))
                    m.append(SSRCAttribute(ssrc: ssrc, name: "msid", value: msid.attributeValue))
                }
            }
            for candidate in candidates { m.append(candidate) }
            m.append(.endOfCandidates)
            answer.media.append(m)
        }
        return answer
    }

    /// RFC 8445 §5.1.2: host type preference 126, local preference by list order, component 1; one foundation per
    /// address (same type, base and protocol).
    private func hostCandidates(_ hosts: [HostCandidate]) -> [Candidate] {
        hosts.enumerated().map { index, host in
            let localPreference = UInt32(65535 - min(index, 65535))
            let priority = (126 << 24) | (localPreference << 8) | (256 - 1)
            let foundation = String(UInt32(truncatingIfNeeded: fnv1a64("host udp \(host.ip)")))
            return Candidate(foundation: foundation, component: 1, transport: "udp", priority: priority,
                             address: host.ip, port: host.port, type: "host")
        }
    }

    // MARK: - Checking the caller's parameters

    private func validate(_ p: AnswerParameters) throws(SDPError) {
        func iceChars(_ s: String) -> Bool {
            s.utf8.allSatisfy { c in
                (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x2B || c == 0x2F
            }
        }
        // RFC 8839 §5.4: ufrag 4–256, pwd 22–256 ice-chars.
        guard (4...256).contains(p.iceUsernameFragment.utf8.count), iceChars(p.iceUsernameFragment) else {
            throw .invalidParameters("ICE ufrag must be 4–256 characters of [A-Za-z0-9+/]")
        }
        guard (22...256).contains(p.icePassword.utf8.count), iceChars(p.icePassword) else {
            throw .invalidParameters("ICE pwd must be 22–256 characters of [A-Za-z0-9+/]")
        }
        guard let length = Fingerprint.expectedLength(p.fingerprint.algorithm), length == p.fingerprint.bytes.count,
              p.fingerprint.algorithm != "md5", p.fingerprint.algorithm != "md2" else {
            throw .invalidParameters("fingerprint \(p.fingerprint.algorithm) with \(p.fingerprint.bytes.count) bytes")
        }
        for host in p.candidates where !isIPAddress(host.ip) || host.port == 0 {
            throw .invalidParameters("candidate \(host.ip):\(host.port) is not an IP address and port")
        }
    }

    private func isIPAddress(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4, !text.contains(":") {
            return parts.allSatisfy { $0.utf8.count <= 3 && parseDecimal($0, as: UInt16.self).map { $0 <= 255 } == true }
        }
        // IPv6: hex groups and colons (an embedded IPv4 tail allowed); the socket layer checks the rest.
        return text.contains(":") && text.utf8.count <= 45
            && text.utf8.allSatisfy { c in
                (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c) || c == 0x3A || c == 0x2E
            }
    }
}
