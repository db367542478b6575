"""Hostile datagrams on the media port during a Chromium call (issue 17): random, truncated and replayed packets,
STUN with a wrong MESSAGE-INTEGRITY, DTLS ClientHellos from unknown addresses, SRTP with bad tags and a forged DTLS
alert, the last three also from the publisher's own address (spoofed with a raw socket). The viewer's video must
go on decoding without a freeze over 1 s, the server must never answer an unknown address with more bytes than it
sent (no amplification), and every kind of drop is counted in /health."""
import os
import random
import socket
import struct
import threading
import time
import zlib

from conftest import OUTPUT, wait_for
from test_sfu_browser import PLAY, PUBLISH, STATS, has, join

# The selected pair of a stream's peer connection: the browser's port and the server's.
PAIR = """
const [name] = arguments;
return (async () => {
  const pc = window.__streams[name].getPeerConnection();
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((r) => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r; });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  const ufrag = (pc.remoteDescription.sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1];
  const own = (pc.localDescription.sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1];
  return { local: local.port, address: local.address || local.ip, remote: remote.port, ufrag, own };
})();
"""


def stun_binding(username):
    """A Binding request with USERNAME, a MESSAGE-INTEGRITY that is not the right HMAC, and a correct FINGERPRINT
    (so the server gets as far as checking the integrity)."""
    def attribute(kind, value):
        return struct.pack(">HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)
    body = attribute(0x0006, username.encode()) + attribute(0x0024, struct.pack(">I", 0x6E7F1EFF))
    body += attribute(0x0008, os.urandom(20))
    transaction = os.urandom(12)
    head = struct.pack(">HHI", 0x0001, len(body) + 8, 0x2112A442) + transaction
    crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
    return head + body + attribute(0x8028, struct.pack(">I", crc))


def client_hello():
    """A DTLS 1.2 ClientHello-shaped record (content type 22, handshake type 1), random inside."""
    fragment = bytes([1]) + (120).to_bytes(3, "big") + b"\0\0" + b"\0\0\0" + (120).to_bytes(3, "big") + os.urandom(120)
    return bytes([22, 0xFE, 0xFD, 0, 0]) + os.urandom(6) + len(fragment).to_bytes(2, "big") + fragment


def garbage(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return os.urandom(rng.randrange(0, 1500))
    if kind == 1:
        return bytes([rng.randrange(0, 4)]) + os.urandom(rng.randrange(0, 30))  # truncated STUN
    if kind == 2:
        return bytes([0x80 | rng.randrange(0, 64), rng.randrange(0, 256)]) + os.urandom(rng.randrange(0, 40))  # RTP-ish
    if kind == 3:
        return bytes([rng.choice([20, 21, 22, 23]), 0xFE, 0xFD]) + os.urandom(rng.randrange(0, 60))  # DTLS-ish
    if kind == 4:
        return client_hello()
    return bytes([0x80, 200 + rng.randrange(0, 7)]) + os.urandom(rng.randrange(2, 100))  # RTCP-ish


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def spoofed(payload, source_port, destination_port, source):
    """An IPv4/UDP datagram from `source:source_port` to 127.0.0.1, for a raw socket (IP_HDRINCL); UDP checksum 0
    (none)."""
    udp = struct.pack("!HHHH", source_port, destination_port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), random.randrange(65536), 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(source), socket.inet_aton("127.0.0.1"))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp


class Sniffer(threading.Thread):
    """Keeps the latest SRTP datagrams from one browser port to the server, off the loopback device."""

    def __init__(self, source_port, server_port):
        super().__init__(daemon=True)
        self.source_port, self.server_port = source_port, server_port
        self.captured, self.stop = [], threading.Event()
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)

    def run(self):
        while not self.stop.is_set():
            try:
                packet = self.sock.recv(2048)
            except socket.timeout:
                continue
            if len(packet) < 28 or packet[9] != socket.IPPROTO_UDP:
                continue
            header = (packet[0] & 0x0F) * 4
            source, destination = struct.unpack("!HH", packet[header:header + 4])
            payload = packet[header + 8:]
            if source == self.source_port and destination == self.server_port and len(payload) >= 24 and 128 <= payload[0] <= 191:
                self.captured.append(payload)
                del self.captured[:-300]


