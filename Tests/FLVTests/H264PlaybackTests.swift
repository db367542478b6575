import NIOCore
import Testing
@testable import FLV

@Suite struct H264SPSTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        return out
    }

    /// SPSs written by Debian's libx264 (ffmpeg 5.1, `-profile:v …`), with emulation prevention bytes; 1080p is
    /// 1088 lines cropped to 1080, and High profile carries the chroma and bit-depth fields.
    @Test(arguments: [
        ("6742c01ed900a02ff970110000030001000003003c0f162e48", 640, 360, 66),
        ("674d401feca02802dd8088000003000800000301e078c18cb0", 1280, 720, 77),
        ("67640028acd940780227e5c044000003000400000300f03c60c658", 1920, 1080, 100),
    ])
    func theSizeOfRealSPSs(hex: String, width: Int, height: Int, profile: Int) throws {
        let sps = try #require(H264SPS(Self.hex(hex)))
        #expect(sps.width == width && sps.height == height && Int(sps.profile) == profile)
    }

    @Test func truncatedOrForeignBytesAreNil() {
        let full = Self.hex("67640028acd940780227e5c044000003000400000300f03c60c658")
        let whole = H264SPS(full)
        // Cut anywhere, it reads as nothing or as the whole does (what follows the size, the VUI, is not read).
        for n in 0..<full.count {
            let cut = H264SPS(Array(full.prefix(n)))
            #expect(cut == nil || cut == whole, "\(n) bytes")
        }
        #expect(H264SPS(Array(full.prefix(6))) == nil)
        #expect(H264SPS([0x68, 0xCE, 0x3C, 0x80]) == nil, "a PPS")
        #expect(H264SPS([0x67] + [UInt8](repeating: 0, count: 40)) == nil)
    }
}

@Suite struct H264DepacketizerTests {
    static let sps = H264SPSTests.hex("6742c01ed900a02ff970110000030001000003003c0f162e48")
    static let pps: [UInt8] = [0x68, 0xCE, 0x3C, 0x80]

    /// An access unit as H264Packetizer sends it (the round trip RTMP in, RTMP out).
    static func packets(_ units: [ByteBuffer], keyframe: Bool, maxPayload: Int = 100) -> [(ByteBuffer, Bool)] {
        var p = H264Packetizer()
        p.maxPayload = maxPayload
        var out: [(ByteBuffer, Bool)] = []
        p.payloads(units, parameterSets: keyframe ? [sps, pps] : nil) { out.append(($0, $1)) }
        return out
    }

    @Test func packetizedAccessUnitsComeBackWhole() throws {
        let idr = ByteBuffer(bytes: [0x65] + (0..<500).map { UInt8($0 % 256) })
        let slice = ByteBuffer(bytes: [0x41, 1, 2, 3])
        var d = H264Depacketizer()
        var seq: UInt16 = 65530, got: [H264Depacketizer.AccessUnit] = []
        for (units, key, ts) in [([idr], true, UInt32(1000)), ([slice], false, 4000)] {
            for (payload, marker) in Self.packets(units, keyframe: key) {
                if let au = d.push(payload, sequence: seq, timestamp: ts, marker: marker) { got.append(au) }
                seq &+= 1
            }
        }
        #expect(got.count == 2)
        #expect(got[0].isKeyframe && got[0].nalUnits == [ByteBuffer(bytes: Self.sps), ByteBuffer(bytes: Self.pps), idr])
        #expect(!got[1].isKeyframe && got[1].nalUnits == [slice] && got[1].rtpTimestamp == 4000)
        #expect(d.sps == Self.sps && d.pps == Self.pps && !d.needsKeyframe)
    }

    @Test func aLossDropsEverythingUntilTheNextKeyframe() {
        let idr = ByteBuffer(bytes: [0x65] + [UInt8](repeating: 9, count: 300))
        var d = H264Depacketizer()
        var seq: UInt16 = 0
        var got: [Bool] = []
        func send(_ units: [ByteBuffer], key: Bool, ts: UInt32, skip: Int? = nil) {
            for (i, (payload, marker)) in Self.packets(units, keyframe: key).enumerated() {
                defer { seq &+= 1 }
                if i == skip { continue }
                if let au = d.push(payload, sequence: seq, timestamp: ts, marker: marker) { got.append(au.isKeyframe) }
            }
        }
        send([ByteBuffer(bytes: [0x41, 1])], key: false, ts: 0)  // before any keyframe: dropped
        send([idr], key: true, ts: 3000, skip: 2)                 // a fragment lost: dropped
        #expect(d.needsKeyframe)
        send([ByteBuffer(bytes: [0x41, 2])], key: false, ts: 6000)  // still waiting for a keyframe
        send([idr], key: true, ts: 9000)
        send([ByteBuffer(bytes: [0x41, 3])], key: false, ts: 12000)
        #expect(got == [true, false])
    }

    @Test func hostilePayloadsAreDroppedNotTrusted() {
        var d = H264Depacketizer()
        let payloads: [[UInt8]] = [[0x18, 0x00, 0x09, 0x67], [0x1C, 0x45, 1, 2], [0x19, 0, 0], [], [0x18]]
        for (i, bytes) in payloads.enumerated() {
            let unit = d.push(ByteBuffer(bytes: bytes), sequence: UInt16(i), timestamp: 0, marker: true)
            #expect(unit == nil, "\(bytes)")
        }
    }

    @Test func flvTagsForPlayers() {
        let header = FLVWriter.avcSequenceHeader(sps: Self.sps, pps: Self.pps)
        let tag = try? FLVVideoTag(header)
        #expect(tag?.packetType == .sequenceHeader && tag?.isKeyframe == true)
        let config = try? AVCDecoderConfiguration(tag!.data)
        #expect(config?.sps == [Self.sps] && config?.pps == [Self.pps] && config?.profileLevelID == "42c01e")
        let frame = FLVWriter.avcFrame([ByteBuffer(bytes: Self.sps), ByteBuffer(bytes: [0x65, 1, 2])], keyframe: true)
        let parsed = try? FLVVideoTag(frame)
        #expect(parsed?.isKeyframe == true && config?.nalUnits(parsed!.data) == [ByteBuffer(bytes: [0x65, 1, 2])])
        #expect(FLVWriter.aacFrame([1, 2]) == ByteBuffer(bytes: [0xAF, 0x01, 1, 2]))
    }
}
