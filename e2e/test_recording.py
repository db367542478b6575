"""Recording (`record: true`): an aiortc participant publishes for 5 s with `record: true`; the finished file is
downloaded from /client/records/NAME and read by Debian's ffprobe and ffmpeg. The scenario runs in aiortc_room.py
in its own network namespace, with its own server writing to a temporary --record-dir."""
import json
import subprocess
import tempfile

import pytest

from conftest import REPO, run_namespaced_scenario

SCRIPT = REPO / "e2e" / "aiortc_room.py"


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                          "format=duration,format_name:stream=codec_name,width,height,start_time,nb_read_packets",
                          "-of", "json", path], capture_output=True, text=True, timeout=30)
    return json.loads(out.stdout or "{}")


@pytest.mark.parametrize("video,audio,container", [("VP8", "opus", "webm"), ("H264", "PCMU", "mkv")])
def test_a_recorded_publish_downloads_as_a_file_that_plays(video, audio, container):
    with tempfile.TemporaryDirectory(prefix="parley-records-") as records:
        r = run_namespaced_scenario(SCRIPT, f"record-{video}", "record", video, audio, "5", timeout=60,
                                    env={"PARLEY_RECORD_DIR": records})
    name = r["recordName"]
    assert name and name.endswith("." + container), r
    assert r["download"]["status"] == 200 and r["download"]["bytes"] > 10_000, r["download"]
    assert r["download"]["type"] == ("video/webm" if container == "webm" else "video/x-matroska"), r["download"]
    assert r["range"] == {"status": 206, "bytes": 100}, r["range"]
    assert [e["status"] for e in r["recording_events"]] == ["started", "finished"], r["recording_events"]
    assert all(e["recordName"] == name for e in r["recording_events"]), r["recording_events"]
    info = probe(r["path"])
    streams = {s["codec_name"]: s for s in info["streams"]}
    expected = {"vp8", "opus"} if video == "VP8" else {"h264", "pcm_mulaw"}
    assert set(streams) == expected, info
    # The file is as long as the publish, within 10 %.
    duration = float(info["format"]["duration"])
    assert abs(duration - r["published_seconds"]) < 0.1 * r["published_seconds"] + 0.3, (duration, r["published_seconds"])
    # Both tracks start together (A/V offset under 40 ms).
    starts = [float(s["start_time"]) for s in info["streams"]]
    assert max(starts) - min(starts) < 0.040, starts
    video_stream = streams["vp8" if video == "VP8" else "h264"]
    assert (video_stream["width"], video_stream["height"]) == (320, 240), video_stream
    assert int(video_stream["nb_read_packets"]) >= 100, video_stream
    # Every frame decodes without an error (frames pass through at their own times: a constant-rate output would
    # complain of two frames a publisher stamped a millisecond apart).
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", r["path"], "-enc_time_base:v", "1:1000", "-fps_mode", "passthrough",
                              "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    assert decoded.returncode == 0 and decoded.stderr == "", decoded.stderr[-800:]


def test_a_recording_through_5_percent_loss_decodes_to_the_end():
    with tempfile.TemporaryDirectory(prefix="parley-records-") as records:
        r = run_namespaced_scenario(SCRIPT, "record-lossy", "record", "VP8", "opus", "8", "yes", "5", timeout=60,
                                    env={"PARLEY_RECORD_DIR": records})
    assert r["dropped_by_nft"] >= 15, r  # the loss was real (~5 % of ~100 packets a second)
    assert [e["status"] for e in r["recording_events"]] == ["started", "finished"], r["recording_events"]
    info = probe(r["path"])
    streams = {s["codec_name"]: s for s in info["streams"]}
    assert set(streams) == {"vp8", "opus"}, info
    # To the end: as long as the publish, and frames throughout (retransmissions and keyframes fill the holes).
    duration = float(info["format"]["duration"])
    assert abs(duration - r["published_seconds"]) < 0.1 * r["published_seconds"] + 0.3, (duration, r["published_seconds"])
    assert int(streams["vp8"]["nb_read_packets"]) >= 0.5 * 30 * r["published_seconds"], streams["vp8"]
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", r["path"], "-enc_time_base:v", "1:1000", "-fps_mode", "passthrough",
                              "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    assert decoded.returncode == 0 and decoded.stderr == "", decoded.stderr[-800:]


