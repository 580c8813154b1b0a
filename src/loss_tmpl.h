/* Body of loss.c, included once per dtype (FP_T, FP_S). See loss.h.
 *
 * Elementwise kernels: every per-kind loop computes loss AND gradient of a
 * block unconditionally (writing the unwanted one to an L1 scratch block):
 * branch-free bodies vectorize, and the extra arithmetic is free next to the
 * memory traffic. Sums use explicit double lanes in a fixed order (GCC cannot
 * vectorize a plain float reduction without -ffast-math).
 *
 * Class-axis kernels: softmax statistics per sample (max, sum of exp), then a
 * per-sample scalar step (ce_sample) that gives the loss and the coefficients
 * of the gradient
 *     g_c = k * exp(x_c - max) - c * v_c - b * [c == target],
 * where v_c is a class weight (label smoothing) or weight * smoothed target
 * probability. The fused path stores exp(x_c - max) into the gradient buffer
 * on the way and rescales it in place, so logits are read from memory once.
 */

#include "fp_vec.h" /* the softmax row kernels: row_max, row_expsum */

/* ---------------------------------------------------------------- helpers */

FP_INLINE double FP_NAME(block_sum)(const FP_T *l, int64_t n)
{
    double acc[FP_LOSS_LANES];
    for (int j = 0; j < FP_LOSS_LANES; j++)
        acc[j] = 0.0;
    int64_t i = 0;
    for (; i + FP_LOSS_LANES <= n; i += FP_LOSS_LANES)
        for (int j = 0; j < FP_LOSS_LANES; j++)
            acc[j] += (double)l[i + j];
    for (int j = 0; i < n; i++, j++)
        acc[j] += (double)l[i];
    for (int w = FP_LOSS_LANES / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; j++)
            acc[j] += acc[j + w];
    return acc[0];
}

/* src[(lo + i) % period] for i < nb, as a pointer into src when that is one
 * contiguous run, else gathered into buf. */
FP_INLINE const FP_T *FP_NAME(periodic)(const FP_T *src, int64_t period, int64_t lo, int64_t nb, FP_T *buf)
{
    if (!src)
        return NULL;
    int64_t j = lo % period;
    if (j + nb <= period)
        return src + j;
    for (int64_t k = 0; k < nb;) {
        int64_t len = FP_MIN(period - j, nb - k);
        memcpy(buf + k, src + j, (size_t)len * sizeof(FP_T));
        k += len;
        j = 0;
    }
    return buf;
}

/* ------------------------------------------------------ elementwise kinds */

FP_INLINE void FP_NAME(pw_l1)(const FP_T *x, const FP_T *y, int64_t n, FP_T *l, FP_T *g)
{
    for (int64_t i = 0; i < n; i++) {
        FP_T d = x[i] - y[i];
        l[i] = FP_FABS(d);
        /* torch: sign(x - y), and torch's sign(NaN) is 0 */
        g[i] = d > 0 ? (FP_T)1 : (d < 0 ? (FP_T)-1 : (FP_T)0);
    }
}

FP_INLINE void FP_NAME(pw_mse)(const FP_T *x, const FP_T *y, int64_t n, FP_T *l, FP_T *g)
{
    for (int64_t i = 0; i < n; i++) {
        FP_T d = x[i] - y[i];
        l[i] = d * d;
        g[i] = 2 * d;
    }
}

FP_INLINE void FP_NAME(pw_smooth_l1)(const FP_T *x, const FP_T *y, int64_t n, FP_T beta, FP_T *l, FP_T *g)
{
    /* torch divides by beta; multiplying by 1/beta differs by <= 1 ulp and
     * keeps two divisions per element out of a memory-bound loop */
    const FP_T ib = 1 / beta, hb = (FP_T)0.5 * beta, hib = (FP_T)0.5 * ib;
    for (int64_t i = 0; i < n; i++) {
        FP_T d = x[i] - y[i];
        FP_T ad = FP_FABS(d);
        l[i] = ad < beta ? hib * ad * ad : ad - hb;
        g[i] = d < -beta ? (FP_T)-1 : (d > beta ? (FP_T)1 : d * ib);
    }
}

