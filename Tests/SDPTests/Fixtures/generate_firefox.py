#!/usr/bin/env python3
"""Regenerates the firefox-*.sdp fixtures from Debian's headless firefox-esr via Marionette.

Run in the same private network namespace as generate_chrome.py (see there).
Needs: apt firefox-esr, pip marionette-driver.
"""
import http.server, os, shutil, socket, subprocess, sys, tempfile, threading, time
from marionette_driver.marionette import Marionette

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

PAGE = b"""<!doctype html><meta charset=utf-8><title>offer</title><script>
async function offer(kind) {
  const pc = new RTCPeerConnection({iceServers: []});
  let stream = null;
  if (kind === 'sendrecv' || kind === 'sendonly') {
    stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
    for (const t of stream.getTracks())
      if (kind === 'sendrecv') pc.addTrack(t, stream);
      else pc.addTransceiver(t, {direction: 'sendonly', streams: [stream]});
  } else {
    pc.addTransceiver('audio', {direction: 'recvonly'});
    pc.addTransceiver('video', {direction: 'recvonly'});
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => { if (pc.iceGatheringState === 'complete') r();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); };
    setTimeout(r, 3000); });
  const sdp = pc.localDescription.sdp; pc.close();
  if (stream) stream.getTracks().forEach(t => t.stop());
  return sdp;
}
</script>"""

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Type", "text/html"); self.end_headers()
        self.wfile.write(PAGE)
    def log_message(self, *a): pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
prof = tempfile.mkdtemp(prefix="sdpff")
with open(os.path.join(prof, "user.js"), "w") as f:
    for k, v in [("media.navigator.streams.fake", "true"), ("media.navigator.permission.disabled", "true"),
                 ("media.autoplay.default", "0"), ("media.peerconnection.ice.obfuscate_host_addresses", "false"),
                 ("marionette.port", "0")]:
        f.write(f'user_pref("{k}", {v});\n')
proc = subprocess.Popen(["firefox-esr", "--headless", "--marionette", "--remote-allow-system-access", "--no-remote",
                         "--profile", prof], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    portfile = os.path.join(prof, "MarionetteActivePort")
    for _ in range(300):
        if os.path.exists(portfile) and open(portfile).read().strip(): break
        time.sleep(0.1)
    m = Marionette(host="127.0.0.1", port=int(open(portfile).read().strip()))
    m.start_session()
    print("browser:", m.session_capabilities.get("browserVersion"))
    m.navigate(f"http://127.0.0.1:{srv.server_address[1]}/")
    for kind in ["sendrecv", "sendonly", "recvonly"]:
        sdp = m.execute_async_script(f"const done = arguments[arguments.length - 1]; offer('{kind}').then(done, e => done('ERROR ' + e))",
                                     sandbox=None, script_timeout=20000)
        path = os.path.join(OUT, f"firefox-{kind}.sdp")
        with open(path, "w", newline="") as fh: fh.write(sdp)
        print(path, len(sdp.splitlines()), "lines")
    m.delete_session()
finally:
    proc.terminate(); proc.wait(10); srv.shutdown(); shutil.rmtree(prof, ignore_errors=True)
