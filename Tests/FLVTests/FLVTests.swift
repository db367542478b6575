import NIOCore
import Testing
@testable import FLV

@Suite struct FLVTests {
    /// An AVC sequence header as ffmpeg sent it for `-profile:v baseline -tune zerolatency` (research §2.1):
    /// constrained baseline 3.0, 4-byte lengths, one SPS, one PPS.
    static let sps: [UInt8] = [0x67, 0x42, 0xC0, 0x1E, 0xDA, 0x02, 0x80, 0xBF, 0xE5, 0x84, 0x00]
    static let pps: [UInt8] = [0x68, 0xCE, 0x3C, 0x80]
    static var sequenceHeader: ByteBuffer {
        var b = ByteBuffer(bytes: [0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x42, 0xC0, 0x1E, 0xFF, 0xE1])
        b.writeInteger(UInt16(sps.count)); b.writeBytes(sps)
        b.writeInteger(UInt8(1)); b.writeInteger(UInt16(pps.count)); b.writeBytes(pps)
        return b
    }

    @Test func theSequenceHeaderGivesTheParameterSetsAndTheRealProfile() throws {
        let tag = try FLVVideoTag(Self.sequenceHeader)
        #expect(tag.isKeyframe && tag.packetType == .sequenceHeader && tag.compositionTime == 0)
        let config = try AVCDecoderConfiguration(tag.data)
        #expect(config.lengthSize == 4 && config.sps == [Self.sps] && config.pps == [Self.pps])
        #expect(config.profileLevelID == "42c01e")
    }

    @Test func framesCarryTheirCompositionTimeAndNALUnits() throws {
        var frame = ByteBuffer(bytes: [0x27, 0x01, 0xFF, 0xFF, 0xDF])  // inter frame, cts = -33
        frame.writeBytes([0, 0, 0, 2, 0x09, 0xF0, 0, 0, 0, 3, 0x41, 0x9A, 0x02])
        let tag = try FLVVideoTag(frame)
        #expect(!tag.isKeyframe && tag.packetType == .nalUnits && tag.compositionTime == -33)
        let config = try AVCDecoderConfiguration(try FLVVideoTag(Self.sequenceHeader).data)
        let units = try #require(config.nalUnits(tag.data))
        #expect(units.map(\.readableBytes) == [2, 3])
        #expect(config.nalUnits(ByteBuffer(bytes: [0, 0, 0, 9, 1])) == nil, "a length past the end")
    }

    @Test func otherCodecsAreNamedInTheRefusal() {
        #expect(throws: FLVError.unsupportedCodec("On2 VP6")) { try FLVVideoTag(ByteBuffer(bytes: [0x14, 0x00])) }
        #expect(throws: FLVError.unsupportedCodec("hvc1 (enhanced RTMP)")) {
            try FLVVideoTag(ByteBuffer(bytes: [0x90, 0x68, 0x76, 0x63, 0x31]))
        }
        #expect(throws: FLVError.truncated) { try FLVVideoTag(ByteBuffer()) }
        #expect(throws: FLVError.badDecoderConfiguration) { try AVCDecoderConfiguration(ByteBuffer(bytes: [1, 0x42, 0, 0x1E, 0xFF, 0xE1, 0, 9])) }
    }

    @Test func aKeyframeIsSTAPAThenSingleNALsAndFUAFragments() {
        var p = H264Packetizer()
        p.maxPayload = 100
        let sei = ByteBuffer(bytes: [0x06] + [UInt8](repeating: 5, count: 20))
        let idr = ByteBuffer(bytes: [0x65] + (0..<250).map { UInt8($0 % 200) })
        var packets: [(ByteBuffer, Bool)] = []
        p.payloads([ByteBuffer(bytes: [0x09, 0xF0]), sei, idr], parameterSets: [Self.sps, Self.pps]) { packets.append(($0, $1)) }
        #expect(packets.count == 1 + 1 + 3)
        #expect(packets[0].0.getInteger(at: 0, as: UInt8.self) == UInt8(0x78), "STAP-A with the highest NRI")
        #expect(packets[0].0.getInteger(at: 1, as: UInt16.self) == UInt16(Self.sps.count))
        #expect(packets[1].0 == sei, "the access unit delimiter is dropped, the SEI sent alone")
        let fu = packets[2...].map(\.0)
        #expect(fu.map { $0.getInteger(at: 0, as: UInt8.self) } == [0x7C, 0x7C, 0x7C], "FU-A, NRI of the IDR")
        #expect(fu.map { $0.getInteger(at: 1, as: UInt8.self) } == [0x85, 0x05, 0x45], "S, middle, E; type 5")
        #expect(fu.reduce(0) { $0 + $1.readableBytes - 2 } == 250, "the IDR without its header byte")
        #expect(packets.map(\.1) == [false, false, false, false, true], "the marker on the last packet only")
    }
}
