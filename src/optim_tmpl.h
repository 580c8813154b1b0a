/* Body of optim.c, included once per dtype (FP_T, FP_S).
 *
 * Each step kernel has an always-inline element loop whose switches (weight
 * decay on/off, amsgrad, ...) are compile-time constants at every call site
 * in the FP_CLONES chunk function: each combination becomes its own
 * branch-free vector loop. Where torch skips an operation when a
 * hyperparameter is zero (weight_decay == 0), we skip it too instead of
 * adding 0 * p, which would turn an infinite parameter into NaN.
 */

/* Runs BODY for every FP_CHUNK-sized chunk [LO, LO + LEN) of n elements,
 * parallel when n is large. Chunks are handed out dynamically: on a shared
 * machine a descheduled thread does not hold the step back, and elementwise
 * results and per-chunk partial sums do not depend on who runs a chunk. */
#ifndef FP_OPTIM_FOR_CHUNKS
#define FP_OPTIM_FOR_CHUNKS(n, n_threads, LO, LEN, ...)                                            \
    do {                                                                                           \
        int64_t nchunks_ = ((n) + FP_CHUNK - 1) / FP_CHUNK;                                        \
        int nt_ = fp_threads_for((n), (n_threads));                                                \
        _Pragma("omp parallel for num_threads(nt_) schedule(dynamic, 4)")                          \
        for (int64_t c_ = 0; c_ < nchunks_; c_++) {                                                \
            int64_t LO = c_ * FP_CHUNK, LEN = FP_MIN(FP_CHUNK, (n) - LO);                          \
            __VA_ARGS__;                                                                           \
        }                                                                                          \
    } while (0)
#endif

/* torch.lerp: self + w * (end - self) for w < 0.5, else end - (end - self) * (1 - w). */
FP_INLINE FP_T FP_NAME(lerp)(FP_T self, FP_T end, FP_T w, FP_T one_minus_w, const int high)
{
    return high ? end - (end - self) * one_minus_w : self + w * (end - self);
}

/* ---------------------------------------------------------------- SGD */

FP_INLINE void FP_NAME(sgd_body)(FP_T *FP_RESTRICT p, const FP_T *FP_RESTRICT g, FP_T *FP_RESTRICT buf,
                                 int64_t n, FP_T sign, FP_T neg_lr, FP_T mom, FP_T one_minus_damp,
                                 FP_T wd, const int has_wd, const int has_mom, const int first,
                                 const int nesterov)
{
    for (int64_t i = 0; i < n; i++) {
        FP_T d = g[i] * sign;
        if (has_wd)
            d = d + wd * p[i];
        if (has_mom) {
            FP_T b = first ? d : buf[i] * mom + one_minus_damp * d;
            buf[i] = b;
            d = nesterov ? d + mom * b : b;
        }
        p[i] = p[i] + neg_lr * d;
    }
}

FP_CLONES static void FP_NAME(sgd_chunk)(FP_T *FP_RESTRICT p, const FP_T *FP_RESTRICT g, FP_T *FP_RESTRICT buf,
                                         int64_t n, FP_T sign, FP_T neg_lr, FP_T mom, FP_T omd, FP_T wd,
                                         int has_wd, int has_mom, int first, int nesterov)
{
#define FP_SGD_(W, M, F, N) FP_NAME(sgd_body)(p, g, buf, n, sign, neg_lr, mom, omd, wd, W, M, F, N)
#define FP_SGD_W_(W)                                                                               \
    do {                                                                                           \
        if (!has_mom) FP_SGD_(W, 0, 0, 0);                                                         \
        else if (first) { if (nesterov) FP_SGD_(W, 1, 1, 1); else FP_SGD_(W, 1, 1, 0); }           \
        else { if (nesterov) FP_SGD_(W, 1, 0, 1); else FP_SGD_(W, 1, 0, 0); }                      \
    } while (0)
    if (has_wd) FP_SGD_W_(1);
    else FP_SGD_W_(0);
#undef FP_SGD_W_
#undef FP_SGD_
}

