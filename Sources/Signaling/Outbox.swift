import Synchronization

/// A frame queued for one WebSocket.
public enum OutboundFrame: Sendable, Equatable {
    case text(String)
    case close(code: UInt16, reason: String)
}

/// The send queue of one socket. Producers never wait: a client too slow to drain its queue is cut off
/// (the queue is bounded) instead of holding back the room that is talking to it.
public final class Outbox: Sendable {
    public let frames: AsyncStream<OutboundFrame>
    private let continuation: AsyncStream<OutboundFrame>.Continuation
    private let overflowed = Atomic<Bool>(false)
    private let overflowHandler = Mutex<(@Sendable () -> Void)?>(nil)

    public init(capacity: Int = 1024) {
        (frames, continuation) = AsyncStream.makeStream(of: OutboundFrame.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    /// True once a frame had to be dropped; the socket's owner then closes it.
    public var hasOverflowed: Bool { overflowed.load(ordering: .relaxed) }

    /// Called once, from the producer's context, when the queue overflows: a client that does not read blocks its
    /// socket's writer, which would otherwise never see the end of the queue, so the owner cuts the connection.
    public func onOverflow(_ body: @escaping @Sendable () -> Void) {
        overflowHandler.withLock { $0 = body }
        if hasOverflowed { body() }
    }

    public func send(_ text: String) {
        enqueue(.text(text))
    }

    /// Queues a close frame; nothing after it is sent.
    public func close(code: UInt16, reason: String) {
        enqueue(.close(code: code, reason: reason))
        continuation.finish()
    }

    public func finish() {
        continuation.finish()
    }

    private func enqueue(_ frame: OutboundFrame) {
        if case .dropped = continuation.yield(frame) {
            guard overflowed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
            continuation.finish()
            overflowHandler.withLock { $0 }?()
        }
    }
}
