#include "CAudioCodec.h"

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <opus/opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_SAMPLES 960     // 20 ms at 48 kHz
#define FIFO_SAMPLES (48000)  // one second of stereo s16, far more than one AAC frame makes

struct parley_aac_to_opus {
    AVCodecContext *decoder;
    AVPacket *packet;
    AVFrame *frame;
    SwrContext *resampler;
    OpusEncoder *encoder;
    int16_t fifo[FIFO_SAMPLES * 2];
    int queued;  // samples per channel in fifo
};

static void fail(char *error, int size, const char *what) {
    if (error && size > 0) snprintf(error, (size_t)size, "%s", what);
}

parley_aac_to_opus *parley_aac_to_opus_new(const uint8_t *config, int config_size, int bitrate, char *error, int error_size) {
    const AVCodec *aac = avcodec_find_decoder(AV_CODEC_ID_AAC);
    if (!aac) { fail(error, error_size, "libavcodec has no AAC decoder"); return NULL; }
    parley_aac_to_opus *t = calloc(1, sizeof *t);
    if (!t) { fail(error, error_size, "out of memory"); return NULL; }
    t->decoder = avcodec_alloc_context3(aac);
    t->packet = av_packet_alloc();
    t->frame = av_frame_alloc();
    if (!t->decoder || !t->packet || !t->frame) { fail(error, error_size, "out of memory"); goto bad; }
    if (config_size > 0) {
        t->decoder->extradata = av_mallocz((size_t)config_size + AV_INPUT_BUFFER_PADDING_SIZE);
        if (!t->decoder->extradata) { fail(error, error_size, "out of memory"); goto bad; }
        memcpy(t->decoder->extradata, config, (size_t)config_size);
        t->decoder->extradata_size = config_size;
    }
    if (avcodec_open2(t->decoder, aac, NULL) < 0) { fail(error, error_size, "the AAC configuration is not usable"); goto bad; }
    int err = 0;
    t->encoder = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &err);
    if (!t->encoder || err != OPUS_OK) { fail(error, error_size, "libopus cannot make an encoder"); goto bad; }
    opus_encoder_ctl(t->encoder, OPUS_SET_BITRATE(bitrate));
    return t;
bad:
    parley_aac_to_opus_free(t);
    return NULL;
}

/// The resampler is made from the first decoded frame, whose rate and layout the configuration may not say.
static int ensure_resampler(parley_aac_to_opus *t, const AVFrame *f) {
    if (t->resampler) return 0;
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    AVChannelLayout in = f->ch_layout;
    if (in.nb_channels == 0) av_channel_layout_default(&in, 2);
    if (swr_alloc_set_opts2(&t->resampler, &stereo, AV_SAMPLE_FMT_S16, 48000, &in, (enum AVSampleFormat)f->format,
                            f->sample_rate, 0, NULL) < 0) return -1;
    return swr_init(t->resampler) < 0 ? -1 : 0;
}

int parley_aac_to_opus_feed(parley_aac_to_opus *t, const uint8_t *data, int size,
                            uint8_t *out, int out_size, int *sizes, int max_packets) {
    if (!t || !data || size <= 0) return -1;
    t->packet->data = (uint8_t *)data;
    t->packet->size = size;
    if (avcodec_send_packet(t->decoder, t->packet) < 0) return -1;
    t->packet->data = NULL;
    t->packet->size = 0;
    int count = 0, used = 0;
    while (avcodec_receive_frame(t->decoder, t->frame) == 0) {
        if (ensure_resampler(t, t->frame) < 0) { av_frame_unref(t->frame); return -1; }
        int room = FIFO_SAMPLES - t->queued;
        uint8_t *dst = (uint8_t *)(t->fifo + t->queued * 2);
        int made = swr_convert(t->resampler, &dst, room, (const uint8_t **)t->frame->extended_data, t->frame->nb_samples);
        av_frame_unref(t->frame);
        if (made < 0) return -1;
        t->queued += made;
        while (t->queued >= FRAME_SAMPLES && count < max_packets && out_size - used > 0) {
            int n = opus_encode(t->encoder, t->fifo, FRAME_SAMPLES, out + used, out_size - used > 1275 ? 1275 : out_size - used);
            if (n < 0) return -1;
            sizes[count++] = n;
            used += n;
            t->queued -= FRAME_SAMPLES;
            memmove(t->fifo, t->fifo + FRAME_SAMPLES * 2, (size_t)t->queued * 2 * sizeof(int16_t));
        }
    }
    return count;
}

int parley_aac_to_opus_delay(const parley_aac_to_opus *t) {
    if (!t || !t->resampler) return 0;
    return (int)swr_get_delay(t->resampler, 48000) + t->queued;
}

void parley_aac_to_opus_free(parley_aac_to_opus *t) {
    if (!t) return;
    avcodec_free_context(&t->decoder);
    av_packet_free(&t->packet);
    av_frame_free(&t->frame);
    swr_free(&t->resampler);
    if (t->encoder) opus_encoder_destroy(t->encoder);
    free(t);
}

// MARK: Opus → AAC

