#include "norm.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "norm_vec.h"

/* Row chunks for column reductions (batch norm with tiny planes, layer-norm
 * weight gradients): a fixed count that depends only on the problem, never
 * on the thread count, so partial sums combine identically for any threads.
 * The partial buffers are capped at ~64 MB. */
static inline int64_t fp_norm_chunks(int64_t rows, int64_t features)
{
    int64_t n = FP_MIN(rows, (int64_t)64);
    int64_t cap = ((int64_t)1 << 22) / FP_MAX(features, (int64_t)1);
    n = FP_MIN(n, FP_MAX(cap, (int64_t)1));
    return FP_MAX(n, (int64_t)1);
}

/* Non-temporal output stores pay off once an op's inputs and output together
 * no longer fit in the last-level cache: then the output would only evict
 * the input lines the next call (or the next op) reads, while streaming it
 * keeps them cached. Below that, plain stores keep everything cached and
 * win. Threshold: 3/4 of the L3 (sysconf; 24 MB if unknown). Measured on a
 * 32 MiB L3, float32, 2 threads, streaming vs plain: layer_norm fwd 8 MB
 * 0.27 vs 0.22 ms (16 MB touched), 16 MB 0.59 vs 0.64 ms; its backward 8 MB
 * (24 MB touched) 0.88 vs 0.95 ms; group_norm fwd 12 MB 0.39 vs 0.40 ms. */
static int64_t fp_norm_stream_min(void)
{
    static int64_t cached;
    int64_t v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (!v) {
        long l3 = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
        l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
        v = l3 > ((long)1 << 20) ? (int64_t)l3 / 4 * 3 : ((int64_t)24 << 20);
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED); /* benign race: same value */
    }
    return v;
}

#define FP_TEMPLATE "norm_tmpl.h"
#include "fp_instantiate.h"
