import NIOCore
import NIOPosix
import Testing
@testable import SFU

/// Loop confinement is checked, not only written down: a loop-bound object read off its loop stops the process.
@Suite struct LoopConfinedTests {
    final class Box { var count = 0 }

    @Test func readOnItsLoopWorksAndIdentityNeedsNoLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let box = Box()
        let confined = LoopConfined(box, on: loop)
        let other = LoopConfined(box, on: loop)
        #expect(confined.wraps(other))  // from this (non-loop) thread: no access, no trap
        let count = try await loop.submit {
            confined.value.count += 1
            return confined.value.count
        }.get()
        #expect(count == 1)
        try await group.shutdownGracefully()
    }

    @Test func readOffItsLoopTraps() async {
        await #expect(processExitsWith: .failure) {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let confined = LoopConfined(Box(), on: group.next())
            _ = confined.value.count  // on the test's thread, not the loop's
        }
    }

    #if DEBUG
    @Test func aProducerEnteredOffItsLoopTrapsInDebugBuilds() async {
        await #expect(processExitsWith: .failure) {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let producer = Producer(parameters: ProducerParameters(kind: .video, codec: .vp8, clockRate: 90000, payloadType: 96),
                                    loop: group.next())
            producer.requestKeyframe(now: 0)
        }
    }
    #endif
}
