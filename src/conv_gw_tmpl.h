/* Weight gradient of the im2col algorithm as inner products, included by
 * conv_tmpl.h once per dtype.
 *
 * dW_g[co][k] = sum over images and output positions p of gy[co][p] * col[k][p]:
 * both factors are contiguous along p (grad_out rows in place, column rows
 * in the im2col tile, or x rows in place for 1x1 layers), so a register
 * block of 4 output channels x 4 column rows keeps 16 vector accumulators
 * over p and needs no packing and no transposition (the GEMM form needs
 * one of the two operands transposed and the other packed: as much work as
 * the multiplication for the 1x1 and stem layers). The 16 accumulators are
 * reduced once per block and tile by a shuffle tree.
 * Rows are whole vectors: in place when P (output positions per image) is a
 * multiple of the vector length, else in tiles of several images (below).
 * Tile sizes (FP_GWD_*) and the workspace bound are in conv.c. */


/* Shuffle masks of gwd_hsum's stages: stage t (lane groups of h = FP_VL >> (t+1))
 * takes the low (m[2t]) and high (m[2t+1]) half of every group of a pair of vectors. */
FP_INLINE void FP_NAME(gwd_masks)(IVEC *m)
{
    int t = 0;
    for (int64_t h = FP_VL / 2; h >= 1; h /= 2, t++) {
        const int64_t per_vec = FP_VL / (2 * h);
        for (int64_t i = 0; i < FP_VL; i++) {
            int64_t group = i / h;
            int64_t idx = (group / per_vec) * FP_VL + (group % per_vec) * 2 * h + i % h;
            m[2 * t][i] = (FP_IT)idx;
            m[2 * t + 1][i] = (FP_IT)(idx + h);
        }
    }
}

/* out[i] = sum of the lanes of v[i], i < FP_VL (pairwise shuffle tree). */
FP_INLINE void FP_NAME(gwd_hsum)(VEC *v, const IVEC *masks, FP_T *out)
{
    int64_t m = FP_VL;
    for (int t = 0; m > 1; t++, m /= 2)
        for (int64_t j = 0; j < m / 2; j++)
            v[j] = __builtin_shuffle(v[2 * j], v[2 * j + 1], masks[2 * t]) +
                   __builtin_shuffle(v[2 * j], v[2 * j + 1], masks[2 * t + 1]);
    VSTORE(out, v[0]);
}

