#include "norm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "norm_vec.h"

/* Row chunks for column reductions (batch norm with tiny planes, layer-norm
 * weight gradients): a fixed count that depends only on the problem, never
 * on the thread count, so partial sums combine identically for any threads.
 * Each chunk carries 2 * features double partials that are zeroed, folded
 * and summed again at the end, so chunks hold >= 16 rows where that still
 * leaves 8 of them for the threads (one chunk per row made that traffic
 * rival the data's for wide rows: layer_norm backward (64,65536) 3.9 ->
 * 2.4 ms, (256,16384) 2.7 -> 1.4 ms, (32,65536) 2.8 -> 1.3 ms, 2 threads);
 * at most 64 chunks, and the partial buffers are capped at ~64 MB. */
static inline int64_t fp_norm_chunks(int64_t rows, int64_t features)
{
    int64_t n = FP_MAX(FP_MIN(rows / 16, (int64_t)64), FP_MIN(rows, (int64_t)8));
    int64_t cap = ((int64_t)1 << 22) / FP_MAX(features, (int64_t)1);
    n = FP_MIN(n, FP_MAX(cap, (int64_t)1));
    return FP_MAX(n, (int64_t)1);
}

/* The cache shared by this CPU's cores, in bytes: sysfs's level-3 size
 * (what lscpu shows); sysconf only if that is missing, since glibc reports
 * the whole package's L3 on some AMD parts (384 MiB for a 32 MiB CCD
 * cache on the target machine); 32 MiB if neither answers. */
static int64_t fp_norm_l3_bytes(void)
{
    static int64_t cached;
    int64_t v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (!v) {
        for (int i = 0; i < 8 && !v; i++) {
            char path[96], buf[32];
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
            FILE *f = fopen(path, "r");
            if (!f)
                continue;
            int level = fgets(buf, sizeof buf, f) ? atoi(buf) : 0;
            fclose(f);
            if (level != 3)
                continue;
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
            f = fopen(path, "r");
            if (!f)
                continue;
            char *end = NULL;
            long long kb = fgets(buf, sizeof buf, f) ? strtoll(buf, &end, 10) : 0;
            fclose(f);
            if (kb > 0 && end && (*end == 'K' || *end == 'k'))
                v = (int64_t)kb << 10;
            else if (kb > 0 && end && (*end == 'M' || *end == 'm'))
                v = (int64_t)kb << 20;
        }
        if (!v) {
            long l3 = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
            l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
            v = l3 > ((long)1 << 20) ? (int64_t)l3 : ((int64_t)32 << 20);
        }
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED); /* benign race: same value */
    }
    return v;
}

/* Non-temporal output stores pay off once an op's inputs and output together
 * no longer fit in the last-level cache: then the output would only evict
 * the input lines the next call (or the next op) reads, while streaming it
 * keeps them cached. Below that, plain stores keep everything cached and
 * win. Threshold: 3/4 of the L3. Measured on the 32 MiB L3, float32, 2
 * threads, streaming vs plain (interleaved medians): layer_norm (4096,1024)
 * fwd 0.46 vs 0.51 ms, bwd 1.14 vs 1.39 ms; group_norm (32,64,56,56) fwd
 * 0.98 vs 1.14 ms, bwd 1.57 vs 1.76 ms. (Until the sysfs read above this
 * threshold was 288 MB here, so nothing streamed.) */
static int64_t fp_norm_stream_min(void)
{
    return fp_norm_l3_bytes() / 4 * 3;
}

#define FP_TEMPLATE "norm_tmpl.h"
#include "fp_instantiate.h"
