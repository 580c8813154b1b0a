/* Body of conv.c, included once per dtype (FP_T, FP_S).
 *
 * Vectors are GCC vector extensions of 64 bytes (one zmm; two ymm or four xmm
 * in the AVX2/baseline target_clones variants), so one body serves every
 * target and both dtypes. Vector values never cross a function boundary.
 */

#include "fp_vec.h" /* VEC, IVEC, FP_VL, VLOAD, VSTORE, VLOAD_PART */
/* Vectors of output columns per register block of the direct kernels. */
#define FP_CONV_NV 2

/* Lanes [0, n) of the vector all-ones, the rest zero (for masking with &). */
#define VMASK(v, m) ((v) = (VEC)((IVEC)(v) & (m)))
FP_INLINE void FP_NAME(lane_mask)(IVEC *m, int64_t n)
{
    FP_IT t[FP_VL];
    for (int64_t l = 0; l < FP_VL; l++) t[l] = l < n ? (FP_IT)-1 : 0;
    memcpy(m, t, sizeof(IVEC));
}

/* ------------------------------------------------------------------------ */
/* im2col / col2im over a tile of output positions [p0, p1) of one image.   */

/* col[(ci*kh + i)*kw + j][p - p0] = x[ci][ih][iw] (0 in the padding), rows of
 * `ldc` elements. Loops follow Caffe's: one channel-tap row at a time, output
 * rows split into padding / interior / padding. */
FP_CLONES static void FP_NAME(im2col_tile)(const FP_T *x, const fp_conv2d_shape *s, int64_t nc,
                                           int64_t p0, int64_t p1, FP_T *col, int64_t ldc)
{
    const int64_t H = s->h, W = s->w, OW = s->ow, KH = s->kh, KW = s->kw;
    for (int64_t ci = 0; ci < nc; ci++) {
        const FP_T *xc = x + ci * H * W;
        for (int64_t i = 0; i < KH; i++) {
            for (int64_t j = 0; j < KW; j++) {
                FP_T *dst = col + ((ci * KH + i) * KW + j) * ldc - p0;
                int64_t off = j * s->dw - s->pw, lo, hi;
                fp_conv_valid_range(off, s->sw, W, OW, &lo, &hi);
                for (int64_t p = p0; p < p1;) {
                    int64_t oh = p / OW, ow0 = p - oh * OW;
                    int64_t ow1 = FP_MIN(OW, ow0 + (p1 - p));
                    FP_T *d = dst + oh * OW; /* d[ow] is position (oh, ow) */
                    int64_t ih = oh * s->sh - s->ph + i * s->dh;
                    if (ih < 0 || ih >= H) {
                        for (int64_t ow = ow0; ow < ow1; ow++) d[ow] = 0;
                    } else {
                        const FP_T *xr = xc + ih * W;
                        int64_t a = FP_MIN(FP_MAX(lo, ow0), ow1), b = FP_MIN(FP_MAX(hi, a), ow1);
                        for (int64_t ow = ow0; ow < a; ow++) d[ow] = 0;
                        if (s->sw == 1)
                            memcpy(d + a, xr + a + off, (size_t)(b - a) * sizeof(FP_T));
                        else
                            for (int64_t ow = a; ow < b; ow++) d[ow] = xr[ow * s->sw + off];
                        for (int64_t ow = b; ow < ow1; ow++) d[ow] = 0;
                    }
                    p += ow1 - ow0;
                }
            }
        }
    }
}

/* The adjoint of im2col_tile: x[ci][ih][iw] += col[...] (padding taps dropped). */
FP_CLONES static void FP_NAME(col2im_tile)(const FP_T *col, const fp_conv2d_shape *s, int64_t nc,
                                           int64_t p0, int64_t p1, FP_T *x, int64_t ldc)
{
    const int64_t H = s->h, W = s->w, OW = s->ow, KH = s->kh, KW = s->kw;
    for (int64_t ci = 0; ci < nc; ci++) {
        FP_T *xc = x + ci * H * W;
        for (int64_t i = 0; i < KH; i++) {
            for (int64_t j = 0; j < KW; j++) {
                const FP_T *src = col + ((ci * KH + i) * KW + j) * ldc - p0;
                int64_t off = j * s->dw - s->pw, lo, hi;
                fp_conv_valid_range(off, s->sw, W, OW, &lo, &hi);
                for (int64_t p = p0; p < p1;) {
                    int64_t oh = p / OW, ow0 = p - oh * OW;
                    int64_t ow1 = FP_MIN(OW, ow0 + (p1 - p));
                    int64_t ih = oh * s->sh - s->ph + i * s->dh;
                    if (ih >= 0 && ih < H) {
                        const FP_T *sr = src + oh * OW;
                        FP_T *xr = xc + ih * W;
                        int64_t a = FP_MIN(FP_MAX(lo, ow0), ow1), b = FP_MIN(FP_MAX(hi, a), ow1);
                        if (s->sw == 1)
                            for (int64_t ow = a; ow < b; ow++) xr[ow + off] += sr[ow];
                        else
                            for (int64_t ow = a; ow < b; ow++) xr[ow * s->sw + off] += sr[ow];
                    }
                    p += ow1 - ow0;
                }
            }
        }
    }
}

FP_CLONES static void FP_NAME(add_bias_rows)(FP_T *y, int64_t ld, int64_t n, const FP_T *b, int64_t rows)
{
    for (int64_t r = 0; r < rows; r++) {
        FP_T bv = b[r];
        FP_T *yr = y + r * ld;
        for (int64_t i = 0; i < n; i++) yr[i] += bv;
    }
}

static void FP_NAME(fill_bias)(FP_T *y, int64_t planes, int64_t c_out, int64_t p, const FP_T *b)
{
    for (int64_t i = 0; i < planes; i++) {
        FP_T v = b ? b[i % c_out] : (FP_T)0;
        for (int64_t j = 0; j < p; j++) y[i * p + j] = v;
    }
}

/* ------------------------------------------------------------------------ */
/* im2col + GEMM                                                             */

int FP_NAME(conv2d_forward_im2col)(const fp_conv2d_shape *s, const FP_T *x, const FP_T *w, const FP_T *b,
                                   FP_T *y, int n_threads)
{
    const int64_t N = s->n, G = s->groups, Cig = s->c_in / G, Cog = s->c_out / G;
    const int64_t HW = s->h * s->w, P = s->oh * s->ow, K = Cig * s->kh * s->kw;
    if (N == 0 || s->c_out == 0 || P == 0)
        return FP_OK;
    if (K == 0) {
        FP_NAME(fill_bias)(y, N * s->c_out, s->c_out, P, b);
        return FP_OK;
    }
    const int pointwise = fp_conv_is_pointwise(s);
    const int64_t pt = fp_conv_tile_cols(K, P, sizeof(FP_T));
    const int64_t ntiles = (P + pt - 1) / pt, units = N * G * ntiles;
    const int nth = fp_conv_threads(N * s->c_out * P * K, units, n_threads);
    FP_T *ws = NULL, *wpk = NULL;
    if (!pointwise && !(ws = malloc((size_t)(nth * K * pt) * sizeof(FP_T))))
        return FP_ERR_NOMEM;
    const int own = fp_gemm_prefer_own();
    if (own) {
        if (!(wpk = malloc((size_t)(s->c_out * K) * sizeof(FP_T)))) {
            free(ws);
            return FP_ERR_NOMEM;
        }
        for (int64_t g = 0; g < G; g++)
            FP_NAME(gemm_pack_a)(0, Cog, K, w + g * Cog * K, K, wpk + g * Cog * K);
    }
    int status = FP_OK;
    fp_gemm_single_threaded();
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        int64_t tile = u % ntiles, g = (u / ntiles) % G, n = u / (ntiles * G);
        int64_t p0 = tile * pt, np = FP_MIN(pt, P - p0);
        const FP_T *xg = x + (n * s->c_in + g * Cig) * HW;
        FP_T *yg = y + (n * s->c_out + g * Cog) * P + p0;
        const FP_T *bmat = xg + p0;
        int64_t ldb = P;
        if (!pointwise) {
            FP_T *buf = ws + fp_thread_id() * K * pt;
            FP_NAME(im2col_tile)(xg, s, Cig, p0, p0 + np, buf, np);
            bmat = buf;
            ldb = np;
        }
        if (own) {
            if (FP_NAME(gemm_packed)(Cog, np, K, wpk + g * Cog * K, bmat, ldb, yg, P, 0) != FP_OK) {
                #pragma omp atomic write
                status = FP_ERR_NOMEM;
            }
        } else {
            FP_NAME(gemm)(0, 0, Cog, np, K, 1, w + g * Cog * K, K, bmat, ldb, 0, yg, P);
        }
        if (b)
            FP_NAME(add_bias_rows)(yg, P, np, b + g * Cog, Cog);
    }
    free(ws);
    free(wpk);
    return status;
}

