/*
 * calib_image.c — PNG (libpng's simplified API) and JPEG (libjpeg-turbo)
 * images as calibration inputs: decoded to 8-bit RGB, resized with bilinear
 * interpolation at half-pixel centres (OpenCV's INTER_LINEAR and PIL's
 * bilinear without antialiasing agree on this for enlarging; shrinking
 * samples without a low-pass filter), then normalised per channel.
 */
#include "calib_image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "onnx/onnx-ml.pb-c.h"

static onnxq_status load_png(const char *path, unsigned char **px, int *ph,
                             int *pw, onnxq_error *err)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: not a readable PNG (%s)", path,
                               im.message);
    im.format = PNG_FORMAT_RGB;
    if (im.width == 0 || im.height == 0 || im.width > 65535 ||
        im.height > 65535) {
        png_image_free(&im);
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: image size %ux%u is out of range", path,
                               im.width, im.height);
    }
    unsigned char *buf = malloc(PNG_IMAGE_SIZE(im));
    if (!buf) {
        png_image_free(&im);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (!png_image_finish_read(&im, NULL, buf, 0, NULL)) {
        free(buf);
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: broken PNG (%s)", path, im.message);
    }
    *px = buf;
    *ph = (int)im.height;
    *pw = (int)im.width;
    return ONNXQ_OK;
}

typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void jpeg_fail(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

static void jpeg_quiet(j_common_ptr c, int level)
{
    (void)c;
    (void)level;
}

static onnxq_status load_jpeg(const char *path, unsigned char **px, int *ph,
                              int *pw, onnxq_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot open", path);
    struct jpeg_decompress_struct cinfo;
    jerr je;
    unsigned char *volatile buf = NULL;
    cinfo.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = jpeg_fail;
    je.mgr.emit_message = jpeg_quiet;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&cinfo);
        fclose(fp);
        free(buf);
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: broken JPEG (%s)", path, je.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, fp);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    if (w <= 0 || h <= 0 || w > 65535 || h > 65535 ||
        cinfo.output_components != 3) {
        snprintf(je.msg, sizeof je.msg, "unsupported size or colours");
        longjmp(je.jb, 1);
    }
    buf = malloc((size_t)w * (size_t)h * 3);
    if (!buf) {
        snprintf(je.msg, sizeof je.msg, "out of memory");
        longjmp(je.jb, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = buf + (size_t)cinfo.output_scanline * (size_t)w * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(fp);
    *px = buf;
    *ph = h;
    *pw = w;
    return ONNXQ_OK;
}

onnxq_status oq_calib_image_load(const char *path, int h, int w,
                                 const float mean[3], const float std[3],
                                 int nhwc, onnxq_tensor *out,
                                 onnxq_error *err)
{
    unsigned char magic[8] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot open", path);
    size_t got = fread(magic, 1, sizeof magic, fp);
    fclose(fp);
    unsigned char *px = NULL;
    int ih = 0, iw = 0;
    onnxq_status st;
    if (got == 8 && png_sig_cmp(magic, 0, 8) == 0)
        st = load_png(path, &px, &ih, &iw, err);
    else if (got >= 3 && magic[0] == 0xff && magic[1] == 0xd8 &&
             magic[2] == 0xff)
        st = load_jpeg(path, &px, &ih, &iw, err);
    else
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: neither PNG nor JPEG data", path);
    if (st != ONNXQ_OK)
        return st;
    for (int c = 0; c < 3; c++)
        if (std[c] == 0.0f) {
            free(px);
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "--std of channel %d is 0", c);
        }
    float *y = malloc((size_t)h * (size_t)w * 3 * sizeof *y);
    if (!y) {
        free(px);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    double sy = (double)ih / h, sx = (double)iw / w;
    for (int r = 0; r < h; r++) {
        double fy = (r + 0.5) * sy - 0.5;
        if (fy < 0)
            fy = 0;
        int y0 = (int)fy;
        int y1 = y0 + 1 < ih ? y0 + 1 : ih - 1;
        double wy = fy - y0;
        for (int q = 0; q < w; q++) {
            double fx = (q + 0.5) * sx - 0.5;
            if (fx < 0)
                fx = 0;
            int x0 = (int)fx;
            int x1 = x0 + 1 < iw ? x0 + 1 : iw - 1;
            double wx = fx - x0;
            for (int c = 0; c < 3; c++) {
                double a = px[((size_t)y0 * iw + x0) * 3 + c];
                double b = px[((size_t)y0 * iw + x1) * 3 + c];
                double cc = px[((size_t)y1 * iw + x0) * 3 + c];
                double dd = px[((size_t)y1 * iw + x1) * 3 + c];
                double v = (a * (1 - wx) + b * wx) * (1 - wy) +
                           (cc * (1 - wx) + dd * wx) * wy;
                float f = (float)((v / 255.0 - mean[c]) / std[c]);
                size_t at = nhwc ? ((size_t)r * w + q) * 3 + c
                                 : ((size_t)c * h + r) * w + q;
                y[at] = f;
            }
        }
    }
    free(px);
    memset(out, 0, sizeof *out);
    out->dtype = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    out->rank = 4;
    out->dims[0] = 1;
    out->dims[1] = nhwc ? h : 3;
    out->dims[2] = nhwc ? w : h;
    out->dims[3] = nhwc ? 3 : w;
    out->data = y;
    return ONNXQ_OK;
}
