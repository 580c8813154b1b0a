/* Body of data.c, included once per dtype (FP_T, FP_S). See data.h. */

FP_CLONES static void FP_NAME(reverse_row)(FP_T *FP_RESTRICT row, int64_t w)
{
    for (int64_t i = 0, j = w - 1; i < j; i++, j--) {
        FP_T t = row[i];
        row[i] = row[j];
        row[j] = t;
    }
}

int FP_NAME(hflip_inplace)(FP_T *x, int64_t n, int64_t c, int64_t h, int64_t w, const uint8_t *mask,
                           int n_threads)
{
    if (n < 0 || c < 0 || h < 0 || w < 0)
        return FP_ERR_VALUE;
    int64_t planes = n * c;
    int nt = fp_data_threads_for(planes * h * w, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        if (!mask[p / c])
            continue;
        FP_T *plane = x + p * h * w;
        for (int64_t r = 0; r < h; r++)
            FP_NAME(reverse_row)(plane + r * w, w);
    }
    return FP_OK;
}

static inline void FP_NAME(fill)(FP_T *dst, int64_t n, FP_T v)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = v;
}

/* out[r][col] = in[top + r][left + col] for an (oh, ow) output, padded outside
 * the (h, w) input. top/left must already be clamped to [-oh, h] / [-ow, w]. */
static void FP_NAME(crop_plane)(const FP_T *in, int64_t h, int64_t w, FP_T *out, int64_t oh, int64_t ow,
                                int64_t top, int64_t left, int mode)
{
    /* output columns [lo, hi) have a source column inside the image */
    int64_t lo = FP_MIN(FP_MAX(-left, 0), ow), hi = FP_MAX(FP_MIN(w - left, ow), lo);
    for (int64_t r = 0; r < oh; r++) {
        FP_T *orow = out + r * ow;
        int64_t sr = top + r;
        if (sr < 0 || sr >= h) {
            if (mode == FP_PAD_ZERO) {
                FP_NAME(fill)(orow, ow, (FP_T)0);
                continue;
            }
            sr = sr < 0 ? 0 : h - 1;
        }
        const FP_T *irow = in + sr * w;
        FP_NAME(fill)(orow, lo, mode == FP_PAD_ZERO ? (FP_T)0 : irow[0]);
        FP_NAME(fill)(orow + hi, ow - hi, mode == FP_PAD_ZERO ? (FP_T)0 : irow[w - 1]);
        if (hi > lo)
            memcpy(orow + lo, irow + lo + left, (size_t)(hi - lo) * sizeof(FP_T));
    }
}

/* y[i] = window of x[i] of size (oh, ow) at offsets[i] = (top, left), padded; y != x */
int FP_NAME(crop)(const FP_T *x, FP_T *y, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                  const int64_t *offsets, int mode, int n_threads)
{
    if (n < 0 || c < 0 || h < 1 || w < 1 || oh < 0 || ow < 0 || (mode != FP_PAD_ZERO && mode != FP_PAD_EDGE))
        return FP_ERR_VALUE;
    int64_t planes = n * c;
    int nt = fp_data_threads_for(planes * oh * ow, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        int64_t top = FP_MIN(FP_MAX(offsets[2 * (p / c)], -oh), h);
        int64_t left = FP_MIN(FP_MAX(offsets[2 * (p / c) + 1], -ow), w);
        FP_NAME(crop_plane)(x + p * h * w, h, w, y + p * oh * ow, oh, ow, top, left, mode);
    }
    return FP_OK;
}

/* plane[r][col] <- plane[r - dy][col - dx] in place, |dy| <= h, |dx| <= w.
 * Rows are visited so that a source row is always read before it is
 * overwritten (downwards shifts bottom-up, the others top-down; a clamped
 * edge row is the last one visited), and within a row memmove runs before
 * the padding is written. */
