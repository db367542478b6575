import Foundation

/// AAC made by Debian's ffmpeg for tests: two seconds of a 440 Hz tone, AAC-LC.
public enum AACFixture {
    /// The ADTS stream (each frame with a 7-byte header).
    public static func adts(rate: Int, channels: Int) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("parley-\(UUID().uuidString)-aac-\(rate)-\(channels).aac").path
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        ffmpeg.arguments = ["-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=\(rate)", "-t", "2",
                            "-ac", "\(channels)", "-c:a", "aac", "-b:a", "96k", "-f", "adts", path]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: path) }  // a file per call: tests run in parallel
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The raw frames of an ADTS stream and the AudioSpecificConfig its headers describe (as FLV carries it).
    public static func frames(_ adts: [UInt8]) -> (config: [UInt8], frames: [[UInt8]]) {
        var frames: [[UInt8]] = []
        var config: [UInt8] = []
        var i = 0
        while i + 7 <= adts.count, adts[i] == 0xFF, adts[i + 1] & 0xF0 == 0xF0 {
            let object = (adts[i + 2] >> 6) + 1, rateIndex = (adts[i + 2] >> 2) & 0x0F
            let channels = (adts[i + 2] & 0x01) << 2 | adts[i + 3] >> 6
            let length = Int(adts[i + 3] & 0x03) << 11 | Int(adts[i + 4]) << 3 | Int(adts[i + 5]) >> 5
            config = [object << 3 | rateIndex >> 1, (rateIndex & 1) << 7 | channels << 3]
            guard length > 7, i + length <= adts.count else { break }
            frames.append(Array(adts[i + 7 ..< i + length]))
            i += length
        }
        return (config, frames)
    }
}
