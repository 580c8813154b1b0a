/* Body of pool.c, included once per dtype (FP_T, FP_S).
 *
 * Max and average pooling walk one output row at a time and apply the window
 * tap by tap: for tap (kh, kw) every output column ow reads x[ih][ow*sw + off]
 * and updates yrow[ow]. The output row (a few hundred bytes) stays in L1, the
 * input rows are read straight from memory, and the inner loop runs along ow
 * with a constant stride, so GCC vectorizes it (stride 1 and 2 are compiled as
 * constants; stride 2 becomes an even/odd deinterleave). Taps are applied in
 * torch's scan order (ih outer, iw inner), so "first max wins" ties and
 * "a NaN wins, the last NaN's index is kept" match torch exactly.
 * The valid ow range of each kw tap is computed once per call, so the inner
 * loops carry no bounds checks. Work is split over the flattened
 * (plane, output row) range: every thread gets one contiguous slice.
 */

FP_INLINE void FP_NAME(max_row)(const FP_T *FP_RESTRICT plane, FP_T *FP_RESTRICT yrow,
                                int64_t *FP_RESTRICT irow, const fp_pool2d_geom *g, int64_t oh,
                                const int64_t *lo, const int64_t *hi, const int64_t *iw_first,
                                const int64_t sw, const int with_indices)
{
    const int64_t W = g->W, OW = g->OW;
    int64_t ih0 = oh * g->sh - g->ph;
    int64_t ih_end = FP_MIN(ih0 + (g->kh - 1) * g->dh + 1, g->H);
    int64_t ih_first = ih0;
    while (ih_first < 0)
        ih_first += g->dh;
    for (int64_t ow = 0; ow < OW; ow++)
        yrow[ow] = -(FP_T)INFINITY;
    if (with_indices)
        for (int64_t ow = 0; ow < OW; ow++)
            irow[ow] = ih_first * W + iw_first[ow];
    for (int64_t ih = ih_first; ih < ih_end; ih += g->dh) {
        const FP_T *FP_RESTRICT row = plane + ih * W;
        for (int64_t k = 0; k < g->kw; k++) {
            const int64_t off = k * g->dw - g->pw;
            const int64_t a = lo[k], b = hi[k];
            if (with_indices) {
                const int64_t base = ih * W + off;
                for (int64_t ow = a; ow < b; ow++) {
                    FP_T v = row[ow * sw + off], m = yrow[ow];
                    int take = (v > m) | (v != v);
                    yrow[ow] = take ? v : m;
                    irow[ow] = take ? base + ow * sw : irow[ow];
                }
            } else {
                for (int64_t ow = a; ow < b; ow++) {
                    FP_T v = row[ow * sw + off], m = yrow[ow];
                    yrow[ow] = ((v > m) | (v != v)) ? v : m;
                }
            }
        }
    }
}

/* Layout of the separable pass's per-thread row buffer: the padded row
 * (2*half + one vector, -inf outside [pw, pw + W)), then its even and odd
 * halves of `half` elements each, whole vectors, long enough for the last
 * window's last tap. */
static inline int64_t FP_NAME(sep_half)(const fp_pool2d_geom *g)
{
    const int64_t VL = 64 / sizeof(FP_T);
    int64_t need = FP_MAX((g->OW - 1) * g->sw + (g->kw - 1) * g->dw + 1, g->pw + g->W);
    return (need / 2 / VL + 1) * VL;
}

FP_INLINE FP_T FP_NAME(maxnan)(FP_T m, FP_T v)
{
    return ((v > m) | (v != v)) ? v : m; /* NaN is sticky either way */
}

/* Value-only max pooling of one output row, separable: a vertical max of the
 * window's input rows into vm (contiguous, full-width vectors), then a
 * horizontal max along the padded vm row (pads hold -inf, so no bounds). */