FP_INLINE void FP_NAME(pw_huber)(const FP_T *x, const FP_T *y, int64_t n, FP_T delta, FP_T *l, FP_T *g)
{
    for (int64_t i = 0; i < n; i++) {
        FP_T d = x[i] - y[i];
        FP_T ad = FP_FABS(d);
        l[i] = ad < delta ? (FP_T)0.5 * ad * ad : delta * (ad - (FP_T)0.5 * delta);
        g[i] = d < -delta ? -delta : (d > delta ? delta : d);
    }
}

/* torch: loss = (1 - t) x - lw * log_sigmoid(x), lw = (pw - 1) t + 1, with
 * -log_sigmoid(x) = max(-x, 0) + log1p(exp(-|x|));
 * d/dx = (pw t + 1 - t) sigmoid(x) - pw t. */
#define FP_BCE_BODY(PT)                                                                         \
    for (int64_t i = 0; i < n; i++) {                                                           \
        FP_T xv = x[i], tv = t[i];                                                              \
        FP_T e = fp_exp_nonpos(-FP_FABS(xv));                                                          \
        FP_T inv = 1 / (1 + e);                                                                 \
        FP_T nls = (xv < 0 ? -xv : (FP_T)0) + fp_log1p_inv(e, inv);                             \
        FP_T sig = xv >= 0 ? inv : e * inv;                                                     \
        FP_T pt = PT;                                                                           \
        l[i] = (1 - tv) * xv + (pt - tv + 1) * nls;                                             \
        g[i] = (pt + 1 - tv) * sig - pt;                                                        \
    }

FP_INLINE void FP_NAME(pw_bce)(const FP_T *x, const FP_T *t, const FP_T *pw, int64_t n, FP_T *l, FP_T *g)
{
    if (pw) {
        FP_BCE_BODY(pw[i] * tv)
    } else {
        FP_BCE_BODY(tv)
    }
}
#undef FP_BCE_BODY

/* torchvision.ops.sigmoid_focal_loss: ce * (1 - p_t)^gamma * alpha_t with
 * ce = bce_with_logits, p_t = p t + (1 - p)(1 - t). 1 - p_t is computed as
 * t sigmoid(-x) + (1 - t) sigmoid(x) (the same value, without cancellation).
 * alpha_t = a1 t + a0 (1 - t) (a1 = a0 = 1 when alpha < 0).
 * d/dx = alpha_t [(p - t) q^g - g ce q^(g-1) (2t - 1) p (1 - p)], q = 1 - p_t. */
#define FP_FOCAL_BODY(QPOW)                                                                     \
    for (int64_t i = 0; i < n; i++) {                                                           \
        FP_T xv = x[i], tv = t[i];                                                              \
        FP_T e = fp_exp_nonpos(-FP_FABS(xv));                                                          \
        FP_T inv = 1 / (1 + e);                                                                 \
        FP_T small = e * inv;                                                                   \
        FP_T sig = xv >= 0 ? inv : small, sigm = xv >= 0 ? small : inv;                        \
        FP_T ce = (1 - tv) * xv + ((xv < 0 ? -xv : (FP_T)0) + fp_log1p_inv(e, inv));           \
        FP_T q = tv * sigm + (1 - tv) * sig;                                                    \
        FP_T at = a1 * tv + a0 * (1 - tv);                                                      \
        FP_T qg, qg1;                                                                           \
        QPOW                                                                                    \
        l[i] = at * ce * qg;                                                                    \
        g[i] = at * ((sig - tv) * qg - gamma * ce * qg1 * (2 * tv - 1) * sig * sigm);           \
    }

FP_INLINE void FP_NAME(pw_sigmoid_focal)(const FP_T *x, const FP_T *t, int64_t n, FP_T a1, FP_T a0,
                                          FP_T gamma, FP_T *l, FP_T *g)
{
    if (gamma == 2) {
        FP_FOCAL_BODY(qg = q * q; qg1 = q;)
    } else {
        /* q^(g-1) at q == 0: 0 for g > 1, 1 for g == 1, unused for g == 0 */
        FP_T at0 = gamma > 1 || gamma == 0 ? (FP_T)0 : (gamma == 1 ? (FP_T)1 : (FP_T)__builtin_inf());
        FP_FOCAL_BODY(qg = q > 0 ? fp_exp(gamma * fp_log(q)) : (gamma == 0 ? (FP_T)1 : (FP_T)0);
                      qg1 = gamma == 0 ? (FP_T)0 : (q > 0 ? qg / q : at0);)
    }
}
#undef FP_FOCAL_BODY

