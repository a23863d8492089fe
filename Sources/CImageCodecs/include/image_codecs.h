#ifndef RNNLAB_IMAGE_CODECS_H
#define RNNLAB_IMAGE_CODECS_H
#include <stddef.h>

/// An 8-bit RGB image decoded by the system's libjpeg(-turbo) or libpng: rows top to bottom, pixels RGB.
typedef struct {
    unsigned char *pixels;   /* width * height * 3 bytes, malloc'ed; free with rl_image_free */
    int width, height;
    char error[256];         /* set when decoding fails */
} rl_image;

/* Return 0 on success, -1 on failure with out->error describing why. */
int rl_decode_jpeg(const unsigned char *data, size_t size, rl_image *out);
int rl_decode_png(const unsigned char *data, size_t size, rl_image *out);
void rl_image_free(rl_image *img);

#endif