#define FP_GWD_DECL(c) VEC s##c##0 = (VEC){0}, s##c##1 = (VEC){0}, s##c##2 = (VEC){0}, s##c##3 = (VEC){0}
#define FP_GWD_FMA(c)                 \
    {                                 \
        VEC av;                       \
        VLOAD(av, a##c + p);          \
        s##c##0 += av * b0;           \
        s##c##1 += av * b1;           \
        s##c##2 += av * b2;           \
        s##c##3 += av * b3;           \
    }
#define FP_GWD_SAVE(c) acc[4 * c] = s##c##0, acc[4 * c + 1] = s##c##1, acc[4 * c + 2] = s##c##2, acc[4 * c + 3] = s##c##3

/* dw[c * ldw + k] += sum_{p < np} a[c * lda + p] * b[k * ldb + p] for
 * c < nc, k < nk (np a multiple of FP_VL). */
FP_CLONES static void FP_NAME(gwd_tile)(int64_t nc, int64_t nk, int64_t np, const FP_T *a, int64_t lda,
                                        const FP_T *b, int64_t ldb, FP_T *dw, int64_t ldw)
{
    VEC acc[16];
    FP_T sums[16];
    IVEC masks[16];
    FP_NAME(gwd_masks)(masks);
    for (int64_t c0 = 0; c0 < nc; c0 += 4) {
        /* rows past the edge repeat the last one; their sums are dropped */
        const FP_T *a0 = a + c0 * lda, *a1 = a + FP_MIN(c0 + 1, nc - 1) * lda;
        const FP_T *a2 = a + FP_MIN(c0 + 2, nc - 1) * lda, *a3 = a + FP_MIN(c0 + 3, nc - 1) * lda;
        for (int64_t k0 = 0; k0 < nk; k0 += 4) {
            const FP_T *r0 = b + k0 * ldb, *r1 = b + FP_MIN(k0 + 1, nk - 1) * ldb;
            const FP_T *r2 = b + FP_MIN(k0 + 2, nk - 1) * ldb, *r3 = b + FP_MIN(k0 + 3, nk - 1) * ldb;
            FP_GWD_DECL(0); FP_GWD_DECL(1); FP_GWD_DECL(2); FP_GWD_DECL(3);
            for (int64_t p = 0; p < np; p += FP_VL) {
                VEC b0, b1, b2, b3;
                VLOAD(b0, r0 + p);
                VLOAD(b1, r1 + p);
                VLOAD(b2, r2 + p);
                VLOAD(b3, r3 + p);
                FP_GWD_FMA(0) FP_GWD_FMA(1) FP_GWD_FMA(2) FP_GWD_FMA(3)
            }
            FP_GWD_SAVE(0); FP_GWD_SAVE(1); FP_GWD_SAVE(2); FP_GWD_SAVE(3);
            for (int q = 0; q < 16; q += FP_VL) FP_NAME(gwd_hsum)(acc + q, masks, sums + q);
            for (int64_t c = 0; c < FP_MIN(4, nc - c0); c++)
                for (int64_t k = 0; k < FP_MIN(4, nk - k0); k++) dw[(c0 + c) * ldw + k0 + k] += sums[4 * c + k];
        }
    }
}
#undef FP_GWD_DECL
#undef FP_GWD_FMA
#undef FP_GWD_SAVE

/* Per-thread partial sums (zeroed, WN each) and tiles (per_thread each). */
static int FP_NAME(gwd_alloc)(int nth, int64_t wn, int64_t per_thread, FP_T **parts, FP_T **ws)
{
    *parts = calloc((size_t)(nth * wn), sizeof(FP_T));
    *ws = per_thread ? malloc((size_t)(nth * per_thread) * sizeof(FP_T)) : NULL;
    if (!*parts || (per_thread && !*ws)) {
        free(*parts);
        free(*ws);
        return FP_ERR_NOMEM;
    }
    return FP_OK;
}

/* P not a multiple of the vector length (small maps: 14x14, 7x7): a tile
 * is a group of whole images laid side by side, so the inner products run
 * over nimg * P positions (rounded up to vectors once, zeros in both
 * factors) instead of over short rows (the GEMM form there multiplies with
 * a reduction depth of one image, P = 49, re-reading all of dW per tile).
 * Per unit (group of images): grad_out rows copied once into A (Cog x L),
 * then column rows built by im2col chunk by chunk (B, L2-sized). */
static int FP_NAME(gw_dot_images)(const fp_conv2d_shape *s, const FP_T *gy, const FP_T *x, FP_T *gw,
                                  int n_threads)
{
    const int64_t N = s->n, G = s->groups, Cig = s->c_in / G, Cog = s->c_out / G, KK = s->kh * s->kw;
    const int64_t HW = s->h * s->w, P = s->oh * s->ow, K = Cig * KK, WN = s->c_out * K;
    const int64_t esz = (int64_t)sizeof(FP_T);
    const int64_t cap = FP_MIN(N, fp_conv_gwd_images(Cog, P, esz));
    /* the fewest groups (of at most cap images, sizes within one) that keep
     * the threads evenly busy */
    const int64_t nt = FP_MAX(n_threads, 1);
    int64_t ngroups = (N + cap - 1) / cap;
    while (ngroups < N && (ngroups * G) % nt != 0 && ngroups * G < 4 * nt)
        ngroups++;
    const int64_t nimg = (N + ngroups - 1) / ngroups;
    ngroups = (N + nimg - 1) / nimg;
    const int64_t L = (nimg * P + FP_VL - 1) / FP_VL * FP_VL;
    const int64_t cch = FP_MAX(1, FP_MIN(Cig, FP_GWD_COL_BYTES / (KK * L * esz)));
    const int64_t units = G * ngroups;
    const int nth = fp_conv_threads(N * s->c_out * P * K, units, n_threads);
    const int64_t per_thread = Cog * L + cch * KK * L;
    FP_T *parts, *ws;
    if (FP_NAME(gwd_alloc)(nth, WN, per_thread, &parts, &ws))
        return FP_ERR_NOMEM;
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        const int tid = fp_thread_id();
        const int64_t grp = u % ngroups, g = u / ngroups;
        const int64_t n0 = grp * nimg, ni = FP_MIN(nimg, N - n0), used = ni * P;
        FP_T *a = ws + tid * per_thread, *b = a + Cog * L;
        for (int64_t co = 0; co < Cog; co++) {
            for (int64_t i = 0; i < ni; i++)
                memcpy(a + co * L + i * P, gy + ((n0 + i) * s->c_out + g * Cog + co) * P, (size_t)P * sizeof(FP_T));
            memset(a + co * L + used, 0, (size_t)(L - used) * sizeof(FP_T));
        }
        for (int64_t c0 = 0; c0 < Cig; c0 += cch) {
            const int64_t nc = FP_MIN(cch, Cig - c0);
            for (int64_t i = 0; i < ni; i++)
                FP_NAME(im2col_tile)(x + ((n0 + i) * s->c_in + g * Cig + c0) * HW, s, nc, 0, P, b + i * P, L);
            for (int64_t r = 0; r < nc * KK; r++) memset(b + r * L + used, 0, (size_t)(L - used) * sizeof(FP_T));
            FP_NAME(gwd_tile)(Cog, nc * KK, L, a, L, b, L, parts + tid * WN + g * Cog * K + c0 * KK, K);
        }
    }
    FP_NAME(sum_parts)(gw, parts, nth, WN, n_threads);
    free(parts);
    free(ws);
    return FP_OK;
}

