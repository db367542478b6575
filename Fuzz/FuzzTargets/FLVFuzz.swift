import FLV
import NIOCore

enum FLVFuzz {
    /// avcCs with 1-, 2-, 3- and 4-byte NAL unit lengths, to read the frames with.
    static let configurations: [AVCDecoderConfiguration] = (0..<4).map { n in
        var record = FLVWriter.avcDecoderConfigurationRecord(
            sps: [0x67, 0x42, 0xC0, 0x1E, 0xDA, 0x02, 0x80, 0xBF, 0xE5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04], pps: [0x68, 0xCE, 0x3C, 0x80])
        record[4] = 0xFC | UInt8(n)
        return try! AVCDecoderConfiguration(ByteBuffer(bytes: record))
    }

    /// The input as an RTMP video and audio message payload: the tag header, then the avcC of a sequence header
    /// (with its SPS) or the AVCC NAL units of a frame; both written again by FLVWriter and read back.
    static func run(_ data: UnsafeRawBufferPointer) {
        let payload = ByteBuffer(bytes: data)
        if let audio = try? FLVAudioTag(payload) { _ = (audio.packetType, audio.data.readableBytes) }
        // The bytes after the five-byte tag header also go straight to the decoder-configuration and SPS parsers.
        let body = payload.getSlice(at: 0, length: payload.readableBytes).map { b -> ByteBuffer in
            var b = b
            b.moveReaderIndex(forwardBy: min(5, b.readableBytes))
            return b
        } ?? ByteBuffer()
        if let configuration = try? AVCDecoderConfiguration(body) { configurationRoundTrip(configuration) }
        _ = H264SPS(Array(data))

        guard let video = try? FLVVideoTag(payload) else { return }
        _ = (video.isKeyframe, video.compositionTime)
        switch video.packetType {
        case .sequenceHeader:
            if let configuration = try? AVCDecoderConfiguration(video.data) { configurationRoundTrip(configuration) }
        case .nalUnits:
            // Read with each length size an avcC can announce; FLVWriter writes 4-byte lengths.
            for configuration in configurations { frameRoundTrip(video, configuration: configuration) }
        case .endOfSequence:
            break
        }
    }

    static func configurationRoundTrip(_ configuration: AVCDecoderConfiguration) {
        _ = configuration.profileLevelID
        for sps in configuration.sps {
            if let parsed = H264SPS(sps) { _ = (parsed.profile, parsed.level, parsed.width, parsed.height) }
        }
        guard let sps = configuration.sps.first, let pps = configuration.pps.first else { return }
        let header = FLVWriter.avcSequenceHeader(sps: sps, pps: pps)
        do {
            let tag = try FLVVideoTag(header)
            FuzzCheck.expect(tag.packetType == .sequenceHeader && tag.isKeyframe, "written sequence header misread")
            let again = try AVCDecoderConfiguration(tag.data)
            FuzzCheck.expect(again.sps == [sps] && again.pps == [pps] && again.lengthSize == 4, "avcC round trip changed it")
        } catch {
            FuzzCheck.fail("written AVC sequence header does not parse: \(error)")
        }
    }

    static func frameRoundTrip(_ video: FLVVideoTag, configuration: AVCDecoderConfiguration) {
        guard let units = configuration.nalUnits(video.data) else { return }
        let frame = FLVWriter.avcFrame(units, keyframe: video.isKeyframe)
        do {
            let tag = try FLVVideoTag(frame)
            FuzzCheck.expect(tag.packetType == .nalUnits && tag.isKeyframe == video.isKeyframe, "written frame misread")
            guard let again = configurations[3].nalUnits(tag.data) else { FuzzCheck.fail("written frame's NAL units do not parse") }
            let kept = units.filter { ![7, 8, 9].contains(($0.getInteger(at: $0.readerIndex, as: UInt8.self) ?? 0) & 0x1F) }
            FuzzCheck.expect(again == kept, "AVCC frame round trip changed the NAL units")
        } catch {
            FuzzCheck.fail("written AVC frame does not parse: \(error)")
        }
    }

    // MARK: RTP depacketizing

    /// Payloads cut from the input, with sequence numbers, timestamps and markers from it: the depacketizer may
    /// drop what it cannot use but never traps. Then the NAL units of the complete access units go through
    /// H264Packetizer and a fresh depacketizer: the same units come back.
    ///
    /// Each payload: [length (1 byte)] [flags: bit 0 marker, bit 1 skip a sequence number, bit 2 new timestamp,
    /// bit 3 reorder with the previous] [payload].
    static func depacketizer(_ data: UnsafeRawBufferPointer) {
        var r = FuzzReader(data)
        var depacketizer = H264Depacketizer()
        var sequence = r.uint16()
        var timestamp = r.uint32()
        var pending: (ByteBuffer, UInt16, UInt32, Bool)?
        var units: [ByteBuffer] = []
        while !r.isAtEnd {
            let (payload, flags) = r.packet(sequence: &sequence, timestamp: &timestamp)
            let packet = (payload, sequence, timestamp, flags & 0x01 != 0)
            sequence &+= 1
            if flags & 0x08 != 0, pending == nil {
                pending = packet
                continue
            }
            for p in [packet] + (pending.map { [$0] } ?? []) {
                if let unit = depacketizer.push(p.0, sequence: p.1, timestamp: p.2, marker: p.3) {
                    FuzzCheck.expect(!unit.nalUnits.isEmpty, "an empty access unit")
                    units += unit.nalUnits
                }
            }
            pending = nil
            _ = (depacketizer.sps, depacketizer.pps, depacketizer.needsKeyframe)
        }
        packetizerRoundTrip(units, maxPayload: 64 + Int(data.first ?? 0) * 4)
    }

    static func packetizerRoundTrip(_ units: [ByteBuffer], maxPayload: Int) {
        func type(_ b: ByteBuffer) -> UInt8 { (b.getInteger(at: b.readerIndex, as: UInt8.self) ?? 0) & 0x1F }
        // What a single-NAL-unit packet can carry (24...31 are aggregation and fragmentation types; 9 and 12 the
        // packetizer leaves out); an IDR slice in front so the fresh depacketizer gives the unit out.
        var input = units.filter { (1...23).contains(type($0)) && ![9, 12].contains(type($0)) }
        input.insert(ByteBuffer(bytes: [0x65, 0x88, 0x84, 0x00]), at: 0)
        var packetizer = H264Packetizer()
        packetizer.maxPayload = maxPayload
        var depacketizer = H264Depacketizer()
        var sequence: UInt16 = 0xFFF0  // across the wrap
        var out: [H264Depacketizer.AccessUnit] = []
        packetizer.payloads(input, parameterSets: nil) { payload, last in
            FuzzCheck.expect(payload.readableBytes <= maxPayload, "a payload of \(payload.readableBytes) over \(maxPayload)")
            if let unit = depacketizer.push(payload, sequence: sequence, timestamp: 90_000, marker: last) { out.append(unit) }
            sequence &+= 1
        }
        FuzzCheck.expect(out.count == 1 && out[0].nalUnits == input && out[0].isKeyframe,
                         "H.264 packetize → depacketize changed the access unit")
    }
}