#define AAC_FRAME 1024
#define OPUS_MAX_FRAME 5760  // 120 ms at 48 kHz

struct parley_opus_to_aac {
    OpusDecoder *decoder;
    AVCodecContext *encoder;
    AVFrame *frame;
    AVPacket *packet;
    float pcm[OPUS_MAX_FRAME * 2];
    float left[AAC_FRAME * 8], right[AAC_FRAME * 8];
    int queued;
    int64_t pts;
};

parley_opus_to_aac *parley_opus_to_aac_new(int bitrate, char *error, int error_size) {
    const AVCodec *aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!aac) { fail(error, error_size, "libavcodec has no AAC encoder"); return NULL; }
    parley_opus_to_aac *t = calloc(1, sizeof *t);
    if (!t) { fail(error, error_size, "out of memory"); return NULL; }
    int err = 0;
    t->decoder = opus_decoder_create(48000, 2, &err);
    if (!t->decoder || err != OPUS_OK) { fail(error, error_size, "libopus cannot make a decoder"); goto bad; }
    t->encoder = avcodec_alloc_context3(aac);
    t->frame = av_frame_alloc();
    t->packet = av_packet_alloc();
    if (!t->encoder || !t->frame || !t->packet) { fail(error, error_size, "out of memory"); goto bad; }
    t->encoder->sample_fmt = AV_SAMPLE_FMT_FLTP;
    t->encoder->sample_rate = 48000;
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    av_channel_layout_copy(&t->encoder->ch_layout, &stereo);
    t->encoder->bit_rate = bitrate;
    t->encoder->time_base = (AVRational){1, 48000};
    t->encoder->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;  // the AudioSpecificConfig in extradata, frames raw
    if (avcodec_open2(t->encoder, aac, NULL) < 0) { fail(error, error_size, "the AAC encoder cannot be opened"); goto bad; }
    t->frame->format = AV_SAMPLE_FMT_FLTP;
    t->frame->nb_samples = AAC_FRAME;
    t->frame->sample_rate = 48000;
    av_channel_layout_copy(&t->frame->ch_layout, &stereo);
    if (av_frame_get_buffer(t->frame, 0) < 0) { fail(error, error_size, "out of memory"); goto bad; }
    return t;
bad:
    parley_opus_to_aac_free(t);
    return NULL;
}

int parley_opus_to_aac_config(const parley_opus_to_aac *t, uint8_t *out, int out_size) {
    if (!t || !t->encoder->extradata || t->encoder->extradata_size > out_size) return -1;
    memcpy(out, t->encoder->extradata, (size_t)t->encoder->extradata_size);
    return t->encoder->extradata_size;
}

static int drain(parley_opus_to_aac *t, uint8_t *out, int out_size, int *used, int *sizes, int *count, int max_frames) {
    while (avcodec_receive_packet(t->encoder, t->packet) == 0) {
        if (*count < max_frames && *used + t->packet->size <= out_size) {
            memcpy(out + *used, t->packet->data, (size_t)t->packet->size);
            sizes[(*count)++] = t->packet->size;
            *used += t->packet->size;
        }
        av_packet_unref(t->packet);
    }
    return 0;
}

int parley_opus_to_aac_feed(parley_opus_to_aac *t, const uint8_t *packet, int size,
                            uint8_t *out, int out_size, int *sizes, int max_frames) {
    if (!t) return -1;
    int samples = opus_decode_float(t->decoder, size > 0 ? packet : NULL, size > 0 ? size : 0, t->pcm,
                                    size > 0 ? OPUS_MAX_FRAME : 960, 0);
    if (samples < 0) return -1;
    if (t->queued + samples > AAC_FRAME * 8) t->queued = 0;  // cannot happen with 120 ms packets; never overflow
    for (int i = 0; i < samples; i++) {
        t->left[t->queued + i] = t->pcm[2 * i];
        t->right[t->queued + i] = t->pcm[2 * i + 1];
    }
    t->queued += samples;
    int count = 0, used = 0;
    while (t->queued >= AAC_FRAME) {
        if (av_frame_make_writable(t->frame) < 0) return -1;
        memcpy(t->frame->data[0], t->left, AAC_FRAME * sizeof(float));
        memcpy(t->frame->data[1], t->right, AAC_FRAME * sizeof(float));
        t->queued -= AAC_FRAME;
        memmove(t->left, t->left + AAC_FRAME, (size_t)t->queued * sizeof(float));
        memmove(t->right, t->right + AAC_FRAME, (size_t)t->queued * sizeof(float));
        t->frame->pts = t->pts;
        t->pts += AAC_FRAME;
        if (avcodec_send_frame(t->encoder, t->frame) < 0) return -1;
        drain(t, out, out_size, &used, sizes, &count, max_frames);
    }
    return count;
}

void parley_opus_to_aac_free(parley_opus_to_aac *t) {
    if (!t) return;
    if (t->decoder) opus_decoder_destroy(t->decoder);
    avcodec_free_context(&t->encoder);
    av_frame_free(&t->frame);
    av_packet_free(&t->packet);
    free(t);
}
