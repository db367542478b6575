"""Process-level behaviour of the parley binary: it always stops on SIGTERM."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import OUTPUT, REPO, free_port, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # websockets: sync connect outside a with block


def _start(log_name):
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    binary = binary if binary.is_absolute() else REPO / binary
    port = free_port()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = open(OUTPUT / log_name, "w")
    process = subprocess.Popen([str(binary), "--host", "127.0.0.1", "--port", str(port), "--media-port", "0",
                                "--announced-ip", "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT)

    def accepting():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(accepting, timeout=30, what="the server to listen")
    return process, port, log



def test_sigterm_exits_even_with_an_idle_connection_open():
    # A browser's speculative pre-connect opens TCP and sends nothing; shutdown must not wait for it forever.
    process, port, log = _start("server-sigterm.log")
    try:
        idle = socket.create_connection(("127.0.0.1", port))
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        assert time.monotonic() - started < 12
        idle.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()

def test_sigterm_closes_idle_connections_at_once_and_websockets_with_a_close_frame():
    # Shutdown ends the process by itself, not by exit(): idle connections close on the signal, a WebSocket
    # gets a close frame and finishes its handshake, and only a half-sent request waits for the grace period.
    process, port, log = _start("server-sigterm-graceful.log")
    try:
        idle = socket.create_connection(("127.0.0.1", port))
        ws = socket.create_connection(("127.0.0.1", port))
        ws.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert ws.recv(1000).startswith(b"HTTP/1.1 101")
        time.sleep(0.3)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        idle.settimeout(3)
        assert idle.recv(10) == b"", "the idle connection is closed"
        assert time.monotonic() - started < 2
        ws.settimeout(3)
        frame = ws.recv(100)
        assert frame[0] == 0x88, f"a close frame, not {frame!r}"
        ws.sendall(bytes([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]))  # the client's close (masked, 1000)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 2, "nothing waited for the grace period"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    text = (OUTPUT / "server-sigterm-graceful.log").read_text()
    assert "closing the media ports" in text and "grace period" not in text, text


def test_a_half_sent_request_is_cut_at_the_end_of_the_grace_period():
    process, port, log = _start("server-sigterm-slow.log")
    try:
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /health HTTP/1.1\r\nHost")
        time.sleep(0.3)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert 4 < time.monotonic() - started < 10
        slow.settimeout(1)
        assert slow.recv(10) == b""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    text = (OUTPUT / "server-sigterm-slow.log").read_text()
    assert "count=1" in text and "closing connections still open after the grace period" in text, text


def _draining_server(name, timeout):
    from conftest import start_parley
    return start_parley(name, extra_args=["--drain-timeout", str(timeout), "--rtmp-port", "0"])


def _client(server, username, room):
    """A participant of `room`, and the join's reply."""
    from conftest import ProtocolClient
    client = ProtocolClient(server)
    assert client.request("connect", username=username)["ok"]
    return client, client.request("join", room=room)


def _health(server):
    import json
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(f"{server.base}/health", timeout=2) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_a_drain_refuses_new_rooms_lets_the_others_finish_then_exits():
    server, stop = _draining_server("drain", 30)
    try:
        alice, _ = _client(server, "alice", "standup")
        server.process.send_signal(signal.SIGTERM)
        wait_for(lambda: _health(server)[0] == 503, what="/health 503 while draining")
        status, health = _health(server)
        assert health["status"] == "draining" and health["draining"] is True, health
        # The room that exists takes people; a new one does not.
        bob, reply = _client(server, "bob", "standup")
        assert reply["ok"], reply
        carol, reply = _client(server, "carol", "new-room")
        assert reply["error"]["code"] == "draining", reply
        assert server.process.poll() is None, "still serving the standup"
        started = time.monotonic()
        for ws in (alice, bob, carol):
            ws.close()
        server.process.wait(timeout=10)
        assert time.monotonic() - started < 5 and server.process.returncode == 0
    finally:
        stop()


def test_a_drain_that_times_out_tells_the_clients_to_reconnect():
    server, stop = _draining_server("drain-timeout", 2)
    try:
        alice, _ = _client(server, "alice", "standup")
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert alice.close_code() == 1012  # Service Restart: the SDK reconnects
        assert 1.5 < time.monotonic() - started < 6
        server.process.wait(timeout=10)
    finally:
        stop()


def test_a_second_signal_ends_a_drain_at_once():
    server, stop = _draining_server("drain-second-signal", 60)
    try:
        alice, _ = _client(server, "alice", "standup")
        server.process.send_signal(signal.SIGTERM)
        wait_for(lambda: _health(server)[0] == 503, what="draining")
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=15)
        assert time.monotonic() - started < 8
        alice.close()
    finally:
        stop()