static int FP_NAME(gw_dot)(const fp_conv2d_shape *s, const FP_T *gy, const FP_T *x, FP_T *gw, int n_threads)
{
    const int64_t N = s->n, G = s->groups, Cig = s->c_in / G, Cog = s->c_out / G, KK = s->kh * s->kw;
    const int64_t HW = s->h * s->w, P = s->oh * s->ow, K = Cig * KK, WN = s->c_out * K;
    if (P % FP_VL)
        return FP_NAME(gw_dot_images)(s, gy, x, gw, n_threads);
    const int pointwise = fp_conv_is_pointwise(s);
    const int64_t pt = FP_MIN(P, FP_GWD_TILE), ntiles = (P + pt - 1) / pt;
    /* channels per column tile (whole channels: im2col_tile works per channel) */
    const int64_t cch = FP_MAX(1, FP_MIN(Cig, FP_GWD_COL_BYTES / (KK * pt * (int64_t)sizeof(FP_T))));
    const int64_t nchunks = (Cig + cch - 1) / cch, units = N * G * ntiles * nchunks;
    const int nth = fp_conv_threads(N * s->c_out * P * K, units, n_threads);
    const int64_t per_thread = pointwise ? 0 : cch * KK * pt;
    FP_T *parts, *ws;
    if (FP_NAME(gwd_alloc)(nth, WN, per_thread, &parts, &ws))
        return FP_ERR_NOMEM;
    #pragma omp parallel for num_threads(nth) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        const int tid = fp_thread_id();
        const int64_t ch = u % nchunks, tile = (u / nchunks) % ntiles, g = (u / (nchunks * ntiles)) % G;
        const int64_t n = u / (nchunks * ntiles * G);
        const int64_t c0 = ch * cch, nc = FP_MIN(cch, Cig - c0), p0 = tile * pt, np = FP_MIN(pt, P - p0);
        const FP_T *xg = x + (n * s->c_in + g * Cig + c0) * HW;
        const FP_T *b = xg + p0;
        int64_t ldb = HW;
        if (!pointwise) {
            FP_T *buf = ws + tid * per_thread;
            FP_NAME(im2col_tile)(xg, s, nc, p0, p0 + np, buf, np);
            b = buf;
            ldb = np;
        }
        FP_NAME(gwd_tile)(Cog, nc * KK, np, gy + (n * s->c_out + g * Cog) * P + p0, P, b, ldb,
                          parts + tid * WN + g * Cog * K + c0 * KK, K);
    }
    FP_NAME(sum_parts)(gw, parts, nth, WN, n_threads);
    free(parts);
    free(ws);
    return FP_OK;
}