static void FP_NAME(translate_plane)(FP_T *plane, int64_t h, int64_t w, int64_t dy, int64_t dx, int mode)
{
    int64_t lo = FP_MIN(FP_MAX(dx, 0), w), hi = FP_MAX(FP_MIN(w + dx, w), lo);
    for (int64_t k = 0; k < h; k++) {
        int64_t r = dy > 0 ? h - 1 - k : k;
        FP_T *orow = plane + r * w;
        int64_t sr = r - dy;
        if (sr < 0 || sr >= h) {
            if (mode == FP_PAD_ZERO) {
                FP_NAME(fill)(orow, w, (FP_T)0);
                continue;
            }
            sr = sr < 0 ? 0 : h - 1;
        }
        const FP_T *irow = plane + sr * w;
        FP_T left = mode == FP_PAD_ZERO ? (FP_T)0 : irow[0];
        FP_T right = mode == FP_PAD_ZERO ? (FP_T)0 : irow[w - 1];
        if (hi > lo)
            memmove(orow + lo, irow + (lo - dx), (size_t)(hi - lo) * sizeof(FP_T));
        FP_NAME(fill)(orow, lo, left);
        FP_NAME(fill)(orow + hi, w - hi, right);
    }
}

int FP_NAME(translate_inplace)(FP_T *x, int64_t n, int64_t c, int64_t h, int64_t w, const int64_t *shifts,
                               int mode, int n_threads)
{
    if (n < 0 || c < 0 || h < 0 || w < 0 || (mode != FP_PAD_ZERO && mode != FP_PAD_EDGE))
        return FP_ERR_VALUE;
    int64_t planes = n * c, hw = h * w;
    if (planes == 0 || hw == 0)
        return FP_OK;
    int nt = fp_data_threads_for(planes * hw, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        /* a shift of the full size already pads everything: clamping keeps w + dx in range */
        int64_t dy = FP_MIN(FP_MAX(shifts[2 * (p / c)], -h), h);
        int64_t dx = FP_MIN(FP_MAX(shifts[2 * (p / c) + 1], -w), w);
        if (dy != 0 || dx != 0)
            FP_NAME(translate_plane)(x + p * hw, h, w, dy, dx, mode);
    }
    return FP_OK;
}

/* Bilinear taps of every output pixel of one sample: 4 source offsets and
 * weights per pixel. Out-of-image taps get weight 0 (zero padding) or a
 * clamped index (edge). */
static void FP_NAME(affine_taps)(const double *m, int64_t h, int64_t w, int mode, int64_t *idx, FP_T *wt)
{
    int64_t hw = h * w;
    for (int64_t r = 0; r < h; r++) {
        for (int64_t col = 0; col < w; col++) {
            int64_t p = r * w + col;
            double sr = m[0] * (double)r + m[1] * (double)col + m[2];
            double sc = m[3] * (double)r + m[4] * (double)col + m[5];
            /* beyond one pixel outside, every tap is padding: clamping there keeps
             * the casts below in range for any finite (or NaN) coordinate */
            sr = fmin(fmax(sr, -2.0), (double)h + 1.0);
            sc = fmin(fmax(sc, -2.0), (double)w + 1.0);
            double fr0 = floor(sr), fc0 = floor(sc);
            double ar = sr - fr0, ac = sc - fc0;
            int64_t r0 = (int64_t)fr0, c0 = (int64_t)fc0;
            int64_t rr[2] = {r0, r0 + 1}, cc[2] = {c0, c0 + 1};
            double wr[2] = {1.0 - ar, ar}, wc[2] = {1.0 - ac, ac};
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) {
                    int k = 2 * i + j;
                    int64_t ri = rr[i], cj = cc[j];
                    double wk = wr[i] * wc[j];
                    if (ri < 0 || ri >= h || cj < 0 || cj >= w) {
                        if (mode == FP_PAD_ZERO) {
                            wk = 0.0;
                            ri = 0;
                            cj = 0;
                        } else {
                            ri = FP_MIN(FP_MAX(ri, 0), h - 1);
                            cj = FP_MIN(FP_MAX(cj, 0), w - 1);
                        }
                    }
                    idx[k * hw + p] = ri * w + cj;
                    wt[k * hw + p] = (FP_T)wk;
                }
        }
    }
}

