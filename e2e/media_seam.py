"""The media-plane seam with real WebRTC peers, against parley-testbed (Parley plus test hooks, e2e/testbed/).

- synthetic-play IVF: the testbed's synthetic participant feeds a VP8 file into a stream through a `MediaSource`
  (which refuses keyframe requests, as an RTMP encoder does) and announces it in a room once someone else is
  there; an aiortc participant in that room gets `published`, plays the stream and decodes it.
- sink PREFIX: Chromium (Parley's SDK, fake camera and microphone) publishes in a room; two `MediaSink`s of the
  testbed on that stream write a JSON line per packet, one attached at once (PREFIX.jsonl), one 3 s later, when
  the keyframe cache is too old to serve (PREFIX-late.jsonl); this reads them back and sums them up.

It runs as aiortc_room.py does (aiortc_room.run_main): inside a private network namespace (`unshare -n`: loopback
plus a veth with 10.77.0.1, nothing attached), with its own server, here the testbed with the hooks the scenario
needs, and prints `RESULT {json}`.

Usage: unshare -n python media_seam.py --binary PARLEY_TESTBED --log LOG [--timeout S] synthetic-play IVF | sink PREFIX
"""
import argparse
import asyncio
import json
import os
from collections import Counter

import aiortc_room
from aiortc_room import Participant, ScenarioError, chosen_codecs, now
from h264_browser import PUBLISH_STATS
from wcs_media import PAGE_URL, PARLEY_URL, PUBLISH, SETUP, browser_wait, log_has, open_browser

SYNTHETIC_ROOM, SYNTHETIC_NAME = "seam-synthetic", "synthetic"
SINK_ROOM, SINK_NAME = "seam-sink", "cam"


def testbed_lines(log_path):
    """What the testbed itself printed (its hooks' lines), from the server log."""
    with open(log_path, errors="replace") as f:
        return [line.rstrip("\n") for line in f if line.startswith(("SYNTHETIC ", "SINK ", "PLAY "))]


async def wait_testbed_line(log_path, predicate, timeout, what):
    deadline = now() + timeout
    while now() < deadline:
        found = [line for line in testbed_lines(log_path) if predicate(line)]
        if found:
            return found[-1]
        await asyncio.sleep(0.1)
    raise ScenarioError(f"timed out after {timeout}s waiting for the testbed to print {what}: {testbed_lines(log_path)[-6:]}")


def field(line, name):
    """`name=value` out of a testbed line."""
    return next(word.split("=", 1)[1] for word in line.split() if word.startswith(name + "="))


# MARK: synthetic source → aiortc player

async def scenario_synthetic_play(result, log, ivf):
    viewer = Participant("viewer")
    try:
        await viewer.connect()
        await viewer.join(SYNTHETIC_ROOM)
        # The synthetic participant announces its stream once the room has someone else: we get `published`.
        stream = await viewer.wait_published(SYNTHETIC_ROOM, SYNTHETIC_NAME, timeout=10)
        result["published"] = stream
        # Parley's own `play`, as for a browser's stream.
        playback = await viewer.play(SYNTHETIC_ROOM, stream["id"], audio=False)
        # Past the end of the 4 s file: the source loops it without a break in numbering the decoder would notice.
        await playback.wait_frames(video=150, timeout=15)
        result["playback"] = playback.summary() | {"ended": dict(playback.ended)}  # a copy: closing ends it
        # Its arrival asked the source for a keyframe (the source refuses: the player started from the cache).
        line = await wait_testbed_line(log, lambda l: "keyframe-requests=" in l and int(field(l, "keyframe-requests")) >= 1,
                                       5, "a keyframe request")
        result["keyframe_requests"] = int(field(line, "keyframe-requests"))
        await viewer.close()
        h = await aiortc_room.wait_health(lambda h: h["media"]["peerConnections"] == 0, 10, "the player gone")
        result["peer_connections_at_end"] = h["media"]["peerConnections"]
        result["testbed"] = testbed_lines(log)
    finally:
        await viewer.close()


# MARK: Chromium publisher → sink

