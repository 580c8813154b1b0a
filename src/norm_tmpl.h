/* Body of norm.c, included once per dtype (FP_T, FP_S).
 *
 * Reductions run in explicit data-type vectors folded into double every 1024
 * values, around a shift K = the first value of the channel / row / group,
 * so sum((x-K)^2) does not cancel for large means. Normalizing
 * uses the mean split in two FP_T parts (hi + lo): ((x - hi) - lo) is x - mean
 * to full FP_T precision, where x*a + b would lose ~1e-3 at mean 1e4 in
 * float32. Batch-norm eval mode is the folded x*a + b (as torch).
 *
 * Batch norm, planes of >= 16 values: one partial per (n, c) plane
 * (combined per channel in n order, so results do not depend on the thread
 * count), then the normalize/gradient pass. Blocks of channels are reduced
 * and normalized while they stay in L2/L3 (see bn_block_channels; an
 * earlier version without prefetching across the runs of a block ran slower
 * than streaming); a channel too large for that takes two streaming passes
 * over the tensor. Tiny planes (N,C) / (N,C,L<16) take a column path: rows
 * in fixed chunks, per-feature partials.
 */


/* Explicit full-width (64-byte) vectors of the data type: GCC does not
 * vectorize a float reduction at all without -ffast-math (it may not
 * reassociate), and the explicit lanes fix the summation order, so results
 * are deterministic. (No compares on these types: see pool_tmpl.h.) */
typedef FP_T FP_NAME(vt) __attribute__((vector_size(64)));
#define FP_VL ((int64_t)(64 / sizeof(FP_T)))

/* Reductions accumulate FP_T vector partials over blocks of FP_FOLD values
 * and fold each block into a double: full vector rate (no float->double
 * conversion per element; that halved it), and each FP_T lane only ever sums
 * FP_FOLD / (4 * FP_VL) = 16 float32 values, so long rows/planes keep
 * double-level accuracy. */
#define FP_FOLD ((int64_t)1024)

FP_INLINE FP_NAME(vt) FP_NAME(vsplat)(FP_T v)
{
    FP_NAME(vt) r = {0};
    return r + v;
}

/* Lane sum in double, in a fixed order. */
FP_INLINE double FP_NAME(vsum)(FP_NAME(vt) v)
{
    fp_v8d acc;
    if (sizeof(FP_T) == sizeof(float)) {
        fp_v8f a, b;
        memcpy(&a, &v, sizeof a);
        memcpy(&b, (const char *)&v + sizeof a, sizeof b);
        acc = __builtin_convertvector(a, fp_v8d) + __builtin_convertvector(b, fp_v8d);
    } else {
        memcpy(&acc, &v, sizeof acc);
    }
    return fp_hsum8d(acc);
}

/* One accumulation block of the moments: x[i, end) (end - i <= FP_FOLD) in
 * whole vectors of x - k, lane partials folded into *ss, *qq; returns where
 * the vectors stopped. Four independent accumulator chains hide the add
 * latency. */
FP_INLINE int64_t FP_NAME(moments_fold)(const FP_T *FP_RESTRICT x, int64_t i, int64_t end, FP_NAME(vt) k,
                                        double *ss, double *qq)
{
    typedef FP_NAME(vt) vt;
    vt s0 = {0}, s1 = s0, s2 = s0, s3 = s0, q0 = s0, q1 = s0, q2 = s0, q3 = s0;
    for (; i + 4 * FP_VL <= end; i += 4 * FP_VL) {
        vt d0 = fp_vload(vt, x + i) - k, d1 = fp_vload(vt, x + i + FP_VL) - k;
        vt d2 = fp_vload(vt, x + i + 2 * FP_VL) - k, d3 = fp_vload(vt, x + i + 3 * FP_VL) - k;
        s0 += d0;
        s1 += d1;
        s2 += d2;
        s3 += d3;
        q0 += d0 * d0;
        q1 += d1 * d1;
        q2 += d2 * d2;
        q3 += d3 * d3;
    }
    for (; i + FP_VL <= end; i += FP_VL) {
        vt d0 = fp_vload(vt, x + i) - k;
        s0 += d0;
        q0 += d0 * d0;
    }
    *ss += FP_NAME(vsum)((s0 + s1) + (s2 + s3));
    *qq += FP_NAME(vsum)((q0 + q1) + (q2 + q3));
    return i;
}

/* The values after the last whole vector, in double. */
FP_INLINE void FP_NAME(moments_tail)(const FP_T *x, int64_t i, int64_t n, FP_T K, double *ss, double *qq)
{
    for (; i < n; i++) {
        double d = (double)x[i] - (double)K;
        *ss += d;
        *qq += d * d;
    }
}

/* s = sum(x - K), q = sum((x - K)^2) over n contiguous values, K a value of
 * the data (the first of the row/plane/group), so x - K does not cancel for
 * large means. */
FP_INLINE void FP_NAME(moments)(const FP_T *FP_RESTRICT x, int64_t n, FP_T K, double *s, double *q)
{
    const FP_NAME(vt) k = FP_NAME(vsplat)(K);
    double ss = 0, qq = 0;
    int64_t i = 0;
    while (i + FP_VL <= n)
        i = FP_NAME(moments_fold)(x, i, FP_MIN(n, i + FP_FOLD), k, &ss, &qq);
    FP_NAME(moments_tail)(x, i, n, K, &ss, &qq);
    *s = ss;
    *q = qq;
}

FP_INLINE void FP_NAME(split)(double v, FP_T *hi, FP_T *lo)
{
    *hi = (FP_T)v;
    *lo = (FP_T)(v - (double)*hi);
}

/* One accumulation block of sum(dy) and sum(dy * (x - mean)), x - mean
 * formed as ((x - hi) - lo) in FP_T (see split); as moments_fold. */
FP_INLINE int64_t FP_NAME(dot_fold)(const FP_T *FP_RESTRICT dy, const FP_T *FP_RESTRICT x, int64_t i, int64_t end,
                                    FP_NAME(vt) vh, FP_NAME(vt) vl, double *sa, double *sb)
{
    typedef FP_NAME(vt) vt;
    vt a0 = {0}, a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (; i + 4 * FP_VL <= end; i += 4 * FP_VL) {
        vt g0 = fp_vload(vt, dy + i), g1 = fp_vload(vt, dy + i + FP_VL);
        vt g2 = fp_vload(vt, dy + i + 2 * FP_VL), g3 = fp_vload(vt, dy + i + 3 * FP_VL);
        a0 += g0;
        a1 += g1;
        a2 += g2;
        a3 += g3;
        b0 += g0 * ((fp_vload(vt, x + i) - vh) - vl);
        b1 += g1 * ((fp_vload(vt, x + i + FP_VL) - vh) - vl);
        b2 += g2 * ((fp_vload(vt, x + i + 2 * FP_VL) - vh) - vl);
        b3 += g3 * ((fp_vload(vt, x + i + 3 * FP_VL) - vh) - vl);
    }
    for (; i + FP_VL <= end; i += FP_VL) {
        vt g0 = fp_vload(vt, dy + i);
        a0 += g0;
        b0 += g0 * ((fp_vload(vt, x + i) - vh) - vl);
    }
    *sa += FP_NAME(vsum)((a0 + a1) + (a2 + a3));
    *sb += FP_NAME(vsum)((b0 + b1) + (b2 + b3));
    return i;
}

FP_INLINE void FP_NAME(dot_tail)(const FP_T *dy, const FP_T *x, int64_t i, int64_t n, double mean, double *sa,
                                 double *sb)
{
    for (; i < n; i++) {
        double g = (double)dy[i];
        *sa += g;
        *sb += g * ((double)x[i] - mean);
    }
}