def test_a_wcs_publish_with_record_true_reports_its_record_name_and_downloads():
    with tempfile.TemporaryDirectory(prefix="parley-records-") as records:
        r = run_namespaced_scenario(SCRIPT, "record-wcs", "wcs-record", "4", timeout=60, env={"PARLEY_RECORD_DIR": records})
    name = r["publishing"]["recordName"]
    assert r["publishing"]["status"] == "PUBLISHING" and name and name.endswith(".webm"), r["publishing"]
    assert r["unpublished"] == {"status": "UNPUBLISHED", "recordName": name}, r["unpublished"]
    assert r["download"]["status"] == 200 and r["download"]["bytes"] > 10_000, r["download"]
    info = probe(r["path"])
    assert {s["codec_name"] for s in info["streams"]} == {"vp8", "opus"}, info
    assert float(info["format"]["duration"]) > 3.0, info["format"]


def test_a_recording_survives_a_kill_minus_9_and_the_next_start_serves_it():
    with tempfile.TemporaryDirectory(prefix="parley-records-") as records:
        r = run_namespaced_scenario(SCRIPT, "record-killed", "record-killed", "3.5", timeout=60, env={"PARLEY_RECORD_DIR": records})
    assert r["part_exists"], r
    # What the kill left plays: both tracks, up to its last closed second, without a decode error.
    info = probe(r["killed_path"])
    streams = {s["codec_name"]: s for s in info["streams"]}
    assert set(streams) == {"vp8", "opus"}, info
    assert int(streams["vp8"]["nb_read_packets"]) >= 45, streams["vp8"]
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", r["killed_path"], "-enc_time_base:v", "1:1000", "-fps_mode", "passthrough",
                              "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    assert decoded.returncode == 0, decoded.stderr[-800:]
    assert r["recovered"]["status"] == 200 and r["recovered"]["bytes"] > 10_000, r["recovered"]
    # The restart completed it: a Duration (up to its last closed Cluster) and Cues, so a player can seek.
    recovered = probe(r["recovered_path"])
    assert 2.0 < float(recovered["format"]["duration"]) <= 4.0, recovered["format"]
    with open(r["recovered_path"], "rb") as f:
        assert b"\x1c\x53\xbb\x6b" in f.read(), "no Cues"
    seek = subprocess.run(["ffmpeg", "-v", "error", "-ss", "2", "-i", r["recovered_path"], "-f", "null", "-"],
                          capture_output=True, text=True, timeout=60)
    assert seek.returncode == 0 and seek.stderr == "", seek.stderr[-800:]


def test_record_all_records_unasked_publishes_and_a_recording_stops_at_its_maximum_length():
    with tempfile.TemporaryDirectory(prefix="parley-records-") as records:
        r = run_namespaced_scenario(SCRIPT, "record-all", "record", "VP8", "opus", "5", "no", timeout=60,
                                    env={"PARLEY_RECORD_DIR": records, "PARLEY_RECORD_ALL": "1", "PARLEY_RECORD_MAX_SECONDS": "2"})
    assert r["recordName"], r  # not asked for, recorded all the same
    assert r["download"]["status"] == 200, r["download"]
    duration = float(probe(r["path"])["format"]["duration"])
    assert 1.8 < duration < 2.6, duration  # the stream went on 5 s; the recording stopped at 2
    # The publisher was told, with why.
    assert r["recording_events"] == [{"status": "started", "recordName": r["recordName"], "reason": None},
                                     {"status": "stopped", "recordName": r["recordName"], "reason": "max_length"}], r["recording_events"]
