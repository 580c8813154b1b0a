/* Body of pool.c, included once per dtype (FP_T, FP_S).
 *
 * Work is split over the flattened (plane, output row) range in fixed chunks
 * handed out dynamically; every kernel walks one output row at a time.
 *
 * Value-only max pooling and average pooling (strides 1 and 2) are
 * separable (see the section below): a vertical max/sum of the window's
 * input rows in registers, then a horizontal pass over a padded row buffer,
 * whole vectors, no bounds checks. Forward bytes: x read once, y written
 * once (non-temporal stores when y is large), nothing else.
 *
 * Max pooling with indices applies the window tap by tap in torch's scan
 * order (ih outer, iw inner), so "first max wins" ties and "a NaN wins, the
 * last NaN's index is kept" match torch exactly; the valid ow range of each
 * kw tap is computed once per call, so the inner loops carry no bounds
 * checks. Other strides take the same tap loops.
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

/* ---- separable value passes (value-only max pooling, average pooling) ---
 *
 * One output row = a vertical pass (max / sum of the window's input rows,
 * column by column in full vectors: every input row is read once per output
 * row, straight into registers) into a padded row buffer whose pads hold the
 * identity (-inf / 0), then a horizontal pass along that buffer with no
 * bounds checks. Stride 2 (the common downsampling case) first deinterleaves
 * the buffer into even/odd halves with two permutes per vector, so every tap
 * becomes a contiguous vector load; stride 1 loads the taps directly. The
 * horizontal pass and the divide run over whole vectors (owr = OW rounded up;
 * the pad lanes compute garbage that is never copied out), so the interior
 * loops have no tails and no branches. Other strides take a strided scalar
 * loop over the same buffer.
 */
typedef FP_T FP_NAME(pv) __attribute__((vector_size(64)));
typedef FP_IT FP_NAME(pi) __attribute__((vector_size(64)));
#define FP_PVL ((int64_t)(64 / sizeof(FP_T)))

/* Selects (NaN-sticky max, the empty-window divide) run on 32-byte vectors:
 * GCC 12 splits a 64-byte vector compare into scalars inside target_clones
 * functions (checked in the x86-64-v4 clone's code), while 32-byte compares
 * stay vector ops in every clone. */
typedef FP_T FP_NAME(hv) __attribute__((vector_size(32)));
typedef FP_IT FP_NAME(hm) __attribute__((vector_size(32)));
#define FP_HVL ((int64_t)(32 / sizeof(FP_T)))

FP_INLINE FP_NAME(hv) FP_NAME(hmaxnan)(FP_NAME(hv) m, FP_NAME(hv) v)
{
    FP_NAME(hm) take = (v > m) | (v != v);
    return (FP_NAME(hv))(((FP_NAME(hm))v & take) | ((FP_NAME(hm))m & ~take));
}

FP_INLINE FP_T FP_NAME(maxnan)(FP_T m, FP_T v)
{
    return ((v > m) | (v != v)) ? v : m; /* NaN is sticky either way */
}

/* Per-thread scratch (FP_T elements, whole vectors): the padded row
 * (2*half, input column c at pw + c), its even and odd halves (half each),
 * and the output row (owr). */
typedef struct {
    int64_t owr, half, len;
} FP_NAME(sep_plan_t);

static FP_NAME(sep_plan_t) FP_NAME(sep_plan)(const fp_pool2d_geom *g)
{
    FP_NAME(sep_plan_t) p;
    p.owr = (g->OW + FP_PVL - 1) / FP_PVL * FP_PVL;
    const int64_t reach = FP_MAX(p.owr, g->OW);
    int64_t need = FP_MAX((reach - 1) * g->sw + (g->kw - 1) * g->dw + 1, g->pw + g->W);
    p.half = (need + 2 * FP_PVL - 1) / (2 * FP_PVL) * FP_PVL;
    p.len = 4 * p.half + p.owr;
    return p;
}

