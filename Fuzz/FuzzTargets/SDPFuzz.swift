import SDP

enum SDPFuzz {
    static let parameters = AnswerParameters(
        iceUsernameFragment: "fUzZ", icePassword: "fuzzPasswordFuzzPassword", fingerprint: Fingerprint(algorithm: "sha-256", bytes: Array(0..<32)),
        candidates: [HostCandidate(ip: "10.77.0.1", port: 40000)], sessionID: 4242)

    static func run(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        guard let description = try? SessionDescription.parse(text) else { return }
        readAll(description)

        // parse → serialize → parse gives the same description, and serializing that gives the same text.
        let serialized = description.serialize()
        let again: SessionDescription
        do { again = try SessionDescription.parse(serialized) } catch {
            FuzzCheck.fail("serialized SDP does not parse: \(error)\n\(serialized)")
        }
        FuzzCheck.expect(again == description, "SDP round trip changed the description:\n\(text)\n---\n\(serialized)")
        FuzzCheck.expect(again.serialize() == serialized, "SDP serialization is not stable")

        // What Parley does with an offer: answer it. An answer it writes must parse.
        if let negotiation = try? SDPNegotiator().answer(description, parameters: parameters) {
            let answer = negotiation.answerSDP
            do { _ = try SessionDescription.parse(answer) } catch {
                FuzzCheck.fail("Parley's answer does not parse: \(error)\n\(answer)")
            }
        }
    }

    /// Every typed view, and each typed value's own round trip through its attribute text.
    static func readAll(_ d: SessionDescription) {
        _ = (d.groups, d.bundleGroup, d.isICELite, d.origin.description, d.connection?.description)
        container(d)
        for m in d.media {
            container(m)
            _ = (m.mid, m.isRTCPMux, m.isRTCPReducedSize, m.isBundleOnly, m.hasEndOfCandidates, m.ssrcs, m.rids)
            for format in m.payloadFormats {
                _ = (format.encodingName, format.parameter("profile-level-id"))
                if let id = H264ProfileLevelID.from(format.parameters) { _ = (id.hexString, id.description) }
            }
            typed(m, RTPMap.self)
            typed(m, FormatParameters.self)
            typed(m, RTCPFeedback.self)
            typed(m, SSRCAttribute.self)
            typed(m, SSRCGroup.self)
            typed(m, MediaStreamID.self)
            typed(m, Candidate.self)
        }
        typed(d, Group.self)
    }

    static func container(_ c: some AttributeContainer) {
        _ = (c.direction, c.iceUsernameFragment, c.icePassword, c.iceOptions, c.setup, c.hasExtmapAllowMixed)
        typed(c, Fingerprint.self)
        typed(c, SetupRole.self)
        typed(c, ExtensionMap.self)
    }

    static func typed<V: AttributeValue>(_ c: some AttributeContainer, _ type: V.Type) {
        for value in c.values(type) {
            let text = value.attributeValue
            guard let again = V(sdpValue: text) else { FuzzCheck.fail("a=\(V.attributeName):\(text) does not parse back") }
            FuzzCheck.expect(again == value, "a=\(V.attributeName) round trip changed \(value) into \(again)")
        }
    }
}
