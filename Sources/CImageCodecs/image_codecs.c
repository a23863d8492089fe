// Thin C wrappers: libjpeg reports errors by longjmp, which Swift cannot catch, so decoding happens here.
#include "image_codecs.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

/* Larger images are refused before any pixel buffer is allocated, as PIL refuses them
   (DecompressionBombError above 2 x Image.MAX_IMAGE_PIXELS). */
#define RL_MAX_PIXELS 178956970ULL

struct rl_jpeg_error { struct jpeg_error_mgr mgr; jmp_buf jump; char *message; };

static void rl_jpeg_error_exit(j_common_ptr cinfo) {
    struct rl_jpeg_error *err = (struct rl_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

/* Warnings (level -1): a truncated file is an error, as in PIL; other recoverable corruption is decoded
   silently, as PIL does, instead of printing to stderr. */
static void rl_jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) rl_jpeg_error_exit(cinfo);
}

int rl_decode_jpeg(const unsigned char *data, size_t size, rl_image *out) {
    struct jpeg_decompress_struct cinfo;
    struct rl_jpeg_error jerr;
    memset(out, 0, sizeof(*out));
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = rl_jpeg_error_exit;
    jerr.mgr.emit_message = rl_jpeg_emit_message;
    jerr.message = out->error;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(out->pixels); out->pixels = NULL;
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if ((unsigned long long)cinfo.image_width * cinfo.image_height > RL_MAX_PIXELS) {
        snprintf(out->error, sizeof(out->error), "%u x %u pixels is more than the %llu allowed", cinfo.image_width, cinfo.image_height, RL_MAX_PIXELS);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    cinfo.out_color_space = JCS_RGB;   /* greyscale and CMYK are converted by the library */
    jpeg_start_decompress(&cinfo);
    out->width = (int)cinfo.output_width; out->height = (int)cinfo.output_height;
    size_t stride = (size_t)out->width * 3;
    out->pixels = malloc(stride * (size_t)out->height);
    if (!out->pixels) { strcpy(out->error, "out of memory"); jpeg_destroy_decompress(&cinfo); return -1; }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out->pixels + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int rl_decode_png(const unsigned char *data, size_t size, rl_image *out) {
    png_image image;
    memset(out, 0, sizeof(*out));
    memset(&image, 0, sizeof(image));
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        snprintf(out->error, sizeof(out->error), "%s", image.message);
        return -1;
    }
    if ((unsigned long long)image.width * image.height > RL_MAX_PIXELS) {
        snprintf(out->error, sizeof(out->error), "%u x %u pixels is more than the %llu allowed", image.width, image.height, RL_MAX_PIXELS);
        png_image_free(&image);
        return -1;
    }
    /* Read RGBA and drop alpha afterwards, as PIL's convert("RGB") does (no compositing). */
    image.format = PNG_FORMAT_RGBA;
    size_t n = PNG_IMAGE_SIZE(image);
    unsigned char *rgba = malloc(n);
    if (!rgba) { strcpy(out->error, "out of memory"); png_image_free(&image); return -1; }
    if (!png_image_finish_read(&image, NULL, rgba, 0, NULL)) {
        snprintf(out->error, sizeof(out->error), "%s", image.message);
        free(rgba); png_image_free(&image);
        return -1;
    }
    out->width = (int)image.width; out->height = (int)image.height;
    out->pixels = malloc((size_t)out->width * out->height * 3);
    if (!out->pixels) { strcpy(out->error, "out of memory"); free(rgba); return -1; }
    for (size_t i = 0, m = (size_t)out->width * out->height; i < m; i++) {
        out->pixels[3 * i] = rgba[4 * i]; out->pixels[3 * i + 1] = rgba[4 * i + 1]; out->pixels[3 * i + 2] = rgba[4 * i + 2];
    }
    free(rgba);
    return 0;
}

void rl_image_free(rl_image *img) { free(img->pixels); img->pixels = NULL; }
