/* Body of winograd.c, included once per dtype (FP_T, FP_S).
 *
 * Layout of one thread's block of TB tiles: V[xi][c][t] and M[xi][k][t]
 * (xi = 4 * row + column of the transformed 4x4 tile), so each of the 16
 * GEMMs reads a row-major (channels x TB) matrix and writes one. Tiles of a
 * block run along tile rows of consecutive images; a run of tiles within one
 * tile row ("segment") is transformed with unit-stride loops over tiles:
 * input columns are split into even/odd halves, since neighbouring tiles
 * overlap by two columns.
 */

/* 8 filters side by side (8 lanes) and their first mb lanes' store. */
typedef FP_T FP_NAME(f8) __attribute__((vector_size(8 * sizeof(FP_T))));
typedef FP_T FP_NAME(f8u) __attribute__((vector_size(8 * sizeof(FP_T)), aligned(1), may_alias));
#define F8 FP_NAME(f8)
#define F8LOAD(p) (*(const FP_NAME(f8u) *)(p))
FP_INLINE void FP_NAME(wino_put8)(FP_T *dst, F8 v, int64_t mb)
{
    if (mb == 8) {
        *(FP_NAME(f8u) *)dst = v;
    } else {
        for (int64_t r = 0; r < mb; r++) dst[r] = v[r];
    }
}

/* Filter transform U = G g G^T, written straight into the layout the GEMM
 * micro-kernel reads: for group gi and xi, the (cog x cig) matrix U[xi] is
 * cut into column slices of FP_WINO_KC input channels, each packed as
 * fp_gemm_pack_a packs a (cog x kc) matrix (row blocks of 8, then 4, then 1,
 * stored [c][row in block]). This function does one row block (rows
 * [i, i + mb)) for every c, 8 filters side by side so the arithmetic
 * vectorizes over them. */
FP_CLONES static void FP_NAME(wino_filter_block)(const fp_wino_geom *g, const FP_T *w, int64_t gi, int64_t i,
                                                 int64_t mb, FP_T *up)
{
    enum { CB = 64 }; /* input channels staged at a time */
    const int64_t cig = g->cin / g->groups, cog = g->cout / g->groups, mat = cog * cig;
    /* staged taps [c][tap][row]: written by scalar stores in one pass and
     * read as 8-row vectors in the next (reading them right after the
     * stores would stall on store forwarding) */
    FP_T stage[CB][9][8];
    memset(stage, 0, sizeof stage);
    for (int64_t cb = 0; cb < cig; cb += CB) {
        const int64_t nc = FP_MIN(CB, cig - cb);
        for (int64_t r = 0; r < mb; r++) {
            const int64_t k = i + r;
            if (!g->transposed) {
                const FP_T *src = w + ((gi * cog + k) * cig + cb) * 9;
                for (int64_t c = 0; c < nc; c++)
                    for (int q = 0; q < 9; q++) stage[c][q][r] = src[c * 9 + q];
            } else { /* grad_x: filter (k, c) is the forward layer's (c, k), flipped */
                for (int64_t c = 0; c < nc; c++) {
                    const FP_T *src = w + ((gi * cig + cb + c) * cog + k) * 9;
                    for (int q = 0; q < 9; q++) stage[c][q][r] = src[8 - q];
                }
            }
        }
        for (int64_t c = cb; c < cb + nc; c++) {
            const FP_T(*f)[8] = stage[c - cb];
            const int64_t c0 = c / FP_WINO_KC * FP_WINO_KC, kc = FP_MIN(FP_WINO_KC, cig - c0);
            FP_T *dst = up + gi * 16 * mat + c0 * cog + i * kc + (c - c0) * mb;
            const F8 half = (F8){0} + (FP_T)0.5;
            F8 t0[3], t1[3], t2[3], t3[3];
#define WF_COL(j)                                                             \
    {                                                                         \
        F8 f0 = F8LOAD(f[j]), f1 = F8LOAD(f[3 + j]), f2 = F8LOAD(f[6 + j]);   \
        t0[j] = f0;                                                           \
        t1[j] = half * (f0 + f1 + f2);                                        \
        t2[j] = half * (f0 - f1 + f2);                                        \
        t3[j] = f2;                                                           \
    }
            WF_COL(0) WF_COL(1) WF_COL(2)
#undef WF_COL
#define WF_ROW(a, t)                                                                  \
    {                                                                                 \
        F8 u0 = t[0], u1 = half * (t[0] + t[1] + t[2]), u2 = half * (t[0] - t[1] + t[2]), \
           u3 = t[2];                                                                 \
        FP_NAME(wino_put8)(dst + (4 * a) * mat, u0, mb);                              \
        FP_NAME(wino_put8)(dst + (4 * a + 1) * mat, u1, mb);                          \
        FP_NAME(wino_put8)(dst + (4 * a + 2) * mat, u2, mb);                          \
        FP_NAME(wino_put8)(dst + (4 * a + 3) * mat, u3, mb);                          \
    }
            WF_ROW(0, t0) WF_ROW(1, t1) WF_ROW(2, t2) WF_ROW(3, t3)
#undef WF_ROW
        }
    }
}

