/* Detection: box IoU/area/format conversion, greedy NMS, multi-class NMS and
 * Soft-NMS over (N, 4) x1,y1,x2,y2 boxes (no +1 pixel convention).
 *
 * All NMS variants share one machinery (detection_tmpl.h): scores are sorted
 * once (stable radix sort, descending), coordinates are gathered into
 * structure-of-arrays order, and a multi-level uniform grid over the boxes'
 * lower-left corners restricts every IoU test to boxes that can overlap the
 * query box, so most pairs are never compared. Arguments arrive validated
 * (finite boxes, no NaN scores, thresholds in range) from the Cython layer.
 */
#ifndef FP_DETECTION_H
#define FP_DETECTION_H
#include "fp_common.h"

enum { FP_BOX_XYXY = 0, FP_BOX_XYWH = 1, FP_BOX_CXCYWH = 2 };
enum { FP_SOFT_NMS_LINEAR = 1, FP_SOFT_NMS_GAUSSIAN = 2 };

/* iou_threshold arrives as a double (as torchvision's); each kernel compares
 * its dtype's IoU against it exactly as `(double)iou > iou_threshold` would.
 * max_out < 0 means "no limit". use_score_thr = 0 disables the score filter
 * (otherwise keep candidates with score > score_thr, as cv2.dnn.NMSBoxes).
 * class_ids: dense ids in [0, n_classes), or NULL for a single class.
 * out receives at most n indices; *n_out how many were written. */
#define FP_DECLARE_DETECTION(T, S)                                                                   \
    int fp_box_iou_##S(const T *boxes1, int64_t n, const T *boxes2, int64_t m, T *out, int n_threads); \
    int fp_box_area_##S(const T *boxes, int64_t n, T *out, int n_threads);                          \
    int fp_box_convert_##S(const T *boxes, int64_t n, int in_fmt, int out_fmt, T *out, int n_threads); \
    int fp_batched_nms_##S(const T *boxes, const T *scores, const int64_t *class_ids, int64_t n_classes, \
                           int64_t n, int use_score_thr, double score_thr, double iou_threshold,      \
                           int64_t max_out, int64_t *out, int64_t *n_out, int n_threads);             \
    int fp_soft_nms_##S(const T *boxes, const T *scores, int64_t n, int method, double sigma,        \
                        double iou_threshold, double score_thr, int64_t max_out, int64_t *out_index,  \
                        T *out_score, int64_t *n_out);

FP_DECLARE_DETECTION(float, f32)
FP_DECLARE_DETECTION(double, f64)

#endif
