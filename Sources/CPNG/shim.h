// libpng's simplified png_image API (no setjmp, which Swift cannot call), plus its macros.
#ifndef DEEPSCOPE_CPNG_SHIM_H
#define DEEPSCOPE_CPNG_SHIM_H
#include <png.h>
static inline png_uint_32 ds_png_image_version(void) { return PNG_IMAGE_VERSION; }
static inline png_uint_32 ds_png_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline png_uint_32 ds_png_format_rgba(void) { return PNG_FORMAT_RGBA; }
static inline png_uint_32 ds_png_format_gray(void) { return PNG_FORMAT_GRAY; }
static inline int ds_png_image_failed(png_image *img) { return PNG_IMAGE_FAILED(*img); }
#endif