FP_CLONES static void FP_NAME(affine_apply)(const FP_T *FP_RESTRICT in, FP_T *FP_RESTRICT out, int64_t hw,
                                            const int64_t *FP_RESTRICT idx, const FP_T *FP_RESTRICT wt)
{
    for (int64_t p = 0; p < hw; p++)
        out[p] = wt[p] * in[idx[p]] + wt[hw + p] * in[idx[hw + p]] + wt[2 * hw + p] * in[idx[2 * hw + p]]
                 + wt[3 * hw + p] * in[idx[3 * hw + p]];
}

int FP_NAME(affine_inplace)(FP_T *x, int64_t n, int64_t c, int64_t h, int64_t w, const double *mats,
                            int mode, int n_threads)
{
    if (n < 0 || c < 0 || h < 0 || w < 0 || (mode != FP_PAD_ZERO && mode != FP_PAD_EDGE))
        return FP_ERR_VALUE;
    int64_t hw = h * w;
    if (n == 0 || c == 0 || hw == 0)
        return FP_OK;
    int nt = fp_data_threads_for(n * c * hw, n_threads);
    int status = FP_OK;
    #pragma omp parallel num_threads(nt)
    {
        /* per thread: the taps of one sample (shared by its channels) and a plane copy */
        size_t bytes = (size_t)hw * (4 * sizeof(int64_t) + 5 * sizeof(FP_T));
        char *buf = (char *)malloc(bytes);
        if (buf == NULL) {
            #pragma omp atomic write
            status = FP_ERR_NOMEM;
        }
        int64_t *idx = (int64_t *)buf;
        FP_T *wt = buf ? (FP_T *)(buf + (size_t)hw * 4 * sizeof(int64_t)) : NULL;
        FP_T *scratch = wt ? wt + 4 * hw : NULL;
        #pragma omp for schedule(static)
        for (int64_t s = 0; s < n; s++) {
            if (buf == NULL)
                continue;
            FP_NAME(affine_taps)(mats + 6 * s, h, w, mode, idx, wt);
            for (int64_t ch = 0; ch < c; ch++) {
                FP_T *plane = x + (s * c + ch) * hw;
                memcpy(scratch, plane, (size_t)hw * sizeof(FP_T));
                FP_NAME(affine_apply)(scratch, plane, hw, idx, wt);
            }
        }
        free(buf);
    }
    return status;
}

/* no restrict: y may be x (each element is read before it is written) */
FP_CLONES static void FP_NAME(channel_affine_plane)(const FP_T *x, FP_T *y, int64_t m,
                                                    FP_T a, FP_T b, int kind)
{
    if (kind == FP_CHANNEL_SUB_DIV)
        for (int64_t i = 0; i < m; i++)
            y[i] = (x[i] - a) / b;
    else
        for (int64_t i = 0; i < m; i++)
            y[i] = x[i] * a + b;
}

/* kind SUB_DIV: y = (x - a[ch]) / b[ch] (torchvision Normalize's order);
 * MUL_ADD: y = x * a[ch] + b[ch] (scikit-learn MinMaxScaler's). y may be x. */
int FP_NAME(channel_affine)(const FP_T *x, FP_T *y, int64_t n, int64_t c, int64_t inner, const double *a,
                            const double *b, int kind, int n_threads)
{
    if (n < 0 || c < 0 || inner < 0)
        return FP_ERR_VALUE;
    int64_t planes = n * c;
    int nt = fp_data_threads_for(planes * inner, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        int64_t ch = p % c;
        FP_NAME(channel_affine_plane)(x + p * inner, y + p * inner, inner, (FP_T)a[ch], (FP_T)b[ch], kind);
    }
    return FP_OK;
}