def test_media_port_attacks_do_not_disturb_a_call(parley_server, browser_factory, busy_video):
    alice, bob = browser_factory(video_file=busy_video), browser_factory()
    join(parley_server.base, parley_server.ws_url, "hostile-media", ((alice, "alice"), (bob, "bob")))
    alice.execute_script(PUBLISH, "camera", {"audio": True, "video": True})
    wait_for(has(bob, "PUBLISHED alice camera"), timeout=20, what="bob told of alice's camera")
    bob.execute_script(PLAY, "alice", "camera")
    wait_for(lambda: bob.execute_script(STATS, "camera")["videoFramesDecoded"] > 30, timeout=20, what="bob decoding")
    publisher = wait_for(lambda: alice.execute_script(PAIR, "camera"), what="alice's selected candidate pair")
    viewer = wait_for(lambda: bob.execute_script(PAIR, "camera"), what="bob's selected candidate pair")
    server_ports = sorted({publisher["remote"], viewer["remote"]})

    sniffer = Sniffer(publisher["local"], publisher["remote"])
    sniffer.start()
    wait_for(lambda: len(sniffer.captured) > 50, what="packets of alice's to replay")

    before = parley_server.health()["media"]["drops"]
    attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attacker.bind(("127.0.0.1", 0))
    attacker.setblocking(False)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent = {"unknown_bytes": 0, "unknown_datagrams": 0, "spoofed": 0}
    answered = {"bytes": 0, "datagrams": 0}
    stop = threading.Event()

    def attack():
        rng = random.Random(17)
        while not stop.is_set():
            for _ in range(40):
                port = rng.choice(server_ports)
                # From an address ICE never checked: garbage, bad STUN naming a live ufrag, ClientHellos.
                choice = rng.randrange(4)
                datagram = (garbage(rng) if choice < 2 else
                            stun_binding(f"{publisher['ufrag']}:{rng.choice([publisher['own'], 'evil'])}") if choice == 2 else client_hello())
                try:
                    attacker.sendto(datagram, ("127.0.0.1", port))
                    sent["unknown_bytes"] += len(datagram)
                    sent["unknown_datagrams"] += 1
                except BlockingIOError:
                    pass
                # From alice's own address: replays, SRTP with a flipped tag, bad STUN, a forged alert.
                captured = sniffer.captured[rng.randrange(len(sniffer.captured))]
                kind = rng.randrange(5)
                if kind == 0:
                    payload = captured
                elif kind == 1:
                    # A sequence number ahead of the replay window, so only the tag can refuse it, and a bad tag.
                    if 192 <= captured[1] <= 223:  # RTCP: its index is in the (authenticated) trailer, so flip that
                        payload = captured[:-1] + bytes([captured[-1] ^ 0x5A])
                    else:
                        sequence = (struct.unpack("!H", captured[2:4])[0] + 3000 + rng.randrange(20000)) & 0xFFFF
                        payload = captured[:2] + struct.pack("!H", sequence) + captured[4:-1] + bytes([captured[-1] ^ 0x5A])
                elif kind == 2:
                    payload = stun_binding(f"{publisher['ufrag']}:{publisher['own']}")
                elif kind == 3:
                    payload = bytes([21, 0xFE, 0xFD, 0, 1]) + os.urandom(6) + (26).to_bytes(2, "big") + os.urandom(26)
                else:
                    payload = captured[:rng.randrange(1, 12)]  # a truncated header
                raw.sendto(spoofed(payload, publisher["local"], publisher["remote"], publisher["address"]), ("127.0.0.1", 0))
                sent["spoofed"] += 1
            try:
                while True:
                    answer = attacker.recv(4096)
                    answered["bytes"] += len(answer)
                    answered["datagrams"] += 1
            except BlockingIOError:
                pass
            time.sleep(0.02)  # ~2,000 hostile datagrams/s in all

    thread = threading.Thread(target=attack, daemon=True)
    frames = []
    started = time.monotonic()
    thread.start()
    while time.monotonic() - started < 12:
        frames.append((time.monotonic(), bob.execute_script(STATS, "camera")["videoFramesDecoded"]))
        time.sleep(0.2)
    stop.set()
    thread.join(timeout=5)
    sniffer.stop.set()
    time.sleep(1)
    try:
        while True:
            answered["bytes"] += len(attacker.recv(4096))
            answered["datagrams"] += 1
    except BlockingIOError:
        pass

    # The longest stretch without a newly decoded frame.
    longest, last_change = 0.0, frames[0][0]
    for (t0, f0), (t1, f1) in zip(frames, frames[1:]):
        if f1 > f0:
            last_change = t1
        longest = max(longest, t1 - last_change)
    decoded = frames[-1][1] - frames[0][1]
    after = parley_server.health()["media"]["drops"]
    grown = {k: after[k] - before.get(k, 0) for k in after}
    summary = {"hostile_unknown": sent["unknown_datagrams"], "hostile_spoofed": sent["spoofed"],
               "answered_bytes": answered["bytes"], "sent_bytes": sent["unknown_bytes"],
               "frames_decoded_in_12s": decoded, "longest_freeze_s": round(longest, 2), "drops": grown}
    print("hostile media:", summary)
    (OUTPUT / "hostile-media.json").write_text(repr(summary))

    assert sent["unknown_datagrams"] > 10_000 and sent["spoofed"] > 10_000, "the attack did not run"
    assert decoded > 12 * 10, f"bob decoded only {decoded} frames in 12 s under attack"
    assert longest < 1.0, f"bob's video froze for {longest:.2f} s"
    assert answered["bytes"] <= sent["unknown_bytes"], "the server answered unknown addresses with more than they sent"
    assert grown["bad_stun_integrity"] > 0 and grown["bad_srtp_auth"] > 0
    assert grown["unknown_address"] > 0 and grown["malformed"] > 0
    assert has(alice, "camera PUBLISHING")() and not any("FAILED" in e for e in alice.execute_script("return window.__log"))
    # The call goes on after the attack.
    later = bob.execute_script(STATS, "camera")["videoFramesDecoded"]
    time.sleep(2)
    assert bob.execute_script(STATS, "camera")["videoFramesDecoded"] > later + 10
    assert parley_server.health()["media"]["peerConnections"] == 2
