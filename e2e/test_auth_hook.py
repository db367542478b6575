"""The authorization hook (--auth-hook-url): a real HTTP backend in the test decides connects, joins and publishes
through every door (Parley's protocol, WCS, WHIP, RTMP with ffmpeg); it checks every request's signature, refuses
some with a reason, answers 500 to one, and sleeps past the timeout for another (fail closed)."""
import hashlib
import hmac
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from conftest import REPO, post_sdp, ProtocolClient, free_port, protocol_socket, start_parley, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # websockets: sync connect outside a with block

SECRET = "e2e-auth-hook-secret"
TOKEN_KEY = "e2e-parley-access-token-secret-0123456789"
OFFER = (REPO / "Tests" / "SDPTests" / "Fixtures" / "chrome-sendonly.sdp").read_text()


class Backend(ThreadingHTTPServer):
    """The operator's backend: refuses `mallory` (403 with a reason), the room `closed`, and publishes by
    `carol` or `pirate`; answers 500 for `broken`; sleeps 3 s for `sleepy`; allows the rest. Keeps every request."""

    def __init__(self):
        self.requests, self.bad = [], []
        self.lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                signature = dict(p.split("=", 1) for p in self.headers.get("Parley-Signature", "").split(",") if "=" in p)
                expected = hmac.new(SECRET.encode(), f"{signature.get('t')}.".encode() + raw, hashlib.sha256).hexdigest()
                body = json.loads(raw)
                with backend.lock:
                    backend.requests.append(body)
                    if (not hmac.compare_digest(signature.get("v1", ""), expected) or abs(time.time() - int(signature.get("t", "0"))) > 300
                            or self.headers.get("Content-Type") != "application/json"):
                        backend.bad.append((dict(self.headers), raw))
                status, answer = backend.decide(body)
                try:
                    self.send_response(status)
                    payload = json.dumps(answer).encode() if answer else b""
                    self.send_header("Content-Length", str(len(payload)))
                    if answer:
                        self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # Parley gave up waiting (the sleepy one)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @staticmethod
    def decide(body):
        name, action = body.get("name"), body["action"]
        if name == "sleepy":
            time.sleep(3)
            return 204, None
        if name == "broken":
            return 500, None
        if name == "mallory":
            return 403, {"reason": "mallory is banned"}
        if body.get("room") == "closed":
            return 403, {"reason": "This room is closed by the backend"}
        if action == "publish" and name in ("carol", "pirate"):
            return 403, {"reason": f"{name} may not publish"}
        return 200, {"ok": True}

    def asked(self, **fields):
        with self.lock:
            return [r for r in self.requests if all(r.get(k) == v for k, v in fields.items())]


@pytest.fixture(scope="module")
def backend():
    backend = Backend()
    yield backend
    backend.shutdown()
    assert backend.bad == [], f"requests without a valid signature: {backend.bad}"


@pytest.fixture(scope="module")
def server(backend):
    server, stop = start_parley("auth-hook", extra_args=[
        "--auth-hook-url", f"http://127.0.0.1:{backend.server_port}/authorize", "--auth-hook-secret", SECRET,
        "--auth-hook-timeout", "1"])
    yield server
    stop()


def error(reply):
    return reply.get("error") or {}


def test_connect_join_and_publish_ask_the_backend(server, backend):
    alice = ProtocolClient(server)
    assert alice.request("connect", username="alice", token="opaque-alice")["ok"]
    closed = alice.request("join", room="closed")
    assert error(closed) == {"code": "forbidden", "message": "This room is closed by the backend"}, closed
    assert alice.request("join", room="standup")["ok"]
    published = alice.request("publish", room="standup", sdp=OFFER, display="camera")
    assert published["ok"], published

    carol = ProtocolClient(server)
    assert carol.request("connect", username="carol")["ok"]
    assert carol.request("join", room="standup")["ok"]
    refused = carol.request("publish", room="standup", sdp=OFFER, display="camera")
    assert error(refused) == {"code": "forbidden", "message": "carol may not publish"}, refused
    assert server.health()["streams"] == 1, "carol's refused publish left no stream"

    # What the backend was told: the action, who, where, by which door, from where, with the client's token.
    connect = backend.asked(action="connect", name="alice")[-1]
    assert connect["protocol"] == "parley" and connect["address"] == "127.0.0.1" and connect["token"] == "opaque-alice"
    assert isinstance(connect["createdAt"], int) and "room" not in connect, connect
    publish = backend.asked(action="publish", name="alice")[-1]
    assert publish["room"] == "standup" and publish["stream"] == "camera" and publish["record"] is False, publish
    for client in (alice, carol):
        client.close()


