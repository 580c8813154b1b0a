/* Shared conventions of every fastprims C kernel.
 *
 * The C layer knows nothing about Python: plain pointers, sizes as int64_t,
 * an int status back (FP_OK or one of FP_ERR_*; the Cython layer maps each to
 * an exception with a message that names the argument).
 *
 * float32 and float64 are generated from one body, never written twice: a
 * family's <family>_tmpl.h is included once per dtype (fp_instantiate.h does
 * it) with FP_T (the type) and FP_S (the suffix, f32/f64) defined, and names
 * its functions FP_NAME(op), which expands to fp_<op>_<suffix>.
 *
 * SIMD: hot per-chunk loops are marked FP_CLONES; GCC compiles them for AVX-512,
 * AVX2+FMA and baseline x86-64 and picks one at load time (ifunc), so the
 * default build runs on any x86-64 and still uses the wide units. The OpenMP
 * loops stay outside the cloned functions because GCC outlines parallel
 * regions before it clones, and the outlined body would lose the target.
 */
#ifndef FP_COMMON_H
#define FP_COMMON_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

enum {
    FP_OK = 0,
    FP_ERR_NOMEM = 1,      /* MemoryError */
    FP_ERR_VALUE = 2,      /* ValueError: argument out of its domain */
    FP_ERR_NAN = 3,        /* ValueError: NaN where it cannot be handled */
    FP_ERR_INDEX = 4,      /* ValueError: label/index out of range */
    FP_ERR_UNSUPPORTED = 5 /* NotImplementedError */
};

#if defined(FP_HAVE_TARGET_CLONES) && !defined(__SANITIZE_ADDRESS__)
#define FP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FP_CLONES
#endif

#define FP_RESTRICT __restrict__
#define FP_INLINE static inline __attribute__((always_inline))

/* Below this many elements a kernel runs on the calling thread: the
 * fork/join of a parallel region (~2-5 us) costs more than the work. */
#define FP_PAR_MIN_ELEMS ((int64_t)1 << 15)

/* Elementwise kernels walk memory in chunks of this many elements; a chunk is
 * the unit of scheduling, and of summation for deterministic reductions. */
#define FP_CHUNK ((int64_t)1 << 14)

#define FP_PASTE3_(a, b, c) a##b##c
#define FP_PASTE3(a, b, c) FP_PASTE3_(a, b, c)
#define FP_NAME(op) FP_PASTE3(fp_##op, _, FP_S)

#define FP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FP_MAX(a, b) ((a) > (b) ? (a) : (b))

/* This thread's number in its OpenMP team (0 without OpenMP): the index of
 * a kernel's per-thread workspace. */
static inline int fp_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Threads to use for `work` units of work when the caller allows n_threads. */
static inline int fp_threads_for(int64_t work, int n_threads)
{
    if (n_threads < 1 || work < FP_PAR_MIN_ELEMS)
        return 1;
    return n_threads;
}

#endif
