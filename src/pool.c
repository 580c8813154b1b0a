#include "pool.h"

#include <math.h>
#include <stdlib.h>

#include "norm_vec.h"

/* floor(a / b) for b > 0 and any sign of a. */
static inline int64_t fp_pool_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Output columns ow in [*lo, *hi) whose tap at column offset `off`
 * (ow*s + off) lands inside [0, W). */
static inline void fp_pool_valid_range(int64_t W, int64_t OW, int64_t s, int64_t off,
                                       int64_t *lo, int64_t *hi)
{
    int64_t a = fp_pool_floordiv(-off + s - 1, s);      /* ceil(-off / s) */
    int64_t b = fp_pool_floordiv(W - 1 - off, s) + 1;
    *lo = FP_MAX(a, 0);
    *hi = FP_MIN(b, OW);
    if (*hi < *lo)
        *hi = *lo;
}

#define FP_TEMPLATE "pool_tmpl.h"
#include "fp_instantiate.h"