/* PPO clipped surrogate, per element: -min(r A, clip(r, lo, hi) A), r = exp(new - old).
 * The gradient follows torch autograd: min() splits ties in half and clamp
 * passes the gradient on its closed range, which adds up to -r A wherever
 * r A <= clip(r) A, else 0. NaN propagates through both. */
FP_INLINE void FP_NAME(pw_ppo)(const FP_T *nlp, const FP_T *olp, const FP_T *adv, int64_t n, FP_T lo, FP_T hi,
                                FP_T *l, FP_T *g)
{
    for (int64_t i = 0; i < n; i++) {
        FP_T r = fp_exp(nlp[i] - olp[i]);
        FP_T s1 = r * adv[i];
        FP_T rc = r < lo ? lo : (r > hi ? hi : r);
        FP_T s2 = rc * adv[i];
        l[i] = -(s1 > s2 ? s2 : s1);
        g[i] = s1 > s2 ? (FP_T)0 : -s1;
    }
}

FP_CLONES static void FP_NAME(pointwise_chunk)(const fp_pointwise_loss_args *a, int64_t lo, int64_t len,
                                               double *part)
{
    FP_T lbuf[FP_LOSS_BLOCK], gbuf[FP_LOSS_BLOCK], wbuf[FP_LOSS_BLOCK], pwbuf[FP_LOSS_BLOCK];
    const FP_T *x = a->x, *y = a->y, *z = a->z, *gy = a->grad_out;
    FP_T *lout = a->loss, *gout = a->grad;
    const FP_T gs = (FP_T)a->grad_scale, p0 = (FP_T)a->p0, p1 = (FP_T)a->p1;
    /* sigmoid focal alpha_t = a1 t + a0 (1 - t) */
    const FP_T a1 = a->p0 >= 0 ? p0 : (FP_T)1, a0 = a->p0 >= 0 ? 1 - p0 : (FP_T)1;
    double acc = 0.0;
    for (int64_t b = lo; b < lo + len; b += FP_LOSS_BLOCK) {
        int64_t nb = FP_MIN(FP_LOSS_BLOCK, lo + len - b);
        FP_T *l = lout ? lout + b : lbuf;
        FP_T *g = gout ? gout + b : gbuf;
        switch (a->kind) {
        case FP_LOSS_L1:
            FP_NAME(pw_l1)(x + b, y + b, nb, l, g);
            break;
        case FP_LOSS_MSE:
            FP_NAME(pw_mse)(x + b, y + b, nb, l, g);
            break;
        case FP_LOSS_SMOOTH_L1:
            FP_NAME(pw_smooth_l1)(x + b, y + b, nb, p0, l, g);
            break;
        case FP_LOSS_HUBER:
            FP_NAME(pw_huber)(x + b, y + b, nb, p0, l, g);
            break;
        case FP_LOSS_BCE_LOGITS:
            FP_NAME(pw_bce)(x + b, y + b, FP_NAME(periodic)(a->pw, a->pw_period, b, nb, pwbuf), nb, l, g);
            break;
        case FP_LOSS_SIGMOID_FOCAL:
            FP_NAME(pw_sigmoid_focal)(x + b, y + b, nb, a1, a0, p1, l, g);
            break;
        case FP_LOSS_PPO_POLICY:
            FP_NAME(pw_ppo)(x + b, y + b, z + b, nb, 1 - p0, 1 + p0, l, g);
            break;
        default: /* FP_LOSS_IDENTITY */
            for (int64_t i = 0; i < nb; i++) {
                l[i] = x[b + i];
                g[i] = 1;
            }
        }
        const FP_T *w = FP_NAME(periodic)(a->w, a->w_period, b, nb, wbuf);
        if (w) {
            for (int64_t i = 0; i < nb; i++)
                l[i] *= w[i];
            if (gout)
                for (int64_t i = 0; i < nb; i++)
                    g[i] *= w[i];
        }
        if (gout) {
            if (gy)
                for (int64_t i = 0; i < nb; i++)
                    g[i] *= gs * gy[b + i];
            else
                for (int64_t i = 0; i < nb; i++)
                    g[i] *= gs;
        }
        if (part)
            acc += FP_NAME(block_sum)(l, nb);
    }
    if (part)
        *part = acc;
}

