// H.264 profile-level-id handling (RFC 6184 §8.1), following the rules libwebrtc uses so that Parley agrees with
// browsers on what "the same profile" means: profile_idc plus the constraint flags in profile-iop name a profile
// (42e0 and 4d40 are both Constrained Baseline), and only the level may differ between offer and answer.

public enum H264Profile: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case constrainedBaseline, baseline, main, constrainedHigh, high, predictiveHigh444

    /// profile_idc and profile-iop written when Parley has to print a profile-level-id itself.
    var canonicalPrefix: String {
        switch self {
        case .constrainedBaseline: "42e0"
        case .baseline: "4200"
        case .main: "4d00"
        case .constrainedHigh: "640c"
        case .high: "6400"
        case .predictiveHigh444: "f400"
        }
    }

    public var description: String { rawValue }
}

/// H.264 levels in increasing capability. Level 1b sits between 1 and 1.1.
public enum H264Level: Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case level1, level1b, level1_1, level1_2, level1_3, level2, level2_1, level2_2, level3, level3_1, level3_2
    case level4, level4_1, level4_2, level5, level5_1, level5_2, level6, level6_1, level6_2

    /// level_idc as it appears in profile-level-id (1b is signalled as 11 plus constraint_set3_flag).
    public var levelIDC: UInt8 {
        switch self {
        case .level1: 10
        case .level1b, .level1_1: 11
        case .level1_2: 12
        case .level1_3: 13
        case .level2: 20
        case .level2_1: 21
        case .level2_2: 22
        case .level3: 30
        case .level3_1: 31
        case .level3_2: 32
        case .level4: 40
        case .level4_1: 41
        case .level4_2: 42
        case .level5: 50
        case .level5_1: 51
        case .level5_2: 52
        case .level6: 60
        case .level6_1: 61
        case .level6_2: 62
        }
    }

    init?(levelIDC: UInt8, constraintSet3: Bool) {
        if levelIDC == 11 {
            self = constraintSet3 ? .level1b : .level1_1
            return
        }
        guard let level = H264Level.allCases.first(where: { $0 != .level1b && $0.levelIDC == levelIDC }) else { return nil }
        self = level
    }

    public var description: String {
        self == .level1b ? "1b" : "\(levelIDC / 10).\(levelIDC % 10)"
    }
}

/// A parsed `profile-level-id`.
public struct H264ProfileLevelID: Sendable, Hashable, CustomStringConvertible {
    public var profile: H264Profile
    public var level: H264Level

    public init(profile: H264Profile, level: H264Level) {
        self.profile = profile
        self.level = level
    }

    /// (profile_idc, bit pattern over profile-iop: "1"/"0" must match, "x" is free), most specific first.
    private static let patterns: [(UInt8, String, H264Profile)] = [
        (0x42, "x1xx0000", .constrainedBaseline),
        (0x4D, "1xxx0000", .constrainedBaseline),
        (0x58, "11xx0000", .constrainedBaseline),
        (0x42, "x0xx0000", .baseline),
        (0x58, "10xx0000", .baseline),
        (0x4D, "0x0x0000", .main),
        (0x64, "00000000", .high),
        (0x64, "00001100", .constrainedHigh),
        (0xF4, "00000000", .predictiveHigh444),
    ]

    private static func matches(_ iop: UInt8, _ pattern: String) -> Bool {
        var mask: UInt8 = 0
        var value: UInt8 = 0
        for (i, c) in pattern.utf8.enumerated() where c != UInt8(ascii: "x") {
            let bit = UInt8(1) << (7 - i)
            mask |= bit
            if c == UInt8(ascii: "1") { value |= bit }
        }
        return iop & mask == value
    }

    /// Parses six hex digits; nil for unknown profiles or levels.
    public init?(_ text: String) {
        let hex = Array(text.utf8)
        guard hex.count == 6, let idc = hexByte(hex[0], hex[1]), let iop = hexByte(hex[2], hex[3]),
              let levelIDC = hexByte(hex[4], hex[5]),
              let level = H264Level(levelIDC: levelIDC, constraintSet3: iop & 0x10 != 0),
              let profile = H264ProfileLevelID.patterns.first(where: { $0.0 == idc && H264ProfileLevelID.matches(iop, $0.1) })?.2
        else { return nil }
        self.init(profile: profile, level: level)
    }

    /// RFC 6184 §8.1: without profile-level-id the stream is Baseline, level 1 ("42000a").
    public static let rfcDefault = H264ProfileLevelID(profile: .baseline, level: .level1)

    /// The profile-level-id of an fmtp parameter list; the RFC default when absent, nil when present but invalid.
    public static func from(_ parameters: [FormatParameter]) -> H264ProfileLevelID? {
        guard let value = FormatParameters(payloadType: 0, parameters: parameters)["profile-level-id"] else {
            return rfcDefault
        }
        return H264ProfileLevelID(value)
    }

    /// Six lowercase hex digits, as libwebrtc prints them. Level 1b exists only for the baseline and main profiles.
    public var hexString: String? {
        if level == .level1b {
            switch profile {
            case .constrainedBaseline: return "42f00b"
            case .baseline: return "42100b"
            case .main: return "4d100b"
            default: return nil
            }
        }
        return profile.canonicalPrefix + hexDigits(level.levelIDC, uppercase: false)
    }

    public var description: String { "\(profile) \(level)" }
}