int FP_NAME(conv2d_backward_input_im2col)(const fp_conv2d_shape *s, const FP_T *gy, const FP_T *w, FP_T *gx,
                                          int n_threads)
{
    const int64_t N = s->n, G = s->groups, Cig = s->c_in / G, Cog = s->c_out / G;
    const int64_t HW = s->h * s->w, P = s->oh * s->ow, KK = s->kh * s->kw, K = Cig * KK;
    if (N == 0 || s->c_in == 0 || HW == 0)
        return FP_OK;
    if (P == 0 || Cog == 0) {
        memset(gx, 0, (size_t)(N * s->c_in * HW) * sizeof(FP_T));
        return FP_OK;
    }
    const int pointwise = fp_conv_is_pointwise(s);
    const int64_t pt = fp_conv_tile_cols(K, P, sizeof(FP_T));
    const int64_t ntiles = (P + pt - 1) / pt;
    fp_gemm_single_threaded();
    if (pointwise) {
        /* gx_g[:, tile] = W_g^T gy_g[:, tile]: tiles write disjoint columns. */
        const int64_t units = N * G * ntiles;
        const int nth = fp_conv_threads(N * s->c_out * P * K, units, n_threads);
        const int own = fp_gemm_prefer_own();
        FP_T *wtpk = NULL;
        if (own) {
            if (!(wtpk = malloc((size_t)(s->c_out * K) * sizeof(FP_T))))
                return FP_ERR_NOMEM;
            for (int64_t g = 0; g < G; g++)
                FP_NAME(gemm_pack_a)(1, Cig, Cog, w + g * Cog * K, K, wtpk + g * Cog * K);
        }
        int status = FP_OK;
        #pragma omp parallel for num_threads(nth) schedule(static)
        for (int64_t u = 0; u < units; u++) {
            int64_t tile = u % ntiles, g = (u / ntiles) % G, n = u / (ntiles * G);
            int64_t p0 = tile * pt, np = FP_MIN(pt, P - p0);
            const FP_T *gyt = gy + (n * s->c_out + g * Cog) * P + p0;
            FP_T *gxt = gx + (n * s->c_in + g * Cig) * HW + p0;
            if (own) {
                if (FP_NAME(gemm_packed)(Cig, np, Cog, wtpk + g * Cog * K, gyt, P, gxt, HW, 0)) {
                    #pragma omp atomic write
                    status = FP_ERR_NOMEM;
                }
            } else {
                FP_NAME(gemm)(1, 0, Cig, np, Cog, 1, w + g * Cog * K, K, gyt, P, 0, gxt, HW);
            }
        }
        free(wtpk);
        return status;
    }
    /* Overlapping windows make col2im of two tiles of one image collide, so
     * units own whole images; a unit may own only a slice of input channels
     * (disjoint rows of the column matrix) when there are fewer images than
     * threads. */
    int64_t cchunks = FP_MIN(FP_MAX((int64_t)n_threads / FP_MAX(N * G, 1), 1), Cig);
    int64_t chunk = (Cig + cchunks - 1) / cchunks;
    cchunks = (Cig + chunk - 1) / chunk;
    const int64_t units = N * G * cchunks;
    const int nth = fp_conv_threads(N * s->c_out * P * K, units, n_threads);
    FP_T *ws = malloc((size_t)(nth * K * pt) * sizeof(FP_T)), *wtpk = NULL;
    if (!ws)
        return FP_ERR_NOMEM;
    /* own GEMM: W_g^T packed once per (group, channel chunk) */
    const int own = fp_gemm_prefer_own();
    if (own) {
        if (!(wtpk = malloc((size_t)(s->c_out * K) * sizeof(FP_T)))) {
            free(ws);
            return FP_ERR_NOMEM;
        }
        for (int64_t g = 0; g < G; g++)
            for (int64_t c0 = 0; c0 < Cig; c0 += chunk)
                FP_NAME(gemm_pack_a)(1, FP_MIN(chunk, Cig - c0) * KK, Cog, w + g * Cog * K + c0 * KK, K,
                                     wtpk + (g * Cig + c0) * KK * Cog);
    }
    int status = FP_OK;
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        int64_t cc = u % cchunks, g = (u / cchunks) % G, n = u / (cchunks * G);
        int64_t c0 = cc * chunk, nc = FP_MIN(chunk, Cig - c0);
        FP_T *buf = ws + fp_thread_id() * K * pt;
        FP_T *gxg = gx + (n * s->c_in + g * Cig + c0) * HW;
        const FP_T *gyg = gy + (n * s->c_out + g * Cog) * P;
        memset(gxg, 0, (size_t)(nc * HW) * sizeof(FP_T));
        for (int64_t p0 = 0; p0 < P; p0 += pt) {
            int64_t np = FP_MIN(pt, P - p0);
            if (own) {
                if (FP_NAME(gemm_packed)(nc * KK, np, Cog, wtpk + (g * Cig + c0) * KK * Cog, gyg + p0, P, buf, np, 0)) {
                    #pragma omp atomic write
                    status = FP_ERR_NOMEM;
                }
            } else {
                FP_NAME(gemm)(1, 0, nc * KK, np, Cog, 1, w + g * Cog * K + c0 * KK, K, gyg + p0, P, 0, buf, np);
            }
            FP_NAME(col2im_tile)(buf, s, nc, p0, p0 + np, gxg, np);
        }
    }
    free(ws);
    free(wtpk);
    return status;
}

/* Sum of nparts arrays of n elements into dst, in part order. */
static void FP_NAME(sum_parts)(FP_T *dst, const FP_T *parts, int nparts, int64_t n, int n_threads)
{
    int nt = fp_threads_for(n * nparts, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        FP_T acc = parts[i];
        for (int t = 1; t < nparts; t++) acc += parts[t * n + i];
        dst[i] = acc;
    }
}

#include "conv_gw_tmpl.h"

int FP_NAME(conv2d_backward_weight_im2col)(const fp_conv2d_shape *s, const FP_T *gy, const FP_T *x, FP_T *gw,
                                           int n_threads)
{
    const int64_t WN = s->c_out * (s->c_in / s->groups) * s->kh * s->kw;
    if (WN == 0)
        return FP_OK;
    if (s->n == 0 || s->oh * s->ow == 0) {
        memset(gw, 0, (size_t)WN * sizeof(FP_T));
        return FP_OK;
    }
    return FP_NAME(gw_dot)(s, gy, x, gw, n_threads);
}

/* ------------------------------------------------------------------------ */
/* Bias gradient: sum of grad_out over images and positions, per channel.   */

