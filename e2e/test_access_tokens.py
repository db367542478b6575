"""Access tokens (--auth jwt) with tokens minted by an independent library (PyJWT), through every door: Parley's
protocol, the SDK in Chromium, the WCS adapter, WHIP/WHEP (Authorization: Bearer) and RTMP (?token= with ffmpeg)."""
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import REPO, post_sdp, ProtocolClient, protocol_socket, start_parley, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # websockets: sync connect outside a with block

SECRET = "e2e-parley-access-token-secret-0123456789"
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OFFER = (REPO / "Tests" / "SDPTests" / "Fixtures" / "chrome-sendonly.sdp").read_text()


def token(sub="alice", key=SECRET, alg="HS256", kid="app", ttl=600, **claims):
    video = {"room": "abc", "roomJoin": True}
    video.update(claims.pop("video", {}))
    payload = {"sub": sub, "exp": int(time.time()) + ttl, "video": video, **claims}
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pem = tmp_path_factory.mktemp("keys") / "ec1.pem"
    pem.write_bytes(EC_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    server, stop = start_parley("access-tokens", extra_args=[
        "--auth", "jwt", "--auth-key", f"app={SECRET}", "--auth-public-key", f"ec1={pem}"])
    yield server
    stop()


def error(reply):
    return (reply.get("error") or {}).get("code")


@pytest.mark.parametrize("name,make,why", [
    ("none", lambda: None, "needs an access token"),
    ("expired", lambda: token(ttl=-3600), "expired"),
    ("not yet valid", lambda: token(nbf=int(time.time()) + 3600), "not valid yet"),
    ("wrong key", lambda: token(key="another-secret-that-is-long-enough-000000"), "signature"),
    ("unknown kid", lambda: token(kid="nope"), "names no key"),
    ("alg none", lambda: jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, None, algorithm="none",
                                    headers={"kid": "app"}), "signature"),
    ("no exp", lambda: jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256", headers={"kid": "app"}), "'exp'"),
])
def test_connect_refuses_a_bad_token_and_closes_the_socket(server, name, make, why):
    client = ProtocolClient(server, source=f"127.0.1.{len(name)}")  # not the address the other tests use: no slowing
    fields = {"username": "alice"}
    if (t := make()) is not None:
        fields["token"] = t
    reply = client.request("connect", **fields)
    assert error(reply) == "unauthorized" and why in reply["error"]["message"], (name, reply)
    assert client.close_code() == 4401, name


def test_a_valid_token_names_the_user_and_its_grants_decide(server):
    alice = ProtocolClient(server)
    reply = alice.request("connect", username="mallory", token=token("alice", video={"canPublish": False}))
    assert reply["ok"] and reply["result"]["username"] == "alice", reply
    wrong_room = alice.request("join", room="other")
    assert error(wrong_room) == "forbidden" and "'abc'" in wrong_room["error"]["message"], wrong_room
    assert alice.request("join", room="abc")["ok"]
    assert error(alice.request("publish", room="abc", sdp=OFFER)) == "forbidden"
    assert alice.request("message", room="abc", text="hi")["ok"]

    # An ES256 token (a public key on the server); it may publish, not play or chat.
    bob = ProtocolClient(server)
    assert bob.request("connect", username="bob", token=token("bob", key=EC_KEY, alg="ES256", kid="ec1",
                       video={"canSubscribe": False, "canPublishData": False}))["ok"]
    assert bob.request("join", room="abc")["ok"]
    published = bob.request("publish", room="abc", sdp=OFFER)
    assert published["ok"], published
    assert error(bob.request("play", room="abc", stream=published["result"]["stream"], sdp=OFFER)) == "forbidden"
    assert error(bob.request("message", room="abc", text="hi")) == "forbidden"
    assert error(bob.request("publish", room="abc", sdp=OFFER, record=True)) == "forbidden"

    nojoin = ProtocolClient(server)
    assert nojoin.request("connect", username="x", token=token("carol", video={"roomJoin": False}))["ok"]
    assert error(nojoin.request("join", room="abc")) == "forbidden"
    for client in (alice, bob, nojoin):
        client.close()
    wait_for(lambda: server.health()["sessions"] == 0, what="the sessions gone")


def test_the_wcs_adapter_takes_the_token_from_custom_token(server):
    def connection(custom):
        ws = protocol_socket(server, path="/", source="127.0.2.1")
        ws.send(json.dumps({"message": "connection", "data": [{"appKey": "roomApp", "mediaProviders": ["WebRTC"],
                                                                 "custom": custom}]}))
        return ws, json.loads(ws.recv(timeout=5))

    ws, frame = connection({"login": "mallory", "token": token("dave")})
    assert frame["message"] == "getUserData" and frame["data"][0]["login"] == "dave", frame
    ws.close()
    ws, frame = connection({"login": "mallory", "token": token(ttl=-3600)})
    assert frame["message"] == "fail" and frame["data"][0]["info"].startswith("unauthorized"), frame
    with pytest.raises(Exception):
        ws.recv(timeout=5)
    assert ws.close_code == 4401


def _post(server, path, bearer=None, body=OFFER):
    return post_sdp(server, path, body, bearer)


def test_whip_and_whep_need_a_bearer_token(server):
    status, headers, body = _post(server, "/whip/abc/erin")
    assert status == 401 and headers.get("WWW-Authenticate") == "Bearer", (status, body)
    assert _post(server, "/whip/abc/erin", bearer=token("erin", ttl=-3600))[0] == 401
    status, _, body = _post(server, "/whip/abc/erin", bearer=token("frank"))
    assert status == 403 and "publishes as 'frank'" in body, body
    assert _post(server, "/whip/other/erin", bearer=token("erin"))[0] == 403
    assert _post(server, "/whep/abc/erin", bearer=token("gina", video={"canSubscribe": False}))[0] == 403
    status, headers, body = _post(server, "/whip/abc/erin", bearer=token("erin"))
    assert status == 201, (status, body)
    delete = urllib.request.Request(server.base + headers["Location"], method="DELETE")
    with urllib.request.urlopen(delete, timeout=5) as response:
        assert response.status == 200


def _ffmpeg(server, url_tail, seconds=3):
    url = f"rtmp://127.0.0.1:{server.rtmp_port}/{url_tail}"
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
         "-f", "lavfi", "-i", "sine=frequency=440", "-t", str(seconds), "-c:v", "libx264", "-bf", "0", "-g", "15",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", url],
        capture_output=True, text=True, timeout=30)


