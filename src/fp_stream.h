/* Streaming (non-temporal) stores, shared by every family that writes
 * outputs much larger than the caches.
 *
 * A plain store first reads the line it writes (read-for-ownership), so a
 * memory-bound "read x, write y" kernel moves 3 bytes per 2; streaming
 * stores make it 2. Kernels compute a block into an L1 buffer and hand it to
 * fp_stream_bytes, then call fp_stream_fence once before the parallel
 * region ends.
 *
 * Only whole 64-byte lines inside [dst, dst + n) are streamed; the partial
 * lines at either end are ordinary stores, so a line shared with a
 * neighbouring block (possibly another thread's) is never half-streamed.
 * The lines go out at the widest store the CPU has, picked at run time: the
 * per-target clones cannot share one inline helper that uses AVX-512
 * intrinsics, and 16-byte stores left a compute-bound kernel (tanh) a
 * quarter slower. Elsewhere than x86-64 with GCC/Clang this is memcpy. */
#ifndef FP_STREAM_H
#define FP_STREAM_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f"), unused)) static void fp_stream_lines_avx512(char *d, const char *s, int64_t n)
{
    for (int64_t i = 0; i < n; i += 64)
        _mm512_stream_si512((void *)(d + i), _mm512_loadu_si512((const void *)(s + i)));
}

__attribute__((target("avx"), unused)) static void fp_stream_lines_avx(char *d, const char *s, int64_t n)
{
    for (int64_t i = 0; i < n; i += 32)
        _mm256_stream_ps((float *)(d + i), _mm256_loadu_ps((const float *)(s + i)));
}

__attribute__((unused)) static void fp_stream_lines_sse2(char *d, const char *s, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16)
        _mm_stream_ps((float *)(d + i), _mm_loadu_ps((const float *)(s + i)));
}

typedef void (*fp_stream_fn)(char *, const char *, int64_t);

static inline fp_stream_fn fp_stream_pick(void)
{
    static fp_stream_fn fn; /* a benign race: every thread computes the same pointer */
    fp_stream_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (!f) {
        __builtin_cpu_init();
        f = __builtin_cpu_supports("avx512f") ? fp_stream_lines_avx512
            : __builtin_cpu_supports("avx")   ? fp_stream_lines_avx
                                              : fp_stream_lines_sse2;
        __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    }
    return f;
}

/* Whether streaming stores exist here (callers skip their staging buffer
 * when they do not). */
static inline int fp_stream_supported(void) { return 1; }

/* dst[0..n) = src[0..n) (bytes), whole 64-byte lines of dst streamed. */
static inline void fp_stream_bytes(void *dst, const void *src, int64_t n)
{
    char *d = (char *)dst;
    const char *s = (const char *)src;
    int64_t head = (int64_t)((64 - ((uintptr_t)d & 63)) & 63);
    if (head >= n) {
        memcpy(d, s, (size_t)n);
        return;
    }
    memcpy(d, s, (size_t)head);
    d += head, s += head, n -= head;
    const int64_t body = n & ~(int64_t)63;
    fp_stream_pick()(d, s, body);
    memcpy(d + body, s + body, (size_t)(n - body));
}

/* Orders this thread's streaming stores before whatever follows (the end of
 * the parallel region publishes the output). */
static inline void fp_stream_fence(void) { _mm_sfence(); }

#else
static inline int fp_stream_supported(void) { return 0; }
static inline void fp_stream_bytes(void *dst, const void *src, int64_t n) { memcpy(dst, src, (size_t)n); }
static inline void fp_stream_fence(void) {}
#endif

#endif
