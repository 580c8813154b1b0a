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
