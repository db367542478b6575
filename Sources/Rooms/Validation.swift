/// Rules for the names and texts people type. Pure functions, shared by every signaling adapter.
public enum Validation {
    public static let maxUsernameLength = 64
    public static let maxRoomNameLength = 64
    public static let maxTextLength = 4096
    public static let maxDisplayLength = 64

    /// A stream's label (`camera`, `screen`): 1–64 printable characters after trimming.
    public static func display(_ raw: String) throws(RoomError) -> String {
        let label = raw.trimmingWhitespace()
        guard !label.isEmpty, label.count <= maxDisplayLength, label.unicodeScalars.allSatisfy(isPrintable) else {
            throw .invalidDisplay
        }
        return label
    }

    /// Trims white space; 1–64 characters, none of them control or format characters.
    public static func username(_ raw: String) throws(RoomError) -> String {
        let name = raw.trimmingWhitespace()
        guard !name.isEmpty, name.count <= maxUsernameLength, name.unicodeScalars.allSatisfy(isPrintable) else {
            throw .invalidUsername
        }
        return name
    }

    /// Room names travel in URLs (invite links), so they are kept to a URL-safe alphabet.
    public static func roomName(_ raw: String) throws(RoomError) -> String {
        guard !raw.isEmpty, raw.utf8.count <= maxRoomNameLength,
              raw.utf8.allSatisfy({ isRoomNameByte($0) }) else {
            throw .invalidRoomName
        }
        return raw
    }

    public static func chatText(_ text: String) throws(RoomError) -> String {
        guard !text.isEmpty, text.count <= maxTextLength else { throw .invalidText }
        return text
    }

    static func isRoomNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    static func isPrintable(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator:
            return false
        default:
            return true
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
