// FFmpeg (libavformat, libavcodec, libswscale, libavutil) for Swift: the function-like macros re-exposed.
#ifndef DEEPSCOPE_CFFMPEG_SHIM_H
#define DEEPSCOPE_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libavutil/error.h>
#include <libavutil/pixdesc.h>

// AVERROR is a macro over errno values; AVERROR_EOF and EAGAIN are the two the decode loop tests.
static inline int ds_averror_eof(void) { return AVERROR_EOF; }
static inline int ds_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int ds_averror(int e) { return AVERROR(e); }
// AV_NOPTS_VALUE is an INT64_C macro Swift does not import.
static inline int64_t ds_nopts_value(void) { return AV_NOPTS_VALUE; }
// av_err2str uses a compound literal; this writes into a caller buffer instead.
static inline const char *ds_err2str(int err, char *buf, size_t size) { return av_make_error_string(buf, size, err); }
// AV_TIME_BASE_Q is a compound literal.
static inline AVRational ds_time_base_q(void) { AVRational r = {1, AV_TIME_BASE}; return r; }
static inline int ds_sws_bilinear(void) { return SWS_BILINEAR; }
static inline int ds_sws_area(void) { return SWS_AREA; }
static inline int ds_sws_accurate(void) { return SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT; }
#endif