FP_CLONES static FP_T FP_NAME(sum_contig)(const FP_T *a, int64_t n)
{
    /* FP_VL-lane partial sums, combined in a fixed order. */
    FP_T acc[FP_VL] = {0};
    int64_t i = 0;
    for (; i + FP_VL <= n; i += FP_VL)
        for (int64_t l = 0; l < FP_VL; l++) acc[l] += a[i + l];
    for (; i < n; i++) acc[i % FP_VL] += a[i];
    FP_T total = 0;
    for (int64_t l = 0; l < FP_VL; l++) total += acc[l];
    return total;
}

int FP_NAME(conv2d_backward_bias)(const fp_conv2d_shape *s, const FP_T *gy, FP_T *gb, int n_threads)
{
    const int64_t C = s->c_out, P = s->oh * s->ow, N = s->n;
    int nt = fp_conv_threads(N * C * P, C, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        FP_T total = 0;
        for (int64_t n = 0; n < N; n++) total += FP_NAME(sum_contig)(gy + (n * C + c) * P, P);
        gb[c] = total;
    }
    return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* Public im2col / col2im: col is (n, c*kh*kw, oh*ow), groups ignored.      */

int FP_NAME(im2col)(const fp_conv2d_shape *s, const FP_T *x, FP_T *col, int n_threads)
{
    const int64_t N = s->n, C = s->c_in, KK = s->kh * s->kw, P = s->oh * s->ow, HW = s->h * s->w;
    int nt = fp_conv_threads(N * C * KK * P, N * C, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t u = 0; u < N * C; u++)
        FP_NAME(im2col_tile)(x + u * HW, s, 1, 0, P, col + u * KK * P, P);
    return FP_OK;
}

int FP_NAME(col2im)(const fp_conv2d_shape *s, const FP_T *col, FP_T *x, int n_threads)
{
    const int64_t N = s->n, C = s->c_in, KK = s->kh * s->kw, P = s->oh * s->ow, HW = s->h * s->w;
    int nt = fp_conv_threads(N * C * KK * P, N * C, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t u = 0; u < N * C; u++) {
        memset(x + u * HW, 0, (size_t)HW * sizeof(FP_T));
        FP_NAME(col2im_tile)(col + u * KK * P, s, 1, 0, P, x + u * HW, P);
    }
    return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* direct                                                                    */

/* Geometry of the per-thread row buffer: an input row, zero-padded and split
 * by stride phase, so that tap kw of output columns [ow0, ow0 + k) is the
 * contiguous run buf[koff[kw] + ow0 ...]: phase r = (kw*dw) % sw holds
 * padded elements r, r + sw, r + 2 sw, ... */
typedef struct {
    int64_t len;   /* elements per phase */
    int64_t row;   /* elements per buffered row: sw * len */
    int64_t kwpad; /* taps with an offset (kw rounded up to 4 for the weight-gradient kernel) */
} FP_NAME(rowgeom);

static FP_NAME(rowgeom) FP_NAME(row_geometry)(const fp_conv2d_shape *s, int64_t min_len)
{
    FP_NAME(rowgeom) g;
    int64_t owp = (s->ow + FP_CONV_NV * FP_VL - 1) / (FP_CONV_NV * FP_VL) * (FP_CONV_NV * FP_VL);
    g.kwpad = (s->kw + 3) / 4 * 4;
    g.len = FP_MAX(owp + ((g.kwpad - 1) * s->dw) / s->sw + 1, min_len);
    g.row = s->sw * g.len;
    return g;
}

static void FP_NAME(tap_offsets)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, int64_t *koff)
{
    for (int64_t j = 0; j < g.kwpad; j++) {
        int64_t o = j * s->dw;
        koff[j] = (o % s->sw) * g.len + o / s->sw;
    }
}

/* buf[r * len + i] = x[i * sw + r - pw] (0 outside the row). */
FP_INLINE void FP_NAME(build_row)(const FP_T *xr, int64_t W, int64_t sw, int64_t pw, int64_t len, FP_T *buf)
{
    for (int64_t r = 0; r < sw; r++) {
        FP_T *d = buf + r * len;
        int64_t lo, hi;
        fp_conv_valid_range(r - pw, sw, W, len, &lo, &hi);
        for (int64_t i = 0; i < lo; i++) d[i] = 0;
        if (sw == 1)
            memcpy(d + lo, xr + lo + r - pw, (size_t)(hi - lo) * sizeof(FP_T));
        else
            for (int64_t i = lo; i < hi; i++) d[i] = xr[i * sw + r - pw];
        for (int64_t i = hi; i < len; i++) d[i] = 0;
    }
}

/* Inverse of build_row's layout: dst[iw] = row element iw + pw (the
 * margins, where padding taps landed, are dropped). */
FP_INLINE void FP_NAME(unsplit_row)(const FP_T *src, FP_NAME(rowgeom) g, int64_t W, int64_t sw, int64_t pw, FP_T *dst)
{
    if (sw == 1) {
        memcpy(dst, src + pw, (size_t)W * sizeof(FP_T));
        return;
    }
    for (int64_t iw = 0; iw < W; iw++) {
        int64_t j = iw + pw;
        dst[iw] = src[(j % sw) * g.len + j / sw];
    }
}

/* Per-tap vector partial sums of the weight-gradient kernels. */
FP_INLINE void FP_NAME(tap_add)(FP_T *ap, VEC v)
{
    VEC t;
    VLOAD(t, ap);
    t += v;
    VSTORE(ap, t);
}

FP_INLINE void FP_NAME(tap_reduce)(const FP_T *acc, int64_t kk, FP_T *out)
{
    for (int64_t k = 0; k < kk; k++) {
        FP_T total = 0;
        for (int64_t l = 0; l < FP_VL; l++) total += acc[k * FP_VL + l];
        out[k] = total;
    }
}

/* Valid kernel rows [*lo, *hi) for output row oh (ih = oh*sh - ph + kh*dh in [0, H)). */
static inline void FP_NAME(kh_range)(const fp_conv2d_shape *s, int64_t oh, int64_t *lo, int64_t *hi)
{
    fp_conv_valid_range(oh * s->sh - s->ph, s->dh, s->h, s->kh, lo, hi);
}

/* COB (<= 8) output channels x 2 vectors of output columns of row oh,
 * accumulated in registers over nci buffered input channels (rows
 * kh_lo..kh_hi). w is the block's packed weights: [ci][kh][kw][COB].
 * The 16 accumulators are named variables, not an array: GCC keeps an array
 * of vectors in memory across the outer loops (a load and a store of every
 * accumulator per kernel row, half the speed). */
#define FP_ACC_DECL(c) VEC a##c##0 = (VEC){0}, a##c##1 = (VEC){0}
#define FP_ACC_INIT(c)                                                                     \
    if (COB > c) {                                                                         \
        if (first) {                                                                       \
            a##c##0 = (VEC){0} + (b ? b[c] : (FP_T)0);                                     \
            a##c##1 = a##c##0;                                                             \
        } else if (nv >= 2 * FP_VL) {                                                      \
            VLOAD(a##c##0, y + c * P + ow0);                                               \
            VLOAD(a##c##1, y + c * P + ow0 + FP_VL);                                       \
        } else {                                                                           \
            VLOAD_PART(a##c##0, y + c * P + ow0, nv);                                      \
            VLOAD_PART(a##c##1, y + c * P + ow0 + FP_VL, nv - FP_VL);                      \
        }                                                                                  \
    }
#define FP_ACC_FMA(c)                                                                      \
    if (COB > c) {                                                                         \
        FP_T wv = wp[kw * COB + c];                                                        \
        a##c##0 += wv * x0;                                                                \
        a##c##1 += wv * x1;                                                                \
    }
#define FP_ACC_STORE(c)                                                                    \
    if (COB > c) {                                                                         \
        FP_T *yr = y + c * P + ow0;                                                        \
        if (nv >= 2 * FP_VL) {                                                             \
            VSTORE(yr, a##c##0);                                                           \
            VSTORE(yr + FP_VL, a##c##1);                                                   \
        } else {                                                                           \
            FP_T t[2 * FP_VL];                                                             \
            VSTORE(t, a##c##0);                                                            \
            VSTORE(t + FP_VL, a##c##1);                                                    \
            memcpy(yr, t, (size_t)nv * sizeof(FP_T));                                      \
        }                                                                                  \
    }
#define FP_ACC_ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)

FP_INLINE void FP_NAME(fwd_block)(const int COB, const int KWC, const fp_conv2d_shape *s, FP_NAME(rowgeom) g,
                                  const int64_t *koff, const FP_T *buf, int64_t nci, int64_t ci0,
                                  int64_t kh_lo, int64_t kh_hi, const FP_T *w, const FP_T *b, FP_T *y,
                                  int64_t P, int first)
{
    /* KWC: the kernel width as a compile-time constant (0: runtime), so the
     * common 3-wide rows unroll completely */
    const int64_t KH = s->kh, KW = KWC ? KWC : s->kw, OW = s->ow;
    for (int64_t ow0 = 0; ow0 < OW; ow0 += 2 * FP_VL) {
        const int64_t nv = OW - ow0;
        FP_ACC_DECL(0); FP_ACC_DECL(1); FP_ACC_DECL(2); FP_ACC_DECL(3);
        FP_ACC_DECL(4); FP_ACC_DECL(5); FP_ACC_DECL(6); FP_ACC_DECL(7);
        FP_ACC_ALL(FP_ACC_INIT)
        for (int64_t ci = 0; ci < nci; ci++) {
            for (int64_t kh = kh_lo; kh < kh_hi; kh++) {
                const FP_T *rb = buf + (ci * KH + kh) * g.row + ow0;
                const FP_T *wp = w + ((ci0 + ci) * KH + kh) * KW * COB;
                for (int64_t kw = 0; kw < KW; kw++) {
                    VEC x0, x1;
                    VLOAD(x0, rb + koff[kw]);
                    VLOAD(x1, rb + koff[kw] + FP_VL);
                    FP_ACC_ALL(FP_ACC_FMA)
                }
            }
        }
        FP_ACC_ALL(FP_ACC_STORE)
    }
}
#undef FP_ACC_DECL
#undef FP_ACC_INIT
#undef FP_ACC_FMA
#undef FP_ACC_STORE
#undef FP_ACC_ALL

/* Output channels handled by one work unit (they share the row buffers). */
#ifndef FP_CONV_DIRECT_CO
#define FP_CONV_DIRECT_CO 64
#endif

/* Output-channel blocks of a direct work unit of nco channels: 8, then 4, then 1. */
static inline int64_t FP_NAME(co_block)(int64_t remaining)
{
    return remaining >= 8 ? 8 : (remaining >= 4 ? 4 : 1);
}

/* Weights re-laid out per output-channel block as [ci][kh][kw][block] so the
 * kernel's broadcasts walk one contiguous stream (same size as weight). */
static void FP_NAME(pack_weights)(const fp_conv2d_shape *s, const FP_T *w, FP_T *wpk)
{
    const int64_t G = s->groups, Cog = s->c_out / G, kwt = s->c_in / G * s->kh * s->kw;
    for (int64_t gi = 0; gi < G; gi++)
        for (int64_t cu = 0; cu < Cog; cu += FP_CONV_DIRECT_CO) {
            int64_t nco = FP_MIN(FP_CONV_DIRECT_CO, Cog - cu);
            for (int64_t co = 0; co < nco;) {
                int64_t cb = FP_NAME(co_block)(nco - co), base = (gi * Cog + cu + co) * kwt;
                for (int64_t c = 0; c < cb; c++)
                    for (int64_t k = 0; k < kwt; k++) wpk[base + k * cb + c] = w[base + c * kwt + k];
                co += cb;
            }
        }
}

/* One output row oh of `nco` output channels of one image and group. */
FP_CLONES static void FP_NAME(direct_fwd_row)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const int64_t *koff,
                                              int64_t cib, const FP_T *xg, const FP_T *w, const FP_T *b,
                                              FP_T *y, int64_t nco, int64_t oh, FP_T *buf)
{
    const int64_t Cig = s->c_in / s->groups, KH = s->kh, HW = s->h * s->w, P = s->oh * s->ow;
    const int64_t kwt = Cig * KH * s->kw;
    /* Kernel rows over the top/bottom padding are zero rows, multiplied
     * like any other: torch gives NaN for an Inf weight over padding. */
    const int64_t kh_lo = 0, kh_hi = KH;
    y += oh * s->ow;
    int64_t ci0 = 0;
    do {
        int64_t nci = FP_MIN(cib, Cig - ci0);
        for (int64_t ci = 0; ci < nci; ci++)
            for (int64_t kh = 0; kh < KH; kh++) {
                int64_t ih = oh * s->sh - s->ph + kh * s->dh;
                if (ih < 0 || ih >= s->h)
                    memset(buf + (ci * KH + kh) * g.row, 0, (size_t)g.row * sizeof(FP_T));
                else
                    FP_NAME(build_row)(xg + (ci0 + ci) * HW + ih * s->w, s->w, s->sw, s->pw, g.len,
                                       buf + (ci * KH + kh) * g.row);
            }
        int first = ci0 == 0;
        for (int64_t co = 0; co < nco;) {
            int64_t cb = FP_NAME(co_block)(nco - co);
            const FP_T *wb = w + co * kwt, *bb = b ? b + co : NULL;
            FP_T *yb = y + co * P;
#define FP_FWD_BLOCK(COB, KWC) FP_NAME(fwd_block)(COB, KWC, s, g, koff, buf, nci, ci0, kh_lo, kh_hi, wb, bb, yb, P, first)
            if (s->kw == 3) {
                if (cb == 8) FP_FWD_BLOCK(8, 3);
                else if (cb == 4) FP_FWD_BLOCK(4, 3);
                else FP_FWD_BLOCK(1, 3);
            } else {
                if (cb == 8) FP_FWD_BLOCK(8, 0);
                else if (cb == 4) FP_FWD_BLOCK(4, 0);
                else FP_FWD_BLOCK(1, 0);
            }
#undef FP_FWD_BLOCK
            co += cb;
        }
        ci0 += cib;
    } while (ci0 < Cig);
}

/* ---- one input channel per group (depthwise): per-gradient kernels ----
 * The forward and the fused backward are in conv_dw_tmpl.h; these compute
 * one gradient at a time (and run when the fused backward does not apply:
 * non-finite values, or only one of grad_x / grad_weight asked for). Each
 * unit buffers whole planes (zero-padded, stride-phase-split;
 * FP_CONV_PLANE_BYTES at most, else the general direct kernels run). */
#define FP_CONV_PLANE_BYTES ((int64_t)1 << 20)

FP_INLINE void FP_NAME(build_plane)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const FP_T *xc, FP_T *buf)
{
    for (int64_t ih = 0; ih < s->h; ih++)
        FP_NAME(build_row)(xc + ih * s->w, s->w, s->sw, s->pw, g.len, buf + ih * g.row);
}

/* grad_x plane of input channel ci: sum over its cog output channels of the
 * transposed correlation, accumulated in the phase-split row buffer. One tap
 * at a time over the whole plane: successive read-modify-writes then never
 * overlap a store still in flight (tap-after-tap on shifted, overlapping
 * vectors defeats store-to-load forwarding and runs ~20x slower). */
FP_CLONES static void FP_NAME(dw_bwi_plane)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const int64_t *koff,
                                            const FP_T *gyc, const FP_T *wc, int64_t cog, FP_T *gxc, FP_T *buf)
{
    const int64_t OW = s->ow, KH = s->kh, KW = s->kw, KK = KH * KW, P = s->oh * OW, W = s->w;
    memset(buf, 0, (size_t)(s->h * g.row) * sizeof(FP_T));
    for (int64_t co = 0; co < cog; co++) {
        const FP_T *gp = gyc + co * P;
        for (int64_t kh = 0; kh < KH; kh++) {
            for (int64_t kw = 0; kw < KW; kw++) {
                const FP_T wv = wc[co * KK + kh * KW + kw];
                /* gv is zero past the row, so a full-vector update only adds
                 * zeros there, unless the weight is Inf/NaN. */
                const int full_ok = wv - wv == 0;
                for (int64_t oh = 0; oh < s->oh; oh++) {
                    int64_t ih = oh * s->sh - s->ph + kh * s->dh;
                    if (ih < 0 || ih >= s->h)
                        continue;
                    FP_T *rb = buf + ih * g.row + koff[kw];
                    const FP_T *gr = gp + oh * OW;
                    for (int64_t ow0 = 0; ow0 < OW; ow0 += FP_VL) {
                        const int64_t nv = OW - ow0;
                        VEC gv, d;
                        if (nv >= FP_VL)
                            VLOAD(gv, gr + ow0);
                        else if (full_ok)
                            VLOAD_PART(gv, gr + ow0, nv);
                        else {
                            for (int64_t l = 0; l < nv; l++) rb[ow0 + l] += wv * gr[ow0 + l];
                            continue;
                        }
                        VLOAD(d, rb + ow0);
                        d += wv * gv;
                        VSTORE(rb + ow0, d);
                    }
                }
            }
        }
    }
    for (int64_t ih = 0; ih < s->h; ih++)
        FP_NAME(unsplit_row)(buf + ih * g.row, g, W, s->sw, s->pw, gxc + ih * W);
}

/* grad_weight of one output channel (one input channel): per image, each tap
 * is one dot product over the plane kept in a register; the per-image sums
 * add into acc (KK vectors), reduced lane by lane at the end. */
FP_CLONES static void FP_NAME(dw_bww_channel)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const int64_t *koff,
                                              const FP_T *gy, const FP_T *x, int64_t co, int64_t ci, FP_T *gwc,
                                              FP_T *buf, FP_T *acc)
{
    const int64_t OW = s->ow, KH = s->kh, KW = s->kw, KK = KH * KW, P = s->oh * OW, HW = s->h * s->w;
    const int64_t nfull = OW / FP_VL * FP_VL, rem = OW - nfull;
    IVEC m;
    FP_NAME(lane_mask)(&m, rem);
    memset(acc, 0, (size_t)(KK * FP_VL) * sizeof(FP_T));
    for (int64_t n = 0; n < s->n; n++) {
        FP_NAME(build_plane)(s, g, x + (n * s->c_in + ci) * HW, buf);
        const FP_T *gp = gy + (n * s->c_out + co) * P;
        for (int64_t kh = 0; kh < KH; kh++) {
            for (int64_t kw = 0; kw < KW; kw++) {
                VEC a0 = (VEC){0}, a1 = (VEC){0};
                for (int64_t oh = 0; oh < s->oh; oh++) {
                    int64_t ih = oh * s->sh - s->ph + kh * s->dh;
                    if (ih < 0 || ih >= s->h)
                        continue;
                    const FP_T *rb = buf + ih * g.row + koff[kw];
                    const FP_T *gr = gp + oh * OW;
                    int64_t ow0 = 0;
                    for (; ow0 + 2 * FP_VL <= nfull; ow0 += 2 * FP_VL) {
                        VEC g0, g1, x0, x1;
                        VLOAD(g0, gr + ow0);
                        VLOAD(g1, gr + ow0 + FP_VL);
                        VLOAD(x0, rb + ow0);
                        VLOAD(x1, rb + ow0 + FP_VL);
                        a0 += g0 * x0;
                        a1 += g1 * x1;
                    }
                    for (; ow0 < nfull; ow0 += FP_VL) {
                        VEC g0, x0;
                        VLOAD(g0, gr + ow0);
                        VLOAD(x0, rb + ow0);
                        a0 += g0 * x0;
                    }
                    if (rem) {
                        /* zero past the row in both factors: no Inf/NaN leaks in */
                        VEC g0, x0;
                        VLOAD_PART(g0, gr + ow0, rem);
                        VLOAD(x0, rb + ow0);
                        VMASK(x0, m);
                        a1 += g0 * x0;
                    }
                }
                FP_NAME(tap_add)(acc + (kh * KW + kw) * FP_VL, a0 + a1);
            }
        }
    }
    FP_NAME(tap_reduce)(acc, KK, gwc);
}

/* ---- depthwise backward, stride-1 rows: "flat" planes ----
 * With sh == 1 consecutive output rows map to consecutive buffered input
 * rows, so a tap (kh, kw) is ONE contiguous dot product / axpy over the
 * whole plane: grad_out is copied with the buffer's row stride (zeros in
 * the extra columns), the input plane is buffered with zero rows above and
 * below. No per-row loop overhead (rows are only 3-4 vectors long). The
 * padded columns multiply zeros of grad_out by input values, so the flat
 * form is only used when those values are finite (else the row form). */

static inline int64_t FP_NAME(flat_rows)(const fp_conv2d_shape *s)
{
    return s->oh + (s->kh - 1) * s->dh;
}

/* elements of one flat scratch: buffered plane + grad_out copy, with slack */
static inline int64_t FP_NAME(flat_scratch)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g)
{
    return (FP_NAME(flat_rows)(s) + 2) * g.row + (s->oh + 1) * g.row + 6 * FP_VL;
}

FP_INLINE int FP_NAME(all_finite)(const FP_T *a, int64_t n)
{
    VEC z = (VEC){0};
    int64_t i = 0;
    for (; i + FP_VL <= n; i += FP_VL) {
        VEC v;
        VLOAD(v, a + i);
        z += v * 0;
    }
    FP_T t = 0;
    for (; i < n; i++) t += a[i] * 0;
    for (int64_t l = 0; l < FP_VL; l++) t += z[l];
    return t == 0;
}

/* gyp[oh * row + ow] = gy[oh][ow] for ow < OW, zeros elsewhere (+ slack). */
FP_INLINE void FP_NAME(flat_grad_out)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const FP_T *gyc, FP_T *gyp,
                                      int64_t lr)
{
    for (int64_t oh = 0; oh < s->oh; oh++) {
        memcpy(gyp + oh * g.row, gyc + oh * s->ow, (size_t)s->ow * sizeof(FP_T));
        memset(gyp + oh * g.row + s->ow, 0, (size_t)(g.row - s->ow) * sizeof(FP_T));
    }
    memset(gyp + s->oh * g.row, 0, (size_t)(lr - s->oh * g.row + 2 * FP_VL) * sizeof(FP_T));
}

/* 1 if done; 0 if a non-finite input needs the row form. */
FP_CLONES static int FP_NAME(dw_bww_flat)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const int64_t *koff,
                                          const FP_T *gy, const FP_T *x, int64_t co, int64_t ci, FP_T *gwc,
                                          FP_T *buf, FP_T *acc)
{
    const int64_t KH = s->kh, KW = s->kw, KK = KH * KW, P = s->oh * s->ow, HW = s->h * s->w;
    const int64_t R = FP_NAME(flat_rows)(s), L = s->oh * g.row, lr = (L + 2 * FP_VL - 1) / (2 * FP_VL) * (2 * FP_VL);
    FP_T *gyp = buf + (R + 2) * g.row + 2 * FP_VL;
    memset(acc, 0, (size_t)(KK * FP_VL) * sizeof(FP_T));
    memset(buf + R * g.row, 0, (size_t)(2 * g.row + 2 * FP_VL) * sizeof(FP_T));
    for (int64_t n = 0; n < s->n; n++) {
        const FP_T *xc = x + (n * s->c_in + ci) * HW;
        if (!FP_NAME(all_finite)(xc, HW))
            return 0;
        for (int64_t r = 0; r < R; r++) {
            int64_t ih = r - s->ph;
            if (ih >= 0 && ih < s->h)
                FP_NAME(build_row)(xc + ih * s->w, s->w, s->sw, s->pw, g.len, buf + r * g.row);
            else
                memset(buf + r * g.row, 0, (size_t)g.row * sizeof(FP_T));
        }
        FP_NAME(flat_grad_out)(s, g, gy + (n * s->c_out + co) * P, gyp, lr);
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                const FP_T *xb = buf + kh * s->dh * g.row + koff[kw];
                VEC a0 = (VEC){0}, a1 = (VEC){0};
                for (int64_t q = 0; q < lr; q += 2 * FP_VL) {
                    VEC g0, g1, x0, x1;
                    VLOAD(g0, gyp + q);
                    VLOAD(g1, gyp + q + FP_VL);
                    VLOAD(x0, xb + q);
                    VLOAD(x1, xb + q + FP_VL);
                    a0 += g0 * x0;
                    a1 += g1 * x1;
                }
                FP_NAME(tap_add)(acc + (kh * KW + kw) * FP_VL, a0 + a1);
            }
    }
    FP_NAME(tap_reduce)(acc, KK, gwc);
    return 1;
}

FP_CLONES static int FP_NAME(dw_bwi_flat)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const int64_t *koff,
                                          const FP_T *gyc, const FP_T *wc, int64_t cog, FP_T *gxc, FP_T *buf)
{
    const int64_t KH = s->kh, KW = s->kw, KK = KH * KW, P = s->oh * s->ow, W = s->w;
    const int64_t R = FP_NAME(flat_rows)(s), L = s->oh * g.row, lr = (L + 2 * FP_VL - 1) / (2 * FP_VL) * (2 * FP_VL);
    FP_T *gyp = buf + (R + 2) * g.row + 2 * FP_VL;
    if (!FP_NAME(all_finite)(wc, cog * KK))
        return 0;
    memset(buf, 0, (size_t)((R + 2) * g.row + 2 * FP_VL) * sizeof(FP_T));
    for (int64_t co = 0; co < cog; co++) {
        FP_NAME(flat_grad_out)(s, g, gyc + co * P, gyp, lr);
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                FP_T *ab = buf + kh * s->dh * g.row + koff[kw];
                const FP_T wv = wc[co * KK + kh * KW + kw];
                for (int64_t q = 0; q < lr; q += 2 * FP_VL) {
                    VEC g0, g1, d0, d1;
                    VLOAD(g0, gyp + q);
                    VLOAD(g1, gyp + q + FP_VL);
                    VLOAD(d0, ab + q);
                    VLOAD(d1, ab + q + FP_VL);
                    d0 += wv * g0;
                    d1 += wv * g1;
                    VSTORE(ab + q, d0);
                    VSTORE(ab + q + FP_VL, d1);
                }
            }
    }
    for (int64_t ih = 0; ih < s->h; ih++)
        FP_NAME(unsplit_row)(buf + (ih + s->ph) * g.row, g, W, s->sw, s->pw, gxc + ih * W);
    return 1;
}

