import Foundation
import Testing
@testable import Signaling

@Suite struct ParleyWireTests {
    @Test func decodesEveryRequest() {
        #expect(ParleyWire.decode(#"{"id":1,"type":"connect","username":"test"}"#) == .request(.number(1), .connect(username: "test")))
        #expect(ParleyWire.decode(#"{"id":"a","type":"join"}"#) == .request(.string("a"), .join(room: nil, maxParticipants: nil)))
        #expect(ParleyWire.decode(#"{"id":2,"type":"join","room":"r","maxParticipants":3}"#) == .request(.number(2), .join(room: "r", maxParticipants: 3)))
        #expect(ParleyWire.decode(#"{"id":3,"type":"leave","room":"r"}"#) == .request(.number(3), .leave(room: "r")))
        #expect(ParleyWire.decode(#"{"id":4,"type":"message","room":"r","text":"hi","to":"bob"}"#) == .request(.number(4), .message(room: "r", text: "hi", to: "bob")))
        #expect(ParleyWire.decode(#"{"id":5,"type":"ping"}"#) == .request(.number(5), .ping))
    }

    @Test(arguments: [
        ("not json", nil as RequestID?, "bad_json"),
        ("", nil, "bad_json"),
        ("[1,2]", nil, "bad_json"),
        ("42", nil, "bad_json"),
        (#""connect""#, nil, "bad_json"),
        (#"{"type":"connect","username":"x"}"#, nil, "bad_request"),
        (#"{"id":{},"type":"connect"}"#, nil, "bad_request"),
        (#"{"id":"","type":"connect"}"#, nil, "bad_request"),
        (#"{"id":1}"#, .number(1), "bad_request"),
        // A usable id is echoed even when the type is not (docs/PROTOCOL.md); ids are integers or strings.
        (#"{"id":78,"type":5}"#, .number(78), "bad_request"),
        (#"{"id":"q","type":null}"#, .string("q"), "bad_request"),
        (#"{"id":1.5,"type":"ping"}"#, nil, "bad_request"),
        (#"{"id":true,"type":"ping"}"#, nil, "bad_request"),
        (#"{"id":1,"type":"connect","username":5}"#, .number(1), "bad_request"),
        (#"{"id":1,"type":"join","maxParticipants":"three"}"#, .number(1), "bad_request"),
        (#"{"id":1,"type":"join","maxParticipants":2.5}"#, .number(1), "bad_request"),
        (#"{"id":1,"type":"leave"}"#, .number(1), "bad_request"),
        (#"{"id":1,"type":"message","room":"r"}"#, .number(1), "bad_request"),
        (#"{"id":1,"type":"dance"}"#, .number(1), "unknown_type"),
    ])
    func refusesBadFrames(frame: String, id: RequestID?, code: String) {
        guard case .invalid(let gotID, let error) = ParleyWire.decode(frame) else {
            Issue.record("accepted \(frame)")
            return
        }
        #expect(gotID == id)
        #expect(error.code == code)
        #expect(!error.message.isEmpty)
    }

    @Test func missingFieldIsNamed() {
        guard case .invalid(_, let error) = ParleyWire.decode(#"{"id":1,"type":"leave"}"#) else {
            Issue.record("accepted")
            return
        }
        #expect(error.message.contains("room"))
    }

    /// With access tokens the username comes from the token, so the wire takes a connect without one; the session
    /// refuses it when the server has no token checks (AccessSignalingTests).
    @Test func connectCarriesAnOptionalUsernameAndToken() {
        #expect(ParleyWire.decode(#"{"id":1,"type":"connect","username":"a","token":"t"}"#) == .request(.number(1), .connect(username: "a", token: "t")))
        #expect(ParleyWire.decode(#"{"id":1,"type":"connect","token":"t"}"#) == .request(.number(1), .connect(username: nil, token: "t")))
        #expect(ParleyWire.decode(#"{"id":1,"type":"connect"}"#) == .request(.number(1), .connect(username: nil, token: nil)))
    }

    @Test func repliesCarryTheIDOrNull() throws {
        let ok = try json(ParleyWire.reply(.string("x"), result: ParleyWire.Empty()))
        #expect(ok["id"] as? String == "x")
        #expect(ok["ok"] as? Bool == true)
        let err = try json(ParleyWire.reply(nil, error: .notConnected))
        #expect(err["id"] is NSNull)
        #expect(err["ok"] as? Bool == false)
        #expect((err["error"] as? [String: Any])?["code"] as? String == "not_connected")
    }
}

func json(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any])
}