int FP_NAME(sgd_step)(FP_T *p, const FP_T *g, FP_T *buf, int64_t n, double lr, double momentum,
                      double dampening, double weight_decay, int flags, int n_threads)
{
    int has_mom = momentum != 0.0;
    if (n < 0 || (has_mom && buf == NULL))
        return FP_ERR_VALUE;
    FP_T sign = (flags & FP_OPT_MAXIMIZE) ? (FP_T)-1 : (FP_T)1;
    int has_wd = weight_decay != 0.0, first = (flags & FP_OPT_FIRST) != 0, nest = (flags & FP_OPT_NESTEROV) != 0;
    FP_OPTIM_FOR_CHUNKS(n, n_threads, lo, len,
        FP_NAME(sgd_chunk)(p + lo, g + lo, has_mom ? buf + lo : NULL, len, sign,
                           (FP_T)(-lr), (FP_T)momentum, (FP_T)(1.0 - dampening), (FP_T)weight_decay,
                           has_wd, has_mom, first, nest));
    return FP_OK;
}

/* ---------------------------------------------------------------- Adagrad */

FP_INLINE void FP_NAME(adagrad_body)(FP_T *FP_RESTRICT p, const FP_T *FP_RESTRICT g, FP_T *FP_RESTRICT sum,
                                     int64_t n, FP_T sign, FP_T neg_clr, FP_T wd, FP_T eps, const int has_wd)
{
    for (int64_t i = 0; i < n; i++) {
        FP_T d = g[i] * sign;
        if (has_wd)
            d = d + wd * p[i];
        FP_T s = sum[i] + d * d;
        sum[i] = s;
        p[i] = p[i] + neg_clr * (d / (FP_SQRT(s) + eps));
    }
}

FP_CLONES static void FP_NAME(adagrad_chunk)(FP_T *FP_RESTRICT p, const FP_T *FP_RESTRICT g,
                                             FP_T *FP_RESTRICT sum, int64_t n, FP_T sign, FP_T neg_clr,
                                             FP_T wd, FP_T eps, int has_wd)
{
    if (has_wd) FP_NAME(adagrad_body)(p, g, sum, n, sign, neg_clr, wd, eps, 1);
    else FP_NAME(adagrad_body)(p, g, sum, n, sign, neg_clr, wd, eps, 0);
}

int FP_NAME(adagrad_step)(FP_T *p, const FP_T *g, FP_T *sum, int64_t n, double clr, double weight_decay,
                          double eps, int flags, int n_threads)
{
    if (n < 0)
        return FP_ERR_VALUE;
    FP_T sign = (flags & FP_OPT_MAXIMIZE) ? (FP_T)-1 : (FP_T)1;
    FP_OPTIM_FOR_CHUNKS(n, n_threads, lo, len,
        FP_NAME(adagrad_chunk)(p + lo, g + lo, sum + lo, len, sign, (FP_T)(-clr),
                               (FP_T)weight_decay, (FP_T)eps, weight_decay != 0.0));
    return FP_OK;
}

/* ---------------------------------------------------------------- RMSprop */

/* centered: 0 = no, 1 = lerp weight < 0.5, 2 = lerp weight >= 0.5 */
FP_INLINE void FP_NAME(rmsprop_body)(FP_T *FP_RESTRICT p, const FP_T *FP_RESTRICT g, FP_T *FP_RESTRICT sq,
                                     FP_T *FP_RESTRICT ga, FP_T *FP_RESTRICT mb, int64_t n, FP_T sign,
                                     FP_T neg_lr, FP_T alpha, FP_T one_minus_alpha, FP_T eps, FP_T wd,
                                     FP_T mom, const int has_wd, const int centered, const int has_mom)
{
    for (int64_t i = 0; i < n; i++) {
        FP_T d = g[i] * sign;
        if (has_wd)
            d = d + wd * p[i];
        FP_T s = sq[i] * alpha + one_minus_alpha * d * d;
        sq[i] = s;
        FP_T avg;
        if (centered) {
            FP_T a = FP_NAME(lerp)(ga[i], d, one_minus_alpha, alpha, centered == 2);
            ga[i] = a;
            avg = FP_SQRT(s + (FP_T)-1 * a * a);
        } else {
            avg = FP_SQRT(s);
        }
        avg = avg + eps;
        if (has_mom) {
            FP_T b = mb[i] * mom + d / avg;
            mb[i] = b;
            p[i] = p[i] + neg_lr * b;
        } else {
            p[i] = p[i] + neg_lr * (d / avg);
        }
    }
}

