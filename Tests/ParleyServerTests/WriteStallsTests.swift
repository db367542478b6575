@testable import ParleyServer
import Synchronization
import Testing

/// The server-wide sweep that cuts sockets whose writes stall (a client that stops reading).
@Suite struct WriteStallsTests {
    final class Cuts: Sendable {
        let names = Mutex<[String]>([])
        func cut(_ name: String) -> @Sendable () -> Void { { self.names.withLock { $0.append(name) } } }
        var all: [String] { names.withLock { $0.sorted() } }
    }

    @Test func onlyAWriteWaitingPastItsLimitIsCutAndOnlyOnce() {
        let stalls = WriteStalls(), cuts = Cuts()
        let idle = WriteClock(), recent = WriteClock(), stalled = WriteClock(), future = WriteClock()
        let now: UInt64 = 100_000_000_000
        recent.value.store(now - 1_000_000_000, ordering: .relaxed)   // 1 s into a write, limit 2 s
        stalled.value.store(now - 3_000_000_000, ordering: .relaxed)  // 3 s
        future.value.store(now + 1_000, ordering: .relaxed)           // began after the sweep read the clock
        for (clock, name) in [(idle, "idle"), (recent, "recent"), (stalled, "stalled"), (future, "future")] {
            stalls.watch(clock, limit: .seconds(2), onStall: cuts.cut(name))
        }
        #expect(stalls.sweep(now: now) == 1)
        #expect(cuts.all == ["stalled"])
        #expect(stalls.sweep(now: now) == 0, "a cut socket is not cut again")
        #expect(stalls.count == 3)

        // The recent write completes (its clock goes back to 0); a forgotten socket is never cut.
        recent.value.store(0, ordering: .relaxed)
        stalls.forget(future)
        #expect(stalls.sweep(now: now + 10_000_000_000) == 0)
        #expect(stalls.count == 2)
        #expect(cuts.all == ["stalled"])
    }
}
