/* Optimizers and regularization: fused in-place updates over flat buffers.
 *
 * Every step kernel reads each element of every buffer once and writes the
 * updated ones once (one pass over memory): the formulas are torch.optim's
 * single-tensor ones in the same operation order, with the per-step scalars
 * (bias corrections, decayed learning rates) computed by the caller in double
 * and rounded once to the buffer dtype, as torch does.
 *
 * Reductions (penalties, norms) sum fixed-size chunks in double and combine
 * the chunk partials in index order, so the result does not depend on the
 * thread count.
 */
#ifndef FP_OPTIM_H
#define FP_OPTIM_H
#include "fp_common.h"

/* Flags of the step kernels. */
enum {
    FP_OPT_MAXIMIZE = 1,   /* ascend: use -grad */
    FP_OPT_NESTEROV = 2,   /* SGD */
    FP_OPT_FIRST = 4,      /* SGD: momentum buffer not yet initialized (buf = grad) */
    FP_OPT_DECOUPLED = 8,  /* Adam: AdamW weight decay p *= 1 - lr*wd */
    FP_OPT_CENTERED = 16   /* RMSprop */
};

/* Norm kinds of fp_norm_reduce. */
enum { FP_NORM_P = 0, FP_NORM_INF = 1, FP_NORM_NEG_INF = 2 };

#define FP_DECLARE_OPTIM(T, S)                                                                     \
    int fp_sgd_step_##S(T *p, const T *g, T *buf, int64_t n, double lr, double momentum,           \
                        double dampening, double weight_decay, int flags, int n_threads);         \
    int fp_adagrad_step_##S(T *p, const T *g, T *sum, int64_t n, double clr, double weight_decay,  \
                            double eps, int flags, int n_threads);                                 \
    int fp_rmsprop_step_##S(T *p, const T *g, T *square_avg, T *grad_avg, T *momentum_buf,         \
                            int64_t n, double lr, double alpha, double eps, double weight_decay,   \
                            double momentum, int flags, int n_threads);                            \
    int fp_adam_step_##S(T *p, const T *g, T *exp_avg, T *exp_avg_sq, T *max_exp_avg_sq,           \
                         int64_t n, double lr, double beta1, double beta2, double eps,             \
                         double weight_decay, double step_size, double bias_correction2_sqrt,      \
                         int flags, int n_threads);                                                \
    int fp_penalty_step_##S(const T *p, T *g, int64_t n, double l1, double l2, double *penalty,    \
                            int n_threads);                                                        \
    int fp_norm_reduce_##S(const T *x, int64_t n, int kind, double ord, double *result,            \
                           int n_threads);                                                         \
    int fp_scale_inplace_##S(T *x, int64_t n, double scale, int n_threads);                        \
    int fp_clamp_inplace_##S(T *x, int64_t n, double lo, double hi, int n_threads);

FP_DECLARE_OPTIM(float, f32)
FP_DECLARE_OPTIM(double, f64)

#endif