/* sdy = sum(dy), sdyx = sum(dy * (x - mean)) over n contiguous values. */
FP_INLINE void FP_NAME(dot_moments)(const FP_T *FP_RESTRICT dy, const FP_T *FP_RESTRICT x, int64_t n,
                                    double mean, double *sdy, double *sdyx)
{
    FP_T hi, lo;
    FP_NAME(split)(mean, &hi, &lo);
    const FP_NAME(vt) vh = FP_NAME(vsplat)(hi), vl = FP_NAME(vsplat)(lo);
    double sa = 0, sb = 0;
    int64_t i = 0;
    while (i + FP_VL <= n)
        i = FP_NAME(dot_fold)(dy, x, i, FP_MIN(n, i + FP_FOLD), vh, vl, &sa, &sb);
    FP_NAME(dot_tail)(dy, x, i, n, mean, &sa, &sb);
    *sdy = sa;
    *sdyx = sb;
}

/* Ask for the n values at p (one prefetch per cache line). */
FP_INLINE void FP_NAME(prefetch)(const FP_T *p, int64_t n)
{
    for (int64_t i = 0; i < n; i += 64 / (int64_t)sizeof(FP_T))
        __builtin_prefetch(p + i);
}

/* y[0..n) = ((x - hi) - lo) * scale + shift */
FP_INLINE void FP_NAME(norm_apply_run)(const FP_T *FP_RESTRICT x, FP_T *FP_RESTRICT y, int64_t n, FP_T hi, FP_T lo,
                                       FP_T scale, FP_T shift, const FP_T *px)
{
    typedef FP_NAME(vt) vt;
    const vt vh = FP_NAME(vsplat)(hi), vl = FP_NAME(vsplat)(lo), va = FP_NAME(vsplat)(scale),
             vb = FP_NAME(vsplat)(shift);
    int64_t i = 0;
    for (; i + FP_VL <= n; i += FP_VL) {
        if (px)
            __builtin_prefetch(px + i);
        fp_vstore(y + i, ((fp_vload(FP_NAME(vt), x + i) - vh) - vl) * va + vb);
    }
    for (; i < n; i++)
        y[i] = ((x[i] - hi) - lo) * scale + shift;
}

/* dx[0..n) = dy * a + ((x - hi) - lo) * b + c */
FP_INLINE void FP_NAME(norm_grad_run)(const FP_T *FP_RESTRICT dy, const FP_T *FP_RESTRICT x, FP_T *FP_RESTRICT dx,
                                      int64_t n, FP_T hi, FP_T lo, FP_T a, FP_T b, FP_T c, const FP_T *pg, const FP_T *px)
{
    typedef FP_NAME(vt) vt;
    const vt vh = FP_NAME(vsplat)(hi), vl = FP_NAME(vsplat)(lo), va = FP_NAME(vsplat)(a), vb = FP_NAME(vsplat)(b),
             vc = FP_NAME(vsplat)(c);
    int64_t i = 0;
    for (; i + FP_VL <= n; i += FP_VL) {
        if (pg) {
            __builtin_prefetch(pg + i);
            __builtin_prefetch(px + i);
        }
        fp_vstore(dx + i, fp_vload(FP_NAME(vt), dy + i) * va + (((fp_vload(FP_NAME(vt), x + i) - vh) - vl) * vb + vc));
    }
    for (; i < n; i++)
        dx[i] = dy[i] * a + (((x[i] - hi) - lo) * b + c);
}

/* dx[0..n) = dy * a (eval-mode batch-norm backward: x plays no part, so a
 * NaN in x does not reach dx, as torch) */
FP_INLINE void FP_NAME(scale_run)(const FP_T *FP_RESTRICT dy, FP_T *FP_RESTRICT dx, int64_t n, FP_T a)
{
    const FP_NAME(vt) va = FP_NAME(vsplat)(a);
    int64_t i = 0;
    for (; i + FP_VL <= n; i += FP_VL)
        fp_vstore(dx + i, fp_vload(FP_NAME(vt), dy + i) * va);
    for (; i < n; i++)
        dx[i] = dy[i] * a;
}

/* The same, `stream`: through an L1 buffer with non-temporal stores (see
 * norm_vec.h). */
FP_INLINE void FP_NAME(norm_apply)(const FP_T *FP_RESTRICT x, FP_T *FP_RESTRICT y, int64_t n, FP_T hi, FP_T lo,
                                   FP_T scale, FP_T shift, const FP_T *px, int stream)
{
    if (!stream) {
        FP_NAME(norm_apply_run)(x, y, n, hi, lo, scale, shift, px);
        return;
    }
    FP_T tmp[FP_STREAM_CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += FP_STREAM_CHUNK) {
        const int64_t m = FP_MIN((int64_t)FP_STREAM_CHUNK, n - i0);
        FP_NAME(norm_apply_run)(x + i0, tmp, m, hi, lo, scale, shift, px ? px + i0 : NULL);
        fp_stream_copy(y + i0, tmp, m);
    }
}

FP_INLINE void FP_NAME(norm_grad_apply)(const FP_T *FP_RESTRICT dy, const FP_T *FP_RESTRICT x,
                                        FP_T *FP_RESTRICT dx, int64_t n, FP_T hi, FP_T lo, FP_T a, FP_T b,
                                        FP_T c, const FP_T *pg, const FP_T *px, int stream)
{
    if (!stream) {
        FP_NAME(norm_grad_run)(dy, x, dx, n, hi, lo, a, b, c, pg, px);
        return;
    }
    FP_T tmp[FP_STREAM_CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += FP_STREAM_CHUNK) {
        const int64_t m = FP_MIN((int64_t)FP_STREAM_CHUNK, n - i0);
        FP_NAME(norm_grad_run)(dy + i0, x + i0, tmp, m, hi, lo, a, b, c, pg ? pg + i0 : NULL, pg ? px + i0 : NULL);
        fp_stream_copy(dx + i0, tmp, m);
    }
}

/* Stream the output of an op that touches `touched` elements (inputs and
 * output)? See fp_norm_stream_min in norm.c. */
static inline int FP_NAME(use_stream)(int64_t touched)
{
    return touched * (int64_t)sizeof(FP_T) >= fp_norm_stream_min();
}

static inline void FP_NAME(finish_stats)(double K, double s, double q, int64_t m, double eps, double *mean,
                                         double *var, double *invstd)
{
    double mu = s / (double)m;
    double v = q / (double)m - mu * mu;
    if (v < 0)
        v = 0; /* rounding only; NaN passes through */
    *mean = K + mu;
    *var = v;
    *invstd = 1.0 / sqrt(v + eps);
}

/* Channel c's totals of per-plane partial pairs part[2*(n*C + c) + {0,1}],
 * summed in n order (the same order whatever the thread count). */
static void FP_NAME(bn_channel_sums)(const double *part, int64_t N, int64_t C, int64_t c, double *a, double *b)
{
    double sa = 0, sb = 0;
    for (int64_t n = 0; n < N; n++) {
        sa += part[2 * (n * C + c)];
        sb += part[2 * (n * C + c) + 1];
    }
    *a = sa;
    *b = sb;
}

/* Column path: fold the nch chunk partials (each 2F doubles) into the first,
 * in chunk order, then channel c's sums over its HW features. */
static void FP_NAME(col_fold_chunks)(double *part, int64_t F, int64_t nch)
{
    for (int64_t k = 1; k < nch; k++)
        for (int64_t f = 0; f < 2 * F; f++)
            part[f] += part[2 * F * k + f];
}

static void FP_NAME(col_channel_sums)(const double *part, int64_t F, int64_t HW, int64_t c, double *a, double *b)
{
    double sa = 0, sb = 0;
    for (int64_t h = 0; h < HW; h++) {
        sa += part[c * HW + h];
        sb += part[F + c * HW + h];
    }
    *a = sa;
    *b = sb;
}

/* ---- batch norm: plane path --------------------------------------------- */

FP_CLONES static void FP_NAME(bn_plane_moments)(const FP_T *x, int64_t HW, FP_T K, double *s, double *q)
{
    FP_NAME(moments)(x, HW, K, s, q);
}

FP_CLONES static void FP_NAME(bn_plane_apply)(const FP_T *x, FP_T *y, int64_t HW, FP_T hi, FP_T lo, FP_T scale,
                                              FP_T shift, int stream)
{
    FP_NAME(norm_apply)(x, y, HW, hi, lo, scale, shift, NULL, stream);
}

