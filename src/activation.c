/* Activations, softmax and dropout (see activation.h).
 *
 * The dtype-independent pieces live here: the two parallel drivers every
 * kernel goes through (so the threading policy is written once), the dropout
 * hash, and the per-dtype normal CDF used by the exact gelu (float32 has a
 * vectorizable erfc, float64 calls libm: different algorithms, not twins).
 * activation_tmpl.h is then included once per dtype.
 */
#include <math.h>
#include <stdlib.h>

#include "activation.h"
#include "fp_math.h"

typedef void (*fp_range_fn)(const void *args, int64_t lo, int64_t n);
typedef void (*fp_task_fn)(const void *args, int64_t task);

/* Scheduling is dynamic, in grains of ~1/32 of a thread's share: on a shared
 * machine a thread that gets descheduled no longer holds the whole region up
 * (with a static split its half waits for it), and a grain is large enough
 * (>= one 16K-element chunk) that the shared counter costs nothing. Which
 * thread computes a piece never changes its result (every reduction is per
 * task, merged in task order), so results stay independent of the thread
 * count and of the schedule. */
static int64_t fp_grain(int64_t ntasks, int nt) { return FP_MAX(ntasks / ((int64_t)nt * 32), 1); }

/* fn over [0, n) in FP_CHUNK pieces; small n stays on the calling thread. */
static int fp_run_chunks(int64_t n, int n_threads, fp_range_fn fn, const void *args)
{
    int64_t nchunks = (n + FP_CHUNK - 1) / FP_CHUNK;
    int nt = fp_threads_for(n, n_threads);
    int64_t grain = fp_grain(nchunks, nt);
    #pragma omp parallel for num_threads(nt) schedule(dynamic, grain)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t lo = c * FP_CHUNK;
        fn(args, lo, FP_MIN(FP_CHUNK, n - lo));
    }
    return FP_OK;
}

/* fn(task) for task in [0, ntasks); `work` (elements touched) decides whether
 * to go parallel at all. */
static void fp_run_tasks(int64_t ntasks, int64_t work, int n_threads, fp_task_fn fn, const void *args)
{
    int nt = fp_threads_for(work, n_threads);
    if (nt > ntasks)
        nt = (int)FP_MAX(ntasks, 1);
    int64_t grain = fp_grain(ntasks, nt);
    #pragma omp parallel for num_threads(nt) schedule(dynamic, grain)
    for (int64_t t = 0; t < ntasks; t++)
        fn(args, t);
}

/* ---- streaming (non-temporal) stores (fp_stream.h) ----------------------------
 * Kernels compute a block into an L1 buffer and hand it to fp_stream_bytes.
 * Outputs below FP_STREAM_MIN_BYTES stay cached: the next op likely reads them. */
#include "fp_stream.h"
#define FP_STREAM_MIN_BYTES ((int64_t)1 << 24)
#define FP_STREAM_BLOCK 1024 /* elements per L1 staging buffer */

/* ---- dropout RNG --------------------------------------------------------------
 * Counter-based: element i keeps or drops on hash(seed, i) alone, so the mask
 * depends on the seed and the element's flat index, never on threads or
 * chunking. The 64-bit key (splitmix64 of the seed and the high 32 bits of i,
 * constant within a chunk since chunks never straddle 2^32) keys two rounds of
 * Wellons' lowbias32 over the low 32 bits; 32-bit multiplies vectorize on
 * every x86-64 level. */
static inline uint64_t fp_splitmix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint32_t fp_lowbias32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static inline uint64_t fp_dropout_key(uint64_t seed, int64_t lo)
{
    return fp_splitmix64(fp_splitmix64(seed) ^ (uint64_t)(lo >> 32));
}

static inline uint32_t fp_dropout_bits(uint64_t key, int64_t i)
{
    return fp_lowbias32(fp_lowbias32((uint32_t)i ^ (uint32_t)key) + (uint32_t)(key >> 32));
}

/* Elements with bits < threshold are dropped: P(drop) = threshold / 2^32 = p
 * to within 2^-32. */
static inline uint32_t fp_dropout_threshold(double p)
{
    double t = p * 4294967296.0 + 0.5;
    return t >= 4294967295.0 ? 0xffffffffU : (uint32_t)t;
}

/* ---- exact gelu: Phi(x) and the density phi(x) ------------------------------
 * float32: Phi(x) = erfc(-x/sqrt2)/2 from the erfc piece fitted down to 0, so
 * one exp and one polynomial serve every x (no erf branch to compute and
 * discard), with relative precision in the negative tail. */
static inline float fp_norm_cdf_pdf_f32(float x, float *pdf)
{
    float a = (x < 0 ? -x : x) * 0.70710678118654752f;
    float e = fp_exp_negsq_scaledf(x, 0.5f); /* exp(-x^2/2), from x itself */
    *pdf = e * 0.39894228040143268f;
    float q = 0.5f * fp_erfc_tailf(a, e); /* Phi(-|x|) */
    return x < 0 ? q : 1.0f - q;
}

static inline float fp_norm_cdf_f32(float x)
{
    float pdf;
    return fp_norm_cdf_pdf_f32(x, &pdf);
}

static inline double fp_norm_cdf_f64(double x)
{
    return 0.5 * erfc(x * -0.70710678118654752440);
}

static inline double fp_norm_cdf_pdf_f64(double x, double *pdf)
{
    *pdf = fp_exp_negsq_scaledd(x, 0.5) * 0.39894228040143267794;
    return 0.5 * erfc(x * -0.70710678118654752440);
}

#define FP_TEMPLATE "activation_tmpl.h"
#include "fp_instantiate.h"
