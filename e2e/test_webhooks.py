"""Webhooks (--webhook-url, --webhook-secret) to a real HTTP receiver that checks every signature: a room's life
with a browser-less member (Parley's protocol) and an RTMP encoder (ffmpeg) that publishes with recording; the
receiver fails the first delivery, which is retried."""
import hashlib
import hmac
import json
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ProtocolClient, free_port, start_parley, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # websockets: sync connect outside a with block

SECRET = "e2e-webhook-secret"


class Receiver(ThreadingHTTPServer):
    """Collects webhook POSTs; answers 500 to the first one (the sender must retry)."""

    def __init__(self):
        self.events, self.bad, self.requests = [], [], 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests += 1
                    first = receiver.requests == 1
                    signature = dict(part.split("=", 1) for part in self.headers.get("Parley-Signature", "").split(","))
                    expected = hmac.new(SECRET.encode(), f"{signature.get('t')}.".encode() + body, hashlib.sha256).hexdigest()
                    if not hmac.compare_digest(signature.get("v1", ""), expected) or abs(time.time() - int(signature["t"])) > 300:
                        receiver.bad.append((dict(self.headers), body))
                    elif not first:
                        receiver.events.append(json.loads(body))
                self.send_response(500 if first else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def names(self):
        with self.lock:
            return [e["event"] for e in sorted(self.events, key=lambda e: e["createdAt"])]


def test_a_rooms_life_is_posted_signed_and_retried(tmp_path):
    receiver = Receiver()
    admin = free_port()
    server, stop = start_parley("webhooks", extra_args=[
        "--webhook-url", f"http://127.0.0.1:{receiver.server_port}/hooks", "--webhook-secret", SECRET,
        "--admin-port", str(admin), "--record-dir", str(tmp_path)])
    try:
        alice = ProtocolClient(server)
        alice.request("connect", username="alice")
        assert alice.request("join", room="standup")["ok"]
        ffmpeg = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
             "-f", "lavfi", "-i", "sine=frequency=440", "-t", "3", "-c:v", "libx264", "-bf", "0", "-g", "15",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv",
             f"rtmp://127.0.0.1:{server.rtmp_port}/standup/obs?record=true"],
            stderr=subprocess.PIPE, text=True)

        def metric(name):
            with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
                lines = [line for line in r.read().decode().splitlines() if line.startswith(name + " ")]
            return float(lines[0].split()[1]) if lines else None

        # While the encoder publishes, the metrics count it.
        wait_for(lambda: metric("parley_rtmp_publishers") == 1 and metric("parley_rtmp_connections") == 1,
                 timeout=10, what="the RTMP encoder in the metrics")
        _, errors = ffmpeg.communicate(timeout=30)
        assert ffmpeg.returncode == 0, errors
        wait_for(lambda: "recording_finished" in receiver.names(), timeout=15, what=f"the recording's event ({receiver.names()})")
        alice.close()
        # Deliveries run side by side, and the refused one comes again a second later: wait for all nine.
        wait_for(lambda: "room_finished" in receiver.names() and len(receiver.names()) >= 9, timeout=15,
                 what=f"the room's end and every event before it ({receiver.names()})")
        assert receiver.bad == [], receiver.bad
        names = receiver.names()
        assert sorted(names) == sorted(["room_started", "participant_joined", "participant_joined", "track_published",
                                        "track_unpublished", "participant_left", "recording_finished",
                                        "participant_left", "room_finished"]), names
        events = {e["event"] + ":" + (e.get("participant") or {}).get("name", ""): e for e in receiver.events}
        times = [e["createdAt"] for e in receiver.events]
        assert events["room_started:"]["createdAt"] == min(times) and events["room_finished:"]["createdAt"] == max(times)
        assert events["track_published:obs"]["track"]["video"] is True and events["track_published:obs"]["room"]["name"] == "standup"
        assert events["track_unpublished:obs"]["reason"] in ("unpublished", "left"), events["track_unpublished:obs"]
        assert events["participant_left:alice"]["reason"] == "disconnected"
        recording = events["recording_finished:"]["recording"]
        assert recording["outcome"] == "finished" and (tmp_path / recording["name"]).exists(), recording
        assert len({e["id"] for e in receiver.events}) == len(receiver.events), "ids are unique"
        # The first POST was refused and retried: every event arrived once, and the metrics say so.
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        assert f'parley_webhook_deliveries_total{{outcome="delivered"}} {len(receiver.events)}' in metrics, metrics[-800:]
        assert 'parley_webhook_deliveries_total{outcome="failed"} 0' in metrics
    finally:
        stop()
        receiver.shutdown()
