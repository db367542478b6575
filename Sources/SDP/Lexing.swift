// Small, allocation-light helpers shared by the parsers. Every helper returns nil instead of trapping, so untrusted
// text can never crash the process (no force unwrap, no unchecked index).

/// Decimal digits only (no sign, no spaces); nil on overflow.
func parseDecimal<T: FixedWidthInteger & UnsignedInteger>(_ text: Substring, as type: T.Type = T.self) -> T? {
    guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    return T(text, radix: 10)
}

func parseDecimal<T: FixedWidthInteger & UnsignedInteger>(_ text: String, as type: T.Type = T.self) -> T? {
    parseDecimal(Substring(text), as: type)
}

/// Space-separated tokens; runs of spaces and a trailing space (Safari, LiveKit) are tolerated.
func tokens(_ text: Substring) -> [Substring] {
    text.split(separator: " ", omittingEmptySubsequences: true)
}

/// Splits `name:value` at the first colon.
func splitOnce(_ text: Substring, at separator: Character) -> (Substring, Substring?) {
    guard let i = text.firstIndex(of: separator) else { return (text, nil) }
    return (text[..<i], text[text.index(after: i)...])
}

/// A token as SDP means it: non-empty, printable ASCII without spaces.
func isToken(_ text: some StringProtocol) -> Bool {
    !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
}

/// Text that is safe to put on one SDP line: no CR, LF or other control characters.
func isSingleLine(_ text: some StringProtocol) -> Bool {
    text.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F }
}

func hexByte(_ high: UInt8, _ low: UInt8) -> UInt8? {
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
    guard let h = nibble(high), let l = nibble(low) else { return nil }
    return h << 4 | l
}

func hexDigits(_ byte: UInt8, uppercase: Bool = true) -> String {
    let digits: [Character] = uppercase ? Array("0123456789ABCDEF") : Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

/// FNV-1a, used where a stable, dependency-free hash of a string is enough (candidate foundations, session ids).
func fnv1a64(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }
    return hash
}
