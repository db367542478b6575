#!/usr/bin/env python3
"""Reads every recording in a folder with ffprobe (packets only: the bench's synthetic VP8 does not decode) and
prints per file and in all: length, video frames against 30 frames/s, the largest hole between two video frames and
between two audio packets, and whether the file is complete (Cues). A hole over 100 ms is a recording gap.
Usage: check_recordings.py FOLDER [--json]"""
import json
import os
import subprocess
import sys


def packets(path, stream):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time",
                          "-of", "csv=p=0", path], capture_output=True, text=True, timeout=120).stdout
    return sorted(float(line) for line in out.split() if line.strip() not in ("", "N/A"))


def check(path):
    video, audio = packets(path, "v:0"), packets(path, "a:0")
    length = (video[-1] - video[0]) if len(video) > 1 else 0.0
    hole = lambda times: max((b - a for a, b in zip(times, times[1:])), default=0.0) * 1000
    with open(path, "rb") as f:
        complete = b"\x1c\x53\xbb\x6b" in f.read()
    return {"file": os.path.basename(path), "seconds": round(length, 2), "video_frames": len(video),
            "expected_frames": round(length * 30) + 1, "largest_video_hole_ms": round(hole(video), 1),
            "audio_packets": len(audio), "largest_audio_hole_ms": round(hole(audio), 1), "cues": complete,
            "bytes": os.path.getsize(path)}


def main():
    folder = sys.argv[1]
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith((".webm", ".mkv")))
    rows = [check(f) for f in files]
    summary = {
        "recordings": len(rows),
        "part_files_left": sum(1 for f in os.listdir(folder) if f.endswith(".part")),
        "frames": sum(r["video_frames"] for r in rows),
        "expected_frames": sum(r["expected_frames"] for r in rows),
        "largest_video_hole_ms": max((r["largest_video_hole_ms"] for r in rows), default=0),
        "largest_audio_hole_ms": max((r["largest_audio_hole_ms"] for r in rows), default=0),
        "gaps_over_100ms": sum(1 for r in rows if r["largest_video_hole_ms"] > 100 or r["largest_audio_hole_ms"] > 100),
        "all_complete": all(r["cues"] for r in rows),
    }
    if "--json" in sys.argv:
        print(json.dumps({"summary": summary, "files": rows}))
    else:
        for r in rows:
            print(r)
        print(summary)


if __name__ == "__main__":
    main()
