/// The tasks that relay a socket's stream events to it, owned by the socket's task rather than left to run on
/// their own: `run()` runs each as a child and returns once the socket has ended (`finish`) and they are done,
/// or when the socket's task cancels it. A relay never outlives its socket.
public final class StreamRelays: Sendable {
    private let work: AsyncStream<@Sendable () async -> Void>
    private let continuation: AsyncStream<@Sendable () async -> Void>.Continuation

    public init() {
        (work, continuation) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
    }

    /// Starts `relay` as a child of `run()`; ignored once the socket has ended.
    func start(_ relay: @escaping @Sendable () async -> Void) { continuation.yield(relay) }

    /// No more relays: `run()` returns when the running ones finish.
    func finish() { continuation.finish() }

    /// Runs the relays; the socket's task calls this beside its reader and writer.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await relay in work { group.addTask { await relay() } }
        }
    }
}