def summarize(records):
    """Per kind: counts, the first packet, and how the sink's numbering ran (steps other than +1, timestamps going
    back, frames whose last packet lacks the marker)."""
    out = {}
    for track in sorted({r["track"] for r in records}):
        rs = [r for r in records if r["track"] == track]
        pairs = list(zip(rs, rs[1:]))
        seq_steps = [(b["seq"] - a["seq"]) % 65536 for a, b in pairs]
        ts_steps = [(b["ts"] - a["ts"] + 2 ** 31) % 2 ** 32 - 2 ** 31 for a, b in pairs]
        out[rs[0]["kind"]] = {
            "track": track, "packets": len(rs), "first": rs[0], "payload_types": sorted({r["pt"] for r in rs}),
            "seconds": round(rs[-1]["t"] - rs[0]["t"], 3),
            "sequence_steps_not_one": [s for s in seq_steps if s != 1],
            "timestamps_backwards": sum(1 for s in ts_steps if s < 0),
            "timestamp_steps": Counter(s for s in ts_steps if s).most_common(3),
            "frames": len({r["ts"] for r in rs}), "keyframe_packets": sum(r["keyframe"] for r in rs),
        }
        if rs[0]["kind"] == "video":  # (audio sets the marker only at a talkspurt's start)
            out["video"]["unmarked_frame_ends"] = sum(1 for (a, _), s in zip(pairs, ts_steps) if s and not a["marker"])
    return out


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def sink_paths(prefix):
    """The two sinks' files: one attached as soon as the stream is announced, one 3 s later."""
    return {"early": f"{prefix}.jsonl", "late": f"{prefix}-late.jsonl"}


def video_packets(path):
    return sum(r["kind"] == "video" for r in read_jsonl(path))


async def scenario_sink(result, driver, log, prefix):
    js = lambda script, *args: asyncio.to_thread(driver.execute_script, script, *args)  # noqa: E731
    paths = sink_paths(prefix)
    await asyncio.to_thread(driver.get, PAGE_URL)
    await js(SETUP, PARLEY_URL, SINK_NAME, SINK_ROOM)
    await browser_wait(driver, log_has(driver, "STATE"), 15, "Chromium in the room")
    await js(PUBLISH)
    await browser_wait(driver, log_has(driver, "publish PUBLISHING"), 20, "Chromium publishing")
    for name, path in paths.items():
        await wait_testbed_line(log, lambda l: " attached " in l and l.endswith(f"file={path}"), 8, f"the {name} sink attached")
    deadline = now() + 15
    while min(video_packets(p) for p in paths.values()) < 100:
        if now() > deadline:
            raise ScenarioError(f"the sinks got only {[video_packets(p) for p in paths.values()]} video packets")
        await asyncio.sleep(0.2)
    stats = await js(PUBLISH_STATS)
    result["publisher"] = {"codecs": chosen_codecs(stats.pop("answer"))} | stats
    # The publisher stops: the sinks are told the stream ended.
    await js("window.__pub.stop(); return true")
    for name, path in paths.items():
        await wait_testbed_line(log, lambda l: f"ended=true file={path}" in l, 5, f"the {name} sink ended")
    result["sinks"] = {name: summarize(read_jsonl(path)) for name, path in paths.items()}
    result["testbed"] = testbed_lines(log)


# MARK: the runner

# The testbed's hooks each scenario needs, for its argument (the testbed reads them from its environment, so
# aiortc_room.run_main starts it as it starts parley).
HOOKS = {
    "synthetic-play": lambda ivf: {"PARLEY_TESTBED_SYNTHETIC": f"{SYNTHETIC_ROOM}/{SYNTHETIC_NAME}={ivf}"},
    "sink": lambda prefix: {"PARLEY_TESTBED_SINK": f"{SINK_ROOM}/{SINK_NAME}={sink_paths(prefix)['early']}",
                            "PARLEY_TESTBED_LATE_SINK": f"{SINK_ROOM}/{SINK_NAME}={sink_paths(prefix)['late']}"},
}


def main():
    # run_main parses the same command line; here only what it does not hand to scenarios: the log (the testbed's
    # stdout) and the scenario's argument, for the hooks.
    parser = argparse.ArgumentParser(add_help=False)
    for option in ("--binary", "--log", "--web-root", "--timeout"):
        parser.add_argument(option)
    parser.add_argument("scenario", choices=sorted(HOOKS))
    parser.add_argument("path")
    options = parser.parse_args()
    os.environ.update(HOOKS[options.scenario](options.path))

    def open_extra():
        if options.scenario != "sink":
            return (options.log,), None
        (driver,), release = open_browser()
        return (driver, options.log), release
    aiortc_room.run_main({"synthetic-play": scenario_synthetic_play, "sink": scenario_sink}, default_timeout=60,
                         open_extra=open_extra)


if __name__ == "__main__":
    main()