FP_CLONES static void FP_NAME(rmsprop_chunk)(FP_T *FP_RESTRICT p, const FP_T *FP_RESTRICT g, FP_T *FP_RESTRICT sq,
                                             FP_T *FP_RESTRICT ga, FP_T *FP_RESTRICT mb, int64_t n, FP_T sign,
                                             FP_T neg_lr, FP_T alpha, FP_T oma, FP_T eps, FP_T wd, FP_T mom,
                                             int has_wd, int centered, int has_mom)
{
#define FP_RMS_(W, C, M) FP_NAME(rmsprop_body)(p, g, sq, ga, mb, n, sign, neg_lr, alpha, oma, eps, wd, mom, W, C, M)
#define FP_RMS_W_(W)                                                                               \
    do {                                                                                           \
        if (centered == 0) { if (has_mom) FP_RMS_(W, 0, 1); else FP_RMS_(W, 0, 0); }               \
        else if (centered == 1) { if (has_mom) FP_RMS_(W, 1, 1); else FP_RMS_(W, 1, 0); }          \
        else { if (has_mom) FP_RMS_(W, 2, 1); else FP_RMS_(W, 2, 0); }                             \
    } while (0)
    if (has_wd) FP_RMS_W_(1);
    else FP_RMS_W_(0);
#undef FP_RMS_W_
#undef FP_RMS_
}

int FP_NAME(rmsprop_step)(FP_T *p, const FP_T *g, FP_T *square_avg, FP_T *grad_avg, FP_T *momentum_buf,
                          int64_t n, double lr, double alpha, double eps, double weight_decay,
                          double momentum, int flags, int n_threads)
{
    int centered = 0, has_mom = momentum > 0.0;
    if (flags & FP_OPT_CENTERED)
        centered = (1.0 - alpha) < 0.5 ? 1 : 2;
    if (n < 0 || (centered && grad_avg == NULL) || (has_mom && momentum_buf == NULL))
        return FP_ERR_VALUE;
    FP_T sign = (flags & FP_OPT_MAXIMIZE) ? (FP_T)-1 : (FP_T)1;
    FP_OPTIM_FOR_CHUNKS(n, n_threads, lo, len,
        FP_NAME(rmsprop_chunk)(p + lo, g + lo, square_avg + lo, centered ? grad_avg + lo : NULL,
                               has_mom ? momentum_buf + lo : NULL, len, sign,
                               (FP_T)(-lr), (FP_T)alpha, (FP_T)(1.0 - alpha), (FP_T)eps,
                               (FP_T)weight_decay, (FP_T)momentum, weight_decay != 0.0, centered, has_mom));
    return FP_OK;
}

/* ---------------------------------------------------------------- Adam / AdamW */

/* torch's single-tensor Adam in its order:
 *   g' = grad (+ wd * p unless decoupled);  p *= 1 - lr * wd if decoupled
 *   m  = lerp(m, g', 1 - beta1);  v = v * beta2 + (1 - beta2) * g' * g'
 *   vmax = max(vmax, v) (amsgrad)
 *   p += -step_size * (m / (sqrt(v or vmax) / sqrt(bias_correction2) + eps)) */