/* `count` argument blocks (e.g. PPO's policy, value and entropy terms) share
 * one parallel region: work items are the FP_CHUNK chunks of every block. */
int FP_NAME(pointwise_loss_fused)(const fp_pointwise_loss_args *a, int count, int n_threads)
{
    int64_t first[FP_LOSS_MAX_BATCH + 1];
    int64_t items = 0, work = 0;
    if (count < 1 || count > FP_LOSS_MAX_BATCH)
        return FP_ERR_VALUE;
    for (int k = 0; k < count; k++) {
        if (a[k].loss_sum)
            *a[k].loss_sum = 0.0;
        if (a[k].n > 0 && ((a[k].w && a[k].w_period <= 0) || (a[k].pw && a[k].pw_period <= 0)))
            return FP_ERR_VALUE;
        first[k] = items;
        items += a[k].n > 0 ? (a[k].n + FP_CHUNK - 1) / FP_CHUNK : 0;
        work += FP_MAX(a[k].n, (int64_t)0);
    }
    first[count] = items;
    if (items == 0)
        return FP_OK;
    double *part = malloc((size_t)items * sizeof *part);
    if (!part)
        return FP_ERR_NOMEM;
    int nt = fp_threads_for(work, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t it = 0; it < items; it++) {
        int k = 0;
        while (it >= first[k + 1])
            k++;
        int64_t lo = (it - first[k]) * FP_CHUNK;
        FP_NAME(pointwise_chunk)(&a[k], lo, FP_MIN(FP_CHUNK, a[k].n - lo), a[k].loss_sum ? part + it : NULL);
    }
    for (int k = 0; k < count; k++)
        if (a[k].loss_sum)
            *a[k].loss_sum = fp_loss_parts_sum(part + first[k], first[k + 1] - first[k]);
    free(part);
    return FP_OK;
}

/* ------------------------------------------------------ class-axis losses */

typedef struct {
    const FP_T *x, *tp, *w, *alpha, *gy;
    const int64_t *t;
    FP_T *loss, *grad;
    int64_t C, S, ignore;
    double eps, W, gs, gamma, alpha_s;
    int focal, vt; /* vector term of the gradient: FP_VT_* */
} FP_NAME(ce_ctx);

#ifndef FP_VT_NONE
#define FP_VT_NONE 0   /* g = k e */
#define FP_VT_W 1      /* g = k e - c w_c           (label smoothing) */
#define FP_VT_PROB 2   /* g = k e - c w_c t'_c      (probability targets) */
#endif

/* Is y a class to use? Invalid labels never reach here through the binding
 * (fp_class_target_check runs first); they are skipped, never dereferenced. */
FP_INLINE int FP_NAME(valid_label)(const FP_NAME(ce_ctx) *cx, int64_t y)
{
    return y != cx->ignore && y >= 0 && y < cx->C;
}

/* Loss of one sample from its softmax statistics (max m, se = sum exp(x - m),
 * gap = sum v_c (m - x_c), A = sum v_c) and the gradient coefficients.
 * Everything in double: this runs once per sample, not per element. */
FP_INLINE double FP_NAME(ce_sample)(const FP_NAME(ce_ctx) *cx, int64_t y, double m, double se, double xy,
                                    double gap, double A, double s, FP_T *k, FP_T *b, FP_T *c)
{
    double lse_m = log(se); /* logsumexp - m */
    double C = (double)cx->C;
    if (cx->focal) {
        /* L = -alpha_t (1 - p)^g log p, p = softmax_y;
         * dL/dlogp = -alpha_t [(1 - p)^g - g (1 - p)^(g-1) p log p] */
        double lp = (xy - m) - lse_m;
        double p = exp(lp), omp = -expm1(lp);
        double at = cx->alpha ? (double)cx->alpha[y] : cx->alpha_s;
        double g = cx->gamma;
        /* (1 - p)^(g-1) is only needed where 1 - p > 0; g == 2 skips pow() */
        double pg = g == 2 ? omp * omp : pow(omp, g);
        double pg1 = g == 2 ? omp : (omp > 0 && g != 0 ? pg / omp : 0.0);
        double d1 = (omp > 0 && g != 0) ? g * pg1 * p * lp : 0.0;
        double D = -at * (pg - d1);
        *k = (FP_T)(-s * D / se);
        *b = (FP_T)(-s * D);
        *c = 0;
        return -at * pg * lp;
    }
    if (cx->tp) {
        *k = (FP_T)(s * A / se);
        *b = 0;
        *c = (FP_T)s;
        return gap + A * lse_m;
    }
    double wy = cx->w ? (double)cx->w[y] : 1.0, e = cx->eps;
    *k = (FP_T)(s * ((1 - e) * wy + e * cx->W / C) / se);
    *b = (FP_T)(s * (1 - e) * wy);
    *c = (FP_T)(s * e / C);
    double L = (1 - e) * wy * ((m - xy) + lse_m);
    if (e > 0)
        L += e / C * (gap + cx->W * lse_m);
    return L;
}