static int FP_NAME(plane_path)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g)
{
    return s->c_in / s->groups == 1 && s->h * g.row * (int64_t)sizeof(FP_T) <= FP_CONV_PLANE_BYTES;
}

/* Per-thread scratch of `per_thread` elements plus the tap offsets. */
static int FP_NAME(direct_scratch)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, int nth, int64_t per_thread,
                                   FP_T **bufs, int64_t **koff)
{
    *bufs = malloc((size_t)FP_MAX(nth * per_thread, 1) * sizeof(FP_T));
    *koff = malloc((size_t)g.kwpad * sizeof(int64_t));
    if (!*bufs || !*koff) {
        free(*bufs);
        free(*koff);
        return FP_ERR_NOMEM;
    }
    FP_NAME(tap_offsets)(s, g, *koff);
    return FP_OK;
}

static int FP_NAME(dw_backward_input)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const FP_T *gy,
                                      const FP_T *w, FP_T *gx, int n_threads)
{
    const int64_t Cog = s->c_out / s->groups, HW = s->h * s->w, P = s->oh * s->ow, KK = s->kh * s->kw;
    const int64_t units = s->n * s->c_in;
    const int nth = fp_conv_threads(s->n * s->c_out * P * KK, units, n_threads);
    const int flat = s->sh == 1;
    const int64_t per_thread = flat ? FP_MAX(FP_NAME(flat_scratch)(s, g), s->h * g.row) : s->h * g.row;
    FP_T *bufs;
    int64_t *koff;
    if (FP_NAME(direct_scratch)(s, g, nth, per_thread, &bufs, &koff))
        return FP_ERR_NOMEM;
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        int64_t ci = u % s->c_in, n = u / s->c_in;
        FP_T *buf = bufs + fp_thread_id() * per_thread;
        const FP_T *gyc = gy + (n * s->c_out + ci * Cog) * P, *wc = w + ci * Cog * KK;
        if (!flat || !FP_NAME(dw_bwi_flat)(s, g, koff, gyc, wc, Cog, gx + u * HW, buf))
            FP_NAME(dw_bwi_plane)(s, g, koff, gyc, wc, Cog, gx + u * HW, buf);
    }
    free(bufs);
    free(koff);
    return FP_OK;
}

