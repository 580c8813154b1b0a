/* See gemm.h. The dtype body lives in gemm_tmpl.h. */
#include "gemm.h"

#include <limits.h>
#include <stdio.h>

#ifdef FP_HAVE_OPENBLAS
#include <cblas.h>

void fp_gemm_single_threaded(void)
{
    if (scipy_openblas_get_num_threads() != 1)
        scipy_openblas_set_num_threads(1);
}

const char *fp_gemm_backend(void)
{
    static char name[96];
    if (!name[0])
        snprintf(name, sizeof name, "OpenBLAS (scipy-openblas32) %s", scipy_openblas_get_corename());
    return name;
}
#else
void fp_gemm_single_threaded(void) {}
const char *fp_gemm_backend(void) { return "builtin loops (no BLAS linked)"; }
#endif

/* blasint is 32-bit in scipy-openblas32: larger operands take the loops. */
static inline int fp_gemm_fits_blasint(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc)
{
    return m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX;
}

#define FP_T float
#define FP_S f32
#define FP_CBLAS_GEMM scipy_cblas_sgemm
#include "gemm_tmpl.h"
#undef FP_T
#undef FP_S
#undef FP_CBLAS_GEMM

#define FP_T double
#define FP_S f64
#define FP_CBLAS_GEMM scipy_cblas_dgemm
#include "gemm_tmpl.h"
#undef FP_T
#undef FP_S
#undef FP_CBLAS_GEMM
