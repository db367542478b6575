import Foundation
import Logging
import SFU
import Signaling

/// The echo test over the media engine: negotiate, create a transport whose media comes straight back.
struct EchoService: MediaService {
    let engine: MediaEngine

    func startEcho(offer sdp: String, onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> (id: String, answer: String) {
        let offer: EchoNegotiation.Offer
        do {
            offer = try EchoNegotiation.parse(sdp)
        } catch {
            throw MediaServiceError(code: "bad_sdp", message: "The SDP offer cannot be used: \(error)")
        }
        var rng = SystemRandomNumberGenerator()
        var choices: [Int: EchoNegotiation.Choice] = [:]
        for (i, section) in offer.sections.enumerated() {
            if let c = EchoNegotiation.choose(section, ssrc: UInt32.random(in: 1...UInt32.max, using: &rng)) { choices[i] = c }
        }
        guard !choices.isEmpty else {
            throw MediaServiceError(code: "no_common_codec", message: "The offer has no codec Parley supports (VP8, H.264, Opus, PCMU, PCMA)")
        }
        let ssrcByPT = Dictionary(choices.values.map { ($0.payloadType, $0.ssrc) }, uniquingKeysWith: { a, _ in a })
        let local: LocalTransportParameters
        do {
            local = try await engine.createTransport(remote: offer.remote, onEvent: { event in
                switch event {
                case .connected: onEvent(.connected)
                case .failed(let reason): onEvent(.failed(reason))
                case .closed(let reason): onEvent(.closed(reason))
                }
            }) { _ in
                let handler = EchoHandler()
                handler.ssrcForPayloadType = ssrcByPT
                return handler
            }
        } catch {
            throw MediaServiceError(code: "media_unavailable", message: "The media plane could not open a transport")
        }
        return (local.iceUfrag, EchoNegotiation.answer(offer: offer, local: local, choices: choices))
    }

    func stop(stream id: String) async {
        await engine.closeTransport(id: id)
    }
}
