/// What was negotiated for a track, as the media plane needs it: numbers, not SDP.
public enum TrackKind: String, Sendable { case audio, video }

/// Header extension ids of one peer connection (0 = not negotiated).
public struct HeaderExtensionIDs: Sendable, Equatable {
    public var mid: UInt8 = 0
    public var absSendTime: UInt8 = 0
    public var transportWideCC: UInt8 = 0
    public var audioLevel: UInt8 = 0
    public var videoOrientation: UInt8 = 0
    /// A player's: Parley sets its video jitter buffer's minimum while its link loses packets.
    public var playoutDelay: UInt8 = 0

    public init(mid: UInt8 = 0, absSendTime: UInt8 = 0, transportWideCC: UInt8 = 0, audioLevel: UInt8 = 0,
                videoOrientation: UInt8 = 0, playoutDelay: UInt8 = 0) {
        self.playoutDelay = playoutDelay
        self.mid = mid
        self.absSendTime = absSendTime
        self.transportWideCC = transportWideCC
        self.audioLevel = audioLevel
        self.videoOrientation = videoOrientation
    }
}

/// A track a publisher sends.
public struct ProducerParameters: Sendable {
    public var kind: TrackKind
    public var codec: KeyframeDetector.Codec
    public var clockRate: UInt32
    public var payloadType: UInt8
    public var rtxPayloadType: UInt8?
    /// From the offer's a=ssrc lines when present; otherwise learned from the first packets.
    public var ssrc: UInt32?
    public var rtxSSRC: UInt32?
    public var mid: String?
    /// Feedback the publisher accepts.
    public var nack: Bool
    public var pli: Bool
    public var fir: Bool

    public init(kind: TrackKind, codec: KeyframeDetector.Codec, clockRate: UInt32, payloadType: UInt8,
                rtxPayloadType: UInt8? = nil, ssrc: UInt32? = nil, rtxSSRC: UInt32? = nil, mid: String? = nil,
                nack: Bool = true, pli: Bool = true, fir: Bool = false) {
        self.kind = kind
        self.codec = codec
        self.clockRate = clockRate
        self.payloadType = payloadType
        self.rtxPayloadType = rtxPayloadType
        self.ssrc = ssrc
        self.rtxSSRC = rtxSSRC
        self.mid = mid
        self.nack = nack
        self.pli = pli
        self.fir = fir
    }
}

/// How one subscriber receives one producer's track: its own SSRC, payload types and extension ids.
public struct ConsumerParameters: Sendable {
    /// Index of the producer in the published stream.
    public var producerIndex: Int
    public var ssrc: UInt32
    public var rtxSSRC: UInt32?
    public var payloadType: UInt8
    public var rtxPayloadType: UInt8?
    public var mid: String?

    public init(producerIndex: Int, ssrc: UInt32, rtxSSRC: UInt32? = nil, payloadType: UInt8,
                rtxPayloadType: UInt8? = nil, mid: String? = nil) {
        self.producerIndex = producerIndex
        self.ssrc = ssrc
        self.rtxSSRC = rtxSSRC
        self.payloadType = payloadType
        self.rtxPayloadType = rtxPayloadType
        self.mid = mid
    }
}
