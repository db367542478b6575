#!/usr/bin/env python3
"""The WebSocket leak check (issue 17, docs/ROBUSTNESS.md): N sockets (default 100,000), one after another, each
upgrades /ws, connects, joins a room, leaves it and closes; the release server's RSS is printed after the first
1,000 and at each quarter, then after a 10 s rest. Passes (exit 0) when the end is within 5 MiB of the RSS after
the first 1,000. Runs on loopback: `make bench-ws` (about 3 minutes), or bench/ws_cycles.py [N]."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

BINARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "parley")
PORT = 18558
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
CLOSE = bytes([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2])  # masked close, code 1000


def frame(text):
    """One masked text frame (clients must mask)."""
    data, mask = text.encode(), bytes([1, 2, 3, 4])
    head = bytes([0x81, 0x80 | len(data)]) if len(data) < 126 else bytes([0x81, 0x80 | 126, len(data) >> 8, len(data) & 255])
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(data))


def read_until(sock, needle):
    data = b""
    while needle not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    records = tempfile.mkdtemp(prefix="parley-ws-cycles-")
    server = subprocess.Popen([BINARY, "--host", "127.0.0.1", "--port", str(PORT), "--media-port", "0", "--rtmp-port", "0",
                               "--announced-ip", "127.0.0.1", "--log-level", "error", "--record-dir", records,
                               "--new-connections-per-address", "1000000"],  # the cycles come as fast as they can
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rss = lambda: round(int(next(l for l in open(f"/proc/{server.pid}/status") if l.startswith("VmRSS")).split()[1]) / 1024, 1)  # noqa: E731,E741
    time.sleep(1.5)
    marks, started = {}, time.time()
    try:
        for i in range(1, n + 1):
            sock = socket.create_connection(("127.0.0.1", PORT))
            sock.sendall(UPGRADE)
            read_until(sock, b"\r\n\r\n")
            for number, request in enumerate(({"type": "connect", "username": f"u{i % 50}"}, {"type": "join", "room": f"r{i % 10}"},
                                              {"type": "leave", "room": f"r{i % 10}"}), start=1):
                sock.sendall(frame(json.dumps({"id": number, **request})))
                read_until(sock, f'"id":{number}'.encode())
            sock.sendall(CLOSE)
            try:
                sock.recv(4096)
            except OSError:
                pass
            sock.close()
            if i in (1000, n // 4, n // 2, 3 * n // 4, n):
                marks[i] = rss()
        time.sleep(10)
        rested = rss()
    finally:
        server.terminate()
        server.wait()
    first = marks.get(1000, next(iter(marks.values())))
    print(json.dumps({"cycles": n, "seconds": round(time.time() - started), "rssMiB": marks, "restedMiB": rested,
                      "growthAfterFirst1000MiB": round(rested - first, 1)}))
    return 0 if rested - first <= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
