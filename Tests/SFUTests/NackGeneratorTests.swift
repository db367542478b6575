import Testing
@testable import SFU

@Suite struct NackGeneratorTests {
    @Test func asksAtOnceThenBacksOffAndGivesUp() {
        var nacks = NackGenerator()
        _ = nacks.received(10, now: 0)
        let accepted = nacks.received(13, now: 0)  // 11 and 12 are missing
        #expect(accepted)
        var sentAt: [Double] = []
        var now = 0.0
        while now < 1.2 {
            if !nacks.due(now: now).isEmpty { sentAt.append(now) }
            now += 0.005
        }
        // At once, then 50, 75, 112.5, 168.75, 253.1 ms later: six tries spread over ~660 ms, then no more.
        let expected = [0.0, 0.05, 0.125, 0.2375, 0.40625, 0.659375]
        #expect(sentAt.count == expected.count)
        for (sent, wanted) in zip(sentAt, expected) { #expect(abs(sent - wanted) < 0.015) }  // 5 ms steps add up
        #expect(nacks.missingCount == 0)
    }

    @Test func aLatePacketIsNoLongerAskedForAndAHugeGapAsksForAKeyframe() {
        var nacks = NackGenerator()
        _ = nacks.received(1, now: 0)
        _ = nacks.received(4, now: 0)
        let first = nacks.due(now: 0)
        #expect(first == [2, 3])
        _ = nacks.received(2, now: 0.01)  // arrived late (reordered or retransmitted)
        let retry = nacks.due(now: 0.06)
        #expect(retry == [3])
        let huge = nacks.received(2_000, now: 0.1)
        #expect(!huge)  // past maxGap: the caller asks for a keyframe instead
        #expect(nacks.missingCount == 0)
    }
}
