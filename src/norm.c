#include "norm.h"

#include <math.h>
#include <stdlib.h>

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

#define FP_TEMPLATE "norm_tmpl.h"
#include "fp_instantiate.h"
