/// Typed views over `a=` lines, shared by the session level and media sections. Values that fail to parse are
/// skipped (a parsed description never has any: `SessionDescription.parse` rejects them up front).
public protocol AttributeContainer {
    var attributes: [Attribute] { get set }
}

extension SessionDescription: AttributeContainer {}
extension MediaDescription: AttributeContainer {}

extension AttributeContainer {
    public func attributes(named name: String) -> [Attribute] { attributes.filter { $0.name == name } }
    public func firstValue(of name: String) -> String? { attributes.first { $0.name == name }?.value }
    public func hasAttribute(_ name: String) -> Bool { attributes.contains { $0.name == name } }

    /// Every attribute of a typed kind, in order, e.g. `values(RTPMap.self)`.
    public func values<V: AttributeValue>(_ type: V.Type) -> [V] {
        attributes.compactMap { $0.name == V.attributeName ? $0.value.flatMap(V.init(sdpValue:)) : nil }
    }

    public mutating func append(_ attribute: Attribute) { attributes.append(attribute) }
    public mutating func append<V: AttributeValue>(_ value: V) { attributes.append(Attribute(value)) }

    /// The first of `a=sendrecv|sendonly|recvonly|inactive`, if any.
    public var direction: Direction? { attributes.lazy.compactMap { Direction(rawValue: $0.name) }.first }
    public var iceUsernameFragment: String? { firstValue(of: "ice-ufrag") }
    public var icePassword: String? { firstValue(of: "ice-pwd") }
    public var iceOptions: [String] { firstValue(of: "ice-options").map { tokens(Substring($0)).map(String.init) } ?? [] }
    public var fingerprints: [Fingerprint] { values(Fingerprint.self) }
    public var setup: SetupRole? { values(SetupRole.self).first }
    public var extensionMaps: [ExtensionMap] { values(ExtensionMap.self) }
    public var hasExtmapAllowMixed: Bool { hasAttribute("extmap-allow-mixed") }
}

extension SessionDescription {
    public var groups: [Group] { values(Group.self) }
    /// The first `a=group:BUNDLE` (JSEP uses one).
    public var bundleGroup: Group? { groups.first { $0.semantics.uppercased() == "BUNDLE" } }
    public var isICELite: Bool { hasAttribute("ice-lite") }

    /// The media section with this mid.
    public func media(mid: String) -> MediaDescription? { media.first { $0.mid == mid } }
}

/// A payload type of an RTP section with everything said about it: rtpmap, fmtp and rtcp-fb lines.
public struct PayloadFormat: Sendable, Hashable {
    public var payloadType: UInt8
    /// nil for a dynamic payload type without `a=rtpmap` (unusable); static 0/8/9 are filled in from RFC 3551.
    public var rtpMap: RTPMap?
    public var parameters: [FormatParameter]
    /// Includes `a=rtcp-fb:*` lines.
    public var feedback: [RTCPFeedbackType]

    public var encodingName: String? { rtpMap?.encodingName }

    /// Case-insensitive fmtp lookup.
    public func parameter(_ name: String) -> String? {
        FormatParameters(payloadType: payloadType, parameters: parameters)[name]
    }
}

extension MediaDescription {
    public var mid: String? { firstValue(of: "mid") }
    public var isRTCPMux: Bool { hasAttribute("rtcp-mux") }
    public var isRTCPReducedSize: Bool { hasAttribute("rtcp-rsize") }
    public var isBundleOnly: Bool { hasAttribute("bundle-only") }
    public var hasEndOfCandidates: Bool { hasAttribute("end-of-candidates") }
    public var rtpMaps: [RTPMap] { values(RTPMap.self) }
    public var formatParameters: [FormatParameters] { values(FormatParameters.self) }
    public var rtcpFeedback: [RTCPFeedback] { values(RTCPFeedback.self) }
    public var ssrcAttributes: [SSRCAttribute] { values(SSRCAttribute.self) }
    public var ssrcGroups: [SSRCGroup] { values(SSRCGroup.self) }
    public var mediaStreamIDs: [MediaStreamID] { values(MediaStreamID.self) }
    public var candidates: [Candidate] { values(Candidate.self) }

    /// Distinct SSRCs in order of first appearance.
    public var ssrcs: [UInt32] {
        var seen = Set<UInt32>()
        return ssrcAttributes.compactMap { seen.insert($0.ssrc).inserted ? $0.ssrc : nil }
    }

    /// `a=rid:<id> send|recv …` ids (RFC 8851), for simulcast.
    public var rids: [(id: String, direction: String)] {
        attributes(named: "rid").compactMap { attribute in
            let parts = tokens(Substring(attribute.value ?? ""))
            return parts.count >= 2 ? (String(parts[0]), String(parts[1])) : nil
        }
    }

    /// The payload types of the m= line, in offer (preference) order, with their rtpmap/fmtp/rtcp-fb.
    public var payloadFormats: [PayloadFormat] {
        guard isRTP else { return [] }
        let maps = rtpMaps
        let fmtps = formatParameters
        let feedback = rtcpFeedback
        var seen = Set<UInt8>()
        return formats.compactMap { format -> PayloadFormat? in
            guard let pt = parseDecimal(format, as: UInt8.self), pt <= 127, seen.insert(pt).inserted else { return nil }
            let map = maps.first { $0.payloadType == pt } ?? RTPMap.staticPayloadType(pt)
            let parameters = fmtps.first { $0.payloadType == pt }?.parameters ?? []
            var types: [RTCPFeedbackType] = []
            for fb in feedback where fb.payloadType == nil || fb.payloadType == pt {
                if !types.contains(fb.feedback) { types.append(fb.feedback) }
            }
            return PayloadFormat(payloadType: pt, rtpMap: map, parameters: parameters, feedback: types)
        }
    }
}