static void FP_NAME(bn_coeffs)(const FP_T *gamma, const FP_T *beta, int64_t c, double mean, double invstd,
                               FP_T *hi, FP_T *lo, FP_T *scale, FP_T *shift)
{
    FP_NAME(split)(mean, hi, lo);
    *scale = (FP_T)(invstd * (gamma ? (double)gamma[c] : 1.0));
    *shift = beta ? beta[c] : (FP_T)0;
}

/* The plane path's workspace: per-plane partial pairs and ntab per-channel
 * coefficient rows. */
static int FP_NAME(bn_workspace)(int64_t N, int64_t C, int64_t ntab, double **part, FP_T **tab)
{
    *part = malloc(sizeof(double) * (size_t)(2 * N * C));
    *tab = malloc(sizeof(FP_T) * (size_t)(ntab * C));
    if (!*part || !*tab) {
        free(*part);
        free(*tab);
        return FP_ERR_NOMEM;
    }
    return FP_OK;
}

/* Channel blocks: the cache-resident path of batch norm. A block is the
 * channels [c0, c1) of every sample, i.e. N runs of (c1 - c0) * HW
 * contiguous values, C * HW apart. One thread reduces the block run by run
 * and then normalizes it while it is still in L2/L3, so memory sees each
 * input once (forward 2|x|, backward 3|x|, where two streaming passes move
 * 3|x| and 5|x|). Partials stay per (n, c) plane and are summed per channel
 * in n order, so the sums are the streaming path's, whatever the blocking
 * or the thread count. The hardware prefetchers lose the stream at every
 * jump between runs (planes of 14x14 floats are 784-byte runs 200 KB
 * apart), so both passes prefetch FP_BN_AHEAD bytes ahead in block order.
 * Measured (2 threads, float32, interleaved, vs the two streaming passes):
 * (32,64,112,112) fwd 5.5 vs 6.6-7.2 ms, bwd 7.7-8.3 vs 9.4-9.6 ms;
 * (256,256,14,14) and (32,128,56,56) within +-8%, either way. */
#define FP_BN_AHEAD ((int64_t)8192)
#define FP_BN_L2_BYTES ((int64_t)512 << 10)

/* Channels per block for `arrays` inputs (x; or dy and x), or 0 for the
 * streaming path: when one channel's data is too large to stay cached
 * between the passes (more than half the L3 split between the threads), or
 * there are too few channels to keep the threads busy. A block is half an
 * L2, or one channel if that is larger. (Half the L3 rather than a quarter:
 * backward (16,32,224,224), 6.4 MB per channel, 12.6 -> 10.3 ms.) */
static int64_t FP_NAME(bn_block_channels)(int64_t N, int64_t C, int64_t HW, int64_t arrays, int nt)
{
    const int64_t chan = N * HW * arrays * (int64_t)sizeof(FP_T);
    if (chan > fp_norm_l3_bytes() / (2 * (int64_t)FP_MAX(nt, 1)))
        return 0;
    /* a block is one thread's: with few channels (an input layer's 3) the
     * threads would idle, so stream the planes instead */
    if (nt > 1 && C < 4 * (int64_t)nt)
        return 0;
    int64_t cb = FP_MAX(FP_BN_L2_BYTES / chan, (int64_t)1);
    /* at least ~4 blocks per thread, so dynamic scheduling can balance them */
    cb = FP_MIN(cb, (C + 4 * (int64_t)nt - 1) / (4 * (int64_t)nt));
    return FP_MAX(cb, (int64_t)1);
}

/* Prefetch the values [q0, q1) of a block in block order (run q / L, offset
 * q % L; x0 = the block's first run). Reductions ask for the data
 * FP_BN_AHEAD bytes ahead of what they read, across run boundaries, which
 * the hardware prefetchers would not do. */
FP_INLINE void FP_NAME(bn_prefetch)(const FP_T *x0, int64_t CHW, int64_t L, int64_t total, int64_t q0, int64_t q1)
{
    q1 = FP_MIN(q1, total);
    while (q0 < q1) {
        const int64_t n = q0 / L, off = q0 - n * L, e = FP_MIN(q1 - q0, L - off);
        FP_NAME(prefetch)(x0 + n * CHW + off, e);
        q0 += e;
    }
}

/* part[2*(n*C + c) + {0,1}] = moments of plane (n, c) for c in [c0, c1):
 * the same arithmetic as moments() (same blocks, same order). */
FP_CLONES static void FP_NAME(bn_block_moments)(const FP_T *x, double *part, int64_t N, int64_t C, int64_t HW,
                                                int64_t c0, int64_t c1)
{
    const int64_t L = (c1 - c0) * HW, ahead = FP_BN_AHEAD / (int64_t)sizeof(FP_T);
    const FP_T *x0 = x + c0 * HW;
    FP_NAME(bn_prefetch)(x0, C * HW, L, N * L, 0, ahead);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = c0; c < c1; c++) {
            const FP_T *xp = x0 + n * C * HW + (c - c0) * HW, K = x[c * HW];
            const FP_NAME(vt) k = FP_NAME(vsplat)(K);
            const int64_t q = n * L + (c - c0) * HW;
            double ss = 0, qq = 0;
            int64_t i = 0;
            while (i + FP_VL <= HW) {
                const int64_t end = FP_MIN(HW, i + FP_FOLD);
                FP_NAME(bn_prefetch)(x0, C * HW, L, N * L, q + i + ahead, q + end + ahead);
                i = FP_NAME(moments_fold)(xp, i, end, k, &ss, &qq);
            }
            FP_NAME(moments_tail)(xp, i, HW, K, &ss, &qq);
            part[2 * (n * C + c)] = ss;
            part[2 * (n * C + c) + 1] = qq;
        }
}

/* y = ((x - hi) - lo) * scale + shift over the block, tab = hi[C], lo[C],
 * scale[C], shift[C]; streamed runs go through an L1 buffer. */
FP_CLONES static void FP_NAME(bn_block_apply)(const FP_T *x, FP_T *y, const FP_T *tab, int64_t N, int64_t C,
                                              int64_t HW, int64_t c0, int64_t c1, int stream)
{
    FP_T tmp[FP_STREAM_CHUNK];
    const int64_t L = (c1 - c0) * HW, step = FP_STREAM_CHUNK, ahead = FP_BN_AHEAD / (int64_t)sizeof(FP_T);
    const FP_T *x0 = x + c0 * HW;
    FP_NAME(bn_prefetch)(x0, C * HW, L, N * L, 0, ahead);
    for (int64_t n = 0; n < N; n++) {
        const int64_t base = (n * C + c0) * HW;
        for (int64_t p0 = 0; p0 < L; p0 += step) {
            const int64_t p1 = FP_MIN(L, p0 + step);
            FP_NAME(bn_prefetch)(x0, C * HW, L, N * L, n * L + p0 + ahead, n * L + p1 + ahead);
            FP_T *dst = stream ? tmp : y + base + p0;
            for (int64_t p = p0; p < p1;) {
                const int64_t k = p / HW, c = c0 + k, e = FP_MIN(p1, (k + 1) * HW);
                FP_NAME(norm_apply_run)(x + base + p, dst + (p - p0), e - p, tab[c], tab[C + c], tab[2 * C + c],
                                        tab[3 * C + c], NULL);
                p = e;
            }
            if (stream)
                fp_stream_copy(y + base + p0, tmp, p1 - p0);
        }
    }
}

/* ---- batch norm: column path (planes of < 16 values) --------------------- */

FP_CLONES static void FP_NAME(col_moments)(const FP_T *x, const double *Kf, double *ps, double *pq, int64_t r0,
                                           int64_t r1, int64_t F)
{
    for (int64_t f = 0; f < F; f++)
        ps[f] = pq[f] = 0;
    for (int64_t r = r0; r < r1; r++) {
        const FP_T *FP_RESTRICT row = x + r * F;
        for (int64_t f = 0; f < F; f++) {
            double d = (double)row[f] - Kf[f];
            ps[f] += d;
            pq[f] += d * d;
        }
    }
}

