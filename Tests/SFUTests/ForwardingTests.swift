import NIOCore
import RTP
import Testing
@testable import SFU

/// Producer → Consumer logic with a fake clock and fake transports: numbering, payload types, keyframes,
/// retransmissions, keyframe requests and sender reports.
final class FakeUpstream: ProducerUpstream {
    struct Nack: Equatable {
        let mediaSSRC: UInt32
        let lost: [UInt16]
    }
    /// The requests the producer made of its source.
    var plis = 0
    var nacks: [Nack] = []

    func requestKeyframe(_ producer: Producer, ssrc: UInt32) -> Bool {
        plis += 1
        return true
    }

    func requestRetransmission(_ producer: Producer, ssrc: UInt32, lost: [UInt16]) {
        nacks.append(Nack(mediaSSRC: ssrc, lost: lost))
    }
}

final class FakeDownstream: ConsumerDownstream {
    var isConnected = true
    var rtp: [RTPPacket] = []
    var rtcp: [ByteBuffer] = []
    var ended = false
    func sendRTP(_ packet: inout ByteBuffer, kind: TrackKind) { if let p = try? RTPPacket(packet) { rtp.append(p) } }
    func sendRTCP(_ packet: inout ByteBuffer) { rtcp.append(packet) }
    func consumerDidEnd(_ consumer: Consumer) { ended = true }
}

/// A VP8 payload: descriptor with S=1, PID 0, then the VP8 header whose bit 0 says key (0) or delta (1).
func vp8Payload(keyframe: Bool, size: Int = 100) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeInteger(UInt8(0x10))
    b.writeInteger(UInt8(keyframe ? 0x00 : 0x01))
    b.writeRepeatingByte(0xAB, count: size)
    return b
}

func rtp(seq: UInt16, ts: UInt32, ssrc: UInt32 = 1111, pt: UInt8 = 96, marker: Bool = false,
         payload: ByteBuffer = vp8Payload(keyframe: false), extensions: [(id: UInt8, value: ByteBuffer)] = []) -> RTPPacket {
    var b = ByteBuffer()
    RTPPacketWriter.write(into: &b, marker: marker, payloadType: pt, sequenceNumber: seq, timestamp: ts, ssrc: ssrc,
                          extensions: extensions, payload: payload)
    return try! RTPPacket(b)
}

struct Pair {
    /// A second subscriber of the producer, its transport up at `now`.
    func lateSubscriber(ssrc: UInt32 = 4444, connectedAt now: Double) -> (Consumer, FakeDownstream) {
        let down = FakeDownstream()
        let late = Consumer(parameters: ConsumerParameters(producerIndex: 0, ssrc: ssrc, payloadType: 100),
                            producer: producer, extensions: HeaderExtensionIDs(), producerExtensions: HeaderExtensionIDs())
        late.downstream = down
        producer.add(late)
        late.connected(now: now)
        return (late, down)
    }

    let producer: Producer
    let consumer: Consumer
    let up = FakeUpstream()
    let down = FakeDownstream()

    init(kind: TrackKind = .video, codec: KeyframeDetector.Codec? = nil, consumerRTX: Bool = false,
         audioLevel: (UInt8, UInt8)? = nil, playoutDelay: UInt8 = 0) {
        producer = Producer(parameters: ProducerParameters(kind: kind, codec: codec ?? (kind == .video ? .vp8 : .other),
                                                           clockRate: kind == .video ? 90000 : 48000, payloadType: 96),
                            keyframeInterval: 0.5)
        producer.upstream = up
        consumer = Consumer(parameters: ConsumerParameters(producerIndex: 0, ssrc: 2222, rtxSSRC: consumerRTX ? 3333 : nil,
                                                           payloadType: 100, rtxPayloadType: consumerRTX ? 101 : nil),
                            producer: producer,
                            extensions: HeaderExtensionIDs(audioLevel: audioLevel?.1 ?? 0, playoutDelay: playoutDelay),
                            producerExtensions: HeaderExtensionIDs(audioLevel: audioLevel?.0 ?? 0))
        consumer.downstream = down
        producer.add(consumer)
    }
}

