/// Unguessable names made of letters and digits (62 letters: 5.95 bits each), for what apps put in URLs, file
/// names and WCS stream names, where "+" and "/" get in the way: room names, stream ids.
public enum RandomToken {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    public static func make<R: RandomNumberGenerator>(length: Int, using rng: inout R) -> String {
        String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }
}