FP_INLINE void FP_NAME(max_row_sep)(const FP_T *FP_RESTRICT plane, FP_T *FP_RESTRICT yrow,
                                    FP_T *FP_RESTRICT vmp, const fp_pool2d_geom *g, int64_t oh,
                                    const int64_t sw)
{
    const int64_t W = g->W, OW = g->OW;
    FP_T *FP_RESTRICT vm = vmp + g->pw;
    int64_t ih0 = oh * g->sh - g->ph;
    int64_t ih_end = FP_MIN(ih0 + (g->kh - 1) * g->dh + 1, g->H);
    int64_t ih = ih0;
    while (ih < 0)
        ih += g->dh;
    if (ih >= ih_end) {
        for (int64_t c = 0; c < W; c++)
            vm[c] = -(FP_T)INFINITY;
    } else {
        const FP_T *FP_RESTRICT r0 = plane + ih * W;
        for (int64_t c = 0; c < W; c++)
            vm[c] = r0[c];
        for (ih += g->dh; ih < ih_end; ih += g->dh) {
            const FP_T *FP_RESTRICT row = plane + ih * W;
            for (int64_t c = 0; c < W; c++)
                vm[c] = FP_NAME(maxnan)(vm[c], row[c]);
        }
    }
    if (sw == 2) {
        /* Deinterleave the padded row once into even/odd halves (explicit
         * shuffles: GCC does not vectorize the strided select), so every
         * tap becomes a contiguous, vectorized pass: vmp[2*ow + t] is
         * even[ow + t/2] or odd[ow + t/2]. */
        const int64_t half = FP_NAME(sep_half)(g);
        FP_T *FP_RESTRICT ev = vmp + 2 * half + 64 / (int64_t)sizeof(FP_T), *FP_RESTRICT od = ev + half;
        typedef FP_T vec_t __attribute__((vector_size(64)));
        typedef FP_IT ivec_t __attribute__((vector_size(64)));
        enum { VL = 64 / sizeof(FP_T) };
        ivec_t me, mo;
        for (int j = 0; j < VL; j++) {
            me[j] = 2 * j;
            mo[j] = 2 * j + 1;
        }
        for (int64_t j = 0; j < half; j += VL) {
            vec_t a, b;
            memcpy(&a, vmp + 2 * j, sizeof a);
            memcpy(&b, vmp + 2 * j + VL, sizeof b);
            vec_t e = __builtin_shuffle(a, b, me), o = __builtin_shuffle(a, b, mo);
            memcpy(ev + j, &e, sizeof e);
            memcpy(od + j, &o, sizeof o);
        }
        for (int64_t ow = 0; ow < OW; ow++)
            yrow[ow] = ev[ow];
        for (int64_t k = 1; k < g->kw; k++) {
            const int64_t t = k * g->dw;
            const FP_T *FP_RESTRICT v = (t & 1 ? od : ev) + t / 2;
            for (int64_t ow = 0; ow < OW; ow++)
                yrow[ow] = FP_NAME(maxnan)(yrow[ow], v[ow]);
        }
        return;
    }
    for (int64_t ow = 0; ow < OW; ow++)
        yrow[ow] = vmp[ow * sw];
    for (int64_t k = 1; k < g->kw; k++) {
        const FP_T *FP_RESTRICT v = vmp + k * g->dw;
        for (int64_t ow = 0; ow < OW; ow++)
            yrow[ow] = FP_NAME(maxnan)(yrow[ow], v[ow * sw]);
    }
}

/* Output rows [r0, r1) are one contiguous run of y. With `stream`, whole rows
 * are staged in an L1 buffer and written with non-temporal stores (see
 * norm_vec.h): y is written once without being read first. */
typedef struct {
    FP_T buf[FP_STREAM_CHUNK];
    int64_t first, count; /* y offset of buf[0], elements staged */
} FP_NAME(stage_t);

FP_INLINE FP_T *FP_NAME(stage_row)(FP_NAME(stage_t) *st, FP_T *y, int64_t r, int64_t OW, int stream)
{
    if (!stream)
        return y + r * OW;
    if (st->count + OW > FP_STREAM_CHUNK) {
        fp_stream_copy(y + st->first, st->buf, st->count);
        st->count = 0;
    }
    if (st->count == 0)
        st->first = r * OW;
    FP_T *row = st->buf + st->count;
    st->count += OW;
    return row;
}