FP_CLONES static void FP_NAME(col_apply)(const FP_T *x, FP_T *y, const FP_T *hi, const FP_T *lo,
                                         const FP_T *scale, const FP_T *shift, int64_t r0, int64_t r1, int64_t F)
{
    for (int64_t r = r0; r < r1; r++) {
        const FP_T *FP_RESTRICT row = x + r * F;
        FP_T *FP_RESTRICT out = y + r * F;
        for (int64_t f = 0; f < F; f++)
            out[f] = ((row[f] - hi[f]) - lo[f]) * scale[f] + shift[f];
    }
}

static int FP_NAME(bn_forward_cols)(const FP_T *x, FP_T *y, const FP_T *gamma, const FP_T *beta, int64_t N,
                                    int64_t C, int64_t HW, double eps, double *mean, double *invstd,
                                    double *var, int nt)
{
    const int64_t F = C * HW, nch = fp_norm_chunks(N, 2 * F);
    double *part = malloc(sizeof(double) * (size_t)(2 * F * nch + F));
    FP_T *tab = malloc(sizeof(FP_T) * (size_t)(4 * F));
    if (!part || !tab) {
        free(part);
        free(tab);
        return FP_ERR_NOMEM;
    }
    double *Kf = part + 2 * F * nch;
    for (int64_t f = 0; f < F; f++)
        Kf[f] = (double)x[(f / HW) * HW];
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t k = 0; k < nch; k++)
        FP_NAME(col_moments)(x, Kf, part + 2 * F * k, part + 2 * F * k + F, N * k / nch, N * (k + 1) / nch, F);
    FP_NAME(col_fold_chunks)(part, F, nch);
    FP_T *hi = tab, *lo = tab + F, *scale = tab + 2 * F, *shift = tab + 3 * F;
    for (int64_t c = 0; c < C; c++) {
        double s, q;
        FP_NAME(col_channel_sums)(part, F, HW, c, &s, &q);
        FP_NAME(finish_stats)(Kf[c * HW], s, q, N * HW, eps, &mean[c], &var[c], &invstd[c]);
        for (int64_t h = 0; h < HW; h++) {
            int64_t f = c * HW + h;
            FP_NAME(bn_coeffs)(gamma, beta, c, mean[c], invstd[c], &hi[f], &lo[f], &scale[f], &shift[f]);
        }
    }
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t k = 0; k < nch; k++)
        FP_NAME(col_apply)(x, y, hi, lo, scale, shift, N * k / nch, N * (k + 1) / nch, F);
    free(part);
    free(tab);
    return FP_OK;
}

int FP_NAME(batch_norm_forward_train)(const FP_T *x, FP_T *y, const FP_T *gamma, const FP_T *beta, int64_t N,
                                      int64_t C, int64_t HW, double eps, double *mean, double *invstd,
                                      double *var, int n_threads)
{
    if (N * C * HW == 0)
        return FP_OK;
    int nt = fp_threads_for(N * C * HW, n_threads);
    if (HW < 16)
        return FP_NAME(bn_forward_cols)(x, y, gamma, beta, N, C, HW, eps, mean, invstd, var, nt);
    const int64_t M = N * HW;
    const int stream = FP_NAME(use_stream)(2 * N * C * HW);
    double *part;
    FP_T *tab;
    if (FP_NAME(bn_workspace)(N, C, 4, &part, &tab) != FP_OK)
        return FP_ERR_NOMEM;
    const int64_t cb = FP_NAME(bn_block_channels)(N, C, HW, 1, nt);
    if (cb) {
        const int64_t nblocks = (C + cb - 1) / cb;
        #pragma omp parallel num_threads(nt)
        {
            #pragma omp for schedule(dynamic, 1)
            for (int64_t blk = 0; blk < nblocks; blk++) {
                const int64_t c0 = blk * cb, c1 = FP_MIN(C, c0 + cb);
                FP_NAME(bn_block_moments)(x, part, N, C, HW, c0, c1);
                for (int64_t c = c0; c < c1; c++) {
                    double S, Q;
                    FP_NAME(bn_channel_sums)(part, N, C, c, &S, &Q);
                    FP_NAME(finish_stats)((double)x[c * HW], S, Q, M, eps, &mean[c], &var[c], &invstd[c]);
                    FP_NAME(bn_coeffs)(gamma, beta, c, mean[c], invstd[c], &tab[c], &tab[C + c], &tab[2 * C + c],
                                       &tab[3 * C + c]);
                }
                FP_NAME(bn_block_apply)(x, y, tab, N, C, HW, c0, c1, stream);
            }
            if (stream)
                fp_stream_fence();
        }
        free(part);
        free(tab);
        return FP_OK;
    }
    #pragma omp parallel for num_threads(nt) schedule(guided)
    for (int64_t p = 0; p < N * C; p++)
        FP_NAME(bn_plane_moments)(x + p * HW, HW, x[(p % C) * HW], &part[2 * p], &part[2 * p + 1]);
    for (int64_t c = 0; c < C; c++) {
        double S, Q;
        FP_NAME(bn_channel_sums)(part, N, C, c, &S, &Q);
        FP_NAME(finish_stats)((double)x[c * HW], S, Q, M, eps, &mean[c], &var[c], &invstd[c]);
        FP_NAME(bn_coeffs)(gamma, beta, c, mean[c], invstd[c], &tab[c], &tab[C + c], &tab[2 * C + c],
                           &tab[3 * C + c]);
    }
    #pragma omp parallel num_threads(nt)
    {
        #pragma omp for schedule(guided)
        for (int64_t pr = 0; pr < N * C; pr++) {
            const int64_t p = pr, c = p % C;
            FP_NAME(bn_plane_apply)(x + p * HW, y + p * HW, HW, tab[c], tab[C + c], tab[2 * C + c],
                                    tab[3 * C + c], stream);
        }
        if (stream)
            fp_stream_fence();
    }
    free(part);
    free(tab);
    return FP_OK;
}

FP_CLONES static void FP_NAME(affine_rows)(const FP_T *x, FP_T *y, const double *scale, const double *shift,
                                           int64_t C, int64_t HW, int64_t p0, int64_t p1)
{
    for (int64_t p = p0; p < p1; p++) {
        const FP_T a = (FP_T)scale[p % C], b = (FP_T)shift[p % C];
        const FP_T *FP_RESTRICT xp = x + p * HW;
        FP_T *FP_RESTRICT yp = y + p * HW;
        for (int64_t i = 0; i < HW; i++)
            yp[i] = xp[i] * a + b;
    }
}

int FP_NAME(batch_norm_forward_eval)(const FP_T *x, FP_T *y, const double *scale, const double *shift,
                                     int64_t N, int64_t C, int64_t HW, int n_threads)
{
    int64_t P = N * C;
    int nt = fp_threads_for(P * HW, n_threads);
    const int64_t nchunks = fp_dyn_chunks(P, nt);
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t chunk = 0; chunk < nchunks; chunk++)
        FP_NAME(affine_rows)(x, y, scale, shift, C, HW, P * chunk / nchunks, P * (chunk + 1) / nchunks);
    return FP_OK;
}

/* ---- batch norm backward ------------------------------------------------ */

FP_CLONES static void FP_NAME(bn_plane_dot)(const FP_T *dy, const FP_T *x, int64_t HW, double mean, double *a,
                                            double *b)
{
    FP_NAME(dot_moments)(dy, x, HW, mean, a, b);
}

FP_CLONES static void FP_NAME(bn_plane_grad)(const FP_T *dy, const FP_T *x, FP_T *dx, int64_t HW, FP_T hi,
                                             FP_T lo, FP_T a, FP_T b, FP_T c, int training, int stream)
{
    if (training) {
        FP_NAME(norm_grad_apply)(dy, x, dx, HW, hi, lo, a, b, c, NULL, NULL, stream);
    } else {
        FP_NAME(scale_run)(dy, dx, HW, a);
    }
}

