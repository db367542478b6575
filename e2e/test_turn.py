"""TURN hand-out with a real coturn: Parley gives each session coturn REST credentials (--turn-url, --turn-secret);
two Chromiums forced to relay (iceTransportPolicy: 'relay') publish and play through coturn, over UDP and over
`turns:` (TLS on 443, for networks that let only HTTPS out); coturn checks the credentials with the shared secret
alone."""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import OUTPUT, free_port, start_parley, stop_process, wait_for
from test_sfu_browser import PLAY, PUBLISH, SETUP, STATS, has, join

SECRET = "e2e-coturn-static-auth-secret"
# turns: on 443 (the tests run as root, as make test does on its Debian machine).
TLS_PORT = 443

# The selected candidate pair of a stream's connection: the local candidate's type and the remote address.
SELECTED = """
const [name] = arguments;
return (async () => {
  const stats = await window.__streams[name].getPeerConnection().getStats();
  let pair = null;
  stats.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  return { local: local.candidateType, relayProtocol: local.relayProtocol || null, remote: remote.address + ':' + remote.port };
})();
"""


def _answers_stun(port):
    """A STUN Binding request (RFC 5389) to coturn gets an answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, os.urandom(12)), ("127.0.0.1", port))
        try:
            return len(s.recv(2048)) >= 20
        except OSError:
            return False


# The relay candidates a connection gathers with the session's TURN servers (coturn refuses bad credentials).
GATHER = """
return (async () => {
  const pc = new RTCPeerConnection(window.__session._iceConfiguration());
  pc.createDataChannel('probe');
  const relays = [];
  pc.onicecandidate = (e) => { if (e.candidate && e.candidate.type === 'relay') relays.push(e.candidate.address); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === 'complete') return done();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') done(); };
    setTimeout(done, 8000);
  });
  pc.close();
  return relays;
})();
"""


@pytest.fixture
def coturn():
    if not shutil.which("turnserver"):
        pytest.fail("coturn is missing: make test installs it (apt-get install coturn)")
    port, low = free_port(), 49160
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log_path = OUTPUT / "coturn.log"
    log = open(log_path, "w")
    # TURN over TLS on 443, as for networks that only let HTTPS out: a self-signed certificate for 127.0.0.1.
    tls = Path(tempfile.mkdtemp(prefix="coturn-tls-"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(tls / "key.pem"), "-out", str(tls / "cert.pem")], check=True, capture_output=True)
    # Loopback only; loopback peers allowed for this test (coturn refuses them by default, rightly).
    process = subprocess.Popen(
        ["turnserver", "-n", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", str(port),
         "--tls-listening-port", str(TLS_PORT), "--cert", str(tls / "cert.pem"), "--pkey", str(tls / "key.pem"),
         "--use-auth-secret", f"--static-auth-secret={SECRET}", "--realm", "parley.test", "--allow-loopback-peers",
         "--no-cli", "--no-dtls", "--min-port", str(low), "--max-port", str(low + 40),
         "--log-file", "stdout", "--simple-log", "--pidfile", tempfile.mktemp(prefix="coturn-", suffix=".pid")],
        stdout=log, stderr=subprocess.STDOUT)
    wait_for(lambda: process.poll() is not None or _answers_stun(port), timeout=20, what="coturn answering STUN")
    assert process.poll() is None, f"coturn exited with {process.returncode}: " + log_path.read_text()[-1500:]
    yield port, log_path
    stop_process(process)
    log.close()


@pytest.mark.parametrize("transport", ["udp", "tls"])
def test_two_browsers_forced_to_relay_call_through_coturn(request, coturn, browser_factory, transport):
    port, _ = coturn
    url = f"turn:127.0.0.1:{port}?transport=udp" if transport == "udp" else f"turns:127.0.0.1:{TLS_PORT}?transport=tcp"
    server, stop = start_parley(request.node.name, extra_args=["--turn-url", url, "--turn-secret", SECRET])
    try:
        # The TURN server's certificate is self-signed, and Chromium checks it (without this flag it finds no relay).
        flags = ["--ignore-certificate-errors"] if transport == "tls" else []
        alice, bob = browser_factory(extra_flags=flags), browser_factory(extra_flags=flags)
        join(server.base, server.ws_url, "turn-room", ((alice, "alice"), (bob, "bob")), {"iceTransportPolicy": "relay"})
        alice.execute_script(PUBLISH, "camera", {"audio": True, "video": True})
        wait_for(has(alice, "camera PUBLISHING"), timeout=20, what="alice publishing through the relay")
        wait_for(has(bob, "PUBLISHED alice camera"), what="bob told of alice's camera")
        bob.execute_script(PLAY, "alice", "camera")
        wait_for(has(bob, "play camera PLAYING"), timeout=20, what="bob playing through the relay")
        wait_for(lambda: bob.execute_script(STATS, "camera")["videoFramesDecoded"] > 30, timeout=20,
                 what="bob decoding alice's video")
        for driver in (alice, bob):
            pair = driver.execute_script(SELECTED, "camera")
            assert pair and pair["local"] == "relay" and pair["relayProtocol"] == transport, pair
        # A relay candidate exists only after coturn accepted the session's credentials (its log is buffered).
        assert set(alice.execute_script(GATHER)) == {"127.0.0.1"}
    finally:
        stop()


def test_credentials_made_with_another_secret_get_no_relay(request, coturn, browser_factory):
    port, _ = coturn
    server, stop = start_parley(request.node.name, extra_args=[
        "--turn-url", f"turn:127.0.0.1:{port}?transport=udp", "--turn-secret", "not-the-coturn-secret"])
    try:
        driver = browser_factory()
        driver.get(server.base + "/")
        driver.execute_script(SETUP, server.ws_url, "mallory", "turn-room", {"iceTransportPolicy": "relay"})
        wait_for(has(driver, "STATE"), what="in the room")
        assert driver.execute_script(GATHER) == []
    finally:
        stop()
