/* Losses: the dtype-generic body lives in loss_tmpl.h (see loss.h for the
 * kernel overview). Block and tile sizes below are fixed constants, never
 * derived from the thread count, so reductions are thread-count independent. */
#include <math.h>
#include <stdlib.h>

#include "loss.h"
#include "fp_math.h"

/* Elementwise losses work on blocks of this many elements inside a chunk:
 * the per-kind loop writes loss/grad for a block that stays in L1, then
 * weighting, grad_out scaling and summation run over the L1-hot block. */
#define FP_LOSS_BLOCK 512
/* Lanes of the double accumulators (two AVX-512 registers). */
#define FP_LOSS_LANES 16
/* Spatial tiles of the class-axis kernels hold about this many elements. */
#define FP_LOSS_TILE_ELEMS 16384
#define FP_LOSS_TILE_MAX 512

#define FP_FABS(v) _Generic((v), float: __builtin_fabsf, double: __builtin_fabs)(v)

/* Reductions keep one partial sum per work item (a fixed-size chunk, rows
 * block or tile) and add them here in item order after the parallel loop, so
 * the total does not depend on the thread count. */
static double fp_loss_parts_sum(const double *part, int64_t items)
{
    double s = 0.0;
    for (int64_t i = 0; i < items; i++)
        s += part[i];
    return s;
}

#define FP_TEMPLATE "loss_tmpl.h"
#include "fp_instantiate.h"