def test_rtmp_takes_the_token_from_the_url(server):
    refused = _ffmpeg(server, f"abc/obs?token={token('obs', ttl=-60)}", seconds=1)
    assert refused.returncode != 0, refused.stderr
    wrong_name = _ffmpeg(server, f"abc/obs?token={token('someone')}", seconds=1)
    assert wrong_name.returncode != 0, wrong_name.stderr
    log = server.log_path.read_text()
    assert "The token has expired" in log and "publishes as 'someone', not 'obs'" in log

    # A valid token for its name: ffmpeg publishes into the room until it ends.
    result = {}
    thread = threading.Thread(target=lambda: result.update(run=_ffmpeg(server, f"abc/obs?token={token('obs')}", seconds=5)))
    thread.start()
    try:
        wait_for(lambda: server.health()["streams"] >= 1, timeout=15, what="the RTMP publish in the room")
    finally:
        thread.join(timeout=30)
    assert result["run"].returncode == 0, result["run"].stderr


SDK = """
const [wsUrl, good, bad] = arguments;
return (async () => {
  const { Parley, SESSION_STATUS, ROOM_EVENT, STREAM_STATUS } = await import('/sdk/parley.js');
  const log = (window.__log = []);
  const refused = Parley.roomApi.connect({ urlServer: wsUrl, username: 'x', token: bad });
  refused.on(SESSION_STATUS.FAILED, (_s, info) => log.push('refused ' + info.code));
  const session = Parley.roomApi.connect({ urlServer: wsUrl, username: 'x', token: async () => good });
  session.on(SESSION_STATUS.ESTABLISHED, (s) => log.push('ESTABLISHED ' + s.username()));
  const room = session.join({ name: 'abc' }).on(ROOM_EVENT.STATE, () => {
    log.push('STATE');
    room.publish({ constraints: { audio: true, video: true } })
      .on(STREAM_STATUS.FAILED, (_s, info) => log.push('publish ' + info.code));
  });
  return true;
})();
"""


