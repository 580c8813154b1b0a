/* Optimizer steps, penalties and gradient clipping (see optim.h). */
/* No contraction into FMA: with it GCC may fuse a*b + c*d either way, and the
 * vector body and the scalar tail of one loop can choose differently, so an
 * element's result would depend on its position in the buffer (a list of
 * arrays and the same values in one flat buffer would diverge). Without it,
 * every element follows torch's operation order exactly; the kernels are
 * memory-bound, so the separate multiply costs nothing. */
#pragma GCC optimize("fp-contract=off")
#include <math.h>
#include <stdlib.h>

#include "optim.h"

#define FP_T float
#define FP_S f32
#define FP_SQRT sqrtf
#include "optim_tmpl.h"
#undef FP_T
#undef FP_S
#undef FP_SQRT

#define FP_T double
#define FP_S f64
#define FP_SQRT sqrt
#include "optim_tmpl.h"
#undef FP_T
#undef FP_S
#undef FP_SQRT
