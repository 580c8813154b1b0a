/* Normalization: batch norm over (N, C, HW), layer norm over (M, D) rows,
 * group norm over (N, G, C/G*HW) blocks; forward and backward, torch
 * semantics (see fastprims/norm.py).
 *
 * Statistics are returned in double whatever the data type: they are
 * accumulated around a per-channel/row shift (the first value) in data-type
 * vector partials folded into double every 1024 values, so float32 data with
 * a large mean (1e4) and unit spread keeps its variance, and the backward
 * reuses the mean the forward used.
 */
#ifndef FP_NORM_H
#define FP_NORM_H
#include "fp_common.h"

#define FP_DECLARE_NORM(T, S)                                                                        \
    int fp_batch_norm_forward_train_##S(const T *x, T *y, const T *gamma, const T *beta, int64_t N,  \
                                        int64_t C, int64_t HW, double eps, double *mean,             \
                                        double *invstd, double *var, int n_threads);                 \
    int fp_batch_norm_forward_eval_##S(const T *x, T *y, const double *scale, const double *shift,   \
                                       int64_t N, int64_t C, int64_t HW, int n_threads);             \
    int fp_batch_norm_backward_##S(const T *grad_y, const T *x, const double *mean,                  \
                                   const double *invstd, const T *gamma, T *grad_x,                  \
                                   double *grad_gamma, double *grad_beta, int64_t N, int64_t C,      \
                                   int64_t HW, int training, int n_threads);                         \
    int fp_layer_norm_forward_##S(const T *x, T *y, const T *weight, const T *bias, int64_t M,       \
                                  int64_t D, double eps, double *mean, double *rstd, int n_threads); \
    int fp_layer_norm_backward_##S(const T *grad_y, const T *x, const double *mean,                  \
                                   const double *rstd, const T *weight, T *grad_x,                   \
                                   double *grad_weight, double *grad_bias, int64_t M, int64_t D,     \
                                   int n_threads);                                                   \
    int fp_group_norm_forward_##S(const T *x, T *y, const T *weight, const T *bias, int64_t N,       \
                                  int64_t C, int64_t HW, int64_t G, double eps, double *mean,        \
                                  double *rstd, int n_threads);                                      \
    int fp_group_norm_backward_##S(const T *grad_y, const T *x, const double *mean,                  \
                                   const double *rstd, const T *weight, T *grad_x,                   \
                                   double *grad_weight, double *grad_bias, int64_t N, int64_t C,     \
                                   int64_t HW, int64_t G, int n_threads);

FP_DECLARE_NORM(float, f32)
FP_DECLARE_NORM(double, f64)

#endif
