#include "activation.h"
#include "fp_math.h"

#define FP_T float
#define FP_S f32
#include "activation_tmpl.h"
#undef FP_T
#undef FP_S

#define FP_T double
#define FP_S f64
#include "activation_tmpl.h"
#undef FP_T
#undef FP_S
