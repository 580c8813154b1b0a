/* GEMM for the convolution family: one single-threaded row-major call,
 * C = alpha * op(A) op(B) + beta * C.
 *
 * With FP_HAVE_OPENBLAS (scipy-openblas32, the OpenBLAS that NumPy/SciPy ship)
 * this forwards to its cblas; otherwise a plain vectorizable loop nest keeps
 * the build self-contained. Callers run it inside their own OpenMP tiles, so
 * the BLAS must not start threads of its own: fp_gemm_single_threaded() pins
 * OpenBLAS to one thread (its private copy is used by fastprims alone), which
 * is what makes "OpenMP outside, BLAS inside" free of oversubscription.
 */
#ifndef FP_GEMM_H
#define FP_GEMM_H
#include "fp_common.h"

void fp_gemm_single_threaded(void);
/* Name of the GEMM in use ("OpenBLAS SkylakeX", "builtin loops", ...). */
const char *fp_gemm_backend(void);

#define FP_DECLARE_GEMM(T, S)                                                                 \
    void fp_gemm_##S(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, T alpha,      \
                     const T *a, int64_t lda, const T *b, int64_t ldb, T beta, T *c, int64_t ldc);

FP_DECLARE_GEMM(float, f32)
FP_DECLARE_GEMM(double, f64)

#endif

/* fastprims' own register-blocked GEMM for C = A B with A (or A^T when
 * trans) packed once by fp_gemm_pack_a; accumulate: C += A B.
 * Used by the convolution's im2col forward when the BLAS would not run
 * AVX-512 kernels on an AVX-512 CPU (see fp_gemm_prefer_own). */
int fp_gemm_prefer_own(void);
#define FP_DECLARE_OWN_GEMM(T, S)                                                                    \
    void fp_gemm_pack_a_##S(int trans, int64_t m, int64_t k, const T *a, int64_t lda, T *ap);                 \
    int fp_gemm_packed_##S(int64_t m, int64_t n, int64_t k, const T *ap, const T *b, int64_t ldb,  \
                           T *c, int64_t ldc, int accumulate);
FP_DECLARE_OWN_GEMM(float, f32)
FP_DECLARE_OWN_GEMM(double, f64)
