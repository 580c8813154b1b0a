/* Activations: elementwise forward/backward. */
#ifndef FP_ACTIVATION_H
#define FP_ACTIVATION_H
#include "fp_common.h"

#define FP_DECLARE_ACTIVATION(T, S)                                                            \
    int fp_relu_forward_##S(const T *x, T *y, int64_t n, int n_threads);                        \
    int fp_relu_backward_##S(const T *grad_y, const T *x, T *grad_x, int64_t n, int n_threads);

FP_DECLARE_ACTIVATION(float, f32)
FP_DECLARE_ACTIVATION(double, f64)

#endif