FP_INLINE void FP_NAME(stage_flush)(FP_NAME(stage_t) *st, FP_T *y, int stream)
{
    if (stream && st->count) {
        fp_stream_copy(y + st->first, st->buf, st->count);
        fp_stream_fence();
    }
}

FP_CLONES static void FP_NAME(max_rows)(const FP_T *x, FP_T *y, int64_t *ind, const fp_pool2d_geom *g,
                                        const int64_t *tab, FP_T *vmp, int64_t r0, int64_t r1, int stream)
{
    const int64_t *lo = tab, *hi = tab + g->kw, *iw_first = tab + 2 * g->kw;
    const int64_t plane_sz = g->H * g->W;
    FP_NAME(stage_t) st;
    st.count = st.first = 0;
    for (int64_t r = r0; r < r1; r++) {
        const FP_T *plane = x + (r / g->OH) * plane_sz;
        int64_t oh = r % g->OH;
        FP_T *yrow = FP_NAME(stage_row)(&st, y, r, g->OW, stream);
        int64_t *irow = ind ? ind + r * g->OW : NULL;
        if (ind) {
            if (g->sw == 1)
                FP_NAME(max_row)(plane, yrow, irow, g, oh, lo, hi, iw_first, 1, 1);
            else if (g->sw == 2)
                FP_NAME(max_row)(plane, yrow, irow, g, oh, lo, hi, iw_first, 2, 1);
            else
                FP_NAME(max_row)(plane, yrow, irow, g, oh, lo, hi, iw_first, g->sw, 1);
        } else {
            if (g->sw == 1)
                FP_NAME(max_row_sep)(plane, yrow, vmp, g, oh, 1);
            else if (g->sw == 2)
                FP_NAME(max_row_sep)(plane, yrow, vmp, g, oh, 2);
            else
                FP_NAME(max_row_sep)(plane, yrow, vmp, g, oh, g->sw);
        }
    }
    FP_NAME(stage_flush)(&st, y, stream);
}

int FP_NAME(max_pool2d_forward)(const FP_T *x, FP_T *y, int64_t *indices, const fp_pool2d_geom *g,
                                int n_threads)
{
    int64_t rows = g->planes * g->OH;
    if (rows == 0 || g->OW == 0)
        return FP_OK;
    int64_t *tab = malloc(sizeof(int64_t) * (size_t)(2 * g->kw + g->OW));
    if (!tab)
        return FP_ERR_NOMEM;
    for (int64_t k = 0; k < g->kw; k++)
        fp_pool_valid_range(g->W, g->OW, g->sw, k * g->dw - g->pw, &tab[k], &tab[g->kw + k]);
    for (int64_t ow = 0; ow < g->OW; ow++) {
        int64_t iw = ow * g->sw - g->pw;
        while (iw < 0)
            iw += g->dw;
        tab[2 * g->kw + ow] = iw;
    }
    int nt = fp_threads_for(g->planes * g->H * g->W, n_threads);
    /* per-thread padded row for the separable value-only pass: -inf outside
     * [pw, pw + W), long enough for the last window's last tap */
    const int64_t VL = 64 / sizeof(FP_T), half = FP_NAME(sep_half)(g);
    const int64_t L = (2 * half + VL) + 2 * half; /* padded row (-inf beyond the input), even, odd */
    const int stream = !indices && g->OW <= FP_STREAM_CHUNK &&
                       rows * g->OW * (int64_t)sizeof(FP_T) >= FP_STREAM_MIN_BYTES;
    FP_T *vbuf = malloc(sizeof(FP_T) * (size_t)(L * nt));
    if (!vbuf) {
        free(tab);
        return FP_ERR_NOMEM;
    }
    for (int64_t i = 0; i < L * nt; i++)
        vbuf[i] = -(FP_T)INFINITY;
    #pragma omp parallel num_threads(nt)
    {
        const int t = fp_thread_num(), T = fp_team_size();
        const int64_t nchunks = fp_dyn_chunks(rows, T);
        #pragma omp for schedule(dynamic, 1)
        for (int64_t chunk = 0; chunk < nchunks; chunk++)
            FP_NAME(max_rows)(x, y, indices, g, tab, vbuf + L * t, rows * chunk / nchunks,
                              rows * (chunk + 1) / nchunks, stream);
    }
    free(vbuf);
    free(tab);
    return FP_OK;
}

