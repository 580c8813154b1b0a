/* Explicit 8 x double vectors (GCC vector extensions) for the reductions of
 * the norm and pool families.
 *
 * GCC will not vectorize a floating-point sum without -ffast-math (it may not
 * reassociate), and its SLP pass gave up on the 16-scalar-lane idiom once
 * the loop was inlined into a larger function: the float32 moments ran as
 * scalar vcvtss2sd/vaddsd. Vector-extension code is vectorized by
 * construction, compiles for every target (AVX-512 zmm, AVX2 ymm pairs, SSE2
 * baseline), and its lane-wise arithmetic fixes the summation order, so
 * results stay deterministic.
 */
#ifndef FP_NORM_VEC_H
#define FP_NORM_VEC_H
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#pragma GCC diagnostic ignored "-Wpsabi" /* all helpers are always_inline: no ABI crosses */

typedef double fp_v8d __attribute__((vector_size(64)));
typedef float fp_v8f __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) fp_v8d fp_load8d_f(const float *p)
{
    fp_v8f v;
    memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, fp_v8d);
}

static inline __attribute__((always_inline)) fp_v8d fp_load8d_d(const double *p)
{
    fp_v8d v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* 8 consecutive values of a float or double array, as doubles. */
#define fp_load8d(p)                                                                             \
    _Generic((p), const float *: fp_load8d_f, float *: fp_load8d_f, const double *: fp_load8d_d, \
             double *: fp_load8d_d)(p)

static inline __attribute__((always_inline)) void fp_store8d(double *p, fp_v8d v)
{
    memcpy(p, &v, sizeof v);
}

static inline __attribute__((always_inline)) fp_v8d fp_splat8d(double v)
{
    return (fp_v8d){v, v, v, v, v, v, v, v};
}

/* Unaligned load / store of a GCC vector type (the memcpy is one vector move). */
#define fp_vload(vtype, p)                  \
    __extension__({                         \
        vtype fp_v_;                        \
        memcpy(&fp_v_, (p), sizeof fp_v_);  \
        fp_v_;                              \
    })
#define fp_vstore(p, v)                     \
    do {                                    \
        __typeof__(v) fp_v_ = (v);          \
        memcpy((p), &fp_v_, sizeof fp_v_);  \
    } while (0)

/* Lane sum in a fixed order. */
static inline __attribute__((always_inline)) double fp_hsum8d(fp_v8d v)
{
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* The team's size (1 without OpenMP); the thread number is fp_thread_id (fp_common.h). */
static inline int fp_team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Work units of a parallel loop, handed out dynamically: on a shared machine
 * a thread that gets descheduled only delays its current chunk while the
 * others take the rest (a static split would wait for its whole share).
 * Chunks never change results: each writes its own outputs, and reductions
 * are combined over fixed units elsewhere. */
static inline int64_t fp_dyn_chunks(int64_t units, int threads)
{
    int64_t n = 16 * (int64_t)threads;
    return units < n ? units : n;
}

/* ---- streaming (non-temporal) stores: fp_stream.h ---------------------- */
#include "fp_stream.h"

/* Outputs of at least this many bytes are streamed (about a quarter of a
 * typical L3: smaller ones are likely still cached when the next op reads). */
#define FP_STREAM_MIN_BYTES ((int64_t)8 << 20)
#define FP_STREAM_CHUNK 1024

/* n elements of dst's type */
#define fp_stream_copy(dst, src, n) fp_stream_bytes((dst), (src), (int64_t)(n) * (int64_t)sizeof(*(dst)))

#endif