static int FP_NAME(dw_backward_weight)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const FP_T *gy,
                                       const FP_T *x, FP_T *gw, int n_threads)
{
    const int64_t Cog = s->c_out / s->groups, P = s->oh * s->ow, KK = s->kh * s->kw;
    const int flat = s->sh == 1;
    const int64_t plane = flat ? FP_MAX(FP_NAME(flat_scratch)(s, g), s->h * g.row) : s->h * g.row;
    const int64_t units = s->c_out, per_thread = plane + KK * FP_VL;
    const int nth = fp_conv_threads(s->n * s->c_out * P * KK, units, n_threads);
    FP_T *bufs;
    int64_t *koff;
    if (FP_NAME(direct_scratch)(s, g, nth, per_thread, &bufs, &koff))
        return FP_ERR_NOMEM;
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int64_t co = 0; co < units; co++) {
        FP_T *buf = bufs + fp_thread_id() * per_thread;
        if (!flat || !FP_NAME(dw_bww_flat)(s, g, koff, gy, x, co, co / Cog, gw + co * KK, buf, buf + plane))
            FP_NAME(dw_bww_channel)(s, g, koff, gy, x, co, co / Cog, gw + co * KK, buf, buf + plane);
    }
    free(bufs);
    free(koff);
    return FP_OK;
}