/* dx = dy*a + (x - mean)*b + c for channel c given its sums. */
static void FP_NAME(bn_grad_coeffs)(const double *mean, const double *invstd, const FP_T *gamma, int64_t c,
                                    double sdy, double sdyx, int64_t M, int training, FP_T *hi, FP_T *lo,
                                    FP_T *a, FP_T *b, FP_T *cc)
{
    double is = invstd[c], g = gamma ? (double)gamma[c] : 1.0;
    FP_NAME(split)(mean[c], hi, lo);
    *a = (FP_T)(is * g);
    if (training) {
        *b = (FP_T)(-is * is * is * g * (sdyx / (double)M));
        *cc = (FP_T)(-(sdy / (double)M) * is * g);
    } else {
        *b = 0;
        *cc = 0;
    }
}

/* part[2*(n*C + c) + {0,1}] = sum(dy), sum(dy * (x - mean)) of plane (n, c)
 * for c in [c0, c1): dot_moments' arithmetic, both inputs prefetched ahead. */
FP_CLONES static void FP_NAME(bn_block_dot)(const FP_T *dy, const FP_T *x, const double *mean, double *part,
                                            int64_t N, int64_t C, int64_t HW, int64_t c0, int64_t c1)
{
    const int64_t L = (c1 - c0) * HW, ahead = FP_BN_AHEAD / (int64_t)sizeof(FP_T);
    const FP_T *x0 = x + c0 * HW, *g0 = dy + c0 * HW;
    FP_NAME(bn_prefetch)(x0, C * HW, L, N * L, 0, ahead);
    FP_NAME(bn_prefetch)(g0, C * HW, L, N * L, 0, ahead);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = c0; c < c1; c++) {
            const int64_t o = n * C * HW + (c - c0) * HW, q = n * L + (c - c0) * HW;
            FP_T hi, lo;
            FP_NAME(split)(mean[c], &hi, &lo);
            const FP_NAME(vt) vh = FP_NAME(vsplat)(hi), vl = FP_NAME(vsplat)(lo);
            double sa = 0, sb = 0;
            int64_t i = 0;
            while (i + FP_VL <= HW) {
                const int64_t end = FP_MIN(HW, i + FP_FOLD);
                FP_NAME(bn_prefetch)(x0, C * HW, L, N * L, q + i + ahead, q + end + ahead);
                FP_NAME(bn_prefetch)(g0, C * HW, L, N * L, q + i + ahead, q + end + ahead);
                i = FP_NAME(dot_fold)(g0 + o, x0 + o, i, end, vh, vl, &sa, &sb);
            }
            FP_NAME(dot_tail)(g0 + o, x0 + o, i, HW, mean[c], &sa, &sb);
            part[2 * (n * C + c)] = sa;
            part[2 * (n * C + c) + 1] = sb;
        }
}

/* dx over the block from tab = hi[C], lo[C], a[C], b[C], c[C] (bn_grad_coeffs);
 * streamed runs go through an L1 buffer. */
FP_CLONES static void FP_NAME(bn_block_grad)(const FP_T *dy, const FP_T *x, FP_T *dx, const FP_T *tab, int64_t N,
                                             int64_t C, int64_t HW, int64_t c0, int64_t c1, int training, int stream)
{
    FP_T tmp[FP_STREAM_CHUNK];
    const int64_t L = (c1 - c0) * HW, step = FP_STREAM_CHUNK, ahead = FP_BN_AHEAD / (int64_t)sizeof(FP_T);
    const FP_T *x0 = x + c0 * HW, *g0 = dy + c0 * HW;
    FP_NAME(bn_prefetch)(g0, C * HW, L, N * L, 0, ahead);
    if (training)
        FP_NAME(bn_prefetch)(x0, C * HW, L, N * L, 0, ahead);
    for (int64_t n = 0; n < N; n++) {
        const int64_t base = (n * C + c0) * HW;
        for (int64_t p0 = 0; p0 < L; p0 += step) {
            const int64_t p1 = FP_MIN(L, p0 + step);
            FP_NAME(bn_prefetch)(g0, C * HW, L, N * L, n * L + p0 + ahead, n * L + p1 + ahead);
            if (training)
                FP_NAME(bn_prefetch)(x0, C * HW, L, N * L, n * L + p0 + ahead, n * L + p1 + ahead);
            FP_T *dst = stream ? tmp : dx + base + p0;
            for (int64_t p = p0; p < p1;) {
                const int64_t k = p / HW, c = c0 + k, e = FP_MIN(p1, (k + 1) * HW);
                if (training)
                    FP_NAME(norm_grad_run)(dy + base + p, x + base + p, dst + (p - p0), e - p, tab[c], tab[C + c],
                                           tab[2 * C + c], tab[3 * C + c], tab[4 * C + c], NULL, NULL);
                else
                    FP_NAME(scale_run)(dy + base + p, dst + (p - p0), e - p, tab[2 * C + c]);
                p = e;
            }
            if (stream)
                fp_stream_copy(dx + base + p0, tmp, p1 - p0);
        }
    }
}

FP_CLONES static void FP_NAME(col_dot)(const FP_T *dy, const FP_T *x, const double *meanf, double *pa,
                                       double *pb, int64_t r0, int64_t r1, int64_t F)
{
    for (int64_t f = 0; f < F; f++)
        pa[f] = pb[f] = 0;
    for (int64_t r = r0; r < r1; r++) {
        const FP_T *FP_RESTRICT g = dy + r * F;
        const FP_T *FP_RESTRICT xr = x + r * F;
        for (int64_t f = 0; f < F; f++) {
            double gv = (double)g[f];
            pa[f] += gv;
            pb[f] += gv * ((double)xr[f] - meanf[f]);
        }
    }
}

FP_CLONES static void FP_NAME(col_grad)(const FP_T *dy, const FP_T *x, FP_T *dx, const FP_T *tab, int64_t r0,
                                        int64_t r1, int64_t F, int training)
{
    const FP_T *hi = tab, *lo = tab + F, *a = tab + 2 * F, *b = tab + 3 * F, *c = tab + 4 * F;
    for (int64_t r = r0; r < r1; r++) {
        const FP_T *FP_RESTRICT g = dy + r * F;
        const FP_T *FP_RESTRICT xr = x + r * F;
        FP_T *FP_RESTRICT out = dx + r * F;
        if (training)
            for (int64_t f = 0; f < F; f++)
                out[f] = g[f] * a[f] + ((xr[f] - hi[f]) - lo[f]) * b[f] + c[f];
        else
            for (int64_t f = 0; f < F; f++)
                out[f] = g[f] * a[f];
    }
}

static int FP_NAME(bn_backward_cols)(const FP_T *dy, const FP_T *x, const double *mean, const double *invstd,
                                     const FP_T *gamma, FP_T *dx, double *dgamma, double *dbeta, int64_t N,
                                     int64_t C, int64_t HW, int training, int nt)
{
    const int64_t F = C * HW, nch = fp_norm_chunks(N, 2 * F);
    double *part = malloc(sizeof(double) * (size_t)(2 * F * nch + F));
    FP_T *tab = malloc(sizeof(FP_T) * (size_t)(5 * F));
    if (!part || !tab) {
        free(part);
        free(tab);
        return FP_ERR_NOMEM;
    }
    double *meanf = part + 2 * F * nch;
    for (int64_t f = 0; f < F; f++)
        meanf[f] = mean[f / HW];
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t k = 0; k < nch; k++)
        FP_NAME(col_dot)(dy, x, meanf, part + 2 * F * k, part + 2 * F * k + F, N * k / nch, N * (k + 1) / nch, F);
    FP_NAME(col_fold_chunks)(part, F, nch);
    for (int64_t c = 0; c < C; c++) {
        double sa, sb;
        FP_NAME(col_channel_sums)(part, F, HW, c, &sa, &sb);
        dbeta[c] = sa;
        dgamma[c] = sb * invstd[c];
        for (int64_t h = 0; h < HW; h++) {
            int64_t f = c * HW + h;
            FP_NAME(bn_grad_coeffs)(mean, invstd, gamma, c, sa, sb, N * HW, training, &tab[f], &tab[F + f],
                                    &tab[2 * F + f], &tab[3 * F + f], &tab[4 * F + f]);
        }
    }
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t k = 0; k < nch; k++)
        FP_NAME(col_grad)(dy, x, dx, tab, N * k / nch, N * (k + 1) / nch, F, training);
    free(part);
    free(tab);
    return FP_OK;
}

