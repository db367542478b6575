// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "parley",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "parley", targets: ["parley"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", exact: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
    ],
    targets: [
        // RTMP 1.0: handshake, chunk stream, AMF0, the server's command state machine. Knows no rooms.
        .target(name: "RTMP", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // FLV payloads of RTMP media: video tags, the AVC sequence header, RFC 6184 packetization to RTP.
        .target(name: "FLV", dependencies: ["RTP", .product(name: "NIOCore", package: "swift-nio")]),
        // Debian's libavcodec/libswresample (AAC decoding) and libopus: a C shim with plain functions.
        .target(name: "CAudioCodec", linkerSettings: [
            .linkedLibrary("avcodec"), .linkedLibrary("swresample"), .linkedLibrary("avutil"), .linkedLibrary("opus"),
        ]),
        // Audio transcoding for RTMP participants (AAC → Opus), off the media loops.
        .target(name: "AudioTranscode", dependencies: ["CAudioCodec"]),
        // Matroska/WebM recordings: an append-only writer a crash cannot spoil (no native dependency).
        .target(name: "Matroska"),
        // A published stream's packets made into a Matroska/WebM file (depacketizing, A/V placement).
        .target(name: "Recording", dependencies: ["Matroska", "FLV", "RTP", "VideoTranscode", .product(name: "NIOCore", package: "swift-nio")]),
        // Debian's libavcodec with libx264: VP8 or H.264 decoded and re-encoded as H.264, through a C shim.
        .target(name: "CVideoCodec", linkerSettings: [.linkedLibrary("avcodec"), .linkedLibrary("avutil")]),
        // VP8 → H.264 for RTMP players and pushes (and B-frame removal): the VP8 depacketizer and the transcoder.
        .target(name: "VideoTranscode", dependencies: ["CVideoCodec", "RTP", .product(name: "NIOCore", package: "swift-nio")]),
        // Debian's OpenSSL 3 (libssl-dev): headers plus inline shims for its macros.
        .target(name: "COpenSSL", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        // Debian's libsrtp2 (libsrtp2-dev): the oracle for SRTP tests, never linked into the server.
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2"),
        // SRTP/SRTCP in place over libcrypto: AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM.
        .target(name: "SRTP", dependencies: [
            "COpenSSL",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // SDP model, parser/writer and offer/answer negotiation against Parley's capabilities (no dependencies).
        .target(name: "SDP"),
        // STUN codec and the ICE-lite responder (no I/O).
        .target(name: "STUN", dependencies: ["COpenSSL"]),
        // Zero-copy RTP/RTCP views over ByteBuffer, demultiplexing, sequence unwrapping.
        .target(name: "RTP", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        // DTLS 1.2 over OpenSSL with datagram-per-write BIOs; SRTP keys from the exporter.
        .target(name: "DTLS", dependencies: ["COpenSSL", "SRTP"]),
        // The media plane: one UDP port, WebRTC transports (ICE-lite + DTLS + SRTP), forwarding.
        .target(name: "SFU", dependencies: [
            "STUN", "DTLS", "SRTP", "RTP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Access tokens (JWT: HS256, ES256, RS256, JWKS) verified into their claims. Knows no rooms.
        .target(name: "AccessTokens", dependencies: [.product(name: "JWTKit", package: "jwt-kit")]),
        // Pure room logic: participants, names, caps, chat history. No I/O.
        .target(name: "Rooms"),
        // Wire messages and the per-connection session state machine; knows Rooms, not sockets.
        .target(name: "Signaling", dependencies: [
            "Rooms",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // SDP offer/answer driving the media engine: the MediaService the signaling adapters use.
        .target(name: "MediaNegotiation", dependencies: [
            "Rooms", "Signaling", "SFU", "SDP", "DTLS",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Configuration, HTTP routes, WebSocket glue, lifecycle.
        .target(name: "ParleyServer", dependencies: [
            "Rooms", "Signaling", "SFU", "SDP", "DTLS", "MediaNegotiation", "RTMP", "FLV", "RTP", "AudioTranscode", "VideoTranscode", "Matroska", "Recording",
            "AccessTokens",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .executableTarget(name: "parley", dependencies: [
            "ParleyServer", "AccessTokens", .product(name: "Yams", package: "Yams"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // SRTP micro-benchmark against libsrtp2 (`make bench`).
        .executableTarget(name: "srtp-bench", dependencies: [
            "SRTP", "CSRTP", .product(name: "NIOCore", package: "swift-nio"),
        ], path: "bench/srtp"),
        // WebRTC load generator (`make bench`): synthetic peers against Parley and Janus, on loopback only.
        .executableTarget(name: "parley-bench", dependencies: [
            "STUN", "DTLS", "SRTP", "RTP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "bench/parley-bench"),
        // Parley with test hooks on the media-plane seam (synthetic sources, recording sinks) for e2e tests;
        // kept out of the `parley` binary.
        .executableTarget(name: "parley-testbed", dependencies: [
            "ParleyServer", "MediaNegotiation", "SFU", "Signaling", "RTP", "Rooms",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "e2e/testbed"),
        // libFuzzer targets for every parser of untrusted bytes (`make fuzz`); see docs/ROBUSTNESS.md, "Fuzzing".
        .target(name: "FuzzTargets", dependencies: [
            "STUN", "SDP", "RTP", "SRTP", "RTMP", "FLV", "Matroska", "Signaling", "SFU", "VideoTranscode", "AccessTokens",
            .product(name: "NIOCore", package: "swift-nio"),
        ], path: "Fuzz/FuzzTargets"),
        // The fuzzing driver: LLVMFuzzerTestOneInput in a `-sanitize=fuzzer` build (-DFUZZING), a corpus replayer otherwise.
        .executableTarget(name: "parley-fuzz", dependencies: ["FuzzTargets"], path: "Fuzz/parley-fuzz"),
        // What several test targets share: a seeded generator and fuzz mutations.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SRTPTests", dependencies: ["SRTP", "CSRTP", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "STUNTests", dependencies: ["STUN"]),
        .testTarget(name: "AccessTokensTests", dependencies: ["AccessTokens"], exclude: ["Fixtures"]),
        .testTarget(name: "RTMPTests", dependencies: ["RTMP", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "FLVTests", dependencies: ["FLV", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "AudioTranscodeTests", dependencies: ["AudioTranscode", "TestSupport"]),
        .testTarget(name: "RecordingTests", dependencies: ["Recording"]),
        .testTarget(name: "MatroskaTests", dependencies: ["Matroska", "Recording", "RTP", "TestSupport", "VideoTranscode", "AudioTranscode",
                                                         .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "VideoTranscodeTests", dependencies: ["VideoTranscode", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "SDPTests", dependencies: ["SDP"], exclude: ["Fixtures"]),
        .testTarget(name: "RTPTests", dependencies: ["RTP", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "SFUTests", dependencies: [
            "SFU", "STUN", "DTLS", "SRTP", "RTP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "DTLSTests", dependencies: ["DTLS", "SRTP", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "RoomsTests", dependencies: ["Rooms"]),
        .testTarget(name: "SignalingTests", dependencies: ["Signaling", "Rooms"]),
        .testTarget(name: "ParleyServerTests", dependencies: [
            "ParleyServer", "MediaNegotiation", "Signaling", "DTLS", "STUN", "RTMP", "RTP", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
    ]
)
