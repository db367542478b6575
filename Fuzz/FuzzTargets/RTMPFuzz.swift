import NIOCore
import RTMP

enum RTMPFuzz {
    // MARK: AMF0

    static func amf0(_ data: UnsafeRawBufferPointer) {
        guard let values = try? AMF0Value.decodeAll(ByteBuffer(bytes: data)) else { return }
        for value in values { touch(value) }
        var encoded = ByteBuffer()
        for value in values { value.encode(into: &encoded) }
        // Keys longer than 65,535 UTF-8 bytes (invalid bytes decoded as U+FFFD grow threefold) are cut when written.
        guard values.allSatisfy(keysFit) else { return }
        let again: [AMF0Value]
        do { again = try AMF0Value.decodeAll(encoded) } catch { FuzzCheck.fail("encoded AMF0 does not decode: \(error)") }
        FuzzCheck.expect(again == values, "AMF0 round trip changed \(values) into \(again)")
    }

    static func touch(_ value: AMF0Value) {
        _ = (value.string, value.number, value["app"], value["tcUrl"])
        switch value {
        case .object(let p), .ecmaArray(let p): for (_, v) in p { touch(v) }
        case .strictArray(let items): for v in items { touch(v) }
        default: break
        }
    }

    static func keysFit(_ value: AMF0Value) -> Bool {
        switch value {
        case .object(let p), .ecmaArray(let p): p.allSatisfy { $0.0.utf8.count <= Int(UInt16.max) && keysFit($0.1) }
        case .strictArray(let items): items.allSatisfy(keysFit)
        default: true
        }
    }

    // MARK: chunk stream

    /// What a chunk stream's bytes can be cut into as they arrive from TCP.
    static let pieceSizes = [1, 2, 3, 7, 64, 128, 1000, Int.max]

    /// The piece size the control byte picks, but at most 64 pieces: the reader re-reads an incomplete chunk's
    /// header on every piece, so single bytes of a 12 KB stream cost as much as a thousand whole inputs.
    static func pieceSize(_ control: UInt8, count: Int) -> Int { max(pieceSizes[Int(control & 0x07)], count / 64) }

    /// The first byte picks the piece size and whether a Set Chunk Size (the next four bytes) comes first; the
    /// rest is the chunk stream. Read in pieces or whole, the same messages come out; written again with
    /// RTMPChunkWriter and read back, the same messages again.
    static func chunks(_ data: UnsafeRawBufferPointer) {
        url(data)
        var r = FuzzReader(data)
        let control = r.byte()
        let chunkSize = r.uint32()
        let stream = r.rest()
        let setChunkSize = control & 0x80 != 0
        let piece = pieceSize(control, count: stream.count)

        let whole = read(stream, piece: Int.max, chunkSize: setChunkSize ? chunkSize : nil)
        let pieces = read(stream, piece: piece, chunkSize: setChunkSize ? chunkSize : nil)
        FuzzCheck.expect(whole.messages == pieces.messages && whole.failed == pieces.failed,
                         "chunks read whole and in pieces of \(piece) differ")

        guard !whole.messages.isEmpty else { return }
        var writer = RTMPChunkWriter()
        writer.chunkSize = Int(RTMPChunkReader.chunkSizeRange.clamp(chunkSize))
        var out = ByteBuffer()
        let csid = 3 + control >> 3 & 0x07  // 3...10
        for message in whole.messages { writer.write(message, chunkStream: csid, into: &out) }
        let back = read(Array(out.readableBytesView), piece: piece, chunkSize: UInt32(writer.chunkSize))
        FuzzCheck.expect(!back.failed, "written chunks do not read back")
        FuzzCheck.expect(back.messages == whole.messages, "RTMP chunk round trip changed the messages")
    }

    static func read(_ bytes: [UInt8], piece: Int, chunkSize: UInt32?) -> (messages: [RTMPMessage], failed: Bool) {
        var reader = RTMPChunkReader()
        if let chunkSize {
            do { try reader.setChunkSize(chunkSize) } catch {
                FuzzCheck.expect(!RTMPChunkReader.chunkSizeRange.contains(chunkSize), "chunk size \(chunkSize) refused")
            }
        }
        var messages: [RTMPMessage] = []
        var input = ByteBuffer()
        var offset = 0
        while offset < bytes.count {
            let n = min(piece, bytes.count - offset)
            input.writeBytes(bytes[offset..<offset + n])
            offset += n
            do {
                while let message = try reader.next(&input) {
                    FuzzCheck.expect(message.payload.readableBytes <= RTMPChunkReader.maxMessageLength, "message over the limit")
                    messages.append(message)
                }
            } catch {
                return (messages, true)
            }
        }
        return (messages, false)
    }

    /// `rtmp://` URLs typed by people (republishing): tcUrl plus the stream name parses to the same URL.
    static func url(_ data: UnsafeRawBufferPointer) {
        guard let url = try? RTMPURL(String(decoding: data, as: UTF8.self)) else { return }
        _ = url.description
        let text = url.tcUrl + "/" + url.streamName
        do {
            let again = try RTMPURL(text)
            FuzzCheck.expect(again == url, "RTMPURL round trip: \(url) → \(again)")
        } catch {
            // tcUrl spells out the port the typed URL may have left out (`:1935`), so near the length limit the
            // rebuilt text can be over it: refusing that is right. Anything else refused is a bug.
            FuzzCheck.expect(text.utf8.count > RTMPURL.maxLength, "RTMPURL \(text) (from tcUrl) refused: \(error)")
        }
    }

    // MARK: server connection

    /// Bytes from a client, handshake included or not (the first byte says), fed to the server's state machine in
    /// pieces; a publish or play is accepted, so the replies are written too.
    static func server(_ data: UnsafeRawBufferPointer) {
        var r = FuzzReader(data)
        let control = r.byte()
        var connection = RTMPServerConnection()
        var input = ByteBuffer()
        if control & 0x80 == 0 {
            // C0 (version 3), C1 (zero time, a nonzero version tries the digest handshake), C2: in one piece.
            var handshake = [3, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 4) + [UInt8](repeating: 0x5A, count: 1536 - 8)
            handshake[5...8] = control & 0x40 != 0 ? [9, 0, 124, 2] : [0, 0, 0, 0]
            handshake += [UInt8](repeating: 0, count: 1536)
            input.writeBytes(handshake)
            var out = ByteBuffer()
            guard (try? connection.receive(&input, output: &out)) != nil else { FuzzCheck.fail("the handshake was refused") }
        }
        let bytes = r.rest()
        let piece = pieceSize(control, count: bytes.count)
        var offset = 0
        while offset < bytes.count {
            let n = min(piece, bytes.count - offset)
            input.writeBytes(bytes[offset..<offset + n])
            offset += n
            var out = ByteBuffer()
            guard let events = try? connection.receive(&input, output: &out) else { return }
            for event in events {
                switch event {
                case .publish: connection.acceptPublish(output: &out)
                case .play: connection.acceptPlay(output: &out)
                default: break
                }
            }
            _ = (connection.phase, connection.app, connection.streamName, connection.usedDigestHandshake)
        }
    }
}

extension ClosedRange {
    func clamp(_ value: Bound) -> Bound { Swift.min(Swift.max(value, lowerBound), upperBound) }
}