#include "conv_dw_tmpl.h"

/* Row buffers of one unit stay within this many bytes (L1-resident). */
#ifndef FP_CONV_ROWBUF_BYTES
#define FP_CONV_ROWBUF_BYTES ((int64_t)24 << 10)
#endif

int FP_NAME(conv2d_forward_direct)(const fp_conv2d_shape *s, const FP_T *x, const FP_T *w, const FP_T *b,
                                   FP_T *y, int n_threads)
{
    const int64_t N = s->n, G = s->groups, Cig = s->c_in / G, Cog = s->c_out / G;
    const int64_t HW = s->h * s->w, P = s->oh * s->ow, OH = s->oh;
    if (N == 0 || s->c_out == 0 || P == 0)
        return FP_OK;
    if (Cig == 0) {
        FP_NAME(fill_bias)(y, N * s->c_out, s->c_out, P, b);
        return FP_OK;
    }
    FP_NAME(rowgeom) g = FP_NAME(row_geometry)(s, 0);
    if (Cig == 1) {
        FP_NAME(dwgeom) dg = FP_NAME(dw_geometry)(s);
        if ((dg.rows * dg.row + FP_VL) * (int64_t)sizeof(FP_T) <= FP_CONV_PLANE_BYTES)
            return FP_NAME(dw_forward2)(s, x, w, b, y, n_threads);
    }
    int64_t cib = FP_MIN(FP_MAX(FP_CONV_ROWBUF_BYTES / (s->kh * g.row * (int64_t)sizeof(FP_T)), 1), Cig);
    const int64_t ncu = (Cog + FP_CONV_DIRECT_CO - 1) / FP_CONV_DIRECT_CO;
    const int64_t units = N * G * ncu * OH;
    const int nth = fp_conv_threads(N * s->c_out * P * Cig * s->kh * s->kw, units, n_threads);
    const int64_t per_thread = cib * s->kh * g.row;
    FP_T *bufs = malloc((size_t)(nth * per_thread) * sizeof(FP_T));
    FP_T *wpk = malloc((size_t)(s->c_out * Cig * s->kh * s->kw) * sizeof(FP_T));
    int64_t *koff = malloc((size_t)g.kwpad * sizeof(int64_t));
    if (!bufs || !koff || !wpk) {
        free(bufs);
        free(wpk);
        free(koff);
        return FP_ERR_NOMEM;
    }
    FP_NAME(tap_offsets)(s, g, koff);
    FP_NAME(pack_weights)(s, w, wpk);
    w = wpk;
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        int64_t oh = u % OH, cu = (u / OH) % ncu, gi = (u / (OH * ncu)) % G, n = u / (OH * ncu * G);
        int64_t co0 = gi * Cog + cu * FP_CONV_DIRECT_CO, nco = FP_MIN(FP_CONV_DIRECT_CO, Cog - cu * FP_CONV_DIRECT_CO);
        FP_NAME(direct_fwd_row)(s, g, koff, cib, x + (n * s->c_in + gi * Cig) * HW, w + co0 * Cig * s->kh * s->kw,
                                b ? b + co0 : NULL, y + (n * s->c_out + co0) * P, nco, oh,
                                bufs + fp_thread_id() * per_thread);
    }
    free(bufs);
    free(wpk);
    free(koff);
    return FP_OK;
}