FP_INLINE void FP_NAME(adam_body)(FP_T *FP_RESTRICT p, const FP_T *FP_RESTRICT g, FP_T *FP_RESTRICT m,
                                  FP_T *FP_RESTRICT v, FP_T *FP_RESTRICT vmax, int64_t n, FP_T sign,
                                  FP_T decay, FP_T wd, FP_T w1, FP_T beta1, FP_T beta2, FP_T one_minus_beta2,
                                  FP_T eps, FP_T neg_step, FP_T bc2s, const int coupled_wd, const int amsgrad,
                                  const int high)
{
    for (int64_t i = 0; i < n; i++) {
        FP_T pi = p[i];
        FP_T d = g[i] * sign;
        if (coupled_wd)
            d = d + wd * pi;
        else
            pi = pi * decay;
        FP_T mi = FP_NAME(lerp)(m[i], d, w1, beta1, high);
        m[i] = mi;
        FP_T vi = v[i] * beta2 + one_minus_beta2 * d * d;
        v[i] = vi;
        if (amsgrad) {
            FP_T vm = vmax[i];
            /* torch.maximum propagates NaN from either side */
            vm = (vm != vm || vi != vi) ? vm + vi : (vm > vi ? vm : vi);
            vmax[i] = vm;
            vi = vm;
        }
        p[i] = pi + neg_step * (mi / (FP_SQRT(vi) / bc2s + eps));
    }
}

FP_CLONES static void FP_NAME(adam_chunk)(FP_T *FP_RESTRICT p, const FP_T *FP_RESTRICT g, FP_T *FP_RESTRICT m,
                                          FP_T *FP_RESTRICT v, FP_T *FP_RESTRICT vmax, int64_t n, FP_T sign,
                                          FP_T decay, FP_T wd, FP_T w1, FP_T beta1, FP_T beta2, FP_T omb2,
                                          FP_T eps, FP_T neg_step, FP_T bc2s, int coupled_wd, int amsgrad,
                                          int high)
{
#define FP_ADAM_(C, A, H) \
    FP_NAME(adam_body)(p, g, m, v, vmax, n, sign, decay, wd, w1, beta1, beta2, omb2, eps, neg_step, bc2s, C, A, H)
#define FP_ADAM_C_(C)                                                                              \
    do {                                                                                           \
        if (amsgrad) { if (high) FP_ADAM_(C, 1, 1); else FP_ADAM_(C, 1, 0); }                      \
        else { if (high) FP_ADAM_(C, 0, 1); else FP_ADAM_(C, 0, 0); }                              \
    } while (0)
    if (coupled_wd) FP_ADAM_C_(1);
    else FP_ADAM_C_(0);
#undef FP_ADAM_C_
#undef FP_ADAM_
}

int FP_NAME(adam_step)(FP_T *p, const FP_T *g, FP_T *exp_avg, FP_T *exp_avg_sq, FP_T *max_exp_avg_sq,
                       int64_t n, double lr, double beta1, double beta2, double eps, double weight_decay,
                       double step_size, double bias_correction2_sqrt, int flags, int n_threads)
{
    int amsgrad = max_exp_avg_sq != NULL;
    if (n < 0)
        return FP_ERR_VALUE;
    int decoupled = (flags & FP_OPT_DECOUPLED) != 0;
    int coupled_wd = !decoupled && weight_decay != 0.0;
    /* AdamW multiplies by 1 - lr*wd; with wd == 0 (or plain Adam) by exactly 1. */
    FP_T decay = decoupled ? (FP_T)(1.0 - lr * weight_decay) : (FP_T)1;
    FP_T sign = (flags & FP_OPT_MAXIMIZE) ? (FP_T)-1 : (FP_T)1;
    int high = (1.0 - beta1) >= 0.5;
    FP_OPTIM_FOR_CHUNKS(n, n_threads, lo, len,
        FP_NAME(adam_chunk)(p + lo, g + lo, exp_avg + lo, exp_avg_sq + lo,
                            amsgrad ? max_exp_avg_sq + lo : NULL, len, sign, decay,
                            (FP_T)weight_decay, (FP_T)(1.0 - beta1), (FP_T)beta1, (FP_T)beta2,
                            (FP_T)(1.0 - beta2), (FP_T)eps, (FP_T)(-step_size),
                            (FP_T)bias_correction2_sqrt, coupled_wd, amsgrad, high));
    return FP_OK;
}