FP_CLONES static int FP_NAME(max_backward_plane)(const FP_T *FP_RESTRICT gy, const int64_t *FP_RESTRICT ind,
                                                 FP_T *FP_RESTRICT gx, int64_t in_plane, int64_t out_plane)
{
    memset(gx, 0, sizeof(FP_T) * (size_t)in_plane);
    int bad = 0;
    for (int64_t o = 0; o < out_plane; o++) {
        int64_t i = ind[o];
        if (i < 0 || i >= in_plane) {
            bad = 1;
            continue;
        }
        gx[i] += gy[o];
    }
    return bad;
}

int FP_NAME(max_pool2d_backward)(const FP_T *grad_y, const int64_t *indices, FP_T *grad_x, int64_t planes,
                                 int64_t in_plane, int64_t out_plane, int n_threads)
{
    int bad = 0;
    int nt = fp_threads_for(planes * (in_plane + out_plane), n_threads);
    #pragma omp parallel for num_threads(nt) schedule(guided) reduction(| : bad)
    for (int64_t p = 0; p < planes; p++)
        bad |= FP_NAME(max_backward_plane)(grad_y + p * out_plane, indices + p * out_plane,
                                           grad_x + p * in_plane, in_plane, out_plane);
    return bad ? FP_ERR_INDEX : FP_OK;
}

/* ---- average pooling ---------------------------------------------------- */

/* torch's divisor for output (oh, ow): the window clipped to the padded input
 * (count_include_pad) or to the input; 0 marks an empty window (output 0). */
FP_INLINE void FP_NAME(avg_divisors)(const fp_pool2d_geom *g, int64_t oh, int count_include_pad,
                                     int64_t divisor_override, const int64_t *wpad, const int64_t *wclip,
                                     FP_T *div, int64_t *ihs, int64_t *ihe)
{
    int64_t ih0 = oh * g->sh - g->ph;
    int64_t ih1 = FP_MIN(ih0 + g->kh, g->H + g->ph);
    int64_t hpad = ih1 - ih0;
    *ihs = FP_MAX(ih0, 0);
    *ihe = FP_MIN(ih1, g->H);
    int64_t hclip = *ihe - *ihs;
    for (int64_t ow = 0; ow < g->OW; ow++) {
        int64_t d;
        if (hclip <= 0 || wclip[ow] <= 0)
            d = 0;
        else if (divisor_override)
            d = divisor_override;
        else if (count_include_pad)
            d = hpad * wpad[ow];
        else
            d = hclip * wclip[ow];
        div[ow] = (FP_T)d;
    }
}

FP_INLINE void FP_NAME(avg_row)(const FP_T *FP_RESTRICT plane, FP_T *FP_RESTRICT yrow, const fp_pool2d_geom *g,
                                int64_t ihs, int64_t ihe, const int64_t *lo, const int64_t *hi,
                                const FP_T *FP_RESTRICT div, const int64_t sw)
{
    const int64_t W = g->W, OW = g->OW;
    for (int64_t ow = 0; ow < OW; ow++)
        yrow[ow] = 0;
    for (int64_t ih = ihs; ih < ihe; ih++) {
        const FP_T *FP_RESTRICT row = plane + ih * W;
        for (int64_t k = 0; k < g->kw; k++) {
            const int64_t off = k - g->pw;
            for (int64_t ow = lo[k]; ow < hi[k]; ow++)
                yrow[ow] += row[ow * sw + off];
        }
    }
    for (int64_t ow = 0; ow < OW; ow++)
        yrow[ow] = div[ow] != 0 ? yrow[ow] / div[ow] : (FP_T)0;
}

