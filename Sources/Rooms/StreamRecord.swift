/// A published stream as the control plane knows it. One record per stream, in one table (`StreamRegistry`),
/// owned by the signaling hub; the adapters keep only their own index of it (a socket's ids, WCS's
/// mediaSessionIds) and translate its states and reasons to their wire words.
public struct StreamRecord: Sendable, Equatable {
    /// Where a stream's media comes from.
    public enum Origin: Sendable, Equatable {
        /// A WebRTC transport negotiated by SDP (a browser, the WCS SDK, later WHIP).
        case webRTC
        /// A `MediaSource` fed by something else (an RTMP encoder, a relay, a test), named for logs.
        case source(String)
    }

    /// A stream is `starting` from its publish request until its media is up, then `live`: announced in its
    /// room, playable, and counted against its owner's cap there. It leaves the table when it ends.
    public enum State: Sendable, Equatable {
        case starting
        case live
    }

    public struct Track: Sendable, Equatable {
        public enum Kind: String, Sendable { case audio, video }
        public let kind: Kind
        /// The codec's SDP name, as the publisher negotiated it (`VP8`, `H264`, `opus`, `PCMU`, …).
        public let codec: String
        public let clockRate: Int

        public init(kind: Kind, codec: String, clockRate: Int) {
            self.kind = kind
            self.codec = codec
            self.clockRate = clockRate
        }
    }

    /// Server-minted and unguessable (`StreamID.mint`), independent of any transport.
    public let id: String
    public let owner: SessionID
    /// The room it is published in; nil for a stream outside rooms (WCS plain streaming), played by name.
    public let room: String?
    public let origin: Origin
    /// What the room is told: display, a client-given name, which kinds it carries and their mute state.
    public var description: StreamDescription
    /// Its tracks once its media is set up; empty while negotiating.
    public var tracks: [Track]
    /// The media loop its packets are forwarded on, once set up (later: the node).
    public var mediaLoop: Int?
    public var state: State
    /// The client's own mute flags, and the operator's; `description` shows the two together.
    public private(set) var clientMute: MuteState
    public private(set) var serverMute = MuteState()

    public init(id: String, owner: SessionID, room: String?, origin: Origin, description: StreamDescription,
                tracks: [Track] = [], mediaLoop: Int? = nil, state: State = .starting) {
        self.id = id
        self.owner = owner
        self.room = room
        self.origin = origin
        self.description = description
        self.tracks = tracks
        self.mediaLoop = mediaLoop
        self.state = state
        self.clientMute = MuteState(audio: description.audioMuted, video: description.videoMuted)
    }

    public mutating func setClientMute(audio: Bool?, video: Bool?) {
        clientMute.set(audio: audio, video: video)
        describeMute()
    }

    public mutating func setServerMute(audio: Bool?, video: Bool?) {
        serverMute.set(audio: audio, video: video)
        describeMute()
    }

    private mutating func describeMute() {
        description.audioMuted = clientMute.audio || serverMute.audio
        description.videoMuted = clientMute.video || serverMute.video
        description.mutedByServer = serverMute.isEmpty ? nil : serverMute
    }

    /// A client-given name (WCS's), unique on the server while the stream lasts.
    public var name: String? { description.name }
}