/* ---------------------------------------------------------------- penalties, norms, clipping */

/* sign(x) as torch.sign: -1, 0 or 1, NaN for NaN */
FP_INLINE FP_T FP_NAME(sign)(FP_T x)
{
    return x > 0 ? (FP_T)1 : (x < 0 ? (FP_T)-1 : x * (FP_T)0);
}

/* Strict-IEEE sums do not vectorize (no reassociation without -ffast-math), so
 * sums keep FP_LANES independent partial sums, combined in a fixed order at the
 * end: vectorizable, and the same result for the same chunk on any thread. */
#define FP_LANES 16

/* sum |x| and sum x^2 of n elements, in double */
FP_INLINE void FP_NAME(abs_sq_sums)(const FP_T *FP_RESTRICT x, int64_t n, double *abs_sum, double *sq_sum)
{
    double sa[FP_LANES] = {0}, ss[FP_LANES] = {0};
    int64_t nb = n - n % FP_LANES;
    for (int64_t i = 0; i < nb; i += FP_LANES)
        for (int j = 0; j < FP_LANES; j++) {
            double v = (double)x[i + j];
            sa[j] += fabs(v);
            ss[j] += v * v;
        }
    for (int64_t i = nb; i < n; i++) {
        double v = (double)x[i];
        sa[i - nb] += fabs(v);
        ss[i - nb] += v * v;
    }
    double ta = 0.0, ts = 0.0;
    for (int j = 0; j < FP_LANES; j++) {
        ta += sa[j];
        ts += ss[j];
    }
    *abs_sum = ta;
    *sq_sum = ts;
}

/* Adds l1 * sign(p) + l2 * p to g (when g != NULL); returns sum|p| and sum p^2 of the chunk. */
FP_CLONES static void FP_NAME(penalty_chunk)(const FP_T *FP_RESTRICT p, FP_T *FP_RESTRICT g, int64_t n,
                                             FP_T l1, FP_T l2, int use_l1, int use_l2, double *abs_sum,
                                             double *sq_sum)
{
    FP_NAME(abs_sq_sums)(p, n, abs_sum, sq_sum);
    if (g != NULL) {
        if (use_l1 && use_l2)
            for (int64_t i = 0; i < n; i++)
                g[i] = g[i] + (l1 * FP_NAME(sign)(p[i]) + l2 * p[i]);
        else if (use_l1)
            for (int64_t i = 0; i < n; i++)
                g[i] = g[i] + l1 * FP_NAME(sign)(p[i]);
        else if (use_l2)
            for (int64_t i = 0; i < n; i++)
                g[i] = g[i] + l2 * p[i];
    }
}

int FP_NAME(penalty_step)(const FP_T *p, FP_T *g, int64_t n, double l1, double l2, double *penalty,
                          int n_threads)
{
    if (n < 0 || penalty == NULL)
        return FP_ERR_VALUE;
    int64_t nchunks = (n + FP_CHUNK - 1) / FP_CHUNK;
    double *part = (double *)malloc((size_t)FP_MAX(nchunks, 1) * 2 * sizeof(double));
    if (part == NULL)
        return FP_ERR_NOMEM;
    FP_OPTIM_FOR_CHUNKS(n, n_threads, lo, len,
        FP_NAME(penalty_chunk)(p + lo, g ? g + lo : NULL, len, (FP_T)l1, (FP_T)l2, l1 != 0.0, l2 != 0.0,
                               &part[2 * (lo / FP_CHUNK)], &part[2 * (lo / FP_CHUNK) + 1]));
    double sa = 0.0, ss = 0.0;
    for (int64_t c = 0; c < nchunks; c++) {
        sa += part[2 * c];
        ss += part[2 * c + 1];
    }
    free(part);
    /* a zero coefficient contributes nothing even when the sum is Inf/NaN (torch skips the term) */
    *penalty = (l1 != 0.0 ? l1 * sa : 0.0) + (l2 != 0.0 ? 0.5 * l2 * ss : 0.0);
    return FP_OK;
}

