/* Winograd F(2x2, 3x3) convolution (see winograd.h); dtype bodies in winograd_tmpl.h. */
#define _POSIX_C_SOURCE 200112L
#include "winograd.h"
#include "gemm.h"

#include <stdlib.h>

static void *fp_wino_alloc(size_t nbytes)
{
    void *p = NULL;
    return posix_memalign(&p, 64, nbytes ? nbytes : 64) == 0 ? p : NULL;
}

/* The convolution a kernel call computes, in the terms of a forward pass:
 * `in` (n, cin, h, w) correlated with 3x3 filters into `out` (n, cout, oh,
 * ow); output (oy, ox) reads input rows oy - ph .. oy - ph + 2 (zero outside).
 * transposed: the filters are the forward layer's, used flipped and with
 * in/out swapped (grad_x). */
typedef struct {
    int64_t n, cin, h, w, cout, oh, ow, ph, pw, groups;
    int transposed;
} fp_wino_geom;

int fp_winograd_eligible(const fp_conv2d_shape *s)
{
    return s->kh == 3 && s->kw == 3 && s->sh == 1 && s->sw == 1 && s->dh == 1 && s->dw == 1;
}

static fp_wino_geom fp_wino_geometry(const fp_conv2d_shape *s, int backward)
{
    fp_wino_geom g;
    g.n = s->n;
    g.groups = s->groups;
    g.transposed = backward;
    if (!backward) {
        g.cin = s->c_in, g.h = s->h, g.w = s->w;
        g.cout = s->c_out, g.oh = s->oh, g.ow = s->ow;
        g.ph = s->ph, g.pw = s->pw;
    } else {
        g.cin = s->c_out, g.h = s->oh, g.w = s->ow;
        g.cout = s->c_in, g.oh = s->h, g.ow = s->w;
        g.ph = 2 - s->ph, g.pw = 2 - s->pw;
    }
    return g;
}

static inline int64_t fp_wino_tiles(const fp_wino_geom *g)
{
    return g->n * ((g->oh + 1) / 2) * ((g->ow + 1) / 2);
}

#ifndef FP_WINO_A_BYTES
#define FP_WINO_A_BYTES ((int64_t)256 << 10)
#endif
/* Tiles per block: V + M of one block within FP_WINO_WS_BYTES, a multiple
 * of FP_WINO_MIN_TILES (the GEMM's 32-column panel) and at least that;
 * smaller when that gives every thread a block to work on. */
static int64_t fp_wino_block_tiles(const fp_wino_geom *g, int64_t elem, int n_threads)
{
    const int64_t q = FP_WINO_MIN_TILES;
    int64_t cig = g->cin / g->groups, cog = g->cout / g->groups, t = fp_wino_tiles(g);
    int64_t tb = FP_WINO_WS_BYTES / (16 * (cig + cog) * elem) / q * q;
    tb = FP_MAX(tb, q);
    tb = FP_MIN(tb, (t + q - 1) / q * q);
    if (n_threads > 1 && g->groups * ((t + tb - 1) / tb) < n_threads) {
        int64_t even = (t + n_threads - 1) / n_threads;
        tb = FP_MAX(q, FP_MIN(tb, (even + q - 1) / q * q));
    }
    return tb;
}

/* Rows of U[xi] per GEMM call: a multiple of 8 (the packed row blocks)
 * whose kc <= FP_WINO_KC columns fit in FP_WINO_A_BYTES, so they stay in L2
 * while every 32-tile panel of the block passes under them. */
static inline int64_t fp_wino_gemm_rows(int64_t cig, int64_t elem)
{
    return FP_MAX(8, FP_WINO_A_BYTES / (cig * elem) / 8 * 8);
}

/* Per-thread elements besides V and M: the transforms' row buffers. */
static inline int64_t fp_wino_scratch(int64_t tb, int64_t elem) { return 16 * (tb + 2 * (64 / elem)); }

static int fp_wino_threads(const fp_wino_geom *g, int64_t units, int n_threads)
{
    int64_t work = fp_wino_tiles(g) * 16 * (g->cin / g->groups) * (g->cout / g->groups) * g->groups;
    int nt = fp_threads_for(work, n_threads);
    if (units < nt)
        nt = (int)FP_MAX(units, 1);
    return nt;
}

int64_t fp_winograd_workspace(const fp_conv2d_shape *s, int64_t elem, int n_threads, int backward)
{
    fp_wino_geom g = fp_wino_geometry(s, backward);
    int64_t cig = g.cin / g.groups, cog = g.cout / g.groups;
    int64_t tb = fp_wino_block_tiles(&g, elem, n_threads);
    int64_t units = g.groups * ((fp_wino_tiles(&g) + tb - 1) / tb);
    int nt = fp_wino_threads(&g, units, n_threads);
    int64_t filters = 16 * g.cout * cig;
    int64_t per_thread = 16 * (cig + cog) * (tb + 64 / elem) + fp_wino_scratch(tb, elem);
    return (filters + per_thread * nt) * elem;
}

#define FP_TEMPLATE "winograd_tmpl.h"
#include "fp_instantiate.h"
