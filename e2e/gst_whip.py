#!/usr/bin/python3
"""A WHIP publisher on Debian's GStreamer (webrtcbin; Debian has no whipsink): test video and a tone, VP8 or H.264 +
Opus, offered as GStreamer offers them (BUNDLE with the audio `bundle-only` on port 0, no header extensions, no RTX),
POSTed to a WHIP URL with a Bearer token; after `--seconds` it DELETEs its session. Prints one JSON line: the
statuses and the offer. Run with the system Python (python3-gi), not the test venv.
  gst_whip.py URL [--codec VP8|H264] [--seconds N] [--token T]
  gst_whip.py --dump-offer [--codec ...]     only print the offer (for Tests/SDPTests/Fixtures)"""
import argparse
import json
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

VIDEO = {
    "VP8": "vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 ! "
           "application/x-rtp,media=video,encoding-name=VP8,payload=96",
    "H264": "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bframes=0 ! "
            "video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 pt=102 ! "
            "application/x-rtp,media=video,encoding-name=H264,payload=102",
}


def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body.encode() if body is not None else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--codec", default="VP8", choices=sorted(VIDEO))
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--token", default="gst-token")
    parser.add_argument("--dump-offer", action="store_true")
    options = parser.parse_args()

    Gst.init(None)
    pipeline = Gst.parse_launch(
        "webrtcbin name=send bundle-policy=max-bundle "
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! "
        f"{VIDEO[options.codec]} ! send. "
        "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! "
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! send.")
    webrtc = pipeline.get_by_name("send")
    loop = GLib.MainLoop()
    result = {"codec": options.codec}
    headers = {"Authorization": f"Bearer {options.token}"}

    def finish(code=0):
        result["exit"] = code
        loop.quit()
        return False

    def on_gathered(_element, _pspec):
        if webrtc.get_property("ice-gathering-state") != GstWebRTC.WebRTCICEGatheringState.COMPLETE or "offer" in result:
            return
        offer = webrtc.get_property("local-description").sdp.as_text()
        result["offer"] = offer
        if options.dump_offer:
            sys.stdout.write(offer)
            GLib.idle_add(finish)
            return
        status, response_headers, body = request("POST", options.url, offer, {**headers, "Content-Type": "application/sdp"})
        result["post"] = status
        if status != 201:
            result["error"] = body
            GLib.idle_add(finish, 1)
            return
        location = response_headers.get("Location") or response_headers.get("location")
        result["location"] = location
        result["session"] = urllib.parse.urljoin(options.url, location)
        _, answer = GstSdp.SDPMessage.new_from_text(body)
        webrtc.emit("set-remote-description", GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, answer), None)

        def stop():
            if "delete" not in result:
                status, _, _ = request("DELETE", result["session"], headers=headers)
                result["delete"] = status
            return finish(0 if result["delete"] == 200 else 1)
        GLib.timeout_add(int(options.seconds * 1000), stop)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)  # stopped early: DELETE all the same

    def on_offer(promise, _element, _data):
        promise.wait()
        reply = promise.get_reply()  # kept: the offer belongs to it
        offer = reply.get_value("offer")
        if offer is None:
            result["error"] = "webrtcbin made no offer"
            GLib.idle_add(finish, 1)
            return
        webrtc.emit("set-local-description", offer, Gst.Promise.new())

    def on_negotiation_needed(element):
        if "negotiating" in result:
            return  # one offer only: setting the directions asks again
        result["negotiating"] = True
        for transceiver in [element.emit("get-transceiver", i) for i in range(2)]:
            if transceiver is not None:
                transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        element.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, element, None))

    def on_state(_element, _pspec):
        state = webrtc.get_property("connection-state")
        result.setdefault("states", []).append(state.value_nick)

    webrtc.connect("on-negotiation-needed", on_negotiation_needed)
    webrtc.connect("notify::ice-gathering-state", on_gathered)
    webrtc.connect("notify::connection-state", on_state)
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message::error", lambda _b, m: (result.__setitem__("error", str(m.parse_error())), finish(1)))
    pipeline.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int((options.seconds + 30) * 1000), finish, 2)  # never hang a test
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    if not options.dump_offer:
        result.pop("negotiating", None)
        print(json.dumps(result))
    return result.get("exit", 1)


if __name__ == "__main__":
    sys.exit(main())
