/* Convolution kernels (see conv.h); dtype bodies in conv_tmpl.h. */
#include "conv.h"
#include "gemm.h"

#include <stdlib.h>
#include <string.h>
#include <stdint.h>

/* Output columns ow whose tap lands inside the input row:
 * 0 <= ow * stride + off < size, as the half-open range [*lo, *hi) within [0, n_out). */
static inline void fp_conv_valid_range(int64_t off, int64_t stride, int64_t size, int64_t n_out,
                                       int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t t = size - 1 - off;
    int64_t b = t < 0 ? 0 : t / stride + 1;
    a = FP_MIN(a, n_out);
    b = FP_MIN(b, n_out);
    *lo = a;
    *hi = FP_MAX(a, b);
}

/* A 1x1, stride-1, unpadded layer: the input already is the column matrix. */
static inline int fp_conv_is_pointwise(const fp_conv2d_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->ph == 0 && s->pw == 0 &&
           s->oh == s->h && s->ow == s->w;
}

/* Output positions per im2col tile: the column buffer (K x cols) stays within
 * FP_CONV_WS_BYTES (so it sits in L2 next to the GEMM's packed panels), but
 * never below FP_CONV_MIN_COLS columns, which keeps the GEMM efficient. */
static inline int64_t fp_conv_tile_cols(int64_t k, int64_t p, int64_t elem)
{
    int64_t cols = FP_CONV_WS_BYTES / (FP_MAX(k, 1) * elem);
    cols = cols / 16 * 16;
    cols = FP_MAX(cols, FP_CONV_MIN_COLS);
    return FP_MAX(1, FP_MIN(cols, p));
}

static inline int fp_conv_threads(int64_t work, int64_t units, int n_threads)
{
    int nt = fp_threads_for(work, n_threads);
    if (units < nt)
        nt = (int)FP_MAX(units, 1);
    return nt;
}

/* Weight gradient as inner products (conv_gw_tmpl.h): output positions per
 * tile, and bytes of column rows per tile (at least one channel's). */
#define FP_GWD_TILE 1024
#define FP_GWD_COL_BYTES ((int64_t)256 << 10)
/* Small maps: images per tile, so that a tile has at most FP_GWD_TILE
 * positions and its grad_out copy (C_out/groups rows) at most FP_GWD_A_BYTES. */
#define FP_GWD_A_BYTES ((int64_t)2 << 20)

static inline int64_t fp_conv_gwd_images(int64_t cog, int64_t p, int64_t elem)
{
    return FP_MAX(1, FP_MIN(FP_GWD_TILE / p, FP_GWD_A_BYTES / FP_MAX(cog * p * elem, 1)));
}

/* Per-thread elements of the inner-product weight gradient besides its
 * partial sums: column rows (and, for small maps, the grad_out copy). */
static int64_t fp_conv_gwd_elems(const fp_conv2d_shape *s, int64_t elem)
{
    const int64_t vl = 64 / elem, kk = s->kh * s->kw, cig = s->c_in / FP_MAX(s->groups, 1);
    const int64_t cog = s->c_out / FP_MAX(s->groups, 1), p = s->oh * s->ow;
    if (p % vl == 0) {
        const int64_t pt = FP_MIN(p, FP_GWD_TILE);
        const int64_t cch = FP_MAX(1, FP_MIN(cig, FP_GWD_COL_BYTES / (kk * pt * elem)));
        return fp_conv_is_pointwise(s) ? 0 : cch * kk * pt;
    }
    const int64_t l = (fp_conv_gwd_images(cog, p, elem) * p + vl - 1) / vl * vl;
    const int64_t cch = FP_MAX(1, FP_MIN(cig, FP_GWD_COL_BYTES / (kk * l * elem)));
    return cog * l + cch * kk * l;
}

int64_t fp_conv2d_im2col_workspace(const fp_conv2d_shape *s, int64_t elem, int n_threads, int backward)
{
    int64_t k = s->c_in / FP_MAX(s->groups, 1) * s->kh * s->kw;
    int64_t p = s->oh * s->ow;
    int64_t cols = fp_conv_tile_cols(k, p, elem);
    int64_t per_thread = fp_conv_is_pointwise(s) ? 0 : k * cols * elem;
    /* backward: the grad_x pass (a column tile, as forward), then the
     * grad_weight pass: partial sums plus its tiles (at most; the images
     * per tile of small maps never exceed the batch) */
    if (backward)
        per_thread = FP_MAX(per_thread, (s->c_out * k + fp_conv_gwd_elems(s, elem)) * elem);
    return per_thread * FP_MAX(n_threads, 1);
}

/* Streaming stores: fp_stream.h. */
#include "fp_stream.h"

/* Outputs above this many bytes are written with streaming stores. */
#ifndef FP_CONV_STREAM_BYTES
#define FP_CONV_STREAM_BYTES ((int64_t)16 << 20)
#endif

#define FP_TEMPLATE "conv_tmpl.h"
#include "fp_instantiate.h"
