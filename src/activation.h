/* Activations, softmax and dropout: forward and backward kernels.
 *
 * Elementwise ops take flat arrays of n elements. Softmax-type ops view the
 * input as (outer, C, inner) with the reduction over C, so any axis of a
 * C-contiguous array is handled in place, without transposes. Dropout masks
 * are one byte per element (0 = dropped). Every function returns FP_OK or an
 * FP_ERR_* status.
 */
#ifndef FP_ACTIVATION_H
#define FP_ACTIVATION_H
#include "fp_common.h"

/* Private test hook: apply one of the vector math functions of fp_math.h. */
enum { FP_MATH_EXP = 0, FP_MATH_TANH = 1, FP_MATH_LOG = 2, FP_MATH_ERF = 3, FP_MATH_ERFC = 4, FP_MATH_EXP_NONPOS = 5 };

/* gelu forms */
enum { FP_GELU_NONE = 0, FP_GELU_TANH = 1 };

#define FP_DECLARE_ACTIVATION(T, S)                                                                 \
    int fp_relu_forward_##S(const T *x, T *y, int64_t n, int n_threads);                            \
    int fp_relu_backward_##S(const T *grad_y, const T *x, T *grad_x, int64_t n, int n_threads);     \
    int fp_leaky_relu_forward_##S(const T *x, T *y, int64_t n, double slope, int n_threads);        \
    int fp_leaky_relu_backward_##S(const T *grad_y, const T *x, T *grad_x, int64_t n, double slope, \
                                   int n_threads);                                                  \
    int fp_sigmoid_forward_##S(const T *x, T *y, int64_t n, int n_threads);                         \
    int fp_sigmoid_backward_##S(const T *grad_y, const T *y, T *grad_x, int64_t n, int n_threads);  \
    int fp_tanh_forward_##S(const T *x, T *y, int64_t n, int n_threads);                            \
    int fp_tanh_backward_##S(const T *grad_y, const T *y, T *grad_x, int64_t n, int n_threads);     \
    int fp_gelu_forward_##S(const T *x, T *y, int64_t n, int approximate, int n_threads);           \
    int fp_gelu_backward_##S(const T *grad_y, const T *x, T *grad_x, int64_t n, int approximate,    \
                             int n_threads);                                                        \
    int fp_dropout_forward_##S(const T *x, T *y, uint8_t *mask, int64_t n, double p, uint64_t seed, \
                               int n_threads);                                                      \
    int fp_dropout_backward_##S(const T *grad_y, const uint8_t *mask, T *grad_x, int64_t n,         \
                                double p, int n_threads);                                           \
    int fp_softmax_forward_##S(const T *x, T *y, int64_t outer, int64_t c, int64_t inner,           \
                               int n_threads);                                                      \
    int fp_log_softmax_forward_##S(const T *x, T *y, int64_t outer, int64_t c, int64_t inner,       \
                                   int n_threads);                                                  \
    int fp_softmax_backward_##S(const T *grad_y, const T *y, T *grad_x, int64_t outer, int64_t c,   \
                                int64_t inner, int n_threads);                                      \
    int fp_log_softmax_backward_##S(const T *grad_y, const T *y, T *grad_x, int64_t outer,          \
                                    int64_t c, int64_t inner, int n_threads);                       \
    int fp_math_apply_##S(int op, const T *x, T *y, int64_t n);

FP_DECLARE_ACTIVATION(float, f32)
FP_DECLARE_ACTIVATION(double, f64)

#endif