#define WVL ((int64_t)(64 / sizeof(FP_T)))
typedef FP_T FP_NAME(wvec) __attribute__((vector_size(64)));
typedef FP_T FP_NAME(wuvec) __attribute__((vector_size(64), aligned(1), may_alias));
typedef FP_IT FP_NAME(wivec) __attribute__((vector_size(64)));
#define WVEC FP_NAME(wvec)
#define WIVEC FP_NAME(wivec)
#define WLOAD(p) (*(const FP_NAME(wuvec) *)(p))
#define WSTORE(p, v) (*(FP_NAME(wuvec) *)(p) = (v))

/* Permutation indices: lanes 2i + odd of (a, b) (deinterleave), and lanes
 * i + half, i + WVL + half alternating (interleave of a and b). */
FP_INLINE void FP_NAME(wino_perm)(WIVEC *m, int kind, int64_t arg)
{
    FP_IT t[WVL];
    for (int64_t i = 0; i < WVL; i++)
        t[i] = (FP_IT)(kind == 0 ? 2 * i + arg : (i / 2 + arg) + (i % 2) * WVL);
    memcpy(m, t, sizeof *m);
}

/* Input transform of one segment: tiles tw0 .. tw0+nt-1 of tile row th of
 * image plane xg (cig channels), written to v[xi * ldv + c * ldt + j]; full
 * vectors are stored, so up to WVL - 1 elements past each row's segment are
 * clobbered (the caller's rows have that slack and later segments rewrite
 * them). Each input row range is copied into a zero-padded buffer first, so
 * padding and the array's end need no per-element tests. */
