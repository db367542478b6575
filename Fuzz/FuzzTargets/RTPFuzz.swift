import NIOCore
import RTP

enum RTPFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        let buffer = ByteBuffer(bytes: data)
        _ = PacketKind.classify(buffer)
        guard let packet = try? RTPPacket(buffer) else { return }
        _ = (packet.hasExtension, packet.payloadLength, packet.payload)
        let elements = packet.extensionElements()
        for element in elements {
            FuzzCheck.expect(element.offset >= 12 && element.offset + element.length <= packet.payloadOffset,
                             "extension element \(element) outside the header")
            _ = packet.extensionValue(element)
        }
        for id: UInt8 in [0, 1, 2, 3, 14, 15, 100, 255] { _ = packet.extensionElement(id: id) }

        // Rewritten with the same fields (RTPPacketWriter keeps at most 255 elements and no padding): the same packet.
        let first = buffer.getInteger(at: 0, as: UInt8.self) ?? 0
        let csrcs = (0..<Int(first & 0x0F)).map { buffer.getInteger(at: 12 + 4 * $0, as: UInt32.self) ?? 0 }
        let extensions = elements.prefix(255).map { (id: $0.id, value: packet.extensionValue($0)) }
        var written = ByteBuffer()
        let count = RTPPacketWriter.write(into: &written, marker: packet.marker, payloadType: packet.payloadType,
                                          sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp, ssrc: packet.ssrc,
                                          csrcs: csrcs, extensions: extensions, payload: packet.payload)
        FuzzCheck.expect(count == written.readableBytes, "RTPPacketWriter returned \(count) for \(written.readableBytes) bytes")
        let again: RTPPacket
        do { again = try RTPPacket(written) } catch { FuzzCheck.fail("rewritten RTP packet does not parse: \(error)") }
        FuzzCheck.expect(again.marker == packet.marker && again.payloadType == packet.payloadType
                         && again.sequenceNumber == packet.sequenceNumber && again.timestamp == packet.timestamp
                         && again.ssrc == packet.ssrc, "RTP round trip changed a header field")
        let againCSRCs = (0..<Int((written.getInteger(at: 0, as: UInt8.self) ?? 0) & 0x0F)).map {
            written.getInteger(at: 12 + 4 * $0, as: UInt32.self) ?? 0
        }
        FuzzCheck.expect(againCSRCs == csrcs, "RTP round trip changed the CSRCs")
        FuzzCheck.expect(again.payload == packet.payload, "RTP round trip changed the payload")
        let againExtensions = again.extensionElements().map { (id: $0.id, value: again.extensionValue($0)) }
        FuzzCheck.expect(againExtensions.count == extensions.count
                         && zip(againExtensions, extensions).allSatisfy { $0.id == $1.id && $0.value == $1.value },
                         "RTP round trip changed the header extensions")
        FuzzCheck.expect(again.paddingLength == 0, "the writer wrote padding")
    }
}

