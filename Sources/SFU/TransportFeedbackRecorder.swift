import NIOCore
import RTP

/// Records the arrival time of every packet that carries a transport-wide sequence number and turns them into
/// transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01). With it, the browser's
/// send-side bandwidth estimator sees the path and raises its rate to what the path allows.
struct TransportFeedbackRecorder {
    private var unwrapper = SequenceUnwrapper()
    private var arrivals: [Int64: Int64] = [:]
    private var nextBase: Int64?
    private var feedbackCount: UInt8 = 0
    /// More than this many packets between two feedbacks: start again from the newest (a long outage).
    private let maxSpan: Int64 = 4096

    mutating func record(sequence: UInt16, arrivalMicros: Int64) {
        let seq = unwrapper.unwrap(sequence)
        if let nextBase, seq < nextBase { return }  // already reported as lost
        arrivals[seq] = arrivalMicros
    }

    var isEmpty: Bool { arrivals.isEmpty }

    /// Feedback packets for everything recorded since the last call.
    mutating func feedback(senderSSRC: UInt32, mediaSSRC: UInt32) -> [ByteBuffer] {
        guard let newest = arrivals.keys.max(), let oldest = arrivals.keys.min() else { return [] }
        var base = nextBase ?? oldest
        if newest - base >= maxSpan { base = max(oldest, newest - maxSpan + 1) }
        var entries: [Int64?] = []
        entries.reserveCapacity(Int(newest - base + 1))
        for seq in base...newest { entries.append(arrivals[seq]) }
        arrivals.removeAll(keepingCapacity: true)
        nextBase = newest + 1

        var packets: [ByteBuffer] = []
        var start = 0
        while start < entries.count {
            // Lost packets at the head cannot start a feedback (it needs a reference time): skip them.
            guard let first = entries[start...].firstIndex(where: { $0 != nil }) else { break }
            start = first
            let (packet, encoded) = RTCPCompound.transportFeedback(
                senderSSRC: senderSSRC, mediaSSRC: mediaSSRC,
                baseSequence: UInt16(truncatingIfNeeded: base + Int64(start)), feedbackCount: feedbackCount,
                packets: Array(entries[start...]))
            guard encoded > 0 else { break }
            feedbackCount &+= 1
            packets.append(packet)
            start += encoded
        }
        return packets
    }
}