/* Column tables shared by the average-pooling passes: per-kw valid ow range
 * (lo, hi) and per-ow window widths (padded, clipped). */
static int64_t *FP_NAME(avg_tables)(const fp_pool2d_geom *g)
{
    int64_t *tab = malloc(sizeof(int64_t) * (size_t)(2 * g->kw + 2 * g->OW));
    if (!tab)
        return NULL;
    for (int64_t k = 0; k < g->kw; k++)
        fp_pool_valid_range(g->W, g->OW, g->sw, k - g->pw, &tab[k], &tab[g->kw + k]);
    for (int64_t ow = 0; ow < g->OW; ow++) {
        int64_t iw0 = ow * g->sw - g->pw;
        int64_t iw1 = FP_MIN(iw0 + g->kw, g->W + g->pw);
        tab[2 * g->kw + ow] = iw1 - iw0;
        tab[2 * g->kw + g->OW + ow] = FP_MIN(iw1, g->W) - FP_MAX(iw0, 0);
    }
    return tab;
}

FP_CLONES static void FP_NAME(avg_rows)(const FP_T *x, FP_T *y, const fp_pool2d_geom *g, const int64_t *tab,
                                        int count_include_pad, int64_t divisor_override, FP_T *div,
                                        int64_t r0, int64_t r1, int stream)
{
    const int64_t *lo = tab, *hi = tab + g->kw, *wpad = tab + 2 * g->kw, *wclip = wpad + g->OW;
    const int64_t plane_sz = g->H * g->W;
    FP_NAME(stage_t) st;
    st.count = st.first = 0;
    for (int64_t r = r0; r < r1; r++) {
        const FP_T *plane = x + (r / g->OH) * plane_sz;
        int64_t oh = r % g->OH, ihs, ihe;
        FP_NAME(avg_divisors)(g, oh, count_include_pad, divisor_override, wpad, wclip, div, &ihs, &ihe);
        FP_T *yrow = FP_NAME(stage_row)(&st, y, r, g->OW, stream);
        if (g->sw == 1)
            FP_NAME(avg_row)(plane, yrow, g, ihs, ihe, lo, hi, div, 1);
        else if (g->sw == 2)
            FP_NAME(avg_row)(plane, yrow, g, ihs, ihe, lo, hi, div, 2);
        else
            FP_NAME(avg_row)(plane, yrow, g, ihs, ihe, lo, hi, div, g->sw);
    }
    FP_NAME(stage_flush)(&st, y, stream);
}

int FP_NAME(avg_pool2d_forward)(const FP_T *x, FP_T *y, const fp_pool2d_geom *g, int count_include_pad,
                                int64_t divisor_override, int n_threads)
{
    int64_t rows = g->planes * g->OH;
    if (rows == 0 || g->OW == 0)
        return FP_OK;
    int nt = fp_threads_for(g->planes * g->H * g->W, n_threads);
    const int stream = g->OW <= FP_STREAM_CHUNK && rows * g->OW * (int64_t)sizeof(FP_T) >= FP_STREAM_MIN_BYTES;
    int64_t *tab = FP_NAME(avg_tables)(g);
    FP_T *div = malloc(sizeof(FP_T) * (size_t)(g->OW * nt));
    if (!tab || !div) {
        free(tab);
        free(div);
        return FP_ERR_NOMEM;
    }
    #pragma omp parallel num_threads(nt)
    {
        const int t = fp_thread_num(), T = fp_team_size();
        const int64_t nchunks = fp_dyn_chunks(rows, T);
        #pragma omp for schedule(dynamic, 1)
        for (int64_t chunk = 0; chunk < nchunks; chunk++)
            FP_NAME(avg_rows)(x, y, g, tab, count_include_pad, divisor_override, div + t * g->OW,
                              rows * chunk / nchunks, rows * (chunk + 1) / nchunks, stream);
    }
    free(tab);
    free(div);
    return FP_OK;
}

