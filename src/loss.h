/* Losses: one fused kernel per shape of computation, each computing whichever
 * of {per-element loss, loss sum, gradient} its argument block asks for.
 *
 * Why argument blocks: a loss call has many optional pieces (weights, targets
 * of two kinds, label smoothing, grad_out as an array or a scalar) and the
 * forward, backward and fused forward+backward are the same traversal. One
 * dtype-free struct lets the binding fill it once and dispatch only the call
 * on float32/float64 (the void pointers are read as FP_T inside).
 *
 * - fp_pointwise_loss_fused_<dtype>: elementwise losses (l1, mse, smooth-l1,
 *   huber, bce-with-logits, sigmoid focal, the PPO clipped surrogate, plain
 *   mean); an array of up to FP_LOSS_MAX_BATCH argument blocks runs in one
 *   parallel region (PPO's three terms). Sums are per FP_CHUNK-element chunk in double, combined in chunk
 *   order: the result does not depend on the thread count.
 * - fp_cross_entropy_fused_<dtype>: softmax over the class axis of an
 *   (N, C, S) array (S = product of the trailing dims, 1 for (N, C)), for
 *   cross-entropy with class-index or probability targets and softmax focal
 *   loss. S == 1 walks rows; S > 1 vectorizes over spatial tiles (no transposes).
 * - fp_nll_loss_fused_<dtype>: gather/scatter on (N, C, S) log-probabilities.
 * - fp_class_target_check_<dtype>: validates class indices and returns the
 *   weighted-mean denominator.
 */
#ifndef FP_LOSS_H
#define FP_LOSS_H
#include "fp_common.h"

enum {
    FP_LOSS_L1 = 0,
    FP_LOSS_MSE = 1,
    FP_LOSS_SMOOTH_L1 = 2,     /* p0 = beta > 0 */
    FP_LOSS_HUBER = 3,         /* p0 = delta > 0 */
    FP_LOSS_BCE_LOGITS = 4,    /* w, pw optional */
    FP_LOSS_SIGMOID_FOCAL = 5, /* p0 = alpha (< 0: no weighting), p1 = gamma */
    FP_LOSS_PPO_POLICY = 6,    /* x = new_logp, y = old_logp, z = advantages, p0 = clip eps */
    FP_LOSS_IDENTITY = 7       /* loss = x, d/dx = 1 (entropy bonus mean) */
};

typedef struct {
    int kind;
    int64_t n;                 /* elements */
    const void *x, *y, *z;     /* input, target, third operand (kind dependent) */
    const void *w;             /* elementwise weight or NULL: w[i % w_period] */
    int64_t w_period;
    const void *pw;            /* BCE pos_weight or NULL: pw[i % pw_period] */
    int64_t pw_period;
    double p0, p1;             /* kind parameters */
    void *loss;                /* per-element loss out, or NULL */
    double *loss_sum;          /* sum of the loss out, or NULL */
    void *grad;                /* grad_scale * grad_out[i] * dloss_i/dx_i out, or NULL */
    const void *grad_out;      /* per-element upstream gradient, or NULL (= 1) */
    double grad_scale;
} fp_pointwise_loss_args;

/* fp_pointwise_loss_fused runs up to this many argument blocks in one call */
#define FP_LOSS_MAX_BATCH 4

typedef struct {
    int64_t N, C, S;           /* input (N, C, S), class axis in the middle */
    const void *x;             /* logits (log-probabilities for nll) */
    const int64_t *target;     /* (N*S) class indices, or NULL */
    const void *target_prob;   /* (N, C, S) class probabilities, or NULL */
    const void *weight;        /* (C) class weights, or NULL */
    int64_t ignore_index;
    double label_smoothing;
    int focal;                 /* softmax focal loss instead of cross-entropy */
    double gamma;              /* focal */
    double alpha_scalar;       /* focal, used when alpha is NULL */
    const void *alpha;         /* focal per-class alpha (C), or NULL */
    void *loss;                /* (N*S) per-sample loss out, or NULL */
    double *loss_sum;          /* sum of the per-sample losses out, or NULL */
    void *grad;                /* (N, C, S) gradient out, or NULL */
    const void *grad_out;      /* (N*S) upstream gradient, or NULL (= 1) */
    double grad_scale;
} fp_class_loss_args;

#define FP_DECLARE_LOSS(S)                                                                      \
    int fp_pointwise_loss_fused_##S(const fp_pointwise_loss_args *a, int count, int n_threads); \
    int fp_cross_entropy_fused_##S(const fp_class_loss_args *a, int n_threads);                 \
    int fp_nll_loss_fused_##S(const fp_class_loss_args *a, int n_threads);                      \
    int fp_class_target_check_##S(const fp_class_loss_args *a, double *weight_sum,              \
                                  int64_t *count, int64_t *bad_value);

FP_DECLARE_LOSS(f32)
FP_DECLARE_LOSS(f64)

#endif
