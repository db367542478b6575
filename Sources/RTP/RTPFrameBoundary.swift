/// Where a reassembler of frames from RTP packets stands (H.264 access units, VP8 frames): a packet with a new
/// timestamp closes the frame before it, and a sequence number other than the next one means packets were lost.
public struct RTPFrameBoundary: Sendable {
    public private(set) var timestamp: UInt32?
    private var nextSequence: UInt16?

    public init() {}

    /// Takes a packet's place: whether it belongs to a new frame (`closesFrame`: the one being assembled is done)
    /// and whether packets were lost before it.
    public mutating func next(sequence: UInt16, timestamp: UInt32) -> (closesFrame: Bool, lost: Bool) {
        let closes = self.timestamp.map { $0 != timestamp } ?? false
        let lost = nextSequence.map { $0 != sequence } ?? false
        nextSequence = sequence &+ 1
        self.timestamp = timestamp
        return (closes, lost)
    }
}