FP_CLONES static void FP_NAME(wino_input_segment)(const fp_wino_geom *g, const FP_T *xg, int64_t cig, int64_t th,
                                                  int64_t tw0, int64_t nt, FP_T *v, int64_t ldv, int64_t ldt,
                                                  FP_T *scr)
{
    const int64_t H = g->h, W = g->w, nc = (nt + WVL - 1) / WVL, len = (nc + 1) * WVL;
    const int64_t iy0 = 2 * th - g->ph, ix0 = 2 * tw0 - g->pw;
    const int64_t lo = FP_MAX(ix0, 0), hi = FP_MIN(W, ix0 + 2 * nt + 2);
    WIVEC even, odd;
    FP_NAME(wino_perm)(&even, 0, 0);
    FP_NAME(wino_perm)(&odd, 0, 1);
    FP_T *row[4], *e[4], *o[4];
    for (int r = 0; r < 4; r++) {
        row[r] = scr + r * 4 * len;
        e[r] = row[r] + 2 * len;
        o[r] = e[r] + len;
        memset(row[r], 0, (size_t)(2 * len) * sizeof(FP_T));
    }
    for (int64_t c = 0; c < cig; c++) {
        const FP_T *xc = xg + c * H * W;
        for (int r = 0; r < 4; r++) {
            const int64_t iy = iy0 + r;
            if (iy >= 0 && iy < H && hi > lo)
                memcpy(row[r] + (lo - ix0), xc + iy * W + lo, (size_t)(hi - lo) * sizeof(FP_T));
            for (int64_t j = 0; j < len; j += WVL) {
                WVEC a = WLOAD(row[r] + 2 * j), b = WLOAD(row[r] + 2 * j + WVL);
                WSTORE(e[r] + j, __builtin_shuffle(a, b, even));
                WSTORE(o[r] + j, __builtin_shuffle(a, b, odd));
            }
        }
        FP_T *vc = v + c * ldt;
        for (int64_t j = 0; j < nc * WVL; j += WVL) {
            /* rows: B^T d; tile j's columns are e[j], o[j], e[j+1], o[j+1] */
            WVEC e0 = WLOAD(e[0] + j), e1 = WLOAD(e[1] + j), e2 = WLOAD(e[2] + j), e3 = WLOAD(e[3] + j);
            WVEC o0 = WLOAD(o[0] + j), o1 = WLOAD(o[1] + j), o2 = WLOAD(o[2] + j), o3 = WLOAD(o[3] + j);
            WVEC f0 = WLOAD(e[0] + j + 1), f1 = WLOAD(e[1] + j + 1), f2 = WLOAD(e[2] + j + 1),
                 f3 = WLOAD(e[3] + j + 1);
            WVEC p0 = WLOAD(o[0] + j + 1), p1 = WLOAD(o[1] + j + 1), p2 = WLOAD(o[2] + j + 1),
                 p3 = WLOAD(o[3] + j + 1);
            WVEC te[4] = {e0 - e2, e1 + e2, e2 - e1, e1 - e3};
            WVEC to[4] = {o0 - o2, o1 + o2, o2 - o1, o1 - o3};
            WVEC tf[4] = {f0 - f2, f1 + f2, f2 - f1, f1 - f3};
            WVEC tp[4] = {p0 - p2, p1 + p2, p2 - p1, p1 - p3};
            /* columns: (B^T d) B */
            for (int r = 0; r < 4; r++) {
                FP_T *vr = vc + 4 * r * ldv + j;
                WSTORE(vr, te[r] - tf[r]);
                WSTORE(vr + ldv, to[r] + tf[r]);
                WSTORE(vr + 2 * ldv, tf[r] - to[r]);
                WSTORE(vr + 3 * ldv, to[r] - tp[r]);
            }
        }
    }
}

/* Output transform of one segment: y = A^T m A (+ bias) for channels
 * [0, cog) of image plane yg; m[xi * ldm + k * ldt + j] (full vectors are
 * read past the segment, within the caller's row slack). Returns nonzero if
 * any output is NaN. */