/* Input gradient, direct: for input row ih of CIB input channels, sum over
 * output channels in registers (2 vectors of output columns), then add into
 * the stride-phase-split row accumulators acc_rows; taps that fall into the
 * padding land in the accumulators' margins and are dropped on write-back. */
FP_INLINE void FP_NAME(bwi_block)(const int CIB, const fp_conv2d_shape *s, FP_NAME(rowgeom) g,
                                  const int64_t *koff, const FP_T *gyg, const FP_T *w, FP_T *acc_rows,
                                  int64_t ih)
{
    const int64_t Cog = s->c_out / s->groups, OW = s->ow, P = s->oh * s->ow, KH = s->kh, KW = s->kw;
    const int64_t KK = KH * KW, kwt = (s->c_in / s->groups) * KK;
    for (int64_t kh = 0; kh < KH; kh++) {
        int64_t t = ih + s->ph - kh * s->dh;
        if (t < 0 || t % s->sh)
            continue;
        int64_t oh = t / s->sh;
        if (oh >= s->oh)
            continue;
        for (int64_t kw = 0; kw < KW; kw++) {
            for (int64_t ow0 = 0; ow0 < OW; ow0 += 2 * FP_VL) {
                const int64_t nv = OW - ow0;
                VEC acc[CIB][2];
                for (int c = 0; c < CIB; c++) acc[c][0] = acc[c][1] = (VEC){0};
                const FP_T *gp = gyg + oh * OW + ow0;
                const FP_T *wp = w + kh * KW + kw;
                for (int64_t co = 0; co < Cog; co++) {
                    VEC g0, g1;
                    if (nv >= 2 * FP_VL) {
                        VLOAD(g0, gp + co * P);
                        VLOAD(g1, gp + co * P + FP_VL);
                    } else {
                        VLOAD_PART(g0, gp + co * P, nv);
                        VLOAD_PART(g1, gp + co * P + FP_VL, nv - FP_VL);
                    }
                    for (int c = 0; c < CIB; c++) {
                        FP_T wv = wp[co * kwt + c * KK];
                        acc[c][0] += wv * g0;
                        acc[c][1] += wv * g1;
                    }
                }
                for (int c = 0; c < CIB; c++) {
                    FP_T *dst = acc_rows + c * g.row + koff[kw] + ow0;
                    if (nv >= 2 * FP_VL) {
                        VEC d0, d1;
                        VLOAD(d0, dst);
                        VLOAD(d1, dst + FP_VL);
                        d0 += acc[c][0];
                        d1 += acc[c][1];
                        VSTORE(dst, d0);
                        VSTORE(dst + FP_VL, d1);
                    } else {
                        FP_T t2[2 * FP_VL];
                        VSTORE(t2, acc[c][0]);
                        VSTORE(t2 + FP_VL, acc[c][1]);
                        for (int64_t l = 0; l < nv; l++) dst[l] += t2[l];
                    }
                }
            }
        }
    }
}

FP_CLONES static void FP_NAME(direct_bwi_row)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const int64_t *koff,
                                              const FP_T *gyg, const FP_T *w, FP_T *gx, int64_t nci, int64_t ih,
                                              FP_T *acc_rows)
{
    const int64_t KK = s->kh * s->kw, HW = s->h * s->w, W = s->w, sw = s->sw, pw = s->pw;
    int64_t c = 0;
    while (c < nci) {
        int cib = nci - c >= 8 ? 8 : (nci - c >= 4 ? 4 : 1);
        memset(acc_rows, 0, (size_t)(cib * g.row) * sizeof(FP_T));
        if (cib == 8)
            FP_NAME(bwi_block)(8, s, g, koff, gyg, w + c * KK, acc_rows, ih);
        else if (cib == 4)
            FP_NAME(bwi_block)(4, s, g, koff, gyg, w + c * KK, acc_rows, ih);
        else
            FP_NAME(bwi_block)(1, s, g, koff, gyg, w + c * KK, acc_rows, ih);
        for (int q = 0; q < cib; q++)
            FP_NAME(unsplit_row)(acc_rows + q * g.row, g, W, sw, pw, gx + (c + q) * HW + ih * W);
        c += cib;
    }
}

int FP_NAME(conv2d_backward_input_direct)(const fp_conv2d_shape *s, const FP_T *gy, const FP_T *w, FP_T *gx,
                                          int n_threads)
{
    const int64_t N = s->n, G = s->groups, Cig = s->c_in / G, Cog = s->c_out / G;
    const int64_t HW = s->h * s->w, P = s->oh * s->ow, H = s->h;
    if (N == 0 || s->c_in == 0 || HW == 0)
        return FP_OK;
    if (P == 0 || Cog == 0) {
        memset(gx, 0, (size_t)(N * s->c_in * HW) * sizeof(FP_T));
        return FP_OK;
    }
    /* Accumulator rows must also reach every input column: j = iw + pw. */
    FP_NAME(rowgeom) g = FP_NAME(row_geometry)(s, (s->w - 1 + s->pw) / s->sw + 1);
    if (FP_NAME(plane_path)(s, g))
        return FP_NAME(dw_backward_input)(s, g, gy, w, gx, n_threads);
    const int64_t ncu = (Cig + FP_CONV_DIRECT_CO - 1) / FP_CONV_DIRECT_CO;
    const int64_t units = N * G * ncu * H;
    const int nth = fp_conv_threads(N * s->c_out * P * Cig * s->kh * s->kw, units, n_threads);
    const int64_t per_thread = 8 * g.row;
    FP_T *bufs = malloc((size_t)(nth * per_thread) * sizeof(FP_T));
    int64_t *koff = malloc((size_t)g.kwpad * sizeof(int64_t));
    if (!bufs || !koff) {
        free(bufs);
        free(koff);
        return FP_ERR_NOMEM;
    }
    FP_NAME(tap_offsets)(s, g, koff);
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        int64_t ih = u % H, cu = (u / H) % ncu, gi = (u / (H * ncu)) % G, n = u / (H * ncu * G);
        int64_t ci0 = cu * FP_CONV_DIRECT_CO, nci = FP_MIN(FP_CONV_DIRECT_CO, Cig - ci0);
        FP_NAME(direct_bwi_row)(s, g, koff, gy + (n * s->c_out + gi * Cog) * P,
                                w + gi * Cog * Cig * s->kh * s->kw + ci0 * s->kh * s->kw,
                                gx + (n * s->c_in + gi * Cig + ci0) * HW, nci, ih,
                                bufs + fp_thread_id() * per_thread);
    }
    free(bufs);
    free(koff);
    return FP_OK;
}

