/// What an RTMP player needs of an H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1): the picture size, for
/// onMetaData, so that ffplay and VLC start without probing. Read with emulation prevention removed; nil for an
/// SPS it cannot read, never a trap.
public struct H264SPS: Sendable, Equatable {
    public let profile: UInt8
    public let level: UInt8
    public let width: Int
    public let height: Int

    public init?(_ nal: [UInt8]) {
        var r = BitReader(Self.unescaped(nal))
        guard let header = r.bits(8), header & 0x1F == 7, let profile = r.bits(8).map(UInt8.init), r.bits(8) != nil,
              let level = r.bits(8).map(UInt8.init), r.ue() != nil else { return nil }
        var chroma = 1
        var frameMBsOnly = 1
        if [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(profile) {
            guard let c = r.ue(), c <= 3 else { return nil }
            chroma = c
            if chroma == 3 { _ = r.bits(1) }
            guard r.ue() != nil, r.ue() != nil, r.bits(1) != nil, let scaling = r.bits(1) else { return nil }
            if scaling == 1 {
                for i in 0..<(chroma == 3 ? 12 : 8) {
                    guard let present = r.bits(1) else { return nil }
                    if present == 1, !r.skipScalingList(i < 6 ? 16 : 64) { return nil }
                }
            }
        }
        guard r.ue() != nil, let pocType = r.ue() else { return nil }  // log2_max_frame_num_minus4
        switch pocType {
        case 0:
            guard r.ue() != nil else { return nil }
        case 1:
            guard r.bits(1) != nil, r.se() != nil, r.se() != nil, let cycle = r.ue(), cycle <= 255 else { return nil }
            for _ in 0..<cycle { guard r.se() != nil else { return nil } }
        default:
            break
        }
        guard r.ue() != nil, r.bits(1) != nil, let widthMBs = r.ue(), let heightUnits = r.ue(),
              let frameOnly = r.bits(1) else { return nil }
        frameMBsOnly = frameOnly
        if frameMBsOnly == 0 { _ = r.bits(1) }
        guard r.bits(1) != nil, let cropping = r.bits(1) else { return nil }
        var crop = (left: 0, right: 0, top: 0, bottom: 0)
        if cropping == 1 {
            guard let l = r.ue(), let rt = r.ue(), let t = r.ue(), let b = r.ue() else { return nil }
            crop = (l, rt, t, b)
        }
        let unitX = chroma == 3 || chroma == 0 ? 1 : 2
        let unitY = (chroma == 1 ? 2 : 1) * (2 - frameMBsOnly)
        let w = (widthMBs + 1) * 16 - (crop.left + crop.right) * unitX
        let h = (2 - frameMBsOnly) * (heightUnits + 1) * 16 - (crop.top + crop.bottom) * unitY
        guard w > 0, h > 0, w <= 16384, h <= 16384 else { return nil }
        self.profile = profile
        self.level = level
        width = w
        height = h
    }

    /// The RBSP: every 0x000003 loses its 0x03.
    static func unescaped(_ nal: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(nal.count)
        var zeros = 0
        for byte in nal {
            if zeros >= 2 && byte == 3 {
                zeros = 0
                continue
            }
            zeros = byte == 0 ? zeros + 1 : 0
            out.append(byte)
        }
        return out
    }
}

/// Bits, most significant first, with H.264's Exp-Golomb codes; every read past the end is nil.
struct BitReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func bits(_ count: Int) -> Int? {
        guard count <= 32, position + count <= bytes.count * 8 else { return nil }
        var value = 0
        for _ in 0..<count {
            value = value << 1 | Int(bytes[position >> 3] >> (7 - UInt8(position & 7)) & 1)
            position += 1
        }
        return value
    }

    mutating func ue() -> Int? {
        var zeros = 0
        while true {
            guard let bit = bits(1) else { return nil }
            if bit == 1 { break }
            zeros += 1
            guard zeros < 32 else { return nil }
        }
        guard let rest = bits(zeros) else { return nil }
        return (1 << zeros) - 1 + rest
    }

    mutating func se() -> Int? {
        guard let k = ue() else { return nil }
        return k & 1 == 1 ? (k + 1) / 2 : -(k / 2)
    }

    mutating func skipScalingList(_ size: Int) -> Bool {
        var last = 8, next = 8
        for _ in 0..<size {
            if next != 0 {
                guard let delta = se() else { return false }
                next = (last + delta + 256) % 256
            }
            last = next == 0 ? last : next
        }
        return true
    }
}