int FP_NAME(batch_norm_backward)(const FP_T *dy, const FP_T *x, const double *mean, const double *invstd,
                                 const FP_T *gamma, FP_T *dx, double *dgamma, double *dbeta, int64_t N, int64_t C,
                                 int64_t HW, int training, int n_threads)
{
    if (N * HW == 0) {
        for (int64_t c = 0; c < C; c++)
            dgamma[c] = dbeta[c] = 0;
        return FP_OK;
    }
    int nt = fp_threads_for(N * C * HW, n_threads);
    if (HW < 16)
        return FP_NAME(bn_backward_cols)(dy, x, mean, invstd, gamma, dx, dgamma, dbeta, N, C, HW, training, nt);
    const int64_t M = N * HW;
    const int stream = FP_NAME(use_stream)(3 * N * C * HW);
    double *part;
    FP_T *tab;
    if (FP_NAME(bn_workspace)(N, C, 5, &part, &tab) != FP_OK)
        return FP_ERR_NOMEM;
    const int64_t cb = FP_NAME(bn_block_channels)(N, C, HW, 2, nt);
    if (cb) {
        const int64_t nblocks = (C + cb - 1) / cb;
        #pragma omp parallel num_threads(nt)
        {
            #pragma omp for schedule(dynamic, 1)
            for (int64_t blk = 0; blk < nblocks; blk++) {
                const int64_t c0 = blk * cb, c1 = FP_MIN(C, c0 + cb);
                FP_NAME(bn_block_dot)(dy, x, mean, part, N, C, HW, c0, c1);
                for (int64_t c = c0; c < c1; c++) {
                    double A, B;
                    FP_NAME(bn_channel_sums)(part, N, C, c, &A, &B);
                    dbeta[c] = A;
                    dgamma[c] = B * invstd[c];
                    FP_NAME(bn_grad_coeffs)(mean, invstd, gamma, c, A, B, M, training, &tab[c], &tab[C + c],
                                            &tab[2 * C + c], &tab[3 * C + c], &tab[4 * C + c]);
                }
                FP_NAME(bn_block_grad)(dy, x, dx, tab, N, C, HW, c0, c1, training, stream);
            }
            if (stream)
                fp_stream_fence();
        }
        free(part);
        free(tab);
        return FP_OK;
    }
    #pragma omp parallel for num_threads(nt) schedule(guided)
    for (int64_t p = 0; p < N * C; p++)
        FP_NAME(bn_plane_dot)(dy + p * HW, x + p * HW, HW, mean[p % C], &part[2 * p], &part[2 * p + 1]);
    for (int64_t c = 0; c < C; c++) {
        double A, B;
        FP_NAME(bn_channel_sums)(part, N, C, c, &A, &B);
        dbeta[c] = A;
        dgamma[c] = B * invstd[c];
        FP_NAME(bn_grad_coeffs)(mean, invstd, gamma, c, A, B, M, training, &tab[c], &tab[C + c], &tab[2 * C + c],
                                &tab[3 * C + c], &tab[4 * C + c]);
    }
    #pragma omp parallel num_threads(nt)
    {
        #pragma omp for schedule(guided)
        for (int64_t pr = 0; pr < N * C; pr++) {
            const int64_t p = pr, c = p % C;
            FP_NAME(bn_plane_grad)(dy + p * HW, x + p * HW, dx + p * HW, HW, tab[c], tab[C + c], tab[2 * C + c],
                                   tab[3 * C + c], tab[4 * C + c], training, stream);
        }
        if (stream)
            fp_stream_fence();
    }
    free(part);
    free(tab);
    return FP_OK;
}

/* ---- layer norm --------------------------------------------------------- */

/* Layer-norm rows (and group-norm units) are reduced from memory and then
 * normalized from L1/L2. The rows FP_NAME(ahead_rows) ahead (>= FP_LN_AHEAD
 * bytes) are prefetched during the second pass, one line per vector, so
 * memory keeps streaming while the core works from cache. Asking for the
 * whole next row at once, as before, stalled the second pass behind the
 * burst and left memory idle in the first: (4096,1024) backward 1.05 -> 0.76
 * ms, forward 0.47 -> 0.45 ms (2 threads, interleaved medians; 1 thread
 * backward 2.3 -> 1.4 ms); group norm (32,64,56,56) forward 0.86 -> 0.49-0.80
 * ms, backward 1.50 -> 1.07-1.5 ms (alternating processes, noisy). Rows
 * of more than FP_LN_AHEAD_MAX bytes (all arrays read) are not prefetched:
 * they are not kept in L1/L2 between the passes anyway, and the next row
 * would only evict this one from L2 (no measurable effect at (64,65536) and
 * (256,16384) either way, so the cap is the conservative choice). */
#define FP_LN_AHEAD ((int64_t)8192)
#define FP_LN_AHEAD_MAX ((int64_t)128 << 10)
static inline int64_t FP_NAME(ahead_rows)(int64_t D, int64_t arrays)
{
    const int64_t row = FP_MAX(D, (int64_t)1) * (int64_t)sizeof(FP_T);
    if (row * arrays > FP_LN_AHEAD_MAX)
        return (int64_t)1 << 62; /* never: see above */
    return FP_MAX((FP_LN_AHEAD + row - 1) / row, (int64_t)1);
}

/* y = ((x - hi) - lo) * rs * w + b over m values; has_w/has_b are constants
 * at every call (the inlined loops carry no per-element branch). */
FP_INLINE void FP_NAME(ln_apply_run)(const FP_T *FP_RESTRICT x, FP_T *FP_RESTRICT y, const FP_T *FP_RESTRICT w,
                                     const FP_T *FP_RESTRICT b, int64_t m, FP_T hi, FP_T lo, FP_T rs,
                                     const FP_T *px, const int has_w, const int has_b)
{
    typedef FP_NAME(vt) vt;
    const vt vh = FP_NAME(vsplat)(hi), vl = FP_NAME(vsplat)(lo), vr = FP_NAME(vsplat)(rs);
    int64_t i = 0;
    for (; i + FP_VL <= m; i += FP_VL) {
        if (px)
            __builtin_prefetch(px + i);
        vt t = ((fp_vload(FP_NAME(vt), x + i) - vh) - vl) * vr;
        if (has_w)
            t *= fp_vload(FP_NAME(vt), w + i);
        if (has_b)
            t += fp_vload(FP_NAME(vt), b + i);
        fp_vstore(y + i, t);
    }
    for (; i < m; i++) {
        FP_T t = ((x[i] - hi) - lo) * rs;
        if (has_w)
            t *= w[i];
        if (has_b)
            t += b[i];
        y[i] = t;
    }
}

FP_CLONES static void FP_NAME(ln_rows)(const FP_T *x, FP_T *y, const FP_T *w, const FP_T *b, int64_t M,
                                       int64_t D, double eps, double *mean, double *rstd, int64_t r0, int64_t r1,
                                       int stream)
{
    FP_T tmp[FP_STREAM_CHUNK];
    const int64_t ahead = FP_NAME(ahead_rows)(D, 1);
    for (int64_t r = r0; r < r1; r++) {
        const FP_T *FP_RESTRICT xr = x + r * D;
        FP_T *FP_RESTRICT yr = y + r * D;
        double s, q, var;
        FP_NAME(moments)(xr, D, xr[0], &s, &q);
        FP_NAME(finish_stats)((double)xr[0], s, q, D, eps, &mean[r], &var, &rstd[r]);
        FP_T hi, lo, rs = (FP_T)rstd[r];
        FP_NAME(split)(mean[r], &hi, &lo);
        for (int64_t i0 = 0; i0 < D; i0 += FP_STREAM_CHUNK) {
            const int64_t m = FP_MIN((int64_t)FP_STREAM_CHUNK, D - i0);
            const FP_T *FP_RESTRICT xs = xr + i0;
            FP_T *FP_RESTRICT dst = stream ? tmp : yr + i0;
            const FP_T *px = r + ahead < M ? xs + ahead * D : NULL;
            if (w && b)
                FP_NAME(ln_apply_run)(xs, dst, w + i0, b + i0, m, hi, lo, rs, px, 1, 1);
            else if (w)
                FP_NAME(ln_apply_run)(xs, dst, w + i0, NULL, m, hi, lo, rs, px, 1, 0);
            else if (b)
                FP_NAME(ln_apply_run)(xs, dst, NULL, b + i0, m, hi, lo, rs, px, 0, 1);
            else
                FP_NAME(ln_apply_run)(xs, dst, NULL, NULL, m, hi, lo, rs, px, 0, 0);
            if (stream)
                fp_stream_copy(yr + i0, tmp, m);
        }
    }
    if (stream)
        fp_stream_fence();
}

