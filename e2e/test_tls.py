"""HTTPS and WSS on the same port: with --tls-self-signed the apps, /health and signaling are served over TLS
(what a phone on the same network needs for its camera); a browser that accepts the certificate joins a room."""
import asyncio
import json
import os
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import websockets

from conftest import OUTPUT, REPO, free_port, wait_for


def insecure():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_self_signed_tls_serves_pages_and_signaling(browser_factory):
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    binary = binary if binary.is_absolute() else REPO / binary
    port = free_port()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with open(OUTPUT / "server-tls.log", "w") as log:
        process = subprocess.Popen([str(binary), "--host", "127.0.0.1", "--port", str(port), "--media-port", "0",
                                    "--announced-ip", "127.0.0.1", "--tls-self-signed", "--web-root", str(REPO / "Web")],
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            def health():
                try:
                    with urllib.request.urlopen(f"https://127.0.0.1:{port}/health", context=insecure(), timeout=2) as r:
                        return json.load(r)["status"] == "ok"
                except OSError:
                    return False
            wait_for(health, timeout=30, what="/health over HTTPS")

            # The certificate names the announced address.
            pem = ssl.get_server_certificate(("127.0.0.1", port))
            assert "BEGIN CERTIFICATE" in pem

            async def signaling():
                async with websockets.connect(f"wss://127.0.0.1:{port}/ws", ssl=insecure()) as ws:
                    await ws.send(json.dumps({"id": 1, "type": "connect", "username": "tls"}))
                    return json.loads(await asyncio.wait_for(ws.recv(), 5))
            reply = asyncio.run(signaling())
            assert reply["ok"] is True and reply["result"]["username"] == "tls"

            # Plain HTTP on the TLS port is refused rather than answered in clear, and without an error in the log
            # (anyone could fill it so): a broken-off connection is logged at debug.
            for _ in range(3):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                    assert False, "plain HTTP was answered"
                except Exception:
                    pass
            time.sleep(0.5)
            errors = [line for line in (OUTPUT / "server-tls.log").read_text().splitlines() if " error " in line]
            assert errors == [], errors

            # A browser that accepts the certificate loads the SDK over HTTPS and joins over WSS.
            driver = browser_factory(extra_flags=["--ignore-certificate-errors"])
            driver.get(f"https://127.0.0.1:{port}/")
            joined = driver.execute_script("""
                return (async () => {
                  const { Parley, ROOM_EVENT } = await import('/sdk/parley.js');
                  const session = Parley.roomApi.connect({ urlServer: `wss://${location.host}/ws`, username: 'phone' });
                  return await new Promise((resolve) => session.join({ name: 'tls-room' })
                    .on(ROOM_EVENT.STATE, (room) => resolve(room.name())));
                })();""")
            assert joined == "tls-room"
        finally:
            process.terminate()
            process.wait(timeout=10)