/* ---- S == 1: rows of C contiguous logits (row_max, row_expsum: fp_vec.h) */

FP_INLINE FP_T FP_NAME(lanes_total)(FP_T *acc)
{
    for (int w = FP_LOSS_LANES / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; j++)
            acc[j] += acc[j + w];
    return acc[0];
}

/* gap = sum_c v_c (m - x_c) and A = sum_c v_c, with v_c = w_c (or 1) when
 * t == NULL, else w_c (or 1) * ((1 - eps) t_c + eps / C). Sums of
 * non-negative terms when v >= 0: no cancellation against a large
 * logsumexp. One loop per variant: a conditional load would not vectorize. */
#define FP_ROW_GAP(V)                                                                           \
    for (; i + FP_LOSS_LANES <= C; i += FP_LOSS_LANES)                                          \
        for (int j = 0; j < FP_LOSS_LANES; j++) {                                               \
            int64_t c = i + j;                                                                  \
            FP_T v = V;                                                                         \
            ag[j] += v * (m - x[c]);                                                            \
            aa[j] += v;                                                                         \
        }                                                                                       \
    for (int j = 0; i < C; i++, j++) {                                                          \
        int64_t c = i;                                                                          \
        FP_T v = V;                                                                             \
        ag[j] += v * (m - x[c]);                                                                \
        aa[j] += v;                                                                             \
    }

FP_INLINE void FP_NAME(row_gap)(const FP_T *x, FP_T m, const FP_T *w, const FP_T *t, FP_T omeps, FP_T epsc,
                                int64_t C, double *gap, double *A)
{
    FP_T ag[FP_LOSS_LANES] = {0}, aa[FP_LOSS_LANES] = {0};
    int64_t i = 0;
    if (t && w) {
        FP_ROW_GAP(w[c] * (omeps * t[c] + epsc))
    } else if (t) {
        FP_ROW_GAP(omeps * t[c] + epsc)
    } else if (w) {
        FP_ROW_GAP(w[c])
    } else {
        FP_ROW_GAP((FP_T)1)
    }
    *gap = FP_NAME(lanes_total)(ag);
    *A = FP_NAME(lanes_total)(aa);
}
#undef FP_ROW_GAP

FP_INLINE void FP_NAME(row_grad)(FP_T *g, const FP_NAME(ce_ctx) *cx, const FP_T *t, FP_T k, FP_T c)
{
    int64_t C = cx->C;
    if (cx->vt == FP_VT_NONE) {
        for (int64_t i = 0; i < C; i++)
            g[i] *= k;
        return;
    }
    const FP_T *w = cx->w;
    FP_T omeps = (FP_T)(1 - cx->eps), epsc = (FP_T)(cx->eps / (double)C);
    if (cx->vt == FP_VT_W) {
        if (w)
            for (int64_t i = 0; i < C; i++)
                g[i] = k * g[i] - c * w[i];
        else
            for (int64_t i = 0; i < C; i++)
                g[i] = k * g[i] - c;
    } else {
        if (w)
            for (int64_t i = 0; i < C; i++)
                g[i] = k * g[i] - c * (w[i] * (omeps * t[i] + epsc));
        else
            for (int64_t i = 0; i < C; i++)
                g[i] = k * g[i] - c * (omeps * t[i] + epsc);
    }
}

