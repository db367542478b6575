"""A Chromium call through a bad network (issue 17): every media packet, both ways, passes a relay (netem_relay.py)
that delays it 50 ms ± 20 ms and loses 5 %, then 10 %; then a 2-second outage and a 3-second burst of 20 % loss.
The viewer's video must keep decoding (no freeze over 1 s at 5 %), its NACKs be answered with retransmissions, its
audio conceal losses without a gap over 200 ms, the outage recover without a new join, and the burst end in a
recovery (NACKs or a keyframe request) rather than a stall. Figures go to e2e/output/bad-network.json (docs/ROBUSTNESS.md)."""
import json
import socket
import time

from conftest import OUTPUT, start_parley, wait_for
from netem_relay import NetemRelay
from test_sfu_browser import PLAY, PUBLISH, has, join, log_of

RELAY_IP = "127.0.0.2"

# Every 100 ms, the viewer's inbound video and audio counters and the publisher's outbound ones, kept in the page.
SAMPLER = """
const [name, role] = arguments;
window.__samples = [];
const pc = window.__streams[name].getPeerConnection();
window.__sampler = setInterval(async () => {
  const s = { t: performance.now() };
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') Object.assign(s, { frames: r.framesDecoded || 0,
      freezes: r.freezeCount || 0, freezeSeconds: r.totalFreezesDuration || 0, nacks: r.nackCount || 0,
      plis: r.pliCount || 0, rtx: r.retransmittedPacketsReceived || 0, videoLost: r.packetsLost || 0,
      keyframes: r.keyFramesDecoded || 0, bufferDelay: r.jitterBufferDelay || 0, bufferTarget: r.jitterBufferTargetDelay || 0,
      emitted: r.jitterBufferEmittedCount || 0 });
    if (r.type === 'inbound-rtp' && r.kind === 'audio') Object.assign(s, { concealed: r.concealedSamples || 0,
      samples: r.totalSamplesReceived || 0, concealments: r.concealmentEvents || 0, audioLost: r.packetsLost || 0 });
    if (r.type === 'outbound-rtp' && r.kind === 'video') Object.assign(s, { nacksIn: r.nackCount || 0,
      rtxSent: r.retransmittedPacketsSent || 0, plisIn: r.pliCount || 0, firsIn: r.firCount || 0 });
  });
  window.__samples.push(s);
}, 100);
return true;
"""


def free_port_pair():
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
            try:
                a.bind(("127.0.0.1", 0))
                port = a.getsockname()[1]
                if port >= 65535:
                    continue
                b.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no two consecutive free UDP ports")


def phase(samples, start, end):
    """Figures of the samples taken in [start, end) (page time, ms)."""
    inside = [s for s in samples if start <= s["t"] < end and "frames" in s]
    if len(inside) < 2:
        return {}
    first, last = inside[0], inside[-1]
    longest, since = 0.0, first["t"]
    for a, b in zip(inside, inside[1:]):
        if b["frames"] > a["frames"]:
            since = b["t"]
        longest = max(longest, (b["t"] - since) / 1000)
    # Audio: the longest run of 100 ms samples that were (almost) all concealment.
    gap, run = 0.0, 0.0
    for a, b in zip(inside, inside[1:]):
        received = b.get("samples", 0) - a.get("samples", 0)
        concealed = b.get("concealed", 0) - a.get("concealed", 0)
        run = run + (b["t"] - a["t"]) / 1000 if received > 0 and concealed >= 0.9 * received else 0.0
        gap = max(gap, run)
    delta = lambda key: last.get(key, 0) - first.get(key, 0)  # noqa: E731
    return {"seconds": round((last["t"] - first["t"]) / 1000, 1), "frames": delta("frames"),
            "longest_video_gap_s": round(longest, 2), "freeze_s": round(delta("freezeSeconds"), 2),
            "freezes": delta("freezes"), "nacks_sent": delta("nacks"), "retransmissions_received": delta("rtx"),
            "video_lost": delta("videoLost"), "plis_sent": delta("plis"), "keyframes": delta("keyframes"),
            # The viewer's video jitter buffer, mean per frame (ms): what it aimed at and what it held.
            "buffer_target_ms": round(1000 * delta("bufferTarget") / max(1, delta("emitted"))),
            "buffer_delay_ms": round(1000 * delta("bufferDelay") / max(1, delta("emitted"))),
            "audio_lost": delta("audioLost"), "audio_concealments": delta("concealments"),
            "audio_concealed_ms": round(delta("concealed") / 48), "longest_audio_gap_s": round(gap, 2)}


def sender_delta(samples, start, end, key):
    inside = [s for s in samples if start <= s["t"] < end and key in s]
    return inside[-1][key] - inside[0][key] if len(inside) >= 2 else 0


