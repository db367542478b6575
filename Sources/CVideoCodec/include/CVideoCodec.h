// Video transcoding for RTMP: Debian's libavcodec decodes VP8 (browsers' default) or H.264 (an encoder's stream
// with B-frames) and re-encodes H.264 with libx264 (constrained baseline, zerolatency: no B-frames, no lookahead).
// Plain C functions, so Swift needs no FFmpeg macros or structs.
#ifndef PARLEY_CVIDEOCODEC_H
#define PARLEY_CVIDEOCODEC_H

#include <stdint.h>

typedef struct parley_video_transcoder parley_video_transcoder;

enum { PARLEY_VIDEO_VP8 = 0, PARLEY_VIDEO_H264 = 1 };

/// A transcoder from `source` (PARLEY_VIDEO_*) to H.264 at `bitrate` bits/s with a keyframe at least every
/// `keyframe_interval` frames. NULL on error, with the reason in `error` (NUL-terminated, at most `error_size` bytes).
parley_video_transcoder *parley_video_transcoder_new(int source, int bitrate, int keyframe_interval, char *error, int error_size);

/// Decodes one compressed frame (a VP8 frame, or an H.264 access unit in Annex B) stamped `pts` (any clock) and
/// encodes what it completes: up to `max_frames` H.264 access units in Annex B (SPS and PPS before each keyframe),
/// one after another into `out` (at most `out_size` bytes), their sizes, keyframe flags and pts in the arrays.
/// `force_keyframe` makes the next encoded frame an IDR. The encoder opens at the first decoded picture and again
/// when the size changes. Returns the count, or -1 if the frame cannot be decoded (skip it; wait for a keyframe).
int parley_video_transcoder_feed(parley_video_transcoder *t, const uint8_t *frame, int size, int64_t pts, int force_keyframe,
                                 uint8_t *out, int out_size, int *sizes, int *keyframes, int64_t *pts_out, int max_frames);

void parley_video_transcoder_free(parley_video_transcoder *t);

#endif
