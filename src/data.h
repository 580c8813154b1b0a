/* Data loading and augmentation kernels.
 *
 * Crop: an (oh, ow) window at per-sample offsets (top, left), padded where it
 * leaves the image (out of place).
 * Gather: rows of any dtype are copied as bytes into a contiguous batch
 * buffer (indices validated first; FP_ERR_INDEX on out-of-range).
 * Augmentations work IN PLACE on an NCHW batch with explicit per-sample
 * parameters (flip mask, integer shifts, 2x3 affine matrices); the random
 * draws live in the caller, so a kernel's output depends only on its inputs,
 * whatever the thread count. In place is safe for any parameters: translate
 * orders its row/column moves so that no source is overwritten before it is
 * read; the affine warp reads from a per-thread copy of the plane.
 *
 * Coordinates are pixel indices (row, col). An affine matrix maps an OUTPUT
 * pixel to the input position it samples: src = A @ (r, c) + b, with A =
 * m[0..1; 3..4], b = (m[2], m[5]); bilinear interpolation. Padding modes:
 * FP_PAD_ZERO - taps outside the image read 0 (scipy.ndimage mode
 * "grid-constant"), FP_PAD_EDGE - coordinates clamp to the border (scipy mode
 * "nearest").
 */
#ifndef FP_DATA_H
#define FP_DATA_H
#include "fp_common.h"

enum { FP_PAD_ZERO = 0, FP_PAD_EDGE = 1 };

/* Elements below which an augmentation kernel runs on the calling thread
 * (see data.c: a second thread pays off only well above one batch). */
#define FP_DATA_PAR_MIN_ELEMS ((int64_t)1 << 20)
static inline int fp_data_threads_for(int64_t work, int n_threads)
{
    return (n_threads > 1 && work >= FP_DATA_PAR_MIN_ELEMS) ? n_threads : 1;
}
enum { FP_CHANNEL_SUB_DIV = 0, FP_CHANNEL_MUL_ADD = 1 };

int fp_gather_rows_u8(const uint8_t *src, int64_t n_src_rows, int64_t row_bytes, const int64_t *idx,
                      int64_t n, uint8_t *dst, int n_threads);

#define FP_DECLARE_DATA(T, S)                                                                      \
    int fp_hflip_inplace_##S(T *x, int64_t n, int64_t c, int64_t h, int64_t w, const uint8_t *mask, \
                             int n_threads);                                                       \
    int fp_translate_inplace_##S(T *x, int64_t n, int64_t c, int64_t h, int64_t w,                  \
                                 const int64_t *shifts, int mode, int n_threads);                   \
    int fp_crop_##S(const T *x, T *y, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,   \
                    const int64_t *offsets, int mode, int n_threads);                              \
    int fp_affine_inplace_##S(T *x, int64_t n, int64_t c, int64_t h, int64_t w, const double *mats, \
                              int mode, int n_threads);                                            \
    int fp_channel_affine_##S(const T *x, T *y, int64_t n, int64_t c, int64_t inner, const double *a, \
                              const double *b, int kind, int n_threads);

FP_DECLARE_DATA(float, f32)
FP_DECLARE_DATA(double, f64)

#endif