enum RTCPFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        let buffer = ByteBuffer(bytes: data)
        _ = PacketKind.classify(buffer)
        if let headers = try? RTCPCompound.packets(buffer) {
            for header in headers {
                FuzzCheck.expect(header.offset >= 0 && header.length >= 4 && header.offset + header.length <= buffer.readableBytes,
                                 "RTCP header \(header) outside the datagram")
                parseAll(buffer, header)  // every parser, whatever the type: each must refuse what is not its own
            }
        }
    }

    /// Every parser on `header`, as Tests/RTPTests/FuzzTests.swift's parseAll, with round trips through the writers.
    static func parseAll(_ buffer: ByteBuffer, _ header: RTCPHeader) {
        _ = (header.isSenderReport, header.isReceiverReport, header.isSDES, header.isBye, header.isNACK,
             header.isTransportFeedback, header.isPLI, header.isFIR)
        _ = RTCPCompound.isREMB(header, in: buffer)
        _ = RTCPCompound.mediaSSRC(of: header, in: buffer)

        if let sr = try? RTCPSenderReport(buffer, header: header) {
            _ = sr.compactNTP
            expectSame(sr, reparse(RTCPCompound.senderReport(sr)) { b, h throws(RTPError) in try RTCPSenderReport(b, header: h) })
        }
        if let rr = try? RTCPReceiverReport(buffer, header: header) {
            expectSame(rr, reparse(RTCPCompound.receiverReport(senderSSRC: rr.ssrc, reports: rr.reports)) { b, h throws(RTPError) in
                try RTCPReceiverReport(b, header: h)
            })
        }
        if let sdes = try? RTCPSourceDescription(buffer, header: header) {
            let cnames = sdes.cnames
            // The writer writes one CNAME chunk: the first chunk's CNAME comes back when it is valid UTF-8 and short.
            if let chunk = sdes.chunks.first, let item = chunk.items.first(where: { $0.type == RTCPSourceDescription.cnameItem }),
               let cname = String(validating: item.value, as: UTF8.self) {
                let again = reparse(RTCPCompound.sdes(ssrc: chunk.ssrc, cname: cname)) { b, h throws(RTPError) in
                    try RTCPSourceDescription(b, header: h)
                }
                FuzzCheck.expect(again.cnames == [chunk.ssrc: cname], "SDES round trip: \(again.cnames) for \(cnames)")
            }
        }
        if let bye = try? RTCPBye(buffer, header: header) {
            let again = reparse(RTCPCompound.bye(ssrcs: bye.ssrcs, reason: bye.reason)) { b, h throws(RTPError) in
                try RTCPBye(b, header: h)
            }
            FuzzCheck.expect(again.ssrcs == bye.ssrcs, "BYE round trip changed the SSRCs")
            if (bye.reason?.utf8.count ?? 0) <= 255 { FuzzCheck.expect(again.reason == bye.reason, "BYE round trip changed the reason") }
        }
        if let nack = try? RTCPNack(buffer, header: header) {
            let written = RTCPCompound.nack(senderSSRC: nack.senderSSRC, mediaSSRC: nack.mediaSSRC, lost: nack.lost)
            let again = reparse(written) { b, h throws(RTPError) in try RTCPNack(b, header: h) }
            FuzzCheck.expect(again.senderSSRC == nack.senderSSRC && again.mediaSSRC == nack.mediaSSRC, "NACK round trip changed an SSRC")
            let lost = Set(nack.lost), againLost = Set(again.lost)
            FuzzCheck.expect(againLost.isSubset(of: lost), "NACK round trip names packets that were not lost")
            // Below the entry limit nothing is left for a later NACK.
            if (written.readableBytes - 12) / 4 < RTCPCompound.maxNackEntries {
                FuzzCheck.expect(againLost == lost, "NACK round trip lost \(lost.subtracting(againLost).sorted())")
            }
        }
        if let fir = try? RTCPFir(buffer, header: header), let entry = fir.entries.first {
            let again = reparse(RTCPCompound.fir(senderSSRC: fir.senderSSRC, mediaSSRC: entry.ssrc, sequence: entry.sequence)) {
                b, h throws(RTPError) in try RTCPFir(b, header: h)
            }
            FuzzCheck.expect(again.senderSSRC == fir.senderSSRC && again.entries.count == 1 && again.entries[0] == entry,
                             "FIR round trip changed it")
        }
        if let remb = try? RTCPRemb(buffer, header: header) {
            let again = reparse(RTCPCompound.remb(senderSSRC: remb.senderSSRC, bitrate: remb.bitrate, ssrcs: remb.ssrcs)) {
                b, h throws(RTPError) in try RTCPRemb(b, header: h)
            }
            FuzzCheck.expect(again.senderSSRC == remb.senderSSRC && again.ssrcs == remb.ssrcs, "REMB round trip changed an SSRC")
            // A bitrate the 18-bit mantissa and 6-bit exponent hold comes back exactly; UInt64.max stands for overflow.
            if remb.bitrate != .max { FuzzCheck.expect(again.bitrate == remb.bitrate, "REMB round trip: \(remb.bitrate) → \(again.bitrate)") }
        }
        if let feedback = try? RTCPTransportFeedback(buffer, header: header) {
            transportFeedbackRoundTrip(feedback)
        }
    }

    /// Arrival times rebuilt from the reference time and deltas, encoded again: the same arrivals come back.
    static func transportFeedbackRoundTrip(_ feedback: RTCPTransportFeedback) {
        var arrivals: [Int64?] = []
        var time = Int64(feedback.referenceTime) * 64_000
        for packet in feedback.packets {
            if let delta = packet.receivedDelta {
                time += delta
                arrivals.append(time)
            } else {
                arrivals.append(nil)
            }
        }
        let (written, encoded) = RTCPCompound.transportFeedback(senderSSRC: feedback.senderSSRC, mediaSSRC: feedback.mediaSSRC,
                                                                baseSequence: feedback.baseSequence,
                                                                feedbackCount: feedback.feedbackCount, packets: arrivals)
        FuzzCheck.expect(encoded <= arrivals.count, "transport-cc encoded \(encoded) of \(arrivals.count)")
        FuzzCheck.expect(written.readableBytes <= RTCPCompound.maxTransportFeedbackSize, "transport-cc packet over its size limit")
        let again = reparse(written) { b, h throws(RTPError) in try RTCPTransportFeedback(b, header: h) }
        FuzzCheck.expect(again.packets.count == encoded, "transport-cc round trip: \(again.packets.count) statuses for \(encoded)")
        FuzzCheck.expect(again.senderSSRC == feedback.senderSSRC && again.mediaSSRC == feedback.mediaSSRC
                         && again.baseSequence == feedback.baseSequence && again.feedbackCount == feedback.feedbackCount,
                         "transport-cc round trip changed a header field")
        // The reference time is 24 bits on the wire: away from its edges the absolute arrivals come back.
        let safe = abs(Int64(feedback.referenceTime)) < (1 << 23) - 300
        var againTime = Int64(again.referenceTime) * 64_000
        for (i, packet) in again.packets.enumerated() {
            FuzzCheck.expect(packet.sequence == feedback.packets[i].sequence, "transport-cc round trip changed a sequence number")
            FuzzCheck.expect((packet.receivedDelta == nil) == (arrivals[i] == nil), "transport-cc round trip changed packet \(i)'s status")
            if let delta = packet.receivedDelta {
                againTime += delta
                if safe { FuzzCheck.expect(againTime == arrivals[i], "transport-cc round trip moved packet \(i)'s arrival") }
            }
        }
    }

    /// The single packet of a compound the writers produced, parsed with `parse`; a failure is a property violation.
    static func reparse<T>(_ written: ByteBuffer, _ parse: (ByteBuffer, RTCPHeader) throws(RTPError) -> T) -> T {
        do {
            let headers = try RTCPCompound.packets(written)
            guard headers.count == 1 else { FuzzCheck.fail("the writer wrote \(headers.count) RTCP packets") }
            return try parse(written, headers[0])
        } catch {
            FuzzCheck.fail("written \(T.self) does not parse: \(error)")
        }
    }

    static func expectSame<T: Equatable>(_ a: T, _ b: T) {
        FuzzCheck.expect(a == b, "RTCP round trip changed \(a) into \(b)")
    }
}
