"""The admin API and /metrics on their own listener: list, inspect, message, kick and close rooms, recordings and
drain, with the admin key or access tokens (PyJWT) carrying LiveKit's roomList/roomAdmin; the metrics pass
`promtool check metrics`."""
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import jwt
import pytest

from conftest import ProtocolClient, free_port, start_parley, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # websockets: sync connect outside a with block

ADMIN_KEY = "e2e-admin-key-0123456789"
SECRET = "e2e-parley-access-token-secret-0123456789"


def token(sub, **video):
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 600, "video": {"roomJoin": True, **video}}, SECRET,
                      algorithm="HS256", headers={"kid": "app"})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    admin, records = free_port(), tmp_path_factory.mktemp("records")
    (records / "standup-alice-20261206-120000.webm").write_bytes(b"x" * 1000)
    (records / "standup-bob-20261206-120500.mkv").write_bytes(b"x" * 10)
    server, stop = start_parley("admin-api", extra_args=[
        "--admin-port", str(admin), "--admin-key", ADMIN_KEY, "--auth", "jwt", "--auth-key", f"app={SECRET}",
        "--rtmp-port", "0", "--record-dir", str(records)])
    # Written after the start (one there at the start is a crash's leftover, which the server completes).
    (records / "being-written.webm.part").write_bytes(b"x")
    server.admin = f"http://127.0.0.1:{admin}"
    yield server
    stop()


def call(server, method, path, bearer=ADMIN_KEY, body=None):
    request = urllib.request.Request(server.admin + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"} if body is not None else {})
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text and r.headers.get("Content-Type", "").startswith("application/json") else text)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def participant(server, name, room):
    """A participant of `room` with a token for it."""
    client = ProtocolClient(server)
    assert client.request("connect", token=token(name, room=room))["ok"]
    assert client.request("join", room=room)["ok"]
    return client


def test_the_admin_key_or_a_token_is_needed(server):
    assert call(server, "GET", "/admin/v1/rooms", bearer=None)[0] == 401
    assert call(server, "GET", "/admin/v1/rooms", bearer="wrong-key-wrong-key")[0] == 401
    assert call(server, "GET", "/admin/v1/rooms", bearer=token("viewer"))[0] == 403
    assert call(server, "GET", "/admin/v1/rooms", bearer=token("ops", roomList=True))[0] == 200
    assert call(server, "GET", "/metrics", bearer=token("ops", roomList=True))[0] == 401


def test_rooms_are_listed_inspected_messaged_kicked_and_closed(server):
    alice, bob, carol = (participant(server, "alice", "standup"), participant(server, "bob", "standup"),
                        participant(server, "carol", "retro"))
    status, body = call(server, "GET", "/admin/v1/rooms")
    assert status == 200 and body["rooms"] == [
        {"name": "retro", "maxParticipants": 10, "participants": 1, "streams": 0},
        {"name": "standup", "maxParticipants": 10, "participants": 2, "streams": 0}], body
    status, room = call(server, "GET", "/admin/v1/rooms/standup")
    assert status == 200 and [p["name"] for p in room["participants"]] == ["alice", "bob"], room
    assert call(server, "GET", "/admin/v1/rooms/nowhere")[0] == 404

    # A room admin of one room only, by token.
    standup_admin = token("lead", room="standup", roomAdmin=True)
    assert call(server, "GET", "/admin/v1/rooms/standup", bearer=standup_admin)[0] == 200
    assert call(server, "GET", "/admin/v1/rooms/retro", bearer=standup_admin)[0] == 403

    status, body = call(server, "POST", "/admin/v1/rooms/standup/messages", body={"text": "Wrapping up in 5 minutes"},
                        bearer=standup_admin)
    assert status == 201 and body["message"]["from"] == "", body
    for member in (alice, bob):
        event = member.until(lambda f: f.get("event") == "message")
        assert event["text"] == "Wrapping up in 5 minutes" and event["from"] == "", event

    # Kick bob: alice hears him leave, kicked; his socket is closed with 4003 (the SDK does not reconnect).
    assert call(server, "DELETE", "/admin/v1/rooms/standup/participants/bob")[0] == 204
    left = alice.until(lambda f: f.get("event") == "left")
    assert left["participant"]["name"] == "bob" and left["reason"] == "kicked", left
    assert bob.close_code() == 4003
    assert call(server, "DELETE", "/admin/v1/rooms/standup/participants/bob")[0] == 404

    # Close the retro: carol is removed, the room is gone.
    status, body = call(server, "DELETE", "/admin/v1/rooms/retro")
    assert status == 200 and body == {"removed": 1}
    assert carol.close_code() == 4003
    wait_for(lambda: [r["name"] for r in call(server, "GET", "/admin/v1/rooms")[1]["rooms"]] == ["standup"],
             what="the retro gone")
    alice.close()


def test_metrics_pass_promtool(server):
    status, text = call(server, "GET", "/metrics")
    assert status == 200 and "parley_rooms " in text and 'parley_media_datagrams_total{direction="in"}' in text, text[:500]
    assert 'parley_info{version="' in text and "parley_auth_failures_total" in text
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: make test installs it (apt-get install prometheus)"
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0 and not checked.stdout.strip() and not checked.stderr.strip(), (checked.stdout, checked.stderr)


def test_finished_recordings_are_listed(server):
    status, body = call(server, "GET", "/admin/v1/recordings")
    assert status == 200, body
    assert sorted((r["name"], r["bytes"]) for r in body["recordings"]) == [
        ("standup-alice-20261206-120000.webm", 1000), ("standup-bob-20261206-120500.mkv", 10)], body
    assert call(server, "GET", "/admin/v1/recordings", bearer=token("viewer"))[0] == 403


def test_drain_through_the_api():
    admin = free_port()
    server, stop = start_parley("admin-drain", extra_args=["--admin-port", str(admin), "--drain-timeout", "30",
                                                           "--rtmp-port", "0"])
    server.admin = f"http://127.0.0.1:{admin}"
    try:
        status, body = call(server, "POST", "/admin/v1/drain", bearer=None)
        assert status == 202 and body == {"draining": True, "timeoutSeconds": 30}, body
        server.process.wait(timeout=15)  # no rooms: the drain ends at once, then the server stops
        assert server.process.returncode == 0
    finally:
        stop()
