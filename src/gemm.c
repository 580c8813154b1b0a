/* See gemm.h. The dtype body lives in gemm_tmpl.h. */
#include "gemm.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef FP_HAVE_OPENBLAS
#include <cblas.h>

void fp_gemm_single_threaded(void)
{
    if (scipy_openblas_get_num_threads() != 1)
        scipy_openblas_set_num_threads(1);
}

/* Our 8x32 micro-kernel is written for 32 vector registers of 64 bytes: on
 * AVX-512 CPUs it beats OpenBLAS on the convolution's GEMM shapes (short k,
 * a few hundred columns per tile), even OpenBLAS's SkylakeX kernels (README
 * has the numbers); elsewhere OpenBLAS's AVX2 kernels are the better GEMM. */
int fp_gemm_prefer_own(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *core = scipy_openblas_get_corename();
        int blas_avx512 = core && (strstr(core, "Skylake") || strstr(core, "SKYLAKE") || strstr(core, "Cooperlake") ||
                                   strstr(core, "COOPERLAKE") || strstr(core, "Sapphire") || strstr(core, "SAPPHIRE"));
        int cpu_avx512 = 0;
#if defined(__GNUC__) && defined(__x86_64__)
        __builtin_cpu_init();
        cpu_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                     __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#endif
        (void)blas_avx512; /* measured: ours beats even the SkylakeX kernels on conv shapes */
        cached = cpu_avx512;
    }
    return cached;
}

const char *fp_gemm_backend(void)
{
    static char name[96];
    if (!name[0])
        snprintf(name, sizeof name, "%sOpenBLAS (scipy-openblas32) %s",
                 fp_gemm_prefer_own() ? "fastprims AVX-512 8x32 kernel (W x col, W^T x dY); " : "",
                 scipy_openblas_get_corename());
    return name;
}
#else
void fp_gemm_single_threaded(void) {}
int fp_gemm_prefer_own(void) { return 1; }
const char *fp_gemm_backend(void) { return "fastprims 8x32 kernel and builtin loops (no BLAS linked)"; }
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
