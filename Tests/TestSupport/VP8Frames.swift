import Foundation

/// VP8 frames made by Debian's ffmpeg (libvpx, a keyframe every 30 frames at 30 fps), read from IVF.
public enum VP8Frames {
    public static func make(seconds: Int = 2, size: String = "320x240") throws -> [[UInt8]] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("parley-\(UUID().uuidString)-vp8-\(size)-\(seconds).ivf").path
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        ffmpeg.arguments = ["-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=\(size):rate=30", "-t", "\(seconds)",
                            "-c:v", "libvpx", "-deadline", "realtime", "-g", "30", "-b:v", "500k", "-f", "ivf", path]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: path) }  // a file per call: tests run in parallel
        let ivf = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var frames: [[UInt8]] = []
        var i = 32
        while i + 12 <= ivf.count {
            let size = Int(ivf[i]) | Int(ivf[i + 1]) << 8 | Int(ivf[i + 2]) << 16 | Int(ivf[i + 3]) << 24
            guard i + 12 + size <= ivf.count else { break }
            frames.append(Array(ivf[(i + 12)..<(i + 12 + size)]))
            i += 12 + size
        }
        return frames
    }
}
