import Signaling

enum SignalingFuzz {
    /// A Web Call Server frame: any JSON (WCSJSON), its compact text parsing back to the same value, the frame
    /// decoder, and the room application's command decoder on the frame and on a sendData payload.
    static func wcs(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        switch WCSWire.decode(text) {
        case .success(.sendData(_, let payload)): _ = WCSRoomCommand.decode(payload)
        case .success(let request): _ = request
        case .failure(let invalid): _ = invalid
        }
        guard let json = WCSJSON.parse(text) else { return }
        _ = WCSRoomCommand.decode(json)
        if let payload = json["data"]?.array?.first?["payload"] { _ = WCSRoomCommand.decode(payload) }
        let written = json.text
        guard let again = WCSJSON.parse(written) else { FuzzCheck.fail("WCSJSON text does not parse: \(written)") }
        FuzzCheck.expect(again == json, "WCSJSON round trip changed \(json) into \(again)")
    }

    /// A Parley WebSocket text frame.
    static func parleyWire(_ data: UnsafeRawBufferPointer) {
        switch ParleyWire.decode(String(decoding: data, as: UTF8.self)) {
        case .request(let id, let request): _ = (id, request)
        case .invalid(let id, let error): _ = (id, error.code, error.message)
        }
    }
}
