#!/usr/bin/env python3
"""Regenerates the chrome-*.sdp fixtures from Debian's headless Chromium.

Run as root inside a private network namespace so ICE gathering sees only a dummy interface:
  unshare -n sh -c 'ip link set lo up && ip link add v0 type veth peer name v1 &&
    ip addr add 10.77.0.1/24 dev v0 && ip link set v0 up && ip link set v1 up &&
    ip route add default dev v0 && exec python3 generate_chrome.py OUTDIR'
Needs: apt chromium chromium-driver, pip selenium.
"""
import http.server, os, shutil, sys, tempfile, threading
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

PAGE = b"""<!doctype html><meta charset=utf-8><title>offer</title><script>
async function offer(kind) {
  const pc = new RTCPeerConnection({iceServers: []});
  const needs = {sendrecv: {audio: true, video: true}, sendonly: {audio: true, video: true},
                 audioonly: {audio: true}, datachannel: {audio: true, video: true},
                 simulcast: {video: true}}[kind];
  const stream = needs ? await navigator.mediaDevices.getUserMedia(needs) : null;
  if (kind === 'sendrecv' || kind === 'audioonly' || kind === 'datachannel')
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
  if (kind === 'datachannel') pc.createDataChannel('chat');
  if (kind === 'sendonly')
    for (const t of stream.getTracks()) pc.addTransceiver(t, {direction: 'sendonly', streams: [stream]});
  if (kind === 'recvonly') { pc.addTransceiver('audio', {direction: 'recvonly'});
                             pc.addTransceiver('video', {direction: 'recvonly'}); }
  if (kind === 'simulcast')
    pc.addTransceiver(stream.getVideoTracks()[0], {direction: 'sendonly', streams: [stream],
      sendEncodings: [{rid: 'q', scaleResolutionDownBy: 4}, {rid: 'h', scaleResolutionDownBy: 2}, {rid: 'f'}]});
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
tmp = tempfile.mkdtemp(prefix="sdpgen"); os.environ["TMPDIR"] = tmp
opts = webdriver.ChromeOptions(); opts.binary_location = "/usr/bin/chromium"
for f in ["--headless=new", "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
          "--disable-features=WebRtcHideLocalIpsWithMdns", "--no-first-run", "--disable-dev-shm-usage"]:
    opts.add_argument(f)
d = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=opts)
try:
    d.get(f"http://127.0.0.1:{srv.server_address[1]}/")
    print("browser:", d.capabilities.get("browserVersion"))
    for kind in ["sendrecv", "sendonly", "recvonly", "audioonly", "datachannel", "simulcast"]:
        sdp = d.execute_script(f"return offer('{kind}')")
        path = os.path.join(OUT, f"chrome-{kind}.sdp")
        with open(path, "w", newline="") as fh: fh.write(sdp)
        print(path, len(sdp.splitlines()), "lines")
finally:
    d.quit(); srv.shutdown(); shutil.rmtree(tmp, ignore_errors=True)