/* Weight gradient, direct: 4 output channels x 4 taps of one kernel row,
 * dot products over all images and output rows kept in 16 vector
 * accumulators, reduced once at the end (each weight is owned by one unit:
 * no partial sums across threads). */
FP_CLONES static void FP_NAME(direct_bww_unit)(const fp_conv2d_shape *s, FP_NAME(rowgeom) g, const int64_t *koff,
                                               const FP_T *gy, const FP_T *x, FP_T *gw, int64_t gi,
                                               int64_t co0, int64_t nco, int64_t ci, int64_t kw0, FP_T *buf)
{
    const int64_t G = s->groups, Cig = s->c_in / G, Cog = s->c_out / G, OW = s->ow, OH = s->oh;
    const int64_t P = OH * OW, HW = s->h * s->w, KH = s->kh, KW = s->kw;
    const int64_t nkw = FP_MIN(4, KW - kw0);
    const int64_t cidx[4] = {co0, co0 + (nco > 1), co0 + 2 * (nco > 2), co0 + 3 * (nco > 3)};
    for (int64_t kh = 0; kh < KH; kh++) {
        VEC acc[4][4];
        for (int c = 0; c < 4; c++)
            for (int k = 0; k < 4; k++) acc[c][k] = (VEC){0};
        for (int64_t n = 0; n < s->n; n++) {
            const FP_T *xc = x + (n * s->c_in + gi * Cig + ci) * HW;
            const FP_T *gyn = gy + (n * s->c_out + gi * Cog) * P;
            for (int64_t oh = 0; oh < OH; oh++) {
                int64_t ih = oh * s->sh - s->ph + kh * s->dh;
                if (ih < 0 || ih >= s->h)
                    continue;
                FP_NAME(build_row)(xc + ih * s->w, s->w, s->sw, s->pw, g.len, buf);
                for (int64_t ow0 = 0; ow0 < OW; ow0 += FP_VL) {
                    const int64_t nv = OW - ow0;
                    VEC xv[4], gv[4];
                    if (nv >= FP_VL) {
                        for (int k = 0; k < 4; k++) VLOAD(xv[k], buf + koff[kw0 + k] + ow0);
                        for (int c = 0; c < 4; c++) VLOAD(gv[c], gyn + cidx[c] * P + oh * OW + ow0);
                    } else {
                        /* Lanes past the row are zero in both factors, so an
                         * Inf/NaN outside the window cannot leak in. */
                        IVEC m;
                        FP_NAME(lane_mask)(&m, nv);
                        for (int k = 0; k < 4; k++) {
                            VLOAD(xv[k], buf + koff[kw0 + k] + ow0);
                            VMASK(xv[k], m);
                        }
                        for (int c = 0; c < 4; c++) VLOAD_PART(gv[c], gyn + cidx[c] * P + oh * OW + ow0, nv);
                    }
                    for (int c = 0; c < 4; c++)
                        for (int k = 0; k < 4; k++) acc[c][k] += gv[c] * xv[k];
                }
            }
        }
        for (int64_t c = 0; c < nco; c++)
            for (int64_t k = 0; k < nkw; k++) {
                FP_T lanes[FP_VL], total = 0;
                VSTORE(lanes, acc[c][k]);
                for (int64_t l = 0; l < FP_VL; l++) total += lanes[l];
                gw[(((co0 + c) + gi * Cog) * Cig + ci) * KH * KW + kh * KW + kw0 + k] = total;
            }
    }
}

int FP_NAME(conv2d_backward_weight_direct)(const fp_conv2d_shape *s, const FP_T *gy, const FP_T *x, FP_T *gw,
                                           int n_threads)
{
    const int64_t G = s->groups, Cig = s->c_in / G, Cog = s->c_out / G, KW = s->kw;
    const int64_t WN = s->c_out * Cig * s->kh * KW;
    if (WN == 0)
        return FP_OK;
    if (s->n == 0 || s->oh * s->ow == 0) {
        memset(gw, 0, (size_t)WN * sizeof(FP_T));
        return FP_OK;
    }
    FP_NAME(rowgeom) g = FP_NAME(row_geometry)(s, 0);
    if (FP_NAME(plane_path)(s, g))
        return FP_NAME(dw_backward_weight)(s, g, gy, x, gw, n_threads);
    const int64_t ncb = (Cog + 3) / 4, nkb = (KW + 3) / 4;
    const int64_t units = G * ncb * Cig * nkb;
    const int nth = fp_conv_threads(s->n * s->c_out * s->oh * s->ow * Cig * s->kh * KW, units, n_threads);
    FP_T *bufs = malloc((size_t)(nth * g.row) * sizeof(FP_T));
    int64_t *koff = malloc((size_t)g.kwpad * sizeof(int64_t));
    if (!bufs || !koff) {
        free(bufs);
        free(koff);
        return FP_ERR_NOMEM;
    }
    FP_NAME(tap_offsets)(s, g, koff);
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        int64_t kb = u % nkb, ci = (u / nkb) % Cig, cb = (u / (nkb * Cig)) % ncb, gi = u / (nkb * Cig * ncb);
        FP_NAME(direct_bww_unit)(s, g, koff, gy, x, gw, gi, cb * 4, FP_MIN(4, Cog - cb * 4), ci, kb * 4,
                                 bufs + fp_thread_id() * g.row);
    }
    free(bufs);
    free(koff);
    return FP_OK;
}

/* All gradients of a depthwise layer (c_in == groups) in one pass where the
 * fused kernel applies (conv_dw_tmpl.h), else gradient by gradient. gx, gw,
 * gb: NULL when not wanted. */
int FP_NAME(conv2d_backward_depthwise)(const fp_conv2d_shape *s, const FP_T *gy, const FP_T *x, const FP_T *w,
                                       FP_T *gx, FP_T *gw, FP_T *gb, int n_threads)
{
    int st = gx && gw ? FP_NAME(dw_backward_fused)(s, gy, x, w, gx, gw, gb, n_threads) : FP_ERR_UNSUPPORTED;
    if (st != FP_ERR_UNSUPPORTED)
        return st;
    if (gx && (st = FP_NAME(conv2d_backward_input_direct)(s, gy, w, gx, n_threads)) != FP_OK)
        return st;
    if (gw && (st = FP_NAME(conv2d_backward_weight_direct)(s, gy, x, gw, n_threads)) != FP_OK)
        return st;
    if (gb)
        st = FP_NAME(conv2d_backward_bias)(s, gy, gb, n_threads);
    return st;
}

#undef FP_VL
#undef VEC
#undef VLOAD
#undef VSTORE
#undef VLOAD_PART
#undef IVEC
#undef VMASK
