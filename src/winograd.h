/* Winograd F(2x2, 3x3) convolution for 3x3, stride-1, dilation-1 layers
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
 *
 * Each 2x2 block of outputs ("tile") of one image and channel is
 * A^T [ (G g G^T) .* (B^T d B) ] A with d the 4x4 input patch under it and g
 * the 3x3 filter. Summed over input channels this becomes 16 independent
 * GEMMs, one per position xi of the 4x4 transformed tile:
 *     M[xi] (C_out/groups x tiles) = U[xi] (C_out/groups x C_in/groups) V[xi] (C_in/groups x tiles)
 * which do 16/36 = 1/2.25 of the multiply-adds of direct convolution. The
 * transforms use only 0, +-1 and +-1/2 (exact in binary), so float32 error
 * stays close to direct convolution's (F(4x4, 3x3) saves 4x but its
 * transforms amplify rounding error by ~10-100x; not used).
 *
 * Tiles (over the whole batch) are processed in blocks of TB: a block's
 * transformed inputs V (16 x C_in/groups x TB) and products M (16 x
 * C_out/groups x TB) are the per-thread workspace, so memory is bounded
 * independent of N (see fp_winograd_workspace). The GEMMs are fastprims' own
 * packed AVX-512 micro-kernel (gemm_tmpl.h) with U packed once per call.
 * OpenMP runs over (group, tile block) units; each output element is
 * computed by exactly one unit in a fixed order, so results do not depend on
 * the thread count.
 *
 * Inf in the data makes the transforms form Inf - Inf = NaN where direct
 * convolution yields +-Inf: the kernels report whether any output is NaN
 * (*nonfinite), and the caller then recomputes with another algorithm, so
 * NaN/Inf propagate as in torch.
 *
 * grad_x of a stride-1 3x3 convolution is itself one: grad_out correlated
 * with the spatially flipped, in/out-transposed filters, padding 2 - p (which
 * may be negative, i.e. a crop; the kernels take any offset).
 */
#ifndef FP_WINOGRAD_H
#define FP_WINOGRAD_H
#include "conv.h"

/* Target bytes of one thread's V + M block (L2 is 1 MiB per core here; 0.75
 * to 3 MiB measured the same); a block never has fewer than
 * FP_WINO_MIN_TILES tiles (one 32-column GEMM panel). */
#ifndef FP_WINO_WS_BYTES
#define FP_WINO_WS_BYTES ((int64_t)1 << 20)
#endif
#ifndef FP_WINO_MIN_TILES
#define FP_WINO_MIN_TILES 32
#endif

/* Input channels per GEMM call: a 32-tile panel's slice of V (KC x 128
 * bytes = 16 KiB) stays in L1 next to the streamed U (measured: 128 is 1.2x
 * faster than 256 at 512 channels, the same below). */
#ifndef FP_WINO_KC
#define FP_WINO_KC 128
#endif

/* 1 if s is a 3x3, stride-1, dilation-1 convolution (any padding, groups). */
int fp_winograd_eligible(const fp_conv2d_shape *s);
/* Bytes the winograd forward (backward=0) or grad_x (backward=1) allocates:
 * the transformed, packed filters (16 x C_out x C_in/groups elements) plus
 * the per-thread tile blocks; independent of the batch size. */
int64_t fp_winograd_workspace(const fp_conv2d_shape *s, int64_t elem_size, int n_threads, int backward);

#define FP_DECLARE_WINOGRAD(T, S)                                                                        \
    int fp_winograd_conv2d_forward_##S(const fp_conv2d_shape *s, const T *x, const T *w, const T *b, T *y, \
                                       int n_threads, int *nonfinite);                                    \
    int fp_winograd_conv2d_backward_input_##S(const fp_conv2d_shape *s, const T *gy, const T *w, T *gx,    \
                                              int n_threads, int *nonfinite);

FP_DECLARE_WINOGRAD(float, f32)
FP_DECLARE_WINOGRAD(double, f64)

#endif