def test_the_sdk_in_chromium_connects_with_a_token_and_reports_refusals(server, browser_factory):
    driver = browser_factory()
    driver.get(server.base + "/")
    driver.execute_script(SDK, server.ws_url, token("helen", video={"canPublish": False}), token(ttl=-3600))
    log = lambda: driver.execute_script("return window.__log")
    wait_for(lambda: {"refused unauthorized", "ESTABLISHED helen", "STATE", "publish forbidden"} <= set(log()),
             what=f"the SDK's statuses ({log()})")


def test_a_wcs_client_in_chromium_connects_and_publishes_with_its_token(server, browser_factory):
    """The WCS client of test_wcs_browser.py (the WebSDK's wire behaviour) with custom.token: the token's subject
    is its login, its grant decides the publish; a bad token is refused and the socket closed."""
    from test_wcs_browser import WCS_CLIENT, has, wcs_log
    url = f"ws://127.0.0.1:{server.port}"
    good, viewer, bad = browser_factory(), browser_factory(), browser_factory()
    for driver in (good, viewer, bad):
        driver.get(server.base + "/")
    good.execute_script(WCS_CLIENT, url, "roomApp", "ignored", token("ivan"))
    viewer.execute_script(WCS_CLIENT, url, "roomApp", "ignored", token("judy", video={"canPublish": False}))
    bad.execute_script(WCS_CLIENT, url, "roomApp", "ignored", token("mallory", ttl=-3600))
    wait_for(has(wcs_log, good, "ESTABLISHED ivan"), what="ivan's WCS session, named by the token")
    wait_for(has(wcs_log, viewer, "ESTABLISHED judy"), what="judy's WCS session")
    wait_for(has(wcs_log, bad, "DISCONNECTED 4401"), what=f"the expired token refused ({wcs_log(bad)})")
    assert any(e.startswith("FAIL unauthorized") for e in wcs_log(bad)), wcs_log(bad)
    publish = """
        return navigator.mediaDevices.getUserMedia({audio: true, video: true})
          .then((m) => window.__wcs.stream('publishStream', 'abc', arguments[0], m)).then(() => true);"""
    for driver in (good, viewer):
        assert driver.execute_script("return window.__wcs.sendData({command: 'join', options: {name: 'abc'}})")["status"] == "ACCEPTED"
    good.execute_script(publish, "abc-ivan-cam")
    viewer.execute_script(publish, "abc-judy-cam")
    wait_for(has(wcs_log, good, "abc-ivan-cam PUBLISHING"), timeout=20, what="ivan publishing")
    wait_for(has(wcs_log, viewer, "abc-judy-cam FAILED"), what=f"judy's publish refused ({wcs_log(viewer)})")


def test_only_the_servers_own_pages_may_open_a_websocket_when_tokens_are_on(server):
    before = server.health()["auth"]["originRefused"]
    with pytest.raises(Exception):
        protocol_socket(server, origin="https://evil.example")
    protocol_socket(server, origin=f"http://127.0.0.1:{server.port}").close()  # its own page
    protocol_socket(server).close()  # no Origin: not a browser
    assert server.health()["auth"]["originRefused"] == before + 1


def test_refused_tokens_are_counted_and_an_address_past_ten_is_slowed():
    server, stop = start_parley("access-tokens-slowed", extra_args=["--auth", "jwt", "--auth-key", f"app={SECRET}",
                                                                    "--allowed-origin", "https://app.example"])
    try:
        times = []
        for _ in range(12):
            started = time.monotonic()
            assert error(ProtocolClient(server, source="127.0.3.1").request("connect", token=token(ttl=-60))) == "unauthorized"
            times.append(time.monotonic() - started)
        assert max(times[:10]) < 1.0 and min(times[10:]) >= 2.0, times
        started = time.monotonic()
        assert ProtocolClient(server, source="127.0.3.2").request("connect", token=token())["ok"], "another address"
        assert time.monotonic() - started < 1.0
        auth = server.health()["auth"]
        assert auth["failures"] == 12 and auth["slowed"] == 2, auth
        # An explicit allow-list: that origin only (its own page is not on it).
        protocol_socket(server, origin="https://app.example").close()
        with pytest.raises(Exception):
            protocol_socket(server, origin=f"http://127.0.0.1:{server.port}")
    finally:
        stop()