FP_INLINE void FP_NAME(avg_backward_row)(FP_T *FP_RESTRICT gplane, const FP_T *FP_RESTRICT gd,
                                         const fp_pool2d_geom *g, int64_t ihs, int64_t ihe,
                                         const int64_t *lo, const int64_t *hi, const int64_t sw)
{
    for (int64_t ih = ihs; ih < ihe; ih++) {
        FP_T *FP_RESTRICT row = gplane + ih * g->W;
        for (int64_t k = 0; k < g->kw; k++) {
            const int64_t off = k - g->pw;
            for (int64_t ow = lo[k]; ow < hi[k]; ow++)
                row[ow * sw + off] += gd[ow];
        }
    }
}

FP_CLONES static void FP_NAME(avg_backward_planes)(const FP_T *gy, FP_T *gx, const fp_pool2d_geom *g,
                                                   const int64_t *tab, int count_include_pad,
                                                   int64_t divisor_override, FP_T *div, FP_T *gd,
                                                   int64_t p0, int64_t p1)
{
    const int64_t *lo = tab, *hi = tab + g->kw, *wpad = tab + 2 * g->kw, *wclip = wpad + g->OW;
    const int64_t plane_sz = g->H * g->W;
    for (int64_t p = p0; p < p1; p++) {
        FP_T *gplane = gx + p * plane_sz;
        memset(gplane, 0, sizeof(FP_T) * (size_t)plane_sz);
        for (int64_t oh = 0; oh < g->OH; oh++) {
            int64_t ihs, ihe;
            FP_NAME(avg_divisors)(g, oh, count_include_pad, divisor_override, wpad, wclip, div, &ihs, &ihe);
            const FP_T *grow = gy + (p * g->OH + oh) * g->OW;
            for (int64_t ow = 0; ow < g->OW; ow++)
                gd[ow] = div[ow] != 0 ? grow[ow] / div[ow] : (FP_T)0;
            if (g->sw == 1)
                FP_NAME(avg_backward_row)(gplane, gd, g, ihs, ihe, lo, hi, 1);
            else if (g->sw == 2)
                FP_NAME(avg_backward_row)(gplane, gd, g, ihs, ihe, lo, hi, 2);
            else
                FP_NAME(avg_backward_row)(gplane, gd, g, ihs, ihe, lo, hi, g->sw);
        }
    }
}

int FP_NAME(avg_pool2d_backward)(const FP_T *grad_y, FP_T *grad_x, const fp_pool2d_geom *g,
                                 int count_include_pad, int64_t divisor_override, int n_threads)
{
    if (g->planes == 0)
        return FP_OK;
    int nt = fp_threads_for(g->planes * g->H * g->W, n_threads);
    int64_t *tab = FP_NAME(avg_tables)(g);
    FP_T *buf = malloc(sizeof(FP_T) * (size_t)(2 * g->OW * nt + 1));
    if (!tab || !buf) {
        free(tab);
        free(buf);
        return FP_ERR_NOMEM;
    }
    #pragma omp parallel num_threads(nt)
    {
        const int t = fp_thread_num(), T = fp_team_size();
        FP_T *div = buf + 2 * g->OW * t;
        const int64_t nchunks = fp_dyn_chunks(g->planes, T);
        #pragma omp for schedule(dynamic, 1)
        for (int64_t chunk = 0; chunk < nchunks; chunk++)
            FP_NAME(avg_backward_planes)(grad_y, grad_x, g, tab, count_include_pad, divisor_override, div,
                                     div + g->OW, g->planes * chunk / nchunks, g->planes * (chunk + 1) / nchunks);
    }
    free(tab);
    free(buf);
    return FP_OK;
}

/* ---- adaptive average pooling ------------------------------------------- */

