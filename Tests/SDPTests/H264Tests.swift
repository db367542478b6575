import Testing
@testable import SDP

/// Vectors follow libwebrtc's h264_profile_level_id unit tests, so Parley and browsers agree on profiles.
@Suite("H.264 profile-level-id")
struct H264Tests {
    @Test("invalid strings", arguments: ["", " 42e01f", "4242e01f", "e01f", "gggggg", "42e000", "42e00f", "42e0ff",
                                         "42e11f", "58601f", "64e01f"])
    func invalid(text: String) {
        #expect(H264ProfileLevelID(text) == nil)
    }

    @Test("levels")
    func levels() {
        #expect(H264ProfileLevelID("42e01f")?.level == .level3_1)
        #expect(H264ProfileLevelID("42e00b")?.level == .level1_1)
        #expect(H264ProfileLevelID("42f00b")?.level == .level1b)
        #expect(H264ProfileLevelID("42C02A")?.level == .level4_2)
        #expect(H264ProfileLevelID("640c34")?.level == .level5_2)
        #expect(H264Level.level1 < .level1b && H264Level.level1b < .level1_1)
        #expect(H264Level.level3_1.description == "3.1" && H264Level.level1b.description == "1b")
    }

    @Test("profiles", arguments: [
        ("42e01f", H264Profile.constrainedBaseline), ("42C02A", .constrainedBaseline), ("4de01f", .constrainedBaseline),
        ("58f01f", .constrainedBaseline), ("42a01f", .baseline), ("58A01F", .baseline), ("42001f", .baseline),
        ("4D401f", .main), ("4d001f", .main), ("64001f", .high), ("640c1f", .constrainedHigh),
        ("f4001f", .predictiveHigh444),
    ])
    func profiles(text: String, profile: H264Profile) {
        #expect(H264ProfileLevelID(text)?.profile == profile)
    }

    @Test("printing")
    func printing() {
        #expect(H264ProfileLevelID(profile: .constrainedBaseline, level: .level3_1).hexString == "42e01f")
        #expect(H264ProfileLevelID(profile: .baseline, level: .level1).hexString == "42000a")
        #expect(H264ProfileLevelID(profile: .main, level: .level3_1).hexString == "4d001f")
        #expect(H264ProfileLevelID(profile: .constrainedHigh, level: .level4_2).hexString == "640c2a")
        #expect(H264ProfileLevelID(profile: .high, level: .level4_2).hexString == "64002a")
        #expect(H264ProfileLevelID(profile: .constrainedBaseline, level: .level1b).hexString == "42f00b")
        #expect(H264ProfileLevelID(profile: .baseline, level: .level1b).hexString == "42100b")
        #expect(H264ProfileLevelID(profile: .main, level: .level1b).hexString == "4d100b")
        #expect(H264ProfileLevelID(profile: .high, level: .level1b).hexString == nil)
    }

    @Test("fmtp without profile-level-id is Baseline level 1 (RFC 6184 §8.1)")
    func defaultProfile() {
        #expect(H264ProfileLevelID.from([FormatParameter("packetization-mode", "1")]) == .rfcDefault)
        #expect(H264ProfileLevelID.from([FormatParameter("profile-level-id", "zz")]) == nil)
        #expect(H264ProfileLevelID.from([FormatParameter("PROFILE-LEVEL-ID", "42e01f")])?.profile == .constrainedBaseline)
    }
}
