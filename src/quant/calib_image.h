/* calib_image.h — images for calibration (calib_image.c): decode PNG/JPEG,
 * resize, normalise into a float32 model input. */
#ifndef OQ_CALIB_IMAGE_H
#define OQ_CALIB_IMAGE_H

#include "onnxq/runtime.h"

/* Decodes path (PNG or JPEG, by content) as RGB, resizes it to h x w
 * (bilinear, half-pixel centres), and writes (pixel / 255 - mean[c]) /
 * std[c] as float32 [1, 3, h, w] (nhwc: [1, h, w, 3]) into *out (malloc'd
 * data).  Errors name the file. */
onnxq_status oq_calib_image_load(const char *path, int h, int w,
                                 const float mean[3], const float std[3],
                                 int nhwc, onnxq_tensor *out,
                                 onnxq_error *err);

#endif
