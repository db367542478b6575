#!/usr/bin/env python3
"""Regenerates the fuzzing seed corpora in Fuzz/corpus/<target>/ (docs/ROBUSTNESS.md, "Fuzzing").

The seeds are real captures the tests already hold, and small media made with ffmpeg:

  stun               RFC 5769's vectors (hex in Tests/STUNTests)
  sdp                Chrome, Firefox, Safari, OBS and GStreamer offers (Tests/SDPTests/Fixtures)
  rtp, rtcp, srtp    packets from Tests/RTPTests (Chrome's RTCP among them) and Tests/SRTPTests (RFC 7714), and
                     RTP packets carrying the VP8 frames below
  wcs-json           frames from Tests/SignalingTests (WCS), and a connection/publishStream/sendData exchange
  parley-wire        frames from Tests/SignalingTests/ParleyWireTests.swift
  access-token       the PyJWT-minted tokens of Tests/AccessTokensTests/Fixtures/tokens.json
  amf0, rtmp-*       the commands an RTMP encoder sends (connect, createStream, publish) and the onMetaData of
                     ffmpeg's FLV below, as AMF0 and as RTMP chunk streams
  flv                the audio and video tags of an H.264/AAC FLV made by ffmpeg
  h264-depacketizer  that H.264 as RFC 6184 payloads; vp8-depacketizer: a libvpx VP8 stream as RFC 7741 payloads
  keyframe           single VP8 and H.264 payloads
  matroska-recovery  a libvpx WebM from ffmpeg laid out as Parley's MatroskaWriter writes (unknown Segment size,
                     Void for the Duration), and copies cut short as a killed server leaves them

Run from anywhere: `python3 Fuzz/make-seeds.py` (needs ffmpeg with libx264, libvpx and aac). The output is the same
from run to run (ffmpeg is run with -bitexact and fixed inputs), so the committed files only change when a source does.
Files under Fuzz/corpus/<target>/ that this script did not write (regression inputs) are kept.
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")
PREFIX = "seed-"  # every generated file; regression inputs are named otherwise and left alone
MAX_SEED = 20 * 1024

written = {}


def emit(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    assert len(data) <= MAX_SEED, f"{target}/{name}: {len(data)} bytes"
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, PREFIX + name), "wb") as f:
        f.write(data)
    written.setdefault(target, []).append(name)


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def hex_literals(path):
    """The byte strings of every hex("…") and hex(\"\"\"…\"\"\") literal in a Swift test file."""
    text = read(path).decode()
    out = []
    for m in re.finditer(r'hex\(\s*("""(.*?)"""|"([^"]*)")', text, re.S):
        body = m.group(2) if m.group(2) is not None else m.group(3)
        digits = re.sub(r"\s+", "", body)
        if digits and re.fullmatch(r"[0-9a-fA-F]*", digits) and len(digits) % 2 == 0:
            out.append(bytes.fromhex(digits))
    return out


def raw_json_literals(path):
    """Every Swift raw string #"…"# of a test file that is a JSON object."""
    text = read(path).decode()
    out = []
    for m in re.finditer(r'#"(.*?)"#', text):
        try:
            if isinstance(json.loads(m.group(1)), dict):
                out.append(m.group(1))
        except ValueError:
            pass
    return out


def unique(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


# MARK: media made with ffmpeg

def ffmpeg(args, suffix):
    fd, path = tempfile.mkstemp(suffix=suffix)
    os.close(fd)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"] + args + ["-fflags", "+bitexact",
                    "-flags:v", "+bitexact", "-flags:a", "+bitexact", path], check=True)
    data = open(path, "rb").read()
    os.unlink(path)
    return data


def flv_tags(data):
    """(type, timestamp, payload) of each tag of an FLV file."""
    assert data[:3] == b"FLV"
    offset = struct.unpack(">I", data[5:9])[0] + 4
    tags = []
    while offset + 11 <= len(data):
        kind = data[offset]
        size = int.from_bytes(data[offset + 1:offset + 4], "big")
        ts = int.from_bytes(data[offset + 4:offset + 7], "big") | data[offset + 7] << 24
        tags.append((kind, ts, data[offset + 11:offset + 11 + size]))
        offset += 11 + size + 4
    return tags