/* Per-thread scratch of nt threads with the padded rows filled with `pad`. */
static FP_T *FP_NAME(sep_alloc)(const FP_NAME(sep_plan_t) *p, int nt, FP_T pad)
{
    FP_T *buf = malloc(sizeof(FP_T) * (size_t)(p->len * nt));
    if (buf)
        for (int64_t i = 0; i < p->len * nt; i++)
            buf[i] = pad;
    return buf;
}

/* out[c] = max over rows ih, ih + dh, ... < ih_end of plane[row][c] */
FP_INLINE void FP_NAME(vert_max)(const FP_T *FP_RESTRICT plane, int64_t W, int64_t ih, int64_t ih_end, int64_t dh,
                                 FP_T *FP_RESTRICT out)
{
    const FP_T *FP_RESTRICT r0 = plane + ih * W;
    int64_t c = 0;
    for (; c + FP_HVL <= W; c += FP_HVL) {
        FP_NAME(hv) m = fp_vload(FP_NAME(hv), r0 + c);
        for (int64_t r = ih + dh; r < ih_end; r += dh)
            m = FP_NAME(hmaxnan)(m, fp_vload(FP_NAME(hv), plane + r * W + c));
        fp_vstore(out + c, m);
    }
    for (; c < W; c++) {
        FP_T m = r0[c];
        for (int64_t r = ih + dh; r < ih_end; r += dh)
            m = FP_NAME(maxnan)(m, plane[r * W + c]);
        out[c] = m;
    }
}

/* out[c] = sum over rows [ihs, ihe) of plane[row][c] (ihs < ihe) */
FP_INLINE void FP_NAME(vert_sum)(const FP_T *FP_RESTRICT plane, int64_t W, int64_t ihs, int64_t ihe,
                                 FP_T *FP_RESTRICT out)
{
    const FP_T *FP_RESTRICT r0 = plane + ihs * W;
    int64_t c = 0;
    for (; c + FP_PVL <= W; c += FP_PVL) {
        FP_NAME(pv) s = fp_vload(FP_NAME(pv), r0 + c);
        for (int64_t r = ihs + 1; r < ihe; r++)
            s += fp_vload(FP_NAME(pv), plane + r * W + c);
        fp_vstore(out + c, s);
    }
    for (; c < W; c++) {
        FP_T s = r0[c];
        for (int64_t r = ihs + 1; r < ihe; r++)
            s += plane[r * W + c];
        out[c] = s;
    }
}

/* ev[j] = row[2j], od[j] = row[2j + 1] for j < half */
FP_INLINE void FP_NAME(deinterleave)(const FP_T *FP_RESTRICT row, FP_T *FP_RESTRICT ev, FP_T *FP_RESTRICT od,
                                     int64_t half)
{
    FP_NAME(pi) me, mo;
    for (int j = 0; j < FP_PVL; j++) {
        me[j] = 2 * j;
        mo[j] = 2 * j + 1;
    }
    for (int64_t j = 0; j < half; j += FP_PVL) {
        FP_NAME(pv) a = fp_vload(FP_NAME(pv), row + 2 * j), b = fp_vload(FP_NAME(pv), row + 2 * j + FP_PVL);
        fp_vstore(ev + j, __builtin_shuffle(a, b, me));
        fp_vstore(od + j, __builtin_shuffle(a, b, mo));
    }
}

/* h[ow] = op over taps k < kw of row[ow*sw + k*dw], for ow < owr (sw 1 or 2,
 * a constant at each call; is_max a constant too). */
FP_INLINE void FP_NAME(horiz)(FP_T *FP_RESTRICT row, FP_T *FP_RESTRICT h, const fp_pool2d_geom *g,
                              const FP_NAME(sep_plan_t) *p, const int64_t sw, const int is_max)
{
    const FP_T *FP_RESTRICT ev = row, *FP_RESTRICT od = row;
    if (sw == 2) {
        FP_T *e = row + 2 * p->half, *o = e + p->half;
        FP_NAME(deinterleave)(row, e, o, p->half);
        ev = e;
        od = o;
    }
    if (is_max) {
        for (int64_t ow = 0; ow < p->owr; ow += FP_HVL) {
            FP_NAME(hv) acc = fp_vload(FP_NAME(hv), ev + ow);
            for (int64_t k = 1; k < g->kw; k++) {
                const int64_t t = k * g->dw;
                const FP_T *src = sw == 2 ? (t & 1 ? od : ev) + t / 2 : row + t;
                acc = FP_NAME(hmaxnan)(acc, fp_vload(FP_NAME(hv), src + ow));
            }
            fp_vstore(h + ow, acc);
        }
    } else {
        for (int64_t ow = 0; ow < p->owr; ow += FP_PVL) {
            FP_NAME(pv) acc = fp_vload(FP_NAME(pv), ev + ow);
            for (int64_t k = 1; k < g->kw; k++) {
                const int64_t t = k * g->dw;
                const FP_T *src = sw == 2 ? (t & 1 ? od : ev) + t / 2 : row + t;
                acc += fp_vload(FP_NAME(pv), src + ow);
            }
            fp_vstore(h + ow, acc);
        }
    }
}