int FP_NAME(layer_norm_forward)(const FP_T *x, FP_T *y, const FP_T *weight, const FP_T *bias, int64_t M,
                                int64_t D, double eps, double *mean, double *rstd, int n_threads)
{
    if (M * D == 0)
        return FP_OK;
    int nt = fp_threads_for(M * D, n_threads);
    const int64_t nchunks = fp_dyn_chunks(M, nt);
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t chunk = 0; chunk < nchunks; chunk++)
        FP_NAME(ln_rows)(x, y, weight, bias, M, D, eps, mean, rstd, M * chunk / nchunks, M * (chunk + 1) / nchunks,
                     FP_NAME(use_stream)(2 * M * D));
    return FP_OK;
}

/* Layer-norm backward, rows [r0, r1) of one fixed chunk. Per row: one pass
 * for sum(dy*w) and sum(dy*w*xhat) in FP_T vectors (flushed to double every
 * 1024 elements, so long rows keep double accuracy), one fused pass that
 * writes dx and accumulates dy*xhat, dy into FP_T column sums tw/tb. Those
 * are folded into the chunk's double partials pw/pb every 32 rows. All in
 * the data type's full vector width: no float<->double conversions on the
 * per-element path. Groupings depend on the chunk only, not on threads. */
#define FP_LN_GROUP 32

/* One row chunk of the layer-norm backward's second pass: dx = (dy*w + xhat*cb
 * + cc) * rs, and the column sums tw += dy*xhat, tb += dy, fused (one read of
 * dy and x); has_w is a constant at each call. pg/px (or NULL): the same
 * chunk of a row ahead, prefetched one line per vector (see ahead_rows). */
FP_INLINE void FP_NAME(ln_grad_run)(const FP_T *FP_RESTRICT g, const FP_T *FP_RESTRICT x, const FP_T *FP_RESTRICT w,
                                    FP_T *FP_RESTRICT dx, FP_T *FP_RESTRICT tw, FP_T *FP_RESTRICT tb, int64_t m,
                                    FP_T hi, FP_T lo, FP_T rs, FP_T cb, FP_T cc, const FP_T *pg, const FP_T *px,
                                    const int has_w)
{
    typedef FP_NAME(vt) vt;
    const vt vh = FP_NAME(vsplat)(hi), vl = FP_NAME(vsplat)(lo), vr = FP_NAME(vsplat)(rs), vcb = FP_NAME(vsplat)(cb),
             vcc = FP_NAME(vsplat)(cc);
    int64_t i = 0;
    for (; i + FP_VL <= m; i += FP_VL) {
        if (pg) {
            __builtin_prefetch(pg + i);
            __builtin_prefetch(px + i);
        }
        const vt gv = fp_vload(FP_NAME(vt), g + i), xh = ((fp_vload(FP_NAME(vt), x + i) - vh) - vl) * vr;
        const vt gw = has_w ? gv * fp_vload(FP_NAME(vt), w + i) : gv;
        fp_vstore(dx + i, (gw + (xh * vcb + vcc)) * vr);
        fp_vstore(tw + i, fp_vload(FP_NAME(vt), tw + i) + gv * xh);
        fp_vstore(tb + i, fp_vload(FP_NAME(vt), tb + i) + gv);
    }
    for (; i < m; i++) {
        const FP_T xh = ((x[i] - hi) - lo) * rs, gw = has_w ? g[i] * w[i] : g[i];
        dx[i] = (gw + (xh * cb + cc)) * rs;
        tw[i] += g[i] * xh;
        tb[i] += g[i];
    }
}

FP_CLONES static void FP_NAME(ln_backward_rows)(const FP_T *dy, const FP_T *x, const double *mean,
                                                const double *rstd, const FP_T *w, FP_T *dx, double *pw,
                                                double *pb, FP_T *tw, FP_T *tb, int64_t M, int64_t D, int64_t r0,
                                                int64_t r1, int stream)
{
    FP_T tmp[FP_STREAM_CHUNK];
    const int64_t ahead = FP_NAME(ahead_rows)(D, 2);
    for (int64_t i = 0; i < D; i++)
        pw[i] = pb[i] = 0;
    for (int64_t r = r0; r < r1; r++) {
        if ((r - r0) % FP_LN_GROUP == 0)
            for (int64_t i = 0; i < D; i++)
                tw[i] = tb[i] = 0;
        const FP_T *FP_RESTRICT g = dy + r * D;
        const FP_T *FP_RESTRICT xr = x + r * D;
        FP_T *FP_RESTRICT out = dx + r * D;
        FP_T hi, lo;
        FP_NAME(split)(mean[r], &hi, &lo);
        const FP_T rs = (FP_T)rstd[r];
        double sa = 0, sb = 0;
        for (int64_t i0 = 0; i0 < D; i0 += FP_STREAM_CHUNK) {
            const int64_t m = FP_MIN((int64_t)FP_STREAM_CHUNK, D - i0);
            FP_NAME(vt) a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
            int64_t i = 0;
            for (; i + 2 * FP_VL <= m; i += 2 * FP_VL) {
                const int64_t k = i0 + i;
                FP_NAME(vt) g0 = fp_vload(FP_NAME(vt), g + k), g1 = fp_vload(FP_NAME(vt), g + k + FP_VL);
                if (w) {
                    g0 *= fp_vload(FP_NAME(vt), w + k);
                    g1 *= fp_vload(FP_NAME(vt), w + k + FP_VL);
                }
                a0 += g0;
                a1 += g1;
                b0 += g0 * (((fp_vload(FP_NAME(vt), xr + k) - hi) - lo) * rs);
                b1 += g1 * (((fp_vload(FP_NAME(vt), xr + k + FP_VL) - hi) - lo) * rs);
            }
            sa += FP_NAME(vsum)(a0 + a1);
            sb += FP_NAME(vsum)(b0 + b1);
            for (; i < m; i++) {
                const int64_t k = i0 + i;
                double gw = (double)g[k] * (w ? (double)w[k] : 1.0);
                sa += gw;
                sb += gw * (double)(((xr[k] - hi) - lo) * rs);
            }
        }
        /* dx = rstd * (dy*w - mean(dy*w) - xhat * mean(dy*w*xhat)) */
        const FP_T cb = (FP_T)(-sb / (double)D), cc = (FP_T)(-sa / (double)D);
        for (int64_t i0 = 0; i0 < D; i0 += FP_STREAM_CHUNK) {
            const int64_t m = FP_MIN((int64_t)FP_STREAM_CHUNK, D - i0);
            FP_T *FP_RESTRICT dst = stream ? tmp : out + i0;
            const FP_T *FP_RESTRICT gs = g + i0, *FP_RESTRICT xs = xr + i0;
            const FP_T *pg = NULL, *px = NULL;
            if (r + ahead < M) {
                pg = gs + ahead * D;
                px = xs + ahead * D;
            }
            FP_T *FP_RESTRICT tws = tw + i0, *FP_RESTRICT tbs = tb + i0;
            if (w)
                FP_NAME(ln_grad_run)(gs, xs, w + i0, dst, tws, tbs, m, hi, lo, rs, cb, cc, pg, px, 1);
            else
                FP_NAME(ln_grad_run)(gs, xs, NULL, dst, tws, tbs, m, hi, lo, rs, cb, cc, pg, px, 0);
            if (stream)
                fp_stream_copy(out + i0, tmp, m);
        }
        if ((r - r0) % FP_LN_GROUP == FP_LN_GROUP - 1 || r + 1 == r1)
            for (int64_t i = 0; i < D; i++) {
                pw[i] += (double)tw[i];
                pb[i] += (double)tb[i];
            }
    }
    if (stream)
        fp_stream_fence();
}