FP_CLONES static int FP_NAME(wino_output_segment)(const fp_wino_geom *g, const FP_T *m, int64_t ldm, int64_t ldt,
                                                  int64_t cog, const FP_T *bias, int64_t th, int64_t tw0, int64_t nt,
                                                  FP_T *yg, FP_T *scr)
{
    const int64_t OH = g->oh, OW = g->ow, oy = 2 * th, ox = 2 * tw0, nc = (nt + WVL - 1) / WVL;
    const int64_t ncol = FP_MIN(2 * nt, OW - ox);
    const int two_rows = oy + 1 < OH;
    WIVEC lo, hi;
    FP_NAME(wino_perm)(&lo, 1, 0);
    FP_NAME(wino_perm)(&hi, 1, WVL / 2);
    FP_T *r0 = scr, *r1 = scr + 2 * nc * WVL;
    WIVEC nan = (WIVEC){0};
    for (int64_t k = 0; k < cog; k++) {
        const FP_T *mk = m + k * ldt;
        const FP_T bk = bias ? bias[k] : 0;
        for (int64_t j = 0; j < nc * WVL; j += WVL) {
            WVEC s0[4], s1[4];
            for (int q = 0; q < 4; q++) {
                WVEC m0 = WLOAD(mk + q * ldm + j), m1 = WLOAD(mk + (4 + q) * ldm + j),
                     m2 = WLOAD(mk + (8 + q) * ldm + j), m3 = WLOAD(mk + (12 + q) * ldm + j);
                s0[q] = m0 + m1 + m2;
                s1[q] = m1 - m2 - m3;
            }
            WVEC y00 = s0[0] + s0[1] + s0[2] + bk, y01 = s0[1] - s0[2] - s0[3] + bk;
            WVEC y10 = s1[0] + s1[1] + s1[2] + bk, y11 = s1[1] - s1[2] - s1[3] + bk;
            WSTORE(r0 + 2 * j, __builtin_shuffle(y00, y01, lo));
            WSTORE(r0 + 2 * j + WVL, __builtin_shuffle(y00, y01, hi));
            WSTORE(r1 + 2 * j, __builtin_shuffle(y10, y11, lo));
            WSTORE(r1 + 2 * j + WVL, __builtin_shuffle(y10, y11, hi));
        }
        FP_T *y0 = yg + (k * OH + oy) * OW + ox;
        memcpy(y0, r0, (size_t)ncol * sizeof(FP_T));
        if (two_rows)
            memcpy(y0 + OW, r1, (size_t)ncol * sizeof(FP_T));
        /* NaN test over the stored part only (lanes past it hold garbage) */
        int64_t q = 0;
        for (; q + WVL <= ncol; q += WVL) {
            WVEC a = WLOAD(r0 + q), b = WLOAD(r1 + q);
            nan |= (WIVEC)(a != a);
            if (two_rows)
                nan |= (WIVEC)(b != b);
        }
        for (; q < ncol; q++)
            if (r0[q] != r0[q] || (two_rows && r1[q] != r1[q]))
                nan[0] = 1;
    }
    for (int64_t l = 0; l < WVL; l++)
        if (nan[l])
            return 1;
    return 0;
}