FP_CLONES static void FP_NAME(ce_rows)(const FP_NAME(ce_ctx) *cx, int64_t r0, int64_t nr, double *part)
{
    int64_t C = cx->C;
    FP_T omeps = (FP_T)(1 - cx->eps), epsc = (FP_T)(cx->eps / (double)C);
    int need_gap = cx->tp || (!cx->focal && cx->eps > 0);
    double acc = 0.0;
    for (int64_t r = r0; r < r0 + nr; r++) {
        const FP_T *xr = cx->x + r * C;
        FP_T *gr = cx->grad ? cx->grad + r * C : NULL;
        const FP_T *tr = cx->tp ? cx->tp + r * C : NULL;
        int64_t y = cx->t ? cx->t[r] : -1;
        if (cx->t && !FP_NAME(valid_label)(cx, y)) {
            if (gr)
                memset(gr, 0, (size_t)C * sizeof(FP_T));
            if (cx->loss)
                cx->loss[r] = 0;
            continue;
        }
        int over = (r + 1) * C + FP_VL <= (r0 + nr) * C; /* xr may be read past the row */
        FP_T m = FP_NAME(row_max)(xr, C, over);
        FP_T se = FP_NAME(row_expsum)(xr, gr, C, m, over);
        double gap = 0.0, A = 0.0;
        if (need_gap)
            FP_NAME(row_gap)(xr, m, cx->w, tr, omeps, epsc, C, &gap, &A);
        double s = cx->gs * (cx->gy ? (double)cx->gy[r] : 1.0);
        FP_T k, b, c;
        double L = FP_NAME(ce_sample)(cx, y, m, se, y >= 0 ? xr[y] : 0, gap, A, s, &k, &b, &c);
        if (cx->loss)
            cx->loss[r] = (FP_T)L;
        acc += L;
        if (gr) {
            FP_NAME(row_grad)(gr, cx, tr, k, c);
            if (y >= 0)
                gr[y] -= b;
        }
    }
    if (part)
        *part = acc;
}

/* ---- S > 1: a tile of ts spatial positions of one sample; every class
 * row of the tile is ts contiguous elements, the vectorized dimension. */

FP_CLONES static void FP_NAME(ce_tile)(const FP_NAME(ce_ctx) *cx, int64_t n, int64_t s0, int64_t ts,
                                       double *part)
{
    const int64_t C = cx->C, S = cx->S;
    const int64_t base = n * C * S + s0, sbase = n * S + s0;
    const FP_T *xt = cx->x + base;
    FP_T *gt = cx->grad ? cx->grad + base : NULL;
    const FP_T *tt = cx->tp ? cx->tp + base : NULL;
    const int64_t *yt = cx->t ? cx->t + sbase : NULL;
    const FP_T *w = cx->w;
    const FP_T omeps = (FP_T)(1 - cx->eps), epsc = (FP_T)(cx->eps / (double)C);
    FP_T m[FP_LOSS_TILE_MAX], se[FP_LOSS_TILE_MAX], gap[FP_LOSS_TILE_MAX], A[FP_LOSS_TILE_MAX];
    FP_T k[FP_LOSS_TILE_MAX], bb[FP_LOSS_TILE_MAX], cc[FP_LOSS_TILE_MAX];
    for (int64_t s = 0; s < ts; s++) {
        m[s] = -(FP_T)__builtin_inf();
        se[s] = gap[s] = A[s] = 0;
    }
    for (int64_t c = 0; c < C; c++) {
        const FP_T *xc = xt + c * S;
        for (int64_t s = 0; s < ts; s++)
            m[s] = xc[s] > m[s] ? xc[s] : m[s];
    }
    for (int64_t c = 0; c < C; c++) {
        const FP_T *xc = xt + c * S;
        if (gt) {
            FP_T *gc = gt + c * S;
            for (int64_t s = 0; s < ts; s++) {
                FP_T v = fp_exp_nonpos(xc[s] - m[s]);
                gc[s] = v;
                se[s] += v;
            }
        } else {
            for (int64_t s = 0; s < ts; s++)
                se[s] += fp_exp_nonpos(xc[s] - m[s]);
        }
    }
    if (tt) {
        for (int64_t c = 0; c < C; c++) {
            const FP_T *xc = xt + c * S, *tc = tt + c * S;
            FP_T wc = w ? w[c] : (FP_T)1;
            for (int64_t s = 0; s < ts; s++) {
                FP_T v = wc * (omeps * tc[s] + epsc);
                gap[s] += v * (m[s] - xc[s]);
                A[s] += v;
            }
        }
    } else if (!cx->focal && cx->eps > 0) {
        for (int64_t c = 0; c < C; c++) {
            const FP_T *xc = xt + c * S;
            FP_T wc = w ? w[c] : (FP_T)1;
            for (int64_t s = 0; s < ts; s++)
                gap[s] += wc * (m[s] - xc[s]);
        }
    }
    double acc = 0.0;
    for (int64_t s = 0; s < ts; s++) {
        int64_t y = yt ? yt[s] : -1;
        if (yt && !FP_NAME(valid_label)(cx, y)) {
            k[s] = bb[s] = cc[s] = 0;
            if (cx->loss)
                cx->loss[sbase + s] = 0;
            continue;
        }
        double sc = cx->gs * (cx->gy ? (double)cx->gy[sbase + s] : 1.0);
        double L = FP_NAME(ce_sample)(cx, y, m[s], se[s], y >= 0 ? xt[y * S + s] : 0, gap[s], A[s], sc,
                                      &k[s], &bb[s], &cc[s]);
        if (cx->loss)
            cx->loss[sbase + s] = (FP_T)L;
        acc += L;
    }
    if (gt) {
        for (int64_t c = 0; c < C; c++) {
            FP_T *gc = gt + c * S;
            FP_T wc = w ? w[c] : (FP_T)1;
            if (cx->vt == FP_VT_NONE) {
                for (int64_t s = 0; s < ts; s++)
                    gc[s] *= k[s];
            } else if (cx->vt == FP_VT_W) {
                for (int64_t s = 0; s < ts; s++)
                    gc[s] = k[s] * gc[s] - cc[s] * wc;
            } else {
                const FP_T *tc = tt + c * S;
                for (int64_t s = 0; s < ts; s++)
                    gc[s] = k[s] * gc[s] - cc[s] * (wc * (omeps * tc[s] + epsc));
            }
        }
        if (yt)
            for (int64_t s = 0; s < ts; s++) {
                int64_t y = yt[s];
                if (FP_NAME(valid_label)(cx, y))
                    gt[y * S + s] -= bb[s];
                else
                    for (int64_t c = 0; c < C; c++)
                        gt[c * S + s] = 0;
            }
    }
    if (part)
        *part = acc;
}