def test_a_refused_connect_gets_the_backends_reason_and_the_socket_closes(server, backend):
    mallory = ProtocolClient(server)
    reply = mallory.request("connect", username="mallory")
    assert error(reply) == {"code": "forbidden", "message": "mallory is banned"}, reply
    assert mallory.close_code() == 4401

    ws = protocol_socket(server, path="/")  # the WCS adapter
    ws.send(json.dumps({"message": "connection", "data": [{"appKey": "roomApp", "mediaProviders": ["WebRTC"],
                                                             "custom": {"login": "mallory", "token": "wcs-token"}}]}))
    frame = json.loads(ws.recv(timeout=5))
    assert frame["message"] == "fail" and frame["data"][0]["info"] == "forbidden: mallory is banned", frame
    with pytest.raises(Exception):
        ws.recv(timeout=5)
    assert ws.close_code == 4401
    assert backend.asked(action="connect", name="mallory", protocol="wcs", token="wcs-token")


def test_fail_closed_when_the_backend_is_slow_or_fails(server, backend):
    before = server.health()["auth"]["hook"]
    sleepy = ProtocolClient(server)
    started = time.monotonic()
    reply = sleepy.request("connect", username="sleepy")
    elapsed = time.monotonic() - started
    assert error(reply)["code"] == "forbidden" and "did not answer" in error(reply)["message"], reply
    assert "no answer within 1 s" in error(reply)["message"], reply
    assert 0.9 <= elapsed < 2.5, elapsed
    assert sleepy.close_code() == 4401

    broken = ProtocolClient(server)
    reply = broken.request("connect", username="broken")
    assert error(reply)["code"] == "forbidden" and "HTTP 500" in error(reply)["message"], reply
    after = server.health()["auth"]["hook"]
    assert after["failed"] == before["failed"] + 2 and after["refused"] == before["refused"], (before, after)
    assert "authorization hook failed" in server.log_path.read_text()


def _post(server, path, body=OFFER, bearer=None):
    return post_sdp(server, path, body, bearer)


def test_whip_and_rtmp_publishes_ask_the_backend(server, backend):
    status, _, body = _post(server, "/whip/standup/carol", bearer="whip-token")
    assert status == 403 and json.loads(body)["detail"] == "carol may not publish", (status, body)
    assert backend.asked(action="publish", name="carol", protocol="whip", room="standup", token="whip-token")
    status, headers, body = _post(server, "/whip/standup/erin")
    assert status == 201, (status, body)
    with urllib.request.urlopen(urllib.request.Request(server.base + headers["Location"], method="DELETE"), timeout=5) as r:
        assert r.status == 200
    # WHEP plays are not asked.
    count = len(backend.requests)
    _post(server, "/whep/standup/erin")
    assert len(backend.requests) == count

    ffmpeg = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
         "-t", "1", "-c:v", "libx264", "-bf", "0", "-g", "15", "-pix_fmt", "yuv420p", "-f", "flv",
         f"rtmp://127.0.0.1:{server.rtmp_port}/standup/pirate?token=rtmp-token"],
        capture_output=True, text=True, timeout=30)
    assert ffmpeg.returncode != 0, ffmpeg.stderr
    assert backend.asked(action="publish", name="pirate", protocol="rtmp", room="standup", token="rtmp-token")
    wait_for(lambda: "pirate may not publish" in server.log_path.read_text(), what="the RTMP refusal in the log")


def test_every_request_was_signed_and_counted(server, backend):
    hook = server.health()["auth"]["hook"]
    with backend.lock:
        answered = len(backend.requests)
        assert answered > 0 and backend.bad == [], backend.bad
    assert hook["allowed"] + hook["refused"] + hook["failed"] == answered, (hook, answered)
    assert hook["allowed"] > 0 and hook["refused"] > 0 and hook["failed"] >= 2, hook


def test_with_tokens_the_backend_is_asked_about_the_tokens_subject(backend):
    server, stop = start_parley("auth-hook-jwt", extra_args=[
        "--auth", "jwt", "--auth-key", f"app={TOKEN_KEY}",
        "--auth-hook-url", f"http://127.0.0.1:{backend.server_port}/authorize", "--auth-hook-secret", SECRET])
    try:
        token = jwt.encode({"sub": "dave", "exp": int(time.time()) + 600, "video": {"roomJoin": True}}, TOKEN_KEY,
                           algorithm="HS256", headers={"kid": "app"})
        dave = ProtocolClient(server)
        assert dave.request("connect", username="mallory", token=token)["result"]["username"] == "dave"
        assert backend.asked(action="connect", name="dave", token=token)
        assert error(dave.request("join", room="closed"))["code"] == "forbidden"
        assert dave.request("join", room="standup")["ok"]
        # A token that does not verify never reaches the backend.
        count = len(backend.requests)
        assert error(ProtocolClient(server).request("connect", token="forged"))["code"] == "unauthorized"
        assert len(backend.requests) == count
        dave.close()
    finally:
        stop()


def test_an_unreachable_backend_refuses_everyone():
    server, stop = start_parley("auth-hook-down", extra_args=["--auth-hook-url", f"http://127.0.0.1:{free_port()}/"])
    try:
        reply = ProtocolClient(server).request("connect", username="alice")
        assert error(reply)["code"] == "forbidden" and "not reachable" in error(reply)["message"], reply
        assert server.health()["auth"]["hook"] == {"allowed": 0, "refused": 0, "failed": 1}
    finally:
        stop()