@Suite struct ForwardingTests {
    @Test func rewritesSSRCAndPayloadTypeAndStartsAtAKeyframe() {
        let pair = Pair()
        pair.producer.receive(rtp(seq: 10, ts: 1000), now: 0)  // delta frame: not forwarded yet
        #expect(pair.down.rtp.isEmpty)
        pair.producer.receive(rtp(seq: 11, ts: 4000, payload: vp8Payload(keyframe: true)), now: 0.03)
        pair.producer.receive(rtp(seq: 12, ts: 4000, marker: true), now: 0.031)
        #expect(pair.down.rtp.count == 2)
        let first = pair.down.rtp[0], second = pair.down.rtp[1]
        #expect(first.ssrc == 2222 && first.payloadType == 100)
        #expect(second.sequenceNumber == first.sequenceNumber &+ 1)
        #expect(second.timestamp == first.timestamp && second.marker)
        #expect(Array(second.payload.readableBytesView) == Array(rtp(seq: 12, ts: 4000).payload.readableBytesView))
    }

    @Test func numberingStaysContinuousAcrossAPublisherRestart() {
        let pair = Pair()
        pair.producer.receive(rtp(seq: 65534, ts: 90_000, payload: vp8Payload(keyframe: true)), now: 1.0)
        pair.producer.receive(rtp(seq: 65535, ts: 93_000), now: 1.033)
        pair.producer.receive(rtp(seq: 0, ts: 96_000), now: 1.066)  // wraps: still continuous
        // The publisher restarts: new SSRC, unrelated numbers. Delta frames wait; the keyframe re-bases.
        pair.producer.receive(rtp(seq: 500, ts: 7, ssrc: 9999), now: 2.0)
        #expect(pair.down.rtp.count == 3)
        #expect(pair.up.plis >= 1)
        pair.producer.receive(rtp(seq: 501, ts: 3007, ssrc: 9999, payload: vp8Payload(keyframe: true)), now: 2.066)
        pair.producer.receive(rtp(seq: 502, ts: 6007, ssrc: 9999), now: 2.1)
        let out = pair.down.rtp
        #expect(out.count == 5)
        for i in 1..<out.count { #expect(out[i].sequenceNumber == out[i - 1].sequenceNumber &+ 1) }
        #expect(out.allSatisfy { $0.ssrc == 2222 })
        // One second of wall clock passed between the old source's last packet and the new keyframe: 90,000 ticks.
        let gap = out[3].timestamp &- out[2].timestamp
        #expect((89_000...91_000).contains(gap))
        #expect(out[4].timestamp &- out[3].timestamp == 2_999 + 1)
    }

    @Test func theOperatorsMuteForwardsNothingAndResumesAtAKeyframeWithoutAGap() {
        let pair = Pair()
        pair.producer.receive(rtp(seq: 10, ts: 0, payload: vp8Payload(keyframe: true)), now: 0)
        pair.producer.receive(rtp(seq: 11, ts: 3000), now: 0.03)
        #expect(pair.down.rtp.count == 2)
        pair.producer.setMuted(true, now: 0.05)
        // Muted: nothing goes out, not even a keyframe, and a new viewer gets no cached frame from this time.
        pair.producer.receive(rtp(seq: 12, ts: 6000, payload: vp8Payload(keyframe: true)), now: 0.06)
        pair.producer.receive(rtp(seq: 13, ts: 9000), now: 0.09)
        let (_, lateDown) = pair.lateSubscriber(connectedAt: 0.1)
        #expect(pair.down.rtp.count == 2 && lateDown.rtp.isEmpty)
        // Nor does a NACK for what it never got bring the muted packets out.
        pair.consumer.retransmit([pair.down.rtp[1].sequenceNumber &+ 1], now: 0.1)
        #expect(pair.down.rtp.count == 2)

        let plis = pair.up.plis
        pair.producer.setMuted(false, now: 1.0)
        #expect(pair.up.plis == plis + 1, "resuming asks the publisher for a keyframe")
        pair.producer.receive(rtp(seq: 14, ts: 12000), now: 1.01)  // a delta frame: viewers wait
        #expect(pair.down.rtp.count == 2)
        pair.producer.receive(rtp(seq: 15, ts: 15000, payload: vp8Payload(keyframe: true)), now: 1.05)
        let out = pair.down.rtp
        #expect(out.count == 3)
        #expect(out[2].sequenceNumber == out[1].sequenceNumber &+ 1, "no gap a viewer would NACK into the muted time")
        #expect(lateDown.rtp.count == 1)
    }

    @Test func audioStartsAtOnceAndMapsAudioLevel() {
        let pair = Pair(kind: .audio, audioLevel: (1, 5))
        var level = ByteBuffer()
        level.writeInteger(UInt8(0x85))
        var mid = ByteBuffer()
        mid.writeString("0")
        pair.producer.receive(rtp(seq: 7, ts: 960, payload: ByteBuffer(bytes: [1, 2, 3]),
                                  extensions: [(1, level), (3, mid)]), now: 0)
        #expect(pair.down.rtp.count == 1)
        let out = pair.down.rtp[0]
        #expect(out.extensionElement(id: 5).map { Array($0.readableBytesView) } == [0x85])
        #expect(out.extensionElement(id: 1) == nil && out.extensionElement(id: 3) == nil)
    }

    @Test func aLossyPlayersVideoIsBufferedLongerUntilTheLossPasses() {
        let pair = Pair(playoutDelay: 7)
        func report(lost: UInt8 = 0) -> RTCPReportBlock {
            RTCPReportBlock(ssrc: 2222, fractionLost: lost, cumulativeLost: 0, highestSequence: 0, jitter: 0, lastSR: 0, delaySinceLastSR: 0)
        }
        var seq: UInt16 = 100
        func frames(_ count: Int, at now: Double) {
            for i in 0..<count {
                pair.producer.receive(rtp(seq: seq, ts: UInt32(seq) * 3000, payload: vp8Payload(keyframe: seq == 100)), now: now + Double(i) * 0.03)
                seq &+= 1
            }
        }
        frames(30, at: 0)
        pair.consumer.receiverReport(report(), now: 1)
        #expect(pair.consumer.playoutDelayLimits == nil && pair.down.rtp.last?.extensionElement(id: 7) == nil, "no loss: nothing sent")
        frames(30, at: 1)
        pair.consumer.retransmit([pair.down.rtp[40].sequenceNumber, pair.down.rtp[45].sequenceNumber], now: 1.9)  // 2 of 30 NACKed
        pair.consumer.receiverReport(report(), now: 2)
        #expect(pair.consumer.playoutDelayLimits! == (30, 1000), "no round trip known yet: three of an assumed 100 ms")
        frames(1, at: 2)
        let element = pair.down.rtp.last?.extensionElement(id: 7).map { Array($0.readableBytesView) }
        #expect(element == [0x01, 0xE3, 0xE8], "12 bits of minimum (30), 12 of maximum (1000)")
        // Reported loss keeps it; ten quiet seconds give it back, and the player's usual bounds go out.
        pair.consumer.receiverReport(report(lost: 26), now: 5)
        pair.consumer.receiverReport(report(), now: 10)
        #expect(pair.consumer.playoutDelayLimits?.min ?? 0 > 0)
        pair.consumer.receiverReport(report(), now: 15.5)
        #expect(pair.consumer.playoutDelayLimits! == (0, 1000))
        frames(1, at: 16)
        #expect(pair.down.rtp.last?.extensionElement(id: 7).map { Array($0.readableBytesView) } == [0x00, 0x03, 0xE8])
    }

    @Test func playoutDelayBoundsFollowTheRoundTrip() {
        var policy = PlayoutDelayPolicy()
        #expect(policy.update(now: 0, lossRate: 0.005, rtt: 0.05) == nil)
        #expect(policy.update(now: 1, lossRate: 0.1, rtt: 0.04)! == (15, 1000))  // 3 × 40 ms under the 150 ms floor
        #expect(policy.update(now: 2, lossRate: 0.1, rtt: 0.12)! == (36, 1000))
        #expect(policy.update(now: 3, lossRate: 0.1, rtt: 0.05) == nil, "not lowered while the loss lasts")
        #expect(policy.update(now: 4, lossRate: 0.2, rtt: 0.4)! == (50, 1000), "at most 500 ms")
        #expect(policy.update(now: 13.9, lossRate: 0, rtt: nil) == nil)
        #expect(policy.update(now: 14, lossRate: 0, rtt: nil)! == (0, 1000))
        #expect(PlayoutDelayPolicy.element((36, 1000)).readableBytesView.elementsEqual([0x02, 0x43, 0xE8]))
    }

    @Test func nackIsAnsweredFromTheBufferWithTheSubscribersNumbers() {
        let pair = Pair()
        pair.producer.receive(rtp(seq: 100, ts: 0, payload: vp8Payload(keyframe: true)), now: 0)
        for s in 101...110 { pair.producer.receive(rtp(seq: UInt16(s), ts: 3000), now: 0.01) }
        let sent = pair.down.rtp
        let lost = [sent[3].sequenceNumber, sent[7].sequenceNumber]
        pair.consumer.retransmit(lost, now: 0.1)
        #expect(pair.down.rtp.count == sent.count + 2)
        let resent = Array(pair.down.rtp.suffix(2))
        #expect(resent.map(\.sequenceNumber) == lost)
        #expect(Array(resent[0].buffer.readableBytesView) == Array(sent[3].buffer.readableBytesView))
        // Too old for the buffer: nothing.
        pair.consumer.retransmit([sent[3].sequenceNumber], now: 10)
        #expect(pair.down.rtp.count == sent.count + 2)
    }

    @Test func nackIsAnsweredAsRTXWhenNegotiated() {
        let pair = Pair(consumerRTX: true)
        pair.producer.receive(rtp(seq: 1, ts: 0, payload: vp8Payload(keyframe: true)), now: 0)
        pair.producer.receive(rtp(seq: 2, ts: 0), now: 0)
        let original = pair.down.rtp[1]
        pair.consumer.retransmit([original.sequenceNumber], now: 0.05)
        let rtx = pair.down.rtp[2]
        #expect(rtx.ssrc == 3333 && rtx.payloadType == 101)
        let payload = rtx.payload
        #expect(payload.getInteger(at: payload.readerIndex, as: UInt16.self) == original.sequenceNumber)
        #expect(Array(payload.readableBytesView.dropFirst(2)) == Array(original.payload.readableBytesView))
    }

    @Test func keyframeRequestsAreRateLimitedAndDeferred() {
        let pair = Pair()
        pair.producer.receive(rtp(seq: 1, ts: 0), now: 0)
        #expect(pair.up.plis == 1)  // the consumer has no keyframe yet: asked at once
        pair.producer.requestKeyframe(now: 1.0)
        pair.producer.requestKeyframe(now: 1.1)
        pair.producer.requestKeyframe(now: 1.2)
        #expect(pair.up.plis == 2)
        pair.producer.tick(now: 1.3)
        #expect(pair.up.plis == 2)
        pair.producer.tick(now: 1.5)
        #expect(pair.up.plis == 3)  // the deferred ones, once
        pair.producer.tick(now: 2.5)
        #expect(pair.up.plis == 3)
    }

    @Test func newSubscriberAsksForAKeyframeAtOnce() {
        let pair = Pair()
        pair.producer.receive(rtp(seq: 1, ts: 0), now: 0)
        pair.consumer.connected(now: 0.2)
        #expect(pair.up.plis == 1)
    }

    @Test func lossesOnThePublishersLegAreNackedUpstream() {
        let pair = Pair()
        pair.producer.receive(rtp(seq: 1, ts: 0, payload: vp8Payload(keyframe: true)), now: 0)
        pair.producer.receive(rtp(seq: 4, ts: 0), now: 0.01)
        pair.producer.tick(now: 0.02)
        #expect(pair.up.nacks.first?.lost == [2, 3])
        pair.producer.receive(rtp(seq: 2, ts: 0), now: 0.03)  // retransmission arrives
        pair.producer.tick(now: 0.1)
        #expect(pair.up.nacks.last?.lost == [3])
        #expect(pair.up.nacks.first?.mediaSSRC == 1111)
    }

    @Test func senderReportsAreRewrittenForTheSubscriber() throws {
        let pair = Pair()
        pair.producer.receive(rtp(seq: 1, ts: 5000, payload: vp8Payload(keyframe: true)), now: 0)
        let outTs = pair.down.rtp[0].timestamp
        let report = RTCPSenderReport(ssrc: 1111, ntpTimestamp: 0x1234_5678_9ABC_DEF0, rtpTimestamp: 5000,
                                      packetCount: 99, octetCount: 9999, reports: [])
        pair.producer.receiveSenderReport(report, now: 0.5)
        let sent = try #require(pair.down.rtcp.first)
        let header = try #require(try RTCPCompound.packets(sent).first)
        let sr = try RTCPSenderReport(sent, header: header)
        #expect(sr.ssrc == 2222)
        #expect(sr.ntpTimestamp == report.ntpTimestamp)
        #expect(sr.rtpTimestamp == outTs)
        #expect(sr.packetCount == 1)
    }

    @Test func aNewSubscriberGetsTheCachedKeyframeAtOnceAndTheGapOnNack() {
        let pair = Pair()
        pair.producer.receive(rtp(seq: 50, ts: 9000, payload: vp8Payload(keyframe: true)), now: 0)
        pair.producer.receive(rtp(seq: 51, ts: 9000, marker: true), now: 0.001)
        for s in 52...55 { pair.producer.receive(rtp(seq: UInt16(s), ts: 12000, marker: s == 55), now: 0.05) }
        // A second subscriber arrives 0.1 s later.
        let (late, down) = pair.lateSubscriber(connectedAt: 0.1)
        #expect(down.rtp.count == 2)  // the keyframe's two packets, at once
        #expect(down.rtp.allSatisfy { $0.timestamp == 9000 })
        let start = down.rtp[0].sequenceNumber
        #expect(down.rtp[1].sequenceNumber == start &+ 1)
        // Live packets continue in the same numbering, leaving a gap of the packets in between...
        pair.producer.receive(rtp(seq: 56, ts: 15000), now: 0.12)
        #expect(down.rtp.last?.sequenceNumber == start &+ 6)
        // ...which the subscriber NACKs and gets from the buffer.
        late.retransmit([start &+ 2, start &+ 3, start &+ 4, start &+ 5], now: 0.13)
        #expect(down.rtp.suffix(4).map(\.timestamp) == [12000, 12000, 12000, 12000])
        // The publisher is still asked for a fresh keyframe.
        #expect(pair.up.plis >= 1)

        // Without the cache (or with a keyframe too old), a new subscriber waits for the publisher's keyframe.
        pair.producer.keyframeCache = false
        let other = FakeDownstream()
        let waiting = Consumer(parameters: ConsumerParameters(producerIndex: 0, ssrc: 5555, payloadType: 100),
                               producer: pair.producer, extensions: HeaderExtensionIDs(), producerExtensions: HeaderExtensionIDs())
        waiting.downstream = other
        waiting.connected(now: 0.2)
        #expect(other.rtp.isEmpty)
    }

    /// H.264 payloads as encoders packetize them (RFC 6184): single NAL units, STAP-A, FU-A.
    enum H264 {
        static func nal(_ type: UInt8, size: Int = 40) -> [UInt8] { [0x60 | type] + [UInt8](repeating: 0xAB, count: size) }
        static func single(_ type: UInt8) -> ByteBuffer { ByteBuffer(bytes: nal(type)) }
        static func stapA(_ types: [UInt8]) -> ByteBuffer {
            var b = ByteBuffer(bytes: [0x78])
            for t in types {
                let unit = nal(t)
                b.writeInteger(UInt16(unit.count))
                b.writeBytes(unit)
            }
            return b
        }
        /// A fragment of a NAL unit of `type`: start, middle or end.
        static func fuA(_ type: UInt8, start: Bool = false, end: Bool = false) -> ByteBuffer {
            ByteBuffer(bytes: [0x7C, (start ? 0x80 : 0) | (end ? 0x40 : 0) | type] + [UInt8](repeating: 0xCD, count: 40))
        }
    }

    /// What a late H.264 subscriber is sent first from the cache, for a keyframe arriving as `packets` (in that
    /// order; each with the sequence number given) after a delta frame.
    func cachedH264Start(_ packets: [(seq: UInt16, payload: ByteBuffer)]) -> [UInt16] {
        let pair = Pair(codec: .h264)
        for s in 10...12 { pair.producer.receive(rtp(seq: UInt16(s), ts: 1000, marker: s == 12, payload: H264.fuA(1, start: s == 10, end: s == 12)), now: 0) }
        // Each payload ends in its sequence number, so what the subscriber gets maps back to what was sent.
        let tagged = packets.map { p in (seq: p.seq, payload: { var b = p.payload; b.writeInteger(UInt8(p.seq)); return b }()) }
        for p in tagged { pair.producer.receive(rtp(seq: p.seq, ts: 4000, payload: p.payload), now: 0.03) }
        pair.producer.receive(rtp(seq: 40, ts: 7000, payload: H264.single(1)), now: 0.06)
        let (_, down) = pair.lateSubscriber(connectedAt: 0.1)
        #expect(down.rtp.allSatisfy { $0.timestamp == 4000 })
        return down.rtp.compactMap { $0.payload.readableBytesView.last.map(UInt16.init) }
    }

    @Test func theCachedH264KeyframeStartsAtItsAccessUnitsFirstPacket() {
        // libwebrtc: STAP-A[SPS, PPS, IDR slice 1], then IDR slice 2 in FU-A. Both start an IDR NAL unit; the
        // cache must start at the STAP-A, which carries SPS and PPS.
        #expect(cachedH264Start([(20, H264.stapA([7, 8, 5])), (21, H264.fuA(5, start: true)),
                                 (22, H264.fuA(5)), (23, H264.fuA(5, end: true))]) == [20, 21, 22, 23])
        // SPS and PPS as single NAL units after an SEI, then a two-slice IDR in single NAL units.
        #expect(cachedH264Start([(20, H264.single(6)), (21, H264.single(7)), (22, H264.single(8)),
                                 (23, H264.single(5)), (24, H264.single(5))]) == [20, 21, 22, 23, 24])
        // One IDR in FU-A after SPS/PPS in a STAP-A (aiortc, OBS via RTMP repackaging).
        #expect(cachedH264Start([(20, H264.stapA([7, 8])), (21, H264.fuA(5, start: true)),
                                 (22, H264.fuA(5, end: true))]) == [20, 21, 22])
        // Out of order: the second slice arrives first, then the STAP-A and the single PPS before it.
        #expect(cachedH264Start([(22, H264.fuA(5, start: true)), (23, H264.fuA(5, end: true)),
                                 (21, H264.single(8)), (20, H264.stapA([9, 7]))]) == [20, 21, 22, 23])
    }

    @Test func closingTheProducerEndsItsConsumers() {
        let pair = Pair()
        pair.producer.close()
        #expect(pair.down.ended)
        #expect(pair.producer.consumers.isEmpty)
    }

    @Test func receiverReportCountsLoss() {
        var stats = ReceiveStatistics(clockRate: 90000)
        for s: Int64 in [1, 2, 4, 5] { stats.record(extendedSequence: s, timestamp: UInt32(s * 3000), now: Double(s) / 30) }
        let block = stats.reportBlock(ssrc: 7, now: 1)
        #expect(block?.cumulativeLost == 1)
        #expect(block?.fractionLost == 51)  // 1 of 5, in 1/256ths
        #expect(block?.highestSequence == 5)
    }

    @Test func transportFeedbackCoversEveryPacketOnce() throws {
        var recorder = TransportFeedbackRecorder()
        for s in [10, 11, 13] { recorder.record(sequence: UInt16(s), arrivalMicros: Int64(s) * 1000) }
        let first = recorder.feedback(senderSSRC: 1, mediaSSRC: 2)
        #expect(first.count == 1)
        let header = try #require(try RTCPCompound.packets(first[0]).first)
        let parsed = try RTCPTransportFeedback(first[0], header: header)
        #expect(parsed.baseSequence == 10)
        #expect(parsed.packets.map { $0.receivedDelta != nil } == [true, true, false, true])
        recorder.record(sequence: 12, arrivalMicros: 20_000)  // late: already reported lost
        recorder.record(sequence: 14, arrivalMicros: 21_000)
        let second = recorder.feedback(senderSSRC: 1, mediaSSRC: 2)
        let h2 = try #require(try RTCPCompound.packets(second[0]).first)
        #expect(try RTCPTransportFeedback(second[0], header: h2).baseSequence == 14)
    }

    @Test func keyframeDetection() {
        #expect(KeyframeDetector.isKeyframe(vp8Payload(keyframe: true), codec: .vp8))
        #expect(!KeyframeDetector.isKeyframe(vp8Payload(keyframe: false), codec: .vp8))
        // VP8 with extended descriptor: X, I with a 15-bit picture id.
        #expect(KeyframeDetector.isKeyframe(ByteBuffer(bytes: [0x90, 0x80, 0x81, 0x23, 0x00]), codec: .vp8))
        #expect(KeyframeDetector.isKeyframe(ByteBuffer(bytes: [0x65, 0x88]), codec: .h264))  // IDR
        #expect(KeyframeDetector.isKeyframe(ByteBuffer(bytes: [0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE]), codec: .h264))  // STAP-A with SPS
        #expect(KeyframeDetector.isKeyframe(ByteBuffer(bytes: [0x7C, 0x85, 0x00]), codec: .h264))  // FU-A start of IDR
        #expect(!KeyframeDetector.isKeyframe(ByteBuffer(bytes: [0x7C, 0x05, 0x00]), codec: .h264))  // FU-A middle
        #expect(!KeyframeDetector.isKeyframe(ByteBuffer(bytes: [0x41, 0x9A]), codec: .h264))  // non-IDR slice
        #expect(!KeyframeDetector.isKeyframe(ByteBuffer(), codec: .vp8))
    }
}
