/* Classification metrics (scikit-learn semantics; the Python layer in
 * fastprims/metrics.py owns argument handling, these are the heavy loops).
 *
 * Ranking metrics (ROC/PR/AUC/AP) are "binary classifier curve" kernels:
 * map each score to an order-preserving unsigned key (descending), radix sort
 * it stably together with the 0/1 label and the weight, then walk the sorted
 * run once, accumulating the weighted true/false positive counts in double in
 * exactly scikit-learn's order (stable descending order, one running sum) and
 * closing a threshold whenever the key changes. The walk produces the AUC
 * (trapezoids), the average precision (step-wise) or the curve arrays.
 *
 * Label kernels (confusion matrix, accuracy, label discovery) are generated
 * for label types u8 (bool/uint8), i8, i32, i64 and count into private
 * per-chunk bins that are combined in chunk order.
 */
#ifndef FP_METRICS_H
#define FP_METRICS_H
#include "fp_common.h"

enum { FP_CLF_AUC = 0, FP_CLF_AP = 1, FP_CLF_CURVE = 2, FP_CLF_ROC_DROP = 3 };

/* scores[i * score_stride] for i < n; is_pos[i] in {0, 1}; weights NULL or
 * n doubles (zero weights are dropped, as scikit-learn does). mode FP_CLF_*.
 * result[0] = AUC or AP (mode AUC/AP), result[1] = total positive weight,
 * result[2] = total negative weight, result[3] = number of distinct
 * thresholds m. Mode CURVE writes the running tps/fps and the threshold of
 * each of the m distinct scores, in descending score order, into tps, fps,
 * thresholds (capacity n); mode ROC_DROP does the same but writes only the
 * points roc_curve(drop_intermediate=True) keeps. FP_ERR_NAN when a score is
 * NaN or infinite. */
#define FP_DECLARE_METRICS(T, S)                                                                \
    int fp_binary_clf_##S(const T *scores, int64_t score_stride, const uint8_t *is_pos,          \
                          const double *weights, int64_t n, int mode, double *result,            \
                          double *tps, double *fps, double *thresholds, int n_threads);

FP_DECLARE_METRICS(float, f32)
FP_DECLARE_METRICS(double, f64)

/* ROC post-processing in place. On entry fpr[1..m], tpr[1..m], thr[1..m]
 * hold fps, tps and thresholds; on return [0..*m_out) hold scikit-learn's
 * roc_curve output: drop_intermediate applied, the (0, 0, +inf) point first,
 * rates divided by the last count (NaN everywhere when that is <= 0). */
int fp_roc_curve_finalize_f64(double *fpr, double *tpr, double *thr, int64_t m, int drop_intermediate,
                              int64_t *m_out, int n_threads);
/* PR post-processing in place. On entry precision[0..m) = fps,
 * recall[0..m) = tps, thr[0..m); on return precision/recall hold *m_out + 1
 * values and thr *m_out values, reversed (increasing threshold), with the
 * final (precision 1, recall 0) point appended. */
int fp_pr_curve_finalize_f64(double *precision, double *recall, double *thr, int64_t m, int drop_intermediate,
                             int64_t *m_out, int n_threads);

/* Label kernels. lut maps label value v to a class index lut[v - lut_lo]
 * (for lut_lo <= v < lut_lo + lut_n), -1 for labels to ignore. */
#define FP_DECLARE_LABEL_KERNELS(L, LS)                                                                          \
    int fp_label_minmax_##LS(const L *y, int64_t n, int64_t *min_out, int64_t *max_out, int n_threads);          \
    int fp_label_mark_##LS(const L *y, int64_t n, int64_t lo, int64_t range, uint8_t *present, int n_threads);   \
    int fp_label_equal_##LS(const L *y, int64_t n, int64_t value, uint8_t *out, int n_threads);                  \
    int fp_confusion_matrix_##LS(const L *y_true, const L *y_pred, const double *weights, int64_t n,             \
                                 const int64_t *lut, int64_t lut_lo, int64_t lut_n, int64_t k,                   \
                                 int64_t *counts, double *weighted_counts, int n_threads);                       \
    int fp_accuracy_##LS(const L *y_true, const L *y_pred, const double *weights, int64_t n, double *result,     \
                         int n_threads);

FP_DECLARE_LABEL_KERNELS(uint8_t, u8)
FP_DECLARE_LABEL_KERNELS(int8_t, i8)
FP_DECLARE_LABEL_KERNELS(int32_t, i32)
FP_DECLARE_LABEL_KERNELS(int64_t, i64)

#endif