static int FP_NAME(wino_run)(const fp_wino_geom *g, const FP_T *x, const FP_T *w, const FP_T *b, FP_T *y,
                             int n_threads, int *nonfinite)
{
    const int64_t G = g->groups, cig = g->cin / G, cog = g->cout / G;
    const int64_t tiles_h = (g->oh + 1) / 2, tiles_w = (g->ow + 1) / 2, per_image = tiles_h * tiles_w;
    const int64_t T = g->n * per_image, elem = (int64_t)sizeof(FP_T);
    *nonfinite = 0;
    if (T == 0 || g->cout == 0)
        return FP_OK;
    if (cig == 0) { /* no input channels: the output is the bias */
        for (int64_t i = 0; i < g->n * g->cout; i++)
            for (int64_t p = 0; p < g->oh * g->ow; p++) y[i * g->oh * g->ow + p] = b ? b[i % g->cout] : 0;
        return FP_OK;
    }
    const int64_t TB = fp_wino_block_tiles(g, elem, n_threads);
    const int64_t nblocks = (T + TB - 1) / TB, units = G * nblocks;
    const int nth = fp_wino_threads(g, units, n_threads);
    const int64_t mc = fp_wino_gemm_rows(FP_MIN(cig, FP_WINO_KC), elem);
    const int64_t ldt = TB + WVL; /* row slack for the transforms' full-vector stores */
    const int64_t mat = cog * cig, per_thread = 16 * (cig + cog) * ldt + fp_wino_scratch(TB, elem);
    /* 64-byte aligned: with ldt a multiple of the vector length every GEMM
     * row of V and M starts on a cache line (split loads halve the kernel) */
    FP_T *up = fp_wino_alloc((size_t)(16 * g->cout * cig) * sizeof(FP_T));
    FP_T *ws = fp_wino_alloc((size_t)(per_thread * nth) * sizeof(FP_T));
    int status = FP_OK, nan = 0;
    if (!up || !ws) {
        free(up);
        free(ws);
        return FP_ERR_NOMEM;
    }
    /* filters, in parallel over (group, row block of 8) */
    const int ntf = fp_threads_for(16 * g->cout * cig, n_threads);
    const int64_t rb8 = cog / 8, rbs = rb8 + (cog % 8) / 4 + cog % 4; /* row blocks per group */
    #pragma omp parallel for num_threads(ntf) schedule(static)
    for (int64_t q = 0; q < G * rbs; q++) {
        int64_t gi = q / rbs, rb = q % rbs, i, mb;
        if (rb < rb8)
            i = rb * 8, mb = 8;
        else if (rb == rb8 && cog % 8 >= 4)
            i = rb8 * 8, mb = 4;
        else
            i = cog - (rbs - rb), mb = 1;
        FP_NAME(wino_filter_block)(g, w, gi, i, mb, up);
    }

    #pragma omp parallel for num_threads(nth) schedule(dynamic, 1) reduction(| : nan)
    for (int64_t unit = 0; unit < units; unit++) {
        const int64_t gi = unit / nblocks, t0 = (unit % nblocks) * TB, t1 = FP_MIN(T, t0 + TB), nb = t1 - t0;
        FP_T *wsp = ws + per_thread * fp_thread_id();
        FP_T *V = wsp, *M = V + 16 * cig * ldt, *scr = M + 16 * cog * ldt;
        for (int64_t t = t0; t < t1;) {
            int64_t n = t / per_image, rem = t % per_image, th = rem / tiles_w, tw = rem % tiles_w;
            int64_t seg = FP_MIN(tiles_w - tw, t1 - t);
            const FP_T *xg = x + (n * g->cin + gi * cig) * g->h * g->w;
            FP_NAME(wino_input_segment)(g, xg, cig, th, tw, seg, V + (t - t0), cig * ldt, ldt, scr);
            t += seg;
        }
        /* M[xi] = U[xi] V[xi]: mc rows x FP_WINO_KC channels of U[xi] stay in
         * L2 while the block's 32-tile panels pass (each panel's slice of V
         * in L1) */
        for (int xi = 0; xi < 16; xi++)
            for (int64_t i0 = 0; i0 < cog; i0 += mc)
                for (int64_t c0 = 0; c0 < cig; c0 += FP_WINO_KC) {
                    const int64_t kc = FP_MIN(FP_WINO_KC, cig - c0);
                    const FP_T *a = up + (gi * 16 + xi) * mat + c0 * cog + i0 * kc;
                    if (FP_NAME(gemm_packed)(FP_MIN(mc, cog - i0), nb, kc, a, V + (xi * cig + c0) * ldt, ldt,
                                             M + (xi * cog + i0) * ldt, ldt, c0 > 0) != FP_OK) {
                        #pragma omp atomic write
                        status = FP_ERR_NOMEM;
                    }
                }
        for (int64_t t = t0; t < t1;) {
            int64_t n = t / per_image, rem = t % per_image, th = rem / tiles_w, tw = rem % tiles_w;
            int64_t seg = FP_MIN(tiles_w - tw, t1 - t);
            FP_T *yg = y + (n * g->cout + gi * cog) * g->oh * g->ow;
            nan |= FP_NAME(wino_output_segment)(g, M + (t - t0), cog * ldt, ldt, cog, b ? b + gi * cog : NULL, th,
                                                tw, seg, yg, scr);
            t += seg;
        }
    }
    free(up);
    free(ws);
    *nonfinite = nan;
    return status;
}

int FP_NAME(winograd_conv2d_forward)(const fp_conv2d_shape *s, const FP_T *x, const FP_T *w, const FP_T *b, FP_T *y,
                                     int n_threads, int *nonfinite)
{
    if (!fp_winograd_eligible(s))
        return FP_ERR_VALUE;
    fp_wino_geom g = fp_wino_geometry(s, 0);
    return FP_NAME(wino_run)(&g, x, w, b, y, n_threads, nonfinite);
}

int FP_NAME(winograd_conv2d_backward_input)(const fp_conv2d_shape *s, const FP_T *gy, const FP_T *w, FP_T *gx,
                                            int n_threads, int *nonfinite)
{
    if (!fp_winograd_eligible(s))
        return FP_ERR_VALUE;
    fp_wino_geom g = fp_wino_geometry(s, 1);
    return FP_NAME(wino_run)(&g, gy, w, NULL, gx, n_threads, nonfinite);
}

#undef WVL
#undef F8
#undef F8LOAD
#undef WVEC
#undef WIVEC
#undef WLOAD
#undef WSTORE
