// AAC → Opus for RTMP publishers: Debian's libavcodec decodes AAC (its native decoder), libswresample makes
// 48 kHz stereo, libopus encodes 20 ms packets. Plain C functions, so Swift needs no FFmpeg macros or structs.
#ifndef PARLEY_CAUDIOCODEC_H
#define PARLEY_CAUDIOCODEC_H

#include <stdint.h>

typedef struct parley_aac_to_opus parley_aac_to_opus;

/// A transcoder for the AAC stream an AudioSpecificConfig describes, to Opus at `bitrate` bits/s. NULL on error,
/// with the reason in `error` (NUL-terminated, at most `error_size` bytes).
parley_aac_to_opus *parley_aac_to_opus_new(const uint8_t *config, int config_size, int bitrate, char *error, int error_size);

/// Decodes one raw AAC frame and encodes every whole 20 ms of audio it completes: up to `max_packets` Opus packets
/// written one after another into `out` (at most `out_size` bytes), their sizes in `sizes`. Returns the number of
/// packets, or -1 if the frame cannot be decoded (skip it).
int parley_aac_to_opus_feed(parley_aac_to_opus *t, const uint8_t *frame, int frame_size,
                            uint8_t *out, int out_size, int *sizes, int max_packets);

/// Samples (per channel, 48 kHz) that the decoder and resampler delay, so timestamps can account for them.
int parley_aac_to_opus_delay(const parley_aac_to_opus *t);

void parley_aac_to_opus_free(parley_aac_to_opus *t);

typedef struct parley_opus_to_aac parley_opus_to_aac;

/// Opus (48 kHz, what browsers send) to AAC-LC at `bitrate` bits/s, 48 kHz stereo, for RTMP players: libopus
/// decodes, libavcodec's native AAC encoder encodes. NULL on error, with the reason in `error`.
parley_opus_to_aac *parley_opus_to_aac_new(int bitrate, char *error, int error_size);

/// The encoder's AudioSpecificConfig (for the FLV AAC sequence header): its size, or -1.
int parley_opus_to_aac_config(const parley_opus_to_aac *t, uint8_t *out, int out_size);

/// Decodes one Opus packet (NULL or size 0 for a lost one: concealed) and encodes every whole AAC frame (1024
/// samples) it completes, raw (no ADTS), one after another into `out`, sizes in `sizes`. Returns the count, or -1.
int parley_opus_to_aac_feed(parley_opus_to_aac *t, const uint8_t *packet, int size,
                            uint8_t *out, int out_size, int *sizes, int max_frames);

void parley_opus_to_aac_free(parley_opus_to_aac *t);

#endif