def ivf_frames(data):
    assert data[:4] == b"DKIF"
    offset = struct.unpack("<H", data[6:8])[0]
    frames = []
    while offset + 12 <= len(data):
        size = struct.unpack("<I", data[offset:offset + 4])[0]
        frames.append(data[offset + 12:offset + 12 + size])
        offset += 12 + size
    return frames


def avcc_units(payload, length_size=4):
    units, i = [], 0
    while i + length_size <= len(payload):
        n = int.from_bytes(payload[i:i + length_size], "big")
        units.append(payload[i + length_size:i + length_size + n])
        i += length_size + n
    return units


# MARK: EBML (for the WebM)

def ebml_vint(data, i, keep_marker):
    first = data[i]
    width = 8 - first.bit_length() + 1
    value = first if keep_marker else first & (0xFF >> width)
    for k in range(1, width):
        value = value << 8 | data[i + k]
    return value, i + width


def ebml_children(data, start=0, end=None):
    end = len(data) if end is None else end
    i = start
    out = []
    while i < end:
        element_id, j = ebml_vint(data, i, True)
        size, k = ebml_vint(data, j, False)
        out.append((element_id, data[i:k + size], data[k:k + size]))
        i = k + size
    return out


def ebml_id(element_id):
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")


def ebml_size(n):
    width = 1
    while n >= (1 << (7 * width)) - 1:
        width += 1
    return ((1 << (7 * width)) | n).to_bytes(width, "big")


def ebml_element(element_id, body):
    return ebml_id(element_id) + ebml_size(len(body)) + body