def test_a_call_through_a_lossy_jittery_link(browser_factory, busy_video):
    media = free_port_pair()
    relay = NetemRelay(RELAY_IP, [media, media + 1])
    relay.start()
    server, stop = start_parley("bad-network", announced_ip=RELAY_IP,
                                extra_args=["--media-port", str(media), "--media-loops", "2"])
    base, ws_url = server.base, server.ws_url
    try:
        alice, bob = browser_factory(video_file=busy_video), browser_factory()
        join(base, ws_url, "bad-network", ((alice, "alice"), (bob, "bob")))
        alice.execute_script(PUBLISH, "camera", {"audio": True, "video": True})
        wait_for(has(bob, "PUBLISHED alice camera"), timeout=20, what="bob told of alice's camera")
        bob.execute_script(PLAY, "alice", "camera")
        wait_for(has(bob, "play camera PLAYING"), timeout=20, what="bob playing")
        bob.execute_script(SAMPLER, "camera", "viewer")
        alice.execute_script(SAMPLER, "camera", "publisher")
        now = lambda driver: driver.execute_script("return performance.now()")  # noqa: E731
        wait_for(lambda: (bob.execute_script("return window.__samples.slice(-1)[0] || {}").get("frames") or 0) > 60,
                 timeout=20, what="bob decoding")

        marks = {}

        def run(name, seconds, **settings):
            relay.set(**settings)
            marks[name] = (now(bob), now(alice))
            time.sleep(seconds)
            marks[name] = marks[name] + (now(bob), now(alice))

        run("clean", 5, loss=0.0, delay=0.0, jitter=0.0)
        run("loss5_jitter", 15, loss=0.05, delay=0.05, jitter=0.02)
        run("loss10_jitter", 15, loss=0.10, delay=0.05, jitter=0.02)
        run("outage_2s", 2, loss=1.0)
        run("after_outage", 8, loss=0.0, delay=0.05, jitter=0.02)
        run("burst20", 3, loss=0.20)
        run("after_burst", 6, loss=0.0)

        viewer = bob.execute_script("return window.__samples")
        publisher = alice.execute_script("return window.__samples")
        figures = {}
        for name, (b0, a0, b1, a1) in marks.items():
            figures[name] = phase(viewer, b0, b1)
            figures[name]["publisher_nacks_received"] = sender_delta(publisher, a0, a1, "nacksIn")
            figures[name]["publisher_retransmissions"] = sender_delta(publisher, a0, a1, "rtxSent")
            figures[name]["publisher_plis_received"] = sender_delta(publisher, a0, a1, "plisIn") + sender_delta(publisher, a0, a1, "firsIn")
        figures["relay"] = {"forwarded": relay.forwarded, "dropped": relay.dropped}
        print("bad network:", json.dumps(figures, indent=1))
        (OUTPUT / "bad-network.json").write_text(json.dumps(figures, indent=2))

        five, ten = figures["loss5_jitter"], figures["loss10_jitter"]
        assert five["longest_video_gap_s"] < 1.0, five
        assert five["nacks_sent"] > 0 and five["retransmissions_received"] > 0, five
        assert five["publisher_nacks_received"] > 0, five  # the server asks the publisher for what it lost
        assert five["audio_concealments"] > 0 and five["longest_audio_gap_s"] <= 0.2, five
        # At 10 % the goal is under 0.5 s of freezes in 15 s; measured 0.7-1.7 s, and up to 3.2 s on a loaded
        # machine (Chrome's freeze total depends on its own timing; docs/ROBUSTNESS.md), so only a stall fails here.
        assert ten["longest_video_gap_s"] < 1.5, ten
        # The outage: video resumes on the same join, within 2.5 s of the link's return (1.3-1.7 s measured before
        # lossy links got a longer jitter buffer, which holds the first frames after it ~0.4 s more).
        after = figures["after_outage"]
        assert after["frames"] > 30 and after["longest_video_gap_s"] < 2.5, after
        assert log_of(bob).count("STATE") == 1 and log_of(alice).count("STATE") == 1, "someone joined again"
        assert not any("FAILED" in e or "STOPPED" in e for e in log_of(bob) + log_of(alice)), log_of(bob) + log_of(alice)
        # The burst: recovered by NACKs or by a keyframe request, never a stall.
        burst, settled = figures["burst20"], figures["after_burst"]
        assert burst["longest_video_gap_s"] < 1.5 and settled["longest_video_gap_s"] < 1.0, (burst, settled)
        assert burst["retransmissions_received"] + burst["plis_sent"] + settled["plis_sent"] > 0, burst
        # Decoding goes on (the gap check above is the stall check); the rate is the encoder's, which a loaded
        # machine lowers (57 frames in 6 s in one CI run beside a fuzzer).
        assert settled["frames"] > 30, settled
    finally:
        stop()
        relay.close()
