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
#include <string.h>

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

/* Lane sum in a fixed order. */
static inline __attribute__((always_inline)) double fp_hsum8d(fp_v8d v)
{
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

#endif