FP_CLONES static double FP_NAME(norm_chunk)(const FP_T *FP_RESTRICT x, int64_t n, int kind, double ord)
{
    double acc;
    if (kind == FP_NORM_INF || kind == FP_NORM_NEG_INF) {
        /* max/min |x|; NaN propagates (as torch.linalg.vector_norm) */
        int is_max = kind == FP_NORM_INF;
        acc = is_max ? 0.0 : INFINITY;
        int nan = 0;
        for (int64_t i = 0; i < n; i++) {
            double a = fabs((double)x[i]);
            nan |= a != a;
            acc = is_max ? (a > acc ? a : acc) : (a < acc ? a : acc);
        }
        return nan ? NAN : acc;
    }
    if (ord == 2.0 || ord == 1.0) {
        double sa, ss;
        FP_NAME(abs_sq_sums)(x, n, &sa, &ss);
        return ord == 2.0 ? ss : sa;
    }
    acc = 0.0;
    for (int64_t i = 0; i < n; i++)
        acc += pow(fabs((double)x[i]), ord);
    return acc;
}

/* kind FP_NORM_P: sum |x|^ord (ord > 0); FP_NORM_INF / NEG_INF: max / min |x|.
 * Chunk results are combined in index order: independent of the thread count. */
int FP_NAME(norm_reduce)(const FP_T *x, int64_t n, int kind, double ord, double *result, int n_threads)
{
    if (n < 0 || result == NULL)
        return FP_ERR_VALUE;
    int64_t nchunks = (n + FP_CHUNK - 1) / FP_CHUNK;
    double *part = (double *)malloc((size_t)FP_MAX(nchunks, 1) * sizeof(double));
    if (part == NULL)
        return FP_ERR_NOMEM;
    FP_OPTIM_FOR_CHUNKS(n, n_threads, lo, len, part[lo / FP_CHUNK] = FP_NAME(norm_chunk)(x + lo, len, kind, ord));
    double acc = kind == FP_NORM_NEG_INF ? INFINITY : 0.0;
    for (int64_t c = 0; c < nchunks; c++) {
        double r = part[c];
        if (kind == FP_NORM_P)
            acc += r;
        else if (r != r || acc != acc)
            acc = NAN;
        else
            acc = kind == FP_NORM_INF ? FP_MAX(acc, r) : FP_MIN(acc, r);
    }
    free(part);
    *result = acc;
    return FP_OK;
}

FP_CLONES static void FP_NAME(scale_chunk)(FP_T *FP_RESTRICT x, int64_t n, FP_T s)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] * s;
}

int FP_NAME(scale_inplace)(FP_T *x, int64_t n, double scale, int n_threads)
{
    if (n < 0)
        return FP_ERR_VALUE;
    FP_OPTIM_FOR_CHUNKS(n, n_threads, lo, len,
        FP_NAME(scale_chunk)(x + lo, len, (FP_T)scale));
    return FP_OK;
}

FP_CLONES static void FP_NAME(clamp_chunk)(FP_T *FP_RESTRICT x, int64_t n, FP_T lo, FP_T hi)
{
    /* torch.clamp keeps NaN: both comparisons are false for NaN */
    for (int64_t i = 0; i < n; i++) {
        FP_T v = x[i];
        v = v < lo ? lo : v;
        x[i] = v > hi ? hi : v;
    }
}

int FP_NAME(clamp_inplace)(FP_T *x, int64_t n, double lo, double hi, int n_threads)
{
    if (n < 0)
        return FP_ERR_VALUE;
    FP_OPTIM_FOR_CHUNKS(n, n_threads, l, len,
        FP_NAME(clamp_chunk)(x + l, len, (FP_T)lo, (FP_T)hi));
    return FP_OK;
}
