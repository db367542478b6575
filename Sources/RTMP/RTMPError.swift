/// Why an RTMP connection cannot go on. Every parser of the module throws one of these, never traps.
public enum RTMPError: Error, Equatable, Sendable {
    /// C0 asked for a version other than 3 (6, 8 and 9 are RTMPE, encrypted, which Parley does not speak).
    case unsupportedVersion(UInt8)
    /// Set Chunk Size outside 1...65536.
    case chunkSizeOutOfRange(UInt32)
    /// A message longer than `RTMPChunkReader.maxMessageLength`.
    case messageTooLarge(Int)
    /// More chunk streams at once than `RTMPChunkReader.maxChunkStreams`.
    case tooManyChunkStreams
    /// A chunk of type 1, 2 or 3 on a chunk stream that never had a type 0.
    case chunkWithoutHeader(chunkStream: UInt32)
    /// An AMF0 value that cannot be read; `detail` is for people.
    case malformedAMF(String)
    /// A control message whose payload is too short for its type.
    case malformedControl(type: UInt8)
}
