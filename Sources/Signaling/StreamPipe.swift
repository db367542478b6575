/// A stream's events from the media plane (any thread) to the task that relays them in order.
final class StreamPipe: Sendable {
    let events: AsyncStream<StreamEvent>
    private let continuation: AsyncStream<StreamEvent>.Continuation

    init() {
        (events, continuation) = AsyncStream.makeStream(of: StreamEvent.self)
    }

    @Sendable func yield(_ event: StreamEvent) { continuation.yield(event) }
    func finish() { continuation.finish() }
}