int FP_NAME(cross_entropy_fused)(const fp_class_loss_args *a, int n_threads)
{
    const int64_t N = a->N, C = a->C, S = a->S;
    if (a->loss_sum)
        *a->loss_sum = 0.0;
    if (C <= 0 || (a->target == NULL) == (a->target_prob == NULL) || (a->focal && !a->target))
        return FP_ERR_VALUE;
    if (N <= 0 || S <= 0)
        return FP_OK;
    FP_NAME(ce_ctx) cx = {
        .x = a->x, .tp = a->target_prob, .w = a->weight, .alpha = a->alpha, .gy = a->grad_out,
        .t = a->target, .loss = a->loss, .grad = a->grad, .C = C, .S = S, .ignore = a->ignore_index,
        .eps = a->label_smoothing, .gs = a->grad_scale, .gamma = a->gamma, .alpha_s = a->alpha_scalar,
        .focal = a->focal,
    };
    double W = (double)C;
    if (cx.w) {
        W = 0.0;
        for (int64_t c = 0; c < C; c++)
            W += (double)cx.w[c];
    }
    cx.W = W;
    cx.vt = cx.focal ? FP_VT_NONE : (cx.tp ? FP_VT_PROB : (cx.eps > 0 ? FP_VT_W : FP_VT_NONE));

    /* Work items depend only on the shape, never on the thread count. */
    int64_t rows = 1, ts = 1, tiles = 1, items;
    if (S == 1) {
        rows = FP_MAX((int64_t)1, FP_LOSS_TILE_ELEMS / C);
        items = (N + rows - 1) / rows;
    } else {
        ts = FP_MIN((int64_t)FP_LOSS_TILE_MAX, FP_MAX((int64_t)16, (FP_LOSS_TILE_ELEMS / C) & ~(int64_t)15));
        ts = FP_MIN(ts, S);
        tiles = (S + ts - 1) / ts;
        items = N * tiles;
    }
    double *part = NULL;
    if (a->loss_sum && !(part = malloc((size_t)items * sizeof *part)))
        return FP_ERR_NOMEM;
    int nt = fp_threads_for(N * C * S, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t it = 0; it < items; it++) {
        double *p = part ? part + it : NULL;
        if (S == 1) {
            int64_t r0 = it * rows;
            FP_NAME(ce_rows)(&cx, r0, FP_MIN(rows, N - r0), p);
        } else {
            int64_t n = it / tiles, s0 = (it % tiles) * ts;
            FP_NAME(ce_tile)(&cx, n, s0, FP_MIN(ts, S - s0), p);
        }
    }
    if (part) {
        *a->loss_sum = fp_loss_parts_sum(part, items);
        free(part);
    }
    return FP_OK;
}

