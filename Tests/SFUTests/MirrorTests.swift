import NIOCore
import NIOEmbedded
import RTP
import Testing
@testable import SFU

/// A producer's mirror on another media loop, with embedded loops run by hand.
@Suite struct MirrorTests {
    static func consumer(on producer: Producer, _ down: FakeDownstream) -> Consumer {
        let consumer = Consumer(parameters: ConsumerParameters(producerIndex: 0, ssrc: 0xBBBB, payloadType: 100),
                                producer: producer, extensions: HeaderExtensionIDs(), producerExtensions: HeaderExtensionIDs())
        consumer.downstream = down
        producer.add(consumer)
        return consumer
    }

    static func video() -> Producer {
        Producer(parameters: ProducerParameters(kind: .video, codec: .vp8, clockRate: 90000, payloadType: 96))
    }

    @Test func aMirrorStartsOnTheSeededKeyframeGetsEachPacketAndSendsKeyframeRequestsBack() throws {
        let publisherLoop = EmbeddedEventLoop(), viewerLoop = EmbeddedEventLoop()
        let original = Self.video()
        let up = FakeUpstream()
        original.upstream = up
        original.receive(rtp(seq: 1, ts: 100, payload: vp8Payload(keyframe: true)), now: 0)
        original.receive(rtp(seq: 2, ts: 200), now: 0.03)

        let mirror = Producer(mirroring: original, on: publisherLoop, keyframeCache: true)
        let down = FakeDownstream()
        let consumer = Self.consumer(on: mirror, down)
        original.addMirror(LoopConfined(mirror, on: viewerLoop), now: 0.05)
        viewerLoop.run()  // the seed: the keyframe and the packet after it

        consumer.connected(now: 0.06)
        #expect(down.rtp.count == 1)  // the cached keyframe (the rest of the gap comes by NACK)
        #expect(down.rtp.first.map { KeyframeDetector.isKeyframe($0.payload, codec: .vp8) } == true)
        #expect(up.plis == 0)
        publisherLoop.run()  // the viewer's keyframe request reaches the publisher through the original
        #expect(up.plis == 1)

        // Live packets: once per packet to the mirror's loop, numbered on.
        let first = try #require(down.rtp.first?.sequenceNumber)
        original.receive(rtp(seq: 3, ts: 300), now: 0.09)
        #expect(down.rtp.count == 1)  // not before the viewer's loop runs
        viewerLoop.run()
        #expect(down.rtp.map(\.sequenceNumber) == [first, first &+ 2])

        // The gap after the cached keyframe, NACKed by the viewer, comes from the mirror's own buffer.
        consumer.retransmit([first &+ 1], now: 0.1)
        #expect(down.rtp.map(\.sequenceNumber) == [first, first &+ 2, first &+ 1])

        // The publisher goes: the mirror's viewers end.
        original.close()
        #expect(!down.ended)
        viewerLoop.run()
        #expect(down.ended)
    }

    @Test func aMirrorMadeAfterThePublisherLeftEndsAtOnce() {
        let publisherLoop = EmbeddedEventLoop(), viewerLoop = EmbeddedEventLoop()
        let original = Self.video()
        original.close()
        let mirror = Producer(mirroring: original, on: publisherLoop, keyframeCache: true)
        let down = FakeDownstream()
        _ = Self.consumer(on: mirror, down)
        original.addMirror(LoopConfined(mirror, on: viewerLoop), now: 1)
        viewerLoop.run()
        #expect(down.ended)
    }

    @Test func aSmallAudienceStaysOnThePublishersLoopALargeOneIsSpread() {
        let stream = PublishedStream(producers: [], extensions: HeaderExtensionIDs(), loop: EmbeddedEventLoop(),
                                     loopIndex: 1, keyframeCache: true)
        var placed: [Int] = []
        for _ in 0..<100 {
            let loop = stream.placeViewer(loops: 2, spreadFrom: 16)
            stream.viewerAdded(loop: loop)
            placed.append(loop)
        }
        #expect(placed.prefix(16).allSatisfy { $0 == 1 })
        #expect(placed.filter { $0 == 0 }.count == 50 && placed.filter { $0 == 1 }.count == 50)
        // Viewers leaving make room where they were.
        for _ in 0..<10 { stream.viewerRemoved(loop: 0) }
        #expect(stream.placeViewer(loops: 2, spreadFrom: 16) == 0)

        // Spreading from the first viewer: it goes to the other loop (the publisher's has the publisher).
        let fresh = PublishedStream(producers: [], extensions: HeaderExtensionIDs(), loop: EmbeddedEventLoop(),
                                    loopIndex: 1, keyframeCache: true)
        #expect(fresh.placeViewer(loops: 2, spreadFrom: 0) == 0)
    }
}
