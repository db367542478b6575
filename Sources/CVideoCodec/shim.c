#include "CVideoCodec.h"

#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <stdio.h>
#include <string.h>

struct parley_video_transcoder {
    AVCodecContext *decoder;
    AVCodecContext *encoder;
    AVPacket *packet;
    AVFrame *frame;
    int bitrate;
    int keyframe_interval;
    int width, height;
};

static void set_error(char *error, int size, const char *what, int code) {
    if (!error || size <= 0) return;
    char reason[128] = "";
    if (code < 0) av_strerror(code, reason, sizeof reason);
    snprintf(error, (size_t)size, "%s%s%s", what, code < 0 ? ": " : "", reason);
}

void parley_video_transcoder_free(parley_video_transcoder *t) {
    if (!t) return;
    avcodec_free_context(&t->decoder);
    avcodec_free_context(&t->encoder);
    av_packet_free(&t->packet);
    av_frame_free(&t->frame);
    av_free(t);
}

parley_video_transcoder *parley_video_transcoder_new(int source, int bitrate, int keyframe_interval, char *error, int error_size) {
    av_log_set_level(AV_LOG_ERROR);  // libx264's per-encoder summary would fill the server's log
    const AVCodec *codec = avcodec_find_decoder(source == PARLEY_VIDEO_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_VP8);
    if (!codec) { set_error(error, error_size, "this libavcodec has no decoder for the source", 0); return NULL; }
    if (!avcodec_find_encoder_by_name("libx264")) { set_error(error, error_size, "this libavcodec has no libx264", 0); return NULL; }
    parley_video_transcoder *t = av_mallocz(sizeof *t);
    if (!t) return NULL;
    t->bitrate = bitrate;
    t->keyframe_interval = keyframe_interval;
    t->decoder = avcodec_alloc_context3(codec);
    t->packet = av_packet_alloc();
    t->frame = av_frame_alloc();
    if (!t->decoder || !t->packet || !t->frame) { set_error(error, error_size, "out of memory", 0); goto fail; }
    t->decoder->thread_count = 1;
    int rc = avcodec_open2(t->decoder, codec, NULL);
    if (rc < 0) { set_error(error, error_size, "cannot open the decoder", rc); goto fail; }
    return t;
fail:
    parley_video_transcoder_free(t);
    return NULL;
}

static int open_encoder(parley_video_transcoder *t, int width, int height) {
    avcodec_free_context(&t->encoder);
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    AVCodecContext *e = avcodec_alloc_context3(codec);
    if (!e) return AVERROR(ENOMEM);
    e->width = width;
    e->height = height;
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->time_base = (AVRational){1, 1000};
    e->framerate = (AVRational){30, 1};
    e->bit_rate = t->bitrate;
    e->gop_size = t->keyframe_interval;
    e->max_b_frames = 0;
    e->thread_count = 1;
    // ultrafast uses no CABAC, no 8x8 transform and no B-frames: the stream is constrained baseline, which every
    // player decodes.
    e->profile = FF_PROFILE_H264_CONSTRAINED_BASELINE;
    av_opt_set(e->priv_data, "preset", "ultrafast", 0);
    av_opt_set(e->priv_data, "tune", "zerolatency", 0);
    av_opt_set(e->priv_data, "forced-idr", "1", 0);  // a forced keyframe is an IDR a player can start at
    int rc = avcodec_open2(e, codec, NULL);
    if (rc < 0) { avcodec_free_context(&e); return rc; }
    t->encoder = e;
    t->width = width;
    t->height = height;
    return 0;
}

int parley_video_transcoder_feed(parley_video_transcoder *t, const uint8_t *frame, int size, int64_t pts, int force_keyframe,
                                 uint8_t *out, int out_size, int *sizes, int *keyframes, int64_t *pts_out, int max_frames) {
    if (!t || !frame || size <= 0) return -1;
    av_packet_unref(t->packet);
    if (av_new_packet(t->packet, size) < 0) return -1;
    memcpy(t->packet->data, frame, (size_t)size);
    t->packet->pts = pts;
    t->packet->dts = pts;
    if (avcodec_send_packet(t->decoder, t->packet) < 0) return -1;
    int count = 0, used = 0;
    for (;;) {
        int rc = avcodec_receive_frame(t->decoder, t->frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) break;
        if (rc < 0) return count > 0 ? count : -1;
        // 4:2:0 only (full range is the same layout); at most 4096x2304, so a hostile stream cannot make the
        // encoder allocate much; even sizes, as x264 needs for 4:2:0 (an odd line or column is cropped).
        int format = t->frame->format;
        if ((format != AV_PIX_FMT_YUV420P && format != AV_PIX_FMT_YUVJ420P) ||
            t->frame->width < 2 || t->frame->height < 2 || t->frame->width > 4096 || t->frame->height > 2304) {
            av_frame_unref(t->frame);
            return count > 0 ? count : -1;
        }
        t->frame->format = AV_PIX_FMT_YUV420P;
        t->frame->width &= ~1;
        t->frame->height &= ~1;
        if (!t->encoder || t->frame->width != t->width || t->frame->height != t->height) {
            if (open_encoder(t, t->frame->width, t->frame->height) < 0) { av_frame_unref(t->frame); return count > 0 ? count : -1; }
            force_keyframe = 1;
        }
        t->frame->pts = t->frame->best_effort_timestamp != AV_NOPTS_VALUE ? t->frame->best_effort_timestamp : pts;
        t->frame->pict_type = force_keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
        force_keyframe = 0;
        rc = avcodec_send_frame(t->encoder, t->frame);
        av_frame_unref(t->frame);
        if (rc < 0) return count > 0 ? count : -1;
        AVPacket *encoded = t->packet;
        av_packet_unref(encoded);
        while (avcodec_receive_packet(t->encoder, encoded) == 0) {
            if (count < max_frames && used + encoded->size <= out_size) {
                memcpy(out + used, encoded->data, (size_t)encoded->size);
                sizes[count] = encoded->size;
                keyframes[count] = (encoded->flags & AV_PKT_FLAG_KEY) != 0;
                pts_out[count] = encoded->pts;
                used += encoded->size;
                count++;
            }
            av_packet_unref(encoded);
        }
    }
    return count;
}