/* Zero the gradient entries (n, :, s) of samples i = n S + s in [i0, i1). */
static void FP_NAME(nll_zero)(FP_T *grad, int64_t C, int64_t S, int64_t i0, int64_t i1)
{
    for (int64_t n = i0 / S; n * S < i1; n++) {
        int64_t sa = FP_MAX(i0, n * S) - n * S, sb = FP_MIN(i1, (n + 1) * S) - n * S;
        FP_T *g = grad + n * C * S;
        if (sa == 0 && sb == S)
            memset(g, 0, (size_t)(C * S) * sizeof(FP_T));
        else
            for (int64_t c = 0; c < C; c++)
                memset(g + c * S + sa, 0, (size_t)(sb - sa) * sizeof(FP_T));
    }
}

/* nll: loss = -w_y x[n, y, s]; the gradient is zero but at the target. Each
 * chunk of samples zeroes and then fills its own gradient entries, so one
 * parallel region does both. */
int FP_NAME(nll_loss_fused)(const fp_class_loss_args *a, int n_threads)
{
    const int64_t N = a->N, C = a->C, S = a->S, ns = N * S;
    if (a->loss_sum)
        *a->loss_sum = 0.0;
    if (C <= 0 || !a->target)
        return FP_ERR_VALUE;
    if (ns <= 0)
        return FP_OK;
    const FP_T *x = a->x, *w = a->weight, *gy = a->grad_out;
    const int64_t *t = a->target;
    FP_T *loss = a->loss, *grad = a->grad;
    const double gs = a->grad_scale;
    const int64_t ig = a->ignore_index;
    /* samples per chunk: about FP_CHUNK gradient elements, fixed by the shape
     * alone (so the loss sums alike with and without the gradient) */
    const int64_t per = FP_MAX((int64_t)1, FP_CHUNK / C);
    int64_t nchunks = (ns + per - 1) / per;
    double *part = NULL;
    if (a->loss_sum && !(part = malloc((size_t)nchunks * sizeof *part)))
        return FP_ERR_NOMEM;
    int nt = fp_threads_for(grad ? ns * C : ns, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < nchunks; c++) {
        double acc = 0.0;
        int64_t lo = c * per, hi = FP_MIN(ns, lo + per);
        if (grad)
            FP_NAME(nll_zero)(grad, C, S, lo, hi);
        for (int64_t i = lo; i < hi; i++) {
            int64_t y = t[i];
            if (y == ig || y < 0 || y >= C) {
                if (loss)
                    loss[i] = 0;
                continue;
            }
            int64_t idx = ((i / S) * C + y) * S + i % S;
            FP_T wy = w ? w[y] : (FP_T)1;
            FP_T L = -wy * x[idx];
            if (loss)
                loss[i] = L;
            acc += (double)L;
            if (grad)
                grad[idx] = (FP_T)(-(double)wy * gs * (gy ? (double)gy[i] : 1.0));
        }
        if (part)
            part[c] = acc;
    }
    if (part) {
        *a->loss_sum = fp_loss_parts_sum(part, nchunks);
        free(part);
    }
    return FP_OK;
}

int FP_NAME(class_target_check)(const fp_class_loss_args *a, double *weight_sum, int64_t *count,
                                 int64_t *bad_value)
{
    const int64_t n = a->N * a->S, C = a->C, ig = a->ignore_index;
    const int64_t *t = a->target;
    const FP_T *w = a->weight;
    double ws = 0.0;
    int64_t cnt = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t y = t[i];
        if (y == ig)
            continue;
        if (y < 0 || y >= C) {
            *bad_value = y;
            return FP_ERR_INDEX;
        }
        ws += w ? (double)w[y] : 1.0;
        cnt++;
    }
    *weight_sum = ws;
    *count = cnt;
    return FP_OK;
}