/* Value-only max pooling of output row oh into yrow (OW values). */
FP_INLINE void FP_NAME(max_row_sep)(const FP_T *FP_RESTRICT plane, FP_T *FP_RESTRICT yrow, FP_T *FP_RESTRICT buf,
                                    const fp_pool2d_geom *g, const FP_NAME(sep_plan_t) *p, int64_t oh,
                                    const int64_t sw)
{
    const int64_t W = g->W, OW = g->OW;
    FP_T *FP_RESTRICT row = buf, *FP_RESTRICT h = buf + 4 * p->half;
    const int64_t ih0 = oh * g->sh - g->ph;
    const int64_t ih_end = FP_MIN(ih0 + (g->kh - 1) * g->dh + 1, g->H);
    int64_t ih = ih0;
    while (ih < 0)
        ih += g->dh;
    if (ih >= ih_end) {
        for (int64_t c = 0; c < W; c++)
            row[g->pw + c] = -(FP_T)INFINITY;
    } else {
        FP_NAME(vert_max)(plane, W, ih, ih_end, g->dh, row + g->pw);
    }
    if (sw == 1 || sw == 2) {
        FP_NAME(horiz)(row, h, g, p, sw, 1);
        memcpy(yrow, h, sizeof(FP_T) * (size_t)OW);
        return;
    }
    for (int64_t ow = 0; ow < OW; ow++)
        yrow[ow] = row[ow * sw];
    for (int64_t k = 1; k < g->kw; k++) {
        const FP_T *FP_RESTRICT v = row + k * g->dw;
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

/* Software prefetch of the input rows that output row r + pd will newly
 * need (the bottom sh rows of its window), pd = FP_POOL_PF_ROWS: the hardware
 * prefetcher alone left the short per-row loops stalled on memory (max pool
 * 3x3 s2 on (32,64,112,112): 5.7 -> 5.2 ms; distances 4-32 rows measured
 * alike, 8 taken). */
#ifndef FP_POOL_PF_ROWS
#define FP_POOL_PF_ROWS 8
#endif
FP_INLINE void FP_NAME(prefetch_rows)(const FP_T *x, const fp_pool2d_geom *g, int64_t r, int64_t r1, int64_t pd)
{
    const int64_t rp = r + pd;
    if (rp >= r1)
        return;
    const FP_T *plane = x + (rp / g->OH) * g->H * g->W;
    const int64_t last = (rp % g->OH) * g->sh - g->ph + (g->kh - 1) * g->dh;
    const int64_t a = FP_MAX(last - g->sh + 1, (int64_t)0), b = FP_MIN(last, g->H - 1);
    for (int64_t ih = a; ih <= b; ih++) {
        const char *row = (const char *)(plane + ih * g->W);
        const int64_t nbytes = g->W * (int64_t)sizeof(FP_T);
        for (int64_t o = 0; o < nbytes; o += 64)
            __builtin_prefetch(row + o);
        __builtin_prefetch(row + nbytes - 1);
    }
}

FP_CLONES static void FP_NAME(max_rows)(const FP_T *x, FP_T *y, int64_t *ind, const fp_pool2d_geom *g,
                                        const int64_t *tab, const FP_NAME(sep_plan_t) *plan, FP_T *vmp, int64_t r0,
                                        int64_t r1, int stream)
{
    const int64_t *lo = tab, *hi = tab + g->kw, *iw_first = tab + 2 * g->kw;
    const int64_t plane_sz = g->H * g->W;
    FP_NAME(stage_t) st;
    st.count = st.first = 0;
    const int64_t pd = FP_POOL_PF_ROWS;
    for (int64_t r = r0; r < r1; r++) {
        FP_NAME(prefetch_rows)(x, g, r, r1, pd);
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
                FP_NAME(max_row_sep)(plane, yrow, vmp, g, plan, oh, 1);
            else if (g->sw == 2)
                FP_NAME(max_row_sep)(plane, yrow, vmp, g, plan, oh, 2);
            else
                FP_NAME(max_row_sep)(plane, yrow, vmp, g, plan, oh, g->sw);
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
    const FP_NAME(sep_plan_t) plan = FP_NAME(sep_plan)(g);
    const int stream = !indices && g->OW <= FP_STREAM_CHUNK &&
                       rows * g->OW * (int64_t)sizeof(FP_T) >= FP_STREAM_MIN_BYTES;
    FP_T *vbuf = FP_NAME(sep_alloc)(&plan, nt, -(FP_T)INFINITY);
    if (!vbuf) {
        free(tab);
        return FP_ERR_NOMEM;
    }
    #pragma omp parallel num_threads(nt)
    {
        const int t = fp_thread_id(), T = fp_team_size();
        const int64_t nchunks = fp_dyn_chunks(rows, T);
        #pragma omp for schedule(dynamic, 1)
        for (int64_t chunk = 0; chunk < nchunks; chunk++)
            FP_NAME(max_rows)(x, y, indices, g, tab, &plan, vbuf + plan.len * t, rows * chunk / nchunks,
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

/* Divisor tables of the separable average pass, owr values each (pad lanes
 * 1): window widths padded (count_include_pad) and clipped, and 1, each 0
 * where the clipped window is empty; a row's divisors are its height factor
 * times one table (torch's hpad*wpad, hclip*wclip or divisor_override). */
static FP_T *FP_NAME(avg_wtables)(const fp_pool2d_geom *g, const int64_t *tab, int64_t owr)
{
    const int64_t *wpad = tab + 2 * g->kw, *wclip = wpad + g->OW;
    FP_T *t = malloc(sizeof(FP_T) * (size_t)(3 * owr));
    if (!t)
        return NULL;
    for (int64_t ow = 0; ow < owr; ow++) {
        int in = ow < g->OW, empty = in && wclip[ow] <= 0;
        t[ow] = !in ? 1 : empty ? 0 : (FP_T)wpad[ow];
        t[owr + ow] = !in ? 1 : empty ? 0 : (FP_T)wclip[ow];
        t[2 * owr + ow] = !in ? 1 : empty ? 0 : 1;
    }
    return t;
}

/* Average pooling of output row oh into yrow, separable (sw 1 or 2). */
FP_INLINE void FP_NAME(avg_row_sep)(const FP_T *FP_RESTRICT plane, FP_T *FP_RESTRICT yrow, FP_T *FP_RESTRICT buf,
                                    const fp_pool2d_geom *g, const FP_NAME(sep_plan_t) *p, const FP_T *wt,
                                    int count_include_pad, int64_t divisor_override, int64_t oh, const int64_t sw)
{
    const int64_t ih0 = oh * g->sh - g->ph, ih1 = FP_MIN(ih0 + g->kh, g->H + g->ph);
    const int64_t ihs = FP_MAX(ih0, (int64_t)0), ihe = FP_MIN(ih1, g->H);
    if (ihe <= ihs) {
        memset(yrow, 0, sizeof(FP_T) * (size_t)g->OW);
        return;
    }
    FP_T *FP_RESTRICT row = buf, *FP_RESTRICT h = buf + 4 * p->half;
    FP_NAME(vert_sum)(plane, g->W, ihs, ihe, row + g->pw);
    FP_NAME(horiz)(row, h, g, p, sw, 0);
    const FP_T *tw;
    FP_T f;
    if (divisor_override) {
        tw = wt + 2 * p->owr;
        f = (FP_T)divisor_override;
    } else if (count_include_pad) {
        tw = wt;
        f = (FP_T)(ih1 - ih0);
    } else {
        tw = wt + p->owr;
        f = (FP_T)(ihe - ihs);
    }
    for (int64_t ow = 0; ow < p->owr; ow += FP_HVL) {
        FP_NAME(hv) d = fp_vload(FP_NAME(hv), tw + ow) * f;
        FP_NAME(hm) nonempty = d != 0;
        FP_NAME(hv) q = fp_vload(FP_NAME(hv), h + ow) / d;
        fp_vstore(h + ow, (FP_NAME(hv))((FP_NAME(hm))q & nonempty)); /* empty window: 0 */
    }
    memcpy(yrow, h, sizeof(FP_T) * (size_t)g->OW);
}

/* Output rows [r0, r1): separable (plan/wt/buf, strides 1-2) or tap loops
 * (tab/div). */
FP_CLONES static void FP_NAME(avg_rows)(const FP_T *x, FP_T *y, const fp_pool2d_geom *g, const int64_t *tab,
                                        const FP_NAME(sep_plan_t) *plan, const FP_T *wt, FP_T *buf,
                                        int count_include_pad, int64_t divisor_override, int64_t r0, int64_t r1,
                                        int stream)
{
    const int64_t *lo = tab, *hi = tab + g->kw, *wpad = tab + 2 * g->kw, *wclip = wpad + g->OW;
    const int64_t plane_sz = g->H * g->W;
    FP_NAME(stage_t) st;
    st.count = st.first = 0;
    for (int64_t r = r0; r < r1; r++) {
        FP_NAME(prefetch_rows)(x, g, r, r1, FP_POOL_PF_ROWS);
        const FP_T *plane = x + (r / g->OH) * plane_sz;
        int64_t oh = r % g->OH, ihs, ihe;
        FP_T *yrow = FP_NAME(stage_row)(&st, y, r, g->OW, stream);
        if (g->sw == 2) {
            FP_NAME(avg_row_sep)(plane, yrow, buf, g, plan, wt, count_include_pad, divisor_override, oh, 2);
        } else if (g->sw == 1) {
            FP_NAME(avg_row_sep)(plane, yrow, buf, g, plan, wt, count_include_pad, divisor_override, oh, 1);
        } else {
            FP_NAME(avg_divisors)(g, oh, count_include_pad, divisor_override, wpad, wclip, buf, &ihs, &ihe);
            FP_NAME(avg_row)(plane, yrow, g, ihs, ihe, lo, hi, buf, g->sw);
        }
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
    /* strides 1 and 2: separable; others: tap loops with a per-row divisor row */
    const int sep = g->sw == 1 || g->sw == 2;
    const FP_NAME(sep_plan_t) plan = FP_NAME(sep_plan)(g);
    const int64_t per_thread = sep ? plan.len : g->OW;
    int64_t *tab = FP_NAME(avg_tables)(g);
    FP_T *wt = sep && tab ? FP_NAME(avg_wtables)(g, tab, plan.owr) : NULL;
    FP_T *buf = sep ? FP_NAME(sep_alloc)(&plan, nt, 0) : malloc(sizeof(FP_T) * (size_t)(per_thread * nt));
    if (!tab || (sep && !wt) || !buf) {
        free(tab);
        free(wt);
        free(buf);
        return FP_ERR_NOMEM;
    }
    #pragma omp parallel num_threads(nt)
    {
        const int t = fp_thread_id(), T = fp_team_size();
        const int64_t nchunks = fp_dyn_chunks(rows, T);
        #pragma omp for schedule(dynamic, 1)
        for (int64_t chunk = 0; chunk < nchunks; chunk++)
            FP_NAME(avg_rows)(x, y, g, tab, &plan, wt, buf + per_thread * t, count_include_pad, divisor_override,
                              rows * chunk / nchunks, rows * (chunk + 1) / nchunks, stream);
    }
    free(tab);
    free(wt);
    free(buf);
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
        const int t = fp_thread_id(), T = fp_team_size();
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

#undef FP_PVL
#undef FP_HVL
