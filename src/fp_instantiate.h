/* Instantiates a family's template body once per dtype: define FP_TEMPLATE as
 * the body's file name, then include this file. The body sees FP_T (the
 * element type), FP_S (the name suffix used by FP_NAME) and FP_IT (the integer
 * type of FP_T's width, for lane masks and bit tricks). */
#ifndef FP_TEMPLATE
#error "define FP_TEMPLATE before including fp_instantiate.h"
#endif

#define FP_T float
#define FP_S f32
#define FP_IT int32_t
#include FP_TEMPLATE
#undef FP_T
#undef FP_S
#undef FP_IT

#define FP_T double
#define FP_S f64
#define FP_IT int64_t
#include FP_TEMPLATE
#undef FP_T
#undef FP_S
#undef FP_IT

#undef FP_TEMPLATE
