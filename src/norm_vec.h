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

/* ---- streaming (non-temporal) stores ---------------------------------- */
/* An output much larger than the caches is written with non-temporal stores:
 * a plain store first reads the line it writes (read-for-ownership), so a
 * memory-bound "read x, write y" moves 3 bytes per 2; streaming stores
 * make it 2. Kernels compute a chunk into an L1 buffer and stream it out
 * (non-x86 CPUs: memcpy). */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FP_STREAM_X86 1
#endif

/* Outputs of at least this many bytes are streamed (about a quarter of a
 * typical L3: smaller ones are likely still cached when the next op reads). */
#define FP_STREAM_MIN_BYTES ((int64_t)8 << 20)
#define FP_STREAM_CHUNK 1024

#ifdef FP_STREAM_X86
/* The widest non-temporal store the CPU has, picked at run time (the
 * per-target clones cannot share one inline helper that uses AVX-512
 * intrinsics): 512-bit stores fill a write-combining line in one go, where
 * 128-bit ones left the copy loop store-bound. */
__attribute__((target("avx512f"))) static void fp_stream_bytes_avx512(char *dst, const char *src, int64_t n)
{
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        _mm512_stream_si512((void *)(dst + i), _mm512_loadu_si512((const void *)(src + i)));
    memcpy(dst + i, src + i, (size_t)(n - i));
}

__attribute__((target("avx"))) static void fp_stream_bytes_avx(char *dst, const char *src, int64_t n)
{
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        _mm256_stream_ps((float *)(dst + i), _mm256_loadu_ps((const float *)(src + i)));
    memcpy(dst + i, src + i, (size_t)(n - i));
}

static void fp_stream_bytes_sse2(char *dst, const char *src, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm_stream_ps((float *)(dst + i), _mm_loadu_ps((const float *)(src + i)));
    memcpy(dst + i, src + i, (size_t)(n - i));
}

typedef void (*fp_stream_fn)(char *, const char *, int64_t);

static inline fp_stream_fn fp_stream_pick(void)
{
    static fp_stream_fn fn; /* a benign race: every thread computes the same pointer */
    fp_stream_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (!f) {
        __builtin_cpu_init();
        f = __builtin_cpu_supports("avx512f") ? fp_stream_bytes_avx512
            : __builtin_cpu_supports("avx")   ? fp_stream_bytes_avx
                                              : fp_stream_bytes_sse2;
        __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    }
    return f;
}
#endif

/* dst[0..n) = src[0..n) with non-temporal stores (plain stores up to the
 * first 64-byte boundary of dst). */
static inline void fp_stream_bytes(char *dst, const char *src, int64_t n)
{
#ifdef FP_STREAM_X86
    int64_t head = (int64_t)((64 - ((uintptr_t)dst & 63)) & 63);
    if (head > n)
        head = n;
    memcpy(dst, src, (size_t)head);
    fp_stream_pick()(dst + head, src + head, n - head);
#else
    memcpy(dst, src, (size_t)n);
#endif
}

static inline void fp_stream_copy_f32(float *dst, const float *src, int64_t n)
{
    fp_stream_bytes((char *)dst, (const char *)src, n * (int64_t)sizeof(float));
}

static inline void fp_stream_copy_f64(double *dst, const double *src, int64_t n)
{
    fp_stream_bytes((char *)dst, (const char *)src, n * (int64_t)sizeof(double));
}

#define fp_stream_copy(dst, src, n) \
    _Generic((dst), float *: fp_stream_copy_f32, double *: fp_stream_copy_f64)(dst, src, n)

/* Orders this thread's streaming stores before whatever follows (the end of
 * the parallel region publishes the output). */
static inline void fp_stream_fence(void)
{
#ifdef FP_STREAM_X86
    _mm_sfence();
#endif
}

#endif
