/* Body of gemm.c, included once per dtype (FP_T, FP_S, FP_CBLAS_GEMM). */

/* Fallback: row-major loops whose inner loop runs along a contiguous row of
 * C so that it vectorizes in every target_clones variant. */
FP_CLONES static void FP_NAME(gemm_loops)(int ta, int tb, int64_t m, int64_t n, int64_t k, FP_T alpha,
                                          const FP_T *a, int64_t lda, const FP_T *b, int64_t ldb,
                                          FP_T beta, FP_T *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++) {
        FP_T *ci = c + i * ldc;
        if (beta == 0)
            for (int64_t j = 0; j < n; j++) ci[j] = 0;
        else if (beta != 1)
            for (int64_t j = 0; j < n; j++) ci[j] *= beta;
        for (int64_t p = 0; p < k; p++) {
            FP_T av = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
            if (!tb) {
                const FP_T *bp = b + p * ldb;
                for (int64_t j = 0; j < n; j++) ci[j] += av * bp[j];
            } else {
                for (int64_t j = 0; j < n; j++) ci[j] += av * b[j * ldb + p];
            }
        }
    }
}

void FP_NAME(gemm)(int ta, int tb, int64_t m, int64_t n, int64_t k, FP_T alpha, const FP_T *a, int64_t lda,
                   const FP_T *b, int64_t ldb, FP_T beta, FP_T *c, int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
#ifdef FP_HAVE_OPENBLAS
    if (fp_gemm_fits_blasint(m, n, k, lda, ldb, ldc) && k > 0) {
        FP_CBLAS_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                      (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb,
                      beta, c, (blasint)ldc);
        return;
    }
#endif
    FP_NAME(gemm_loops)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* ------------------------------------------------------------------------ */
/* Own GEMM: C (m x n, ldc) = A (m x k) B (k x n, ldb), A packed by
 * fp_gemm_pack_a into row blocks of 8 (then 4, then 1) stored [k][block]
 * so the kernel's broadcasts walk one contiguous stream. The micro-kernel
 * holds 8 rows x 2 vectors (32 float / 16 double columns) of C in 16
 * registers (named variables: GCC spills arrays of vectors across loops). */

#define GVL ((int64_t)(64 / sizeof(FP_T)))
typedef FP_T FP_NAME(gvec) __attribute__((vector_size(64)));
typedef FP_T FP_NAME(guvec) __attribute__((vector_size(64), aligned(1), may_alias));
#define GVEC FP_NAME(gvec)
#define GLOAD(v, p) ((v) = *(const FP_NAME(guvec) *)(p))
#define GSTORE(p, v) (*(FP_NAME(guvec) *)(p) = (v))

static inline int64_t FP_NAME(gemm_block_rows)(int64_t remaining)
{
    return remaining >= 8 ? 8 : (remaining >= 4 ? 4 : 1);
}

void FP_NAME(gemm_pack_a)(int trans, int64_t m, int64_t k, const FP_T *a, int64_t lda, FP_T *ap)
{
    for (int64_t i = 0; i < m;) {
        int64_t mb = FP_NAME(gemm_block_rows)(m - i);
        for (int64_t r = 0; r < mb; r++)
            for (int64_t p = 0; p < k; p++)
                ap[i * k + p * mb + r] = trans ? a[p * lda + i + r] : a[(i + r) * lda + p];
        i += mb;
    }
}

#define G_DECL(r) GVEC c##r##0 = (GVEC){0}, c##r##1 = (GVEC){0}
#define G_LOAD(r)                                        \
    if (MB > r) {                                        \
        GLOAD(c##r##0, c + r * ldc);                     \
        if (NV > 1) GLOAD(c##r##1, c + r * ldc + GVL);   \
    }
#define G_FMA(r)                                \
    if (MB > r) {                               \
        FP_T av = ap[p * MB + r];               \
        c##r##0 += av * b0;                     \
        if (NV > 1) c##r##1 += av * b1;         \
    }
#define G_STORE(r)                                       \
    if (MB > r) {                                        \
        GSTORE(c + r * ldc, c##r##0);                    \
        if (NV > 1) GSTORE(c + r * ldc + GVL, c##r##1);  \
    }
#define G_ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)

/* MB rows x NV vectors of C (+)= a k-slice of A times B. */
FP_INLINE void FP_NAME(gemm_micro)(const int MB, const int NV, int64_t k, const FP_T *ap, const FP_T *b, int64_t ldb,
                                   FP_T *c, int64_t ldc, int accumulate)
{
    G_DECL(0); G_DECL(1); G_DECL(2); G_DECL(3); G_DECL(4); G_DECL(5); G_DECL(6); G_DECL(7);
    if (accumulate) {
        G_ALL(G_LOAD)
    }
    for (int64_t p = 0; p < k; p++) {
        GVEC b0, b1 = (GVEC){0};
        GLOAD(b0, b + p * ldb);
        if (NV > 1)
            GLOAD(b1, b + p * ldb + GVL);
        G_ALL(G_FMA)
    }
    G_ALL(G_STORE)
}
#undef G_DECL
#undef G_LOAD
#undef G_FMA
#undef G_STORE
#undef G_ALL

/* k-slice [p0, p0 + kc) of A times B for one panel of NV vectors of columns,
 * all row blocks (packed block i holds its rows' k entries as [k][mb]). */
FP_INLINE void FP_NAME(gemm_panel)(const int NV, int64_t m, int64_t k, int64_t p0, int64_t kc, const FP_T *ap,
                                   const FP_T *b, int64_t ldb, FP_T *c, int64_t ldc, int acc)
{
    for (int64_t i = 0; i < m;) {
        int64_t mb = FP_NAME(gemm_block_rows)(m - i);
        const FP_T *a = ap + i * k + p0 * mb;
        FP_T *ci = c + i * ldc;
        const FP_T *bp = b + p0 * ldb;
        if (mb == 8)
            FP_NAME(gemm_micro)(8, NV, kc, a, bp, ldb, ci, ldc, acc || p0 > 0);
        else if (mb == 4)
            FP_NAME(gemm_micro)(4, NV, kc, a, bp, ldb, ci, ldc, acc || p0 > 0);
        else
            FP_NAME(gemm_micro)(1, NV, kc, a, bp, ldb, ci, ldc, acc || p0 > 0);
        i += mb;
    }
}

/* k is cut into slices of FP_GEMM_KC so that the A slice of all rows stays
 * in L2 and a panel's B slice in L1 while they are reused. */
#ifndef FP_GEMM_KC
#define FP_GEMM_KC 512
#endif

FP_CLONES static void FP_NAME(gemm_packed_body)(int64_t m, int64_t n, int64_t k, const FP_T *ap, const FP_T *b,
                                                int64_t ldb, FP_T *c, int64_t ldc, int acc, FP_T *tail, FP_T *ctail)
{
    const int64_t nfull = n / (2 * GVL) * (2 * GVL), nr = n - nfull;
    const int tail_nv = nr > GVL ? 2 : 1;
    if (nr) {
        /* the last < 2*GVL columns go through a zero-padded copy, so no load
         * runs past the caller's B and no store past its C */
        const int64_t tw = tail_nv * GVL;
        for (int64_t p = 0; p < k; p++) {
            for (int64_t q = 0; q < nr; q++) tail[p * tw + q] = b[p * ldb + nfull + q];
            for (int64_t q = nr; q < tw; q++) tail[p * tw + q] = 0;
        }
        if (acc)
            for (int64_t i = 0; i < m; i++)
                for (int64_t q = 0; q < tw; q++) ctail[i * tw + q] = q < nr ? c[i * ldc + nfull + q] : 0;
    }
    for (int64_t p0 = 0; p0 < k; p0 += FP_GEMM_KC) {
        const int64_t kc = FP_MIN(FP_GEMM_KC, k - p0);
        for (int64_t j = 0; j < nfull; j += 2 * GVL)
            FP_NAME(gemm_panel)(2, m, k, p0, kc, ap, b + j, ldb, c + j, ldc, acc);
        if (nr) {
            if (tail_nv == 2)
                FP_NAME(gemm_panel)(2, m, k, p0, kc, ap, tail, 2 * GVL, ctail, 2 * GVL, acc);
            else
                FP_NAME(gemm_panel)(1, m, k, p0, kc, ap, tail, GVL, ctail, GVL, acc);
        }
    }
    if (nr)
        for (int64_t i = 0; i < m; i++)
            for (int64_t q = 0; q < nr; q++) c[i * ldc + nfull + q] = ctail[i * tail_nv * GVL + q];
}

int FP_NAME(gemm_packed)(int64_t m, int64_t n, int64_t k, const FP_T *ap, const FP_T *b, int64_t ldb, FP_T *c,
                         int64_t ldc, int accumulate)
{
    FP_T *tail = NULL;
    if (m <= 0 || n <= 0)
        return FP_OK;
    if (k <= 0) {
        if (accumulate)
            return FP_OK;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = 0;
        return FP_OK;
    }
    if (n % (2 * GVL)) {
        tail = malloc((size_t)(k + m) * 2 * GVL * sizeof(FP_T));
        if (!tail)
            return FP_ERR_NOMEM;
    }
    FP_NAME(gemm_packed_body)(m, n, k, ap, b, ldb, c, ldc, accumulate, tail, tail ? tail + k * 2 * GVL : NULL);
    free(tail);
    return FP_OK;
}

#undef GVL
#undef GVEC
#undef GLOAD
#undef GSTORE