int FP_NAME(layer_norm_backward)(const FP_T *dy, const FP_T *x, const double *mean, const double *rstd,
                                 const FP_T *weight, FP_T *dx, double *dw, double *db, int64_t M, int64_t D,
                                 int n_threads)
{
    for (int64_t i = 0; i < D; i++)
        dw[i] = db[i] = 0;
    if (M * D == 0)
        return FP_OK;
    int nt = fp_threads_for(M * D, n_threads);
    const int64_t nch = fp_norm_chunks(M, 3 * D);
    double *part = malloc(sizeof(double) * (size_t)(2 * D * nch));
    FP_T *scratch = malloc(sizeof(FP_T) * (size_t)(2 * D * nch));
    if (!part || !scratch) {
        free(part);
        free(scratch);
        return FP_ERR_NOMEM;
    }
    const int stream = FP_NAME(use_stream)(3 * M * D);
    /* column blocks of the chunk fold: each column still sums its chunks in
     * chunk order (thread-count independent), the blocks run in parallel */
    const int64_t fold_block = 256, nfold = (D + fold_block - 1) / fold_block;
    #pragma omp parallel num_threads(nt)
    {
        #pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < nch; k++)
            FP_NAME(ln_backward_rows)(dy, x, mean, rstd, weight, dx, part + 2 * D * k, part + 2 * D * k + D,
                                      scratch + 2 * D * k, scratch + 2 * D * k + D, M, D, M * k / nch,
                                      M * (k + 1) / nch, stream);
        #pragma omp for schedule(static)
        for (int64_t bk = 0; bk < nfold; bk++) {
            const int64_t i0 = bk * fold_block, i1 = FP_MIN(D, i0 + fold_block);
            for (int64_t k = 0; k < nch; k++)
                for (int64_t i = i0; i < i1; i++) {
                    dw[i] += part[2 * D * k + i];
                    db[i] += part[2 * D * k + D + i];
                }
        }
    }
    free(part);
    free(scratch);
    return FP_OK;
}

/* ---- group norm --------------------------------------------------------- */

FP_CLONES static void FP_NAME(gn_units)(const FP_T *x, FP_T *y, const FP_T *w, const FP_T *b, int64_t C,
                                        int64_t HW, int64_t G, double eps, double *mean, double *rstd, int64_t U,
                                        int64_t u0, int64_t u1, int stream)
{
    const int64_t Cg = C / G, D = Cg * HW, ahead = FP_NAME(ahead_rows)(D, 1);
    for (int64_t u = u0; u < u1; u++) {
        const FP_T *xu = x + u * D;
        FP_T *yu = y + u * D;
        double s, q, var;
        FP_NAME(moments)(xu, D, xu[0], &s, &q);
        FP_NAME(finish_stats)((double)xu[0], s, q, D, eps, &mean[u], &var, &rstd[u]);
        FP_T hi, lo;
        FP_NAME(split)(mean[u], &hi, &lo);
        for (int64_t cc = 0; cc < Cg; cc++) {
            int64_t c = (u % G) * Cg + cc;
            FP_T scale = (FP_T)(rstd[u] * (w ? (double)w[c] : 1.0)), shift = b ? b[c] : (FP_T)0;
            const FP_T *px = u + ahead < U ? xu + ahead * D + cc * HW : NULL;
            FP_NAME(norm_apply)(xu + cc * HW, yu + cc * HW, HW, hi, lo, scale, shift, px, stream);
        }
    }
    if (stream)
        fp_stream_fence();
}

int FP_NAME(group_norm_forward)(const FP_T *x, FP_T *y, const FP_T *weight, const FP_T *bias, int64_t N,
                                int64_t C, int64_t HW, int64_t G, double eps, double *mean, double *rstd,
                                int n_threads)
{
    if (N * C * HW == 0)
        return FP_OK;
    int64_t U = N * G;
    int nt = fp_threads_for(N * C * HW, n_threads);
    const int64_t nchunks = fp_dyn_chunks(U, nt);
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t chunk = 0; chunk < nchunks; chunk++)
        FP_NAME(gn_units)(x, y, weight, bias, C, HW, G, eps, mean, rstd, U, U * chunk / nchunks, U * (chunk + 1) / nchunks,
                      FP_NAME(use_stream)(2 * N * C * HW));
    return FP_OK;
}

/* part[(n*C + c)*2 + {0,1}] = sum(dy), sum(dy*(x - mean)) of plane (n, c);
 * then dx per unit from the group's weighted sums. */
FP_CLONES static void FP_NAME(gn_backward_units)(const FP_T *dy, const FP_T *x, const double *mean,
                                                 const double *rstd, const FP_T *w, FP_T *dx, double *part,
                                                 int64_t C, int64_t HW, int64_t G, int64_t U, int64_t u0,
                                                 int64_t u1, int stream)
{
    const int64_t Cg = C / G, D = Cg * HW, ahead = FP_NAME(ahead_rows)(D, 2);
    for (int64_t u = u0; u < u1; u++) {
        const int64_t n = u / G, c0 = (u % G) * Cg;
        double dsg = 0, dbg = 0;
        for (int64_t cc = 0; cc < Cg; cc++) {
            int64_t o = u * D + cc * HW;
            double *pp = part + 2 * (n * C + c0 + cc);
            FP_NAME(dot_moments)(dy + o, x + o, HW, mean[u], &pp[0], &pp[1]);
            double wc = w ? (double)w[c0 + cc] : 1.0;
            dbg += wc * pp[0];
            dsg += wc * pp[1];
        }
        const double rs = rstd[u];
        FP_T hi, lo;
        FP_NAME(split)(mean[u], &hi, &lo);
        const FP_T cb = (FP_T)(-rs * rs * rs * dsg / (double)D), ccst = (FP_T)(-rs * dbg / (double)D);
        for (int64_t cc = 0; cc < Cg; cc++) {
            int64_t o = u * D + cc * HW;
            FP_T a = (FP_T)(rs * (w ? (double)w[c0 + cc] : 1.0));
            const int pf = u + ahead < U;
            FP_NAME(norm_grad_apply)(dy + o, x + o, dx + o, HW, hi, lo, a, cb, ccst, pf ? dy + o + ahead * D : NULL,
                                     pf ? x + o + ahead * D : NULL, stream);
        }
    }
    if (stream)
        fp_stream_fence();
}

int FP_NAME(group_norm_backward)(const FP_T *dy, const FP_T *x, const double *mean, const double *rstd,
                                 const FP_T *weight, FP_T *dx, double *dw, double *db, int64_t N, int64_t C,
                                 int64_t HW, int64_t G, int n_threads)
{
    for (int64_t c = 0; c < C; c++)
        dw[c] = db[c] = 0;
    if (N * C * HW == 0)
        return FP_OK;
    double *part = malloc(sizeof(double) * (size_t)(2 * N * C));
    if (!part)
        return FP_ERR_NOMEM;
    int64_t U = N * G;
    int nt = fp_threads_for(N * C * HW, n_threads);
    const int64_t nchunks = fp_dyn_chunks(U, nt);
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t chunk = 0; chunk < nchunks; chunk++)
        FP_NAME(gn_backward_units)(dy, x, mean, rstd, weight, dx, part, C, HW, G, U, U * chunk / nchunks, U * (chunk + 1) / nchunks,
                               FP_NAME(use_stream)(3 * N * C * HW));
    const int64_t Cg = C / G;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            db[c] += part[2 * (n * C + c)];
            dw[c] += part[2 * (n * C + c) + 1] * rstd[n * G + c / Cg];
        }
    free(part);
    return FP_OK;
}

#undef FP_VL
#undef FP_FOLD