/* Sum of n contiguous values in double (vector lanes: see norm_vec.h). */
FP_INLINE double FP_NAME(pool_sum)(const FP_T *FP_RESTRICT p, int64_t n)
{
    fp_v8d a0 = fp_splat8d(0), a1 = a0, a2 = a0, a3 = a0; /* 4 chains hide the add latency */
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 += fp_load8d(p + i);
        a1 += fp_load8d(p + i + 8);
        a2 += fp_load8d(p + i + 16);
        a3 += fp_load8d(p + i + 24);
    }
    for (; i + 8 <= n; i += 8)
        a0 += fp_load8d(p + i);
    double s = fp_hsum8d((a0 + a1) + (a2 + a3));
    for (; i < n; i++)
        s += (double)p[i];
    return s;
}

FP_CLONES static void FP_NAME(adaptive_planes)(const FP_T *x, FP_T *y, int64_t H, int64_t W, int64_t OH,
                                               int64_t OW, int64_t p0, int64_t p1)
{
    for (int64_t p = p0; p < p1; p++) {
        const FP_T *plane = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t hs = oh * H / OH, he = ((oh + 1) * H + OH - 1) / OH;
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t ws = ow * W / OW, we = ((ow + 1) * W + OW - 1) / OW;
                double s = 0;
                if (ws == 0 && we == W) {
                    s = FP_NAME(pool_sum)(plane + hs * W, (he - hs) * W);
                } else {
                    for (int64_t ih = hs; ih < he; ih++)
                        s += FP_NAME(pool_sum)(plane + ih * W + ws, we - ws);
                }
                y[(p * OH + oh) * OW + ow] = (FP_T)(s / (double)((he - hs) * (we - ws)));
            }
        }
    }
}

int FP_NAME(adaptive_avg_pool2d_forward)(const FP_T *x, FP_T *y, int64_t planes, int64_t H, int64_t W,
                                         int64_t OH, int64_t OW, int n_threads)
{
    int nt = fp_threads_for(planes * H * W, n_threads);
    const int64_t nchunks = fp_dyn_chunks(planes, nt);
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t chunk = 0; chunk < nchunks; chunk++)
        FP_NAME(adaptive_planes)(x, y, H, W, OH, OW, planes * chunk / nchunks, planes * (chunk + 1) / nchunks);
    return FP_OK;
}

FP_CLONES static void FP_NAME(adaptive_backward_planes)(const FP_T *gy, FP_T *gx, int64_t H, int64_t W,
                                                        int64_t OH, int64_t OW, int64_t p0, int64_t p1)
{
    for (int64_t p = p0; p < p1; p++) {
        FP_T *plane = gx + p * H * W;
        memset(plane, 0, sizeof(FP_T) * (size_t)(H * W));
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t hs = oh * H / OH, he = ((oh + 1) * H + OH - 1) / OH;
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t ws = ow * W / OW, we = ((ow + 1) * W + OW - 1) / OW;
                /* torch: grad / kh / kw, in the data type */
                FP_T d = gy[(p * OH + oh) * OW + ow] / (FP_T)(he - hs) / (FP_T)(we - ws);
                for (int64_t ih = hs; ih < he; ih++) {
                    FP_T *FP_RESTRICT row = plane + ih * W;
                    for (int64_t iw = ws; iw < we; iw++)
                        row[iw] += d;
                }
            }
        }
    }
}

int FP_NAME(adaptive_avg_pool2d_backward)(const FP_T *grad_y, FP_T *grad_x, int64_t planes, int64_t H,
                                          int64_t W, int64_t OH, int64_t OW, int n_threads)
{
    int nt = fp_threads_for(planes * H * W, n_threads);
    const int64_t nchunks = fp_dyn_chunks(planes, nt);
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t chunk = 0; chunk < nchunks; chunk++)
        FP_NAME(adaptive_backward_planes)(grad_y, grad_x, H, W, OH, OW, planes * chunk / nchunks, planes * (chunk + 1) / nchunks);
    return FP_OK;
}