def ebml_uint(element_id, value, width=None):
    width = width or max(1, (value.bit_length() + 7) // 8)
    return ebml_element(element_id, value.to_bytes(width, "big"))


def ebml_void(total):
    return b"\xec" + ebml_size(total - 2) + bytes(total - 2)


def parley_webm(webm):
    """ffmpeg's Tracks and Clusters in the layout MatroskaWriter writes: (unfinished file, where the Clusters start,
    where each ends)."""
    top = ebml_children(webm)
    segment = next(body for element_id, _, body in top if element_id == 0x18538067)
    children = ebml_children(segment)
    tracks = next(whole for element_id, whole, _ in children if element_id == 0x1654AE6B)
    clusters = [whole for element_id, whole, _ in children if element_id == 0x1F43B675]
    header = ebml_element(0x1A45DFA3, ebml_uint(0x4286, 1) + ebml_uint(0x42F7, 1) + ebml_uint(0x42F2, 4)
                          + ebml_uint(0x42F3, 8) + ebml_element(0x4282, b"webm") + ebml_uint(0x4287, 4)
                          + ebml_uint(0x4285, 2))
    header += ebml_id(0x18538067) + b"\x01\xff\xff\xff\xff\xff\xff\xff"
    info = ebml_element(0x1549A966, ebml_uint(0x2AD7B1, 1_000_000) + ebml_element(0x4D80, b"Parley")
                        + ebml_element(0x5741, b"Parley") + ebml_void(11))
    seek = lambda element_id, position: ebml_element(0x4DBB, ebml_element(0x53AB, ebml_id(element_id))
                                                     + ebml_uint(0x53AC, position, 8))
    head = ebml_element(0x114D9B74, seek(0x1549A966, 80) + seek(0x1654AE6B, 80 + len(info)))
    body = head + ebml_void(80 - len(head)) + info + tracks
    ends = []
    data = header + body
    start = len(data)
    for cluster in clusters:
        data += cluster
        ends.append(len(data))
    return data, start, ends


# MARK: RTMP

def amf0(value):
    if value is None:
        return b"\x05"
    if isinstance(value, bool):
        return b"\x01" + bytes([value])
    if isinstance(value, (int, float)):
        return b"\x00" + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode()
        return (b"\x02" + struct.pack(">H", len(raw)) if len(raw) <= 0xFFFF else b"\x0c" + struct.pack(">I", len(raw))) + raw
    if isinstance(value, dict):
        return b"\x03" + amf0_properties(value)
    if isinstance(value, list):
        return b"\x0a" + struct.pack(">I", len(value)) + b"".join(amf0(v) for v in value)
    raise TypeError(value)


def amf0_properties(d):
    return b"".join(struct.pack(">H", len(k.encode())) + k.encode() + amf0(v) for k, v in d.items()) + b"\x00\x00\x09"


def amf0_ecma(d):
    return b"\x08" + struct.pack(">I", len(d)) + amf0_properties(d)


def chunks(csid, kind, stream_id, timestamp, payload, chunk_size=128, fmt=0, delta=0):
    """One message as RTMP chunks: a type 0 (or 1/2 with `delta`) header, then type 3 continuations."""
    extended = (timestamp if fmt == 0 else delta) >= 0xFFFFFF
    field = 0xFFFFFF if extended else (timestamp if fmt == 0 else delta)
    out = bytes([fmt << 6 | csid]) + field.to_bytes(3, "big")
    if fmt < 2:
        out += len(payload).to_bytes(3, "big") + bytes([kind])
    if fmt == 0:
        out += struct.pack("<I", stream_id)
    if extended:
        out += struct.pack(">I", timestamp if fmt == 0 else delta)
    for i in range(0, max(len(payload), 1), chunk_size):
        if i:
            out += bytes([0xC0 | csid]) + (struct.pack(">I", timestamp if fmt == 0 else delta) if extended else b"")
        out += payload[i:i + chunk_size]
    return out


def main():
    # STUN: RFC 5769 (request, IPv4 and IPv6 responses).
    for i, vector in enumerate(v for v in hex_literals("Tests/STUNTests/STUNTests.swift") if len(v) >= 20 and v[0] < 4):
        emit("stun", f"rfc5769-{i}", vector)

    # SDP: browser and encoder offers.
    fixtures = os.path.join(ROOT, "Tests/SDPTests/Fixtures")
    for name in sorted(os.listdir(fixtures)):
        if name.endswith(".sdp"):
            emit("sdp", name, read(os.path.join("Tests/SDPTests/Fixtures", name)))

    # RTP and RTCP from the tests; Chrome's RTCP (SR, RR, SDES, REMB, transport-cc) among them.
    rtp, rtcp = [], []
    for name in sorted(os.listdir(os.path.join(ROOT, "Tests/RTPTests"))):
        for packet in hex_literals(os.path.join("Tests/RTPTests", name)):
            if len(packet) >= 8 and packet[0] >> 6 == 2:
                (rtcp if 192 <= packet[1] <= 223 else rtp).append(packet)
    rtp, rtcp = unique(p for p in rtp if len(p) >= 12), unique(rtcp)
    for i, packet in enumerate(rtcp):
        emit("rtcp", f"tests-{i:02}", packet)
    emit("rtcp", "compound-sr-sdes-remb", b"".join(rtcp[:3]))

    # The media every later seed is cut from.
    flv = ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                  "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", "3", "-pix_fmt", "yuv420p",
                  "-c:a", "aac", "-b:a", "32k", "-f", "flv"], ".flv")
    ivf = ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-t", "1", "-c:v", "libvpx", "-g", "3", "-b:v", "100k",
                  "-f", "ivf"], ".ivf")
    webm = ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-t", "2", "-c:v", "libvpx", "-g", "3", "-b:v", "100k",
                   "-cluster_time_limit", "400", "-f", "webm"], ".webm")
    tags = flv_tags(flv)
    vp8_frames = ivf_frames(ivf)

    # VP8 as RFC 7741 payloads: a descriptor with a 15-bit picture id, S on a frame's first packet.
    def vp8_payloads(frame, picture_id, size=120):
        out = []
        for i in range(0, len(frame), size):
            start = 0x10 if i == 0 else 0x00
            out.append(bytes([0x80 | start, 0x80, 0x80 | picture_id >> 8 & 0x7F, picture_id & 0xFF]) + frame[i:i + size])
        return out

    def rtp_packet(payload, seq, ts, marker, pt=96, ssrc=0x1234ABCD, extensions=b""):
        first = 0x90 if extensions else 0x80
        header = bytes([first, (0x80 if marker else 0) | pt]) + struct.pack(">HII", seq & 0xFFFF, ts, ssrc)
        if extensions:
            padded = extensions + bytes(-len(extensions) % 4)
            header += struct.pack(">HH", 0xBEDE, len(padded) // 4) + padded
        return header + payload

    vp8_rtp = []
    for n, frame in enumerate(vp8_frames[:3]):
        payloads = vp8_payloads(frame, n)
        for k, payload in enumerate(payloads):
            # abs-send-time (id 2) and transport-cc (id 3), as Chrome sends them.
            vp8_rtp.append(rtp_packet(payload, 100 + len(vp8_rtp), 90000 + 18000 * n, k == len(payloads) - 1,
                                      extensions=bytes([0x22, 1, 2, 3, 0x31, 0, len(vp8_rtp)])))
    for i, packet in enumerate(rtp):
        emit("rtp", f"tests-{i:02}", packet)
    for i, packet in enumerate(vp8_rtp[:6]):
        emit("rtp", f"vp8-{i}", packet)

    # SRTP: the plain packets (the target protects them) and RFC 7714's protected ones.
    for i, packet in enumerate(rtp[:4] + vp8_rtp[:3] + rtcp[:4]):
        emit("srtp", f"plain-{i:02}", packet)
    for i, packet in enumerate(unique(p for name in ("Tests/SRTPTests/RFC7714Vectors.swift", "Tests/SRTPTests/SRTPTests.swift")
                                      for p in hex_literals(name) if len(p) >= 12 and p[0] >> 6 == 2)):
        emit("srtp", f"tests-{i:02}", packet)

    # Depacketizer framing (FLVFuzz.depacketizer): [seq u16][ts u32], then per payload [length][flags][payload] with
    # flags bit 0 = marker, bit 2 = a new timestamp; a length of 255 is followed by a u16 length.
    def framed(frames_of_payloads, seq=0xFFF8):
        out = struct.pack(">HI", seq, 3000)
        for f, payloads in enumerate(frames_of_payloads):
            for k, payload in enumerate(payloads):
                flags = (1 if k == len(payloads) - 1 else 0) | (4 if k == 0 and f > 0 else 0)
                out += (bytes([len(payload)]) if len(payload) < 255 else b"\xff" + struct.pack(">H", len(payload))) \
                    + bytes([flags]) + payload
        return out

    emit("vp8-depacketizer", "libvpx-3-frames", framed([vp8_payloads(f, n) for n, f in enumerate(vp8_frames[:3])]))
    emit("vp8-depacketizer", "libvpx-5-frames-small", framed([vp8_payloads(f, n, 40) for n, f in enumerate(vp8_frames[:5])]))

    # FLV: every tag kind of ffmpeg's H.264/AAC FLV.
    video = [payload for kind, _, payload in tags if kind == 9]
    audio = [payload for kind, _, payload in tags if kind == 8]
    script = [payload for kind, _, payload in tags if kind == 18]
    emit("flv", "avc-sequence-header", video[0])
    for i, payload in enumerate(video[1:4]):
        emit("flv", f"avc-frame-{i}", payload)
    emit("flv", "aac-sequence-header", audio[0])
    emit("flv", "aac-frame", audio[1])
    emit("flv", "avc-end-of-sequence", b"\x17\x02\x00\x00\x00")

    # H.264 as RFC 6184 payloads: SPS and PPS in a STAP-A, small units alone, larger ones as FU-A.
    config = video[0][5:]
    sps_len = struct.unpack(">H", config[6:8])[0]
    sps = config[8:8 + sps_len]
    pps_len = struct.unpack(">H", config[9 + sps_len:11 + sps_len])[0]
    pps = config[11 + sps_len:11 + sps_len + pps_len]

    def h264_payloads(units, size=200):
        out = []
        for unit in units:
            if len(unit) <= size:
                out.append(unit)
                continue
            header, rest = unit[0], unit[1:]
            for i in range(0, len(rest), size - 2):
                fu = (0x80 if i == 0 else 0) | (0x40 if i + size - 2 >= len(rest) else 0) | header & 0x1F
                out.append(bytes([header & 0xE0 | 28, fu]) + rest[i:i + size - 2])
        return out

    stap = bytes([0x78]) + struct.pack(">H", len(sps)) + sps + struct.pack(">H", len(pps)) + pps
    frames = [[stap] + h264_payloads(avcc_units(video[1][5:]))] + [h264_payloads(avcc_units(v[5:])) for v in video[2:4]]
    emit("h264-depacketizer", "x264-3-frames", framed(frames))
    emit("h264-depacketizer", "x264-small-fu-a", framed([[stap] + h264_payloads(avcc_units(video[1][5:]), 60)]))

    # Keyframe detection: single payloads of both codecs.
    emit("keyframe", "vp8-key", vp8_payloads(vp8_frames[0], 1)[0])
    emit("keyframe", "vp8-inter", vp8_payloads(vp8_frames[1], 2)[0])
    emit("keyframe", "vp8-short-descriptor", b"\x10" + vp8_frames[0][:40])
    emit("keyframe", "h264-stap-a", stap)
    emit("keyframe", "h264-fu-a-idr", h264_payloads(avcc_units(video[1][5:]), 60)[0])
    emit("keyframe", "h264-idr", avcc_units(video[1][5:])[0][:60])

    # AMF0 and RTMP: what ffmpeg sends to publish (docs/RTMP.md), and its onMetaData.
    connect = amf0("connect") + amf0(1) + amf0({"app": "live", "type": "nonprivate", "flashVer": "FMLE/3.0 (compatible; Lavf60.16.100)",
                                                "tcUrl": "rtmp://127.0.0.1:1935/live"})
    release = amf0("releaseStream") + amf0(2) + amf0(None) + amf0("room-alice")
    fcpublish = amf0("FCPublish") + amf0(3) + amf0(None) + amf0("room-alice")
    create = amf0("createStream") + amf0(4) + amf0(None)
    publish = amf0("publish") + amf0(5) + amf0(None) + amf0("room-alice") + amf0("live")
    play = amf0("play") + amf0(5) + amf0(None) + amf0("room-alice") + amf0(-2000)
    metadata = amf0("@setDataFrame") + script[0] if script else amf0("@setDataFrame") + amf0("onMetaData") + amf0_ecma({"width": 64})
    emit("amf0", "connect", connect)
    emit("amf0", "publish", release + fcpublish + create + publish)
    emit("amf0", "play", play)
    emit("amf0", "onmetadata", metadata)
    emit("amf0", "kinds", amf0([1.5, True, "x", None, {"a": [1, 2]}]) + b"\x06" + b"\x0b" + struct.pack(">dh", 1.7e12, 0)
         + amf0_ecma({"k": "v", "": 0}) + b"\x0c" + struct.pack(">I", 3) + b"abc")

    set_chunk_size = chunks(2, 1, 0, 0, struct.pack(">I", 4096))
    window = chunks(2, 5, 0, 0, struct.pack(">I", 2500000))

    def publish_stream(size=128):
        commands = b"".join(chunks(3, 20, 0, 0, c, size) for c in (connect, release, fcpublish, create))
        media = chunks(5, 18, 1, 0, metadata, size) + chunks(6, 9, 1, 0, video[0], size) + chunks(4, 8, 1, 0, audio[0], size) \
            + chunks(6, 9, 1, 0, video[1], size) + chunks(4, 8, 1, 23, audio[1], size, fmt=1, delta=23) \
            + chunks(6, 9, 1, 0x1000000, video[2], size) + chunks(6, 9, 1, 0x1000000 + 200, video[3], size, fmt=2, delta=200)
        return window + commands + chunks(3, 20, 1, 0, publish, size) + media

    commands = b"".join(chunks(3, 20, 0, 0, c) for c in (connect, create))
    # rtmp-chunks: [control: piece size, bit 7 = Set Chunk Size first] [chunk size u32] [chunk stream]
    emit("rtmp-chunks", "ffmpeg-publish", bytes([0x00]) + struct.pack(">I", 128) + publish_stream())
    emit("rtmp-chunks", "ffmpeg-publish-pieces", bytes([0x03]) + struct.pack(">I", 128) + publish_stream())
    emit("rtmp-chunks", "chunk-size-4096", bytes([0x86]) + struct.pack(">I", 4096)
         + chunks(6, 9, 1, 40, video[1], chunk_size=4096) + chunks(6, 9, 1, 80, video[2], chunk_size=4096))
    emit("rtmp-chunks", "csid-64-and-320", bytes([0x02]) + struct.pack(">I", 128)
         + b"\x00\x00" + chunks(0, 20, 0, 0, create)[1:] + b"\x01\x00\x01" + chunks(0, 20, 0, 0, create)[1:])
    emit("rtmp-chunks", "rtmp-url", "rtmp://a.rtmp.youtube.com:1935/live2/app/KEY?token=1")
    emit("rtmp-chunks", "rtmps-url-ipv6", "rtmps://[2001:db8::1]:443/live/stream")
    # rtmp-server: [control: piece size, bit 7 = the handshake is in the input, bit 6 = digest C1] [bytes]
    emit("rtmp-server", "ffmpeg-publish", bytes([0x00]) + set_chunk_size + publish_stream(4096))
    emit("rtmp-server", "ffmpeg-publish-pieces", bytes([0x02]) + publish_stream())
    emit("rtmp-server", "ffplay-play", bytes([0x40]) + window + commands + chunks(3, 20, 1, 0, play)
         + chunks(3, 20, 1, 0, amf0("deleteStream") + amf0(6) + amf0(None) + amf0(1)))
    c1 = bytes(8) + bytes((i * 7) & 0xFF for i in range(1528))
    emit("rtmp-server", "handshake-in-input", bytes([0x80]) + b"\x03" + c1 + bytes(1536) + commands)

    # Matroska: ffmpeg's WebM as MatroskaWriter lays it out, unfinished (as a killed server leaves it) and cut short.
    unfinished, start, ends = parley_webm(webm)
    emit("matroska-recovery", "unfinished.webm.part", unfinished)
    emit("matroska-recovery", "cut-in-last-cluster.webm.part", unfinished[:ends[-1] - 57])
    emit("matroska-recovery", "cut-in-first-cluster.webm.part", unfinished[:ends[0] - 10])
    emit("matroska-recovery", "no-clusters.webm.part", unfinished[:start])
    emit("matroska-recovery", "ffmpeg-finished.webm", webm[:MAX_SEED])

    # WCS: frames from the tests, and the exchange the Web SDK starts with.
    wcs = unique(s for name in sorted(os.listdir(os.path.join(ROOT, "Tests/SignalingTests")))
                 if name.startswith("WCS") for s in raw_json_literals(os.path.join("Tests/SignalingTests", name)))
    for i, frame in enumerate(wcs):
        emit("wcs-json", f"tests-{i:02}", frame)
    offer = read("Tests/SDPTests/Fixtures/chrome-sendonly.sdp").decode()
    emit("wcs-json", "connection", json.dumps({"message": "connection", "data": [{
        "appKey": "roomApp", "login": "alice", "clientVersion": "2.0.228", "mediaProviders": ["WebRTC"],
        "custom": {"token": None}, "width": 0, "height": 0, "msePacketizationVersion": 2}]}))
    emit("wcs-json", "publishStream", json.dumps({"message": "publishStream", "data": [{
        "mediaSessionId": "7e1c2a50-3f0e-11ef-9c2b-0242ac120002", "name": "room-alice-1a2b", "published": True,
        "hasVideo": True, "hasAudio": True, "status": "NEW", "record": False, "sdp": offer, "mediaProvider": "WebRTC",
        "custom": {"name": "room-alice-1a2b"}, "constraints": {"audio": True, "video": {"width": 640, "height": 480}}}]}))
    emit("wcs-json", "sendData-join", json.dumps({"message": "sendData", "data": [{
        "operationId": "op-1", "payload": {"command": "join", "options": {"name": "room"}}}]}))
    emit("wcs-json", "sendData-message", json.dumps({"message": "sendData", "data": [{
        "operationId": "op-2", "payload": {"command": "sendMessage", "options": {"roomConfig": {"name": "room"}, "to": "bob",
                                                                                   "text": "hi \u00e9\U0001F600", "n": 1.5e300}}}]}))

    # Parley's WebSocket protocol.
    for i, frame in enumerate(raw_json_literals("Tests/SignalingTests/ParleyWireTests.swift")):
        emit("parley-wire", f"tests-{i:02}", frame)
    emit("parley-wire", "publish", json.dumps({"id": 9, "type": "publish", "room": "r", "sdp": offer}))
    with open(os.path.join(ROOT, "Tests", "AccessTokensTests", "Fixtures", "tokens.json")) as f:
        for name, token in sorted(json.load(f)["tokens"].items()):
            emit("access-token", name, token)

    total = 0
    for target, names in sorted(written.items()):
        size = sum(os.path.getsize(os.path.join(CORPUS, target, PREFIX + n)) for n in names)
        total += size
        print(f"{target:20} {len(names):3} seeds {size:8} bytes")
    print(f"{'total':20} {sum(len(n) for n in written.values()):3} seeds {total:8} bytes")


if __name__ == "__main__":
    sys.exit(main())
