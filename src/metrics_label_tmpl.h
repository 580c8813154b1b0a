/* Label-kernel body of metrics.c, included once per label type (FP_L, FP_LS). */
#define FP_LNAME(op) FP_PASTE3(fp_##op, _, FP_LS)

/* Label kernels split the input into fixed chunks of this many samples; the
 * chunking depends only on n (and the class count), never on the threads. */
#define FP_LABEL_CHUNK ((int64_t)1 << 16)

FP_CLONES static void FP_LNAME(minmax_chunk)(const FP_L *y, int64_t n, int64_t *mn, int64_t *mx)
{
    FP_L a = y[0], b = y[0];
    for (int64_t i = 0; i < n; i++) {
        a = y[i] < a ? y[i] : a;
        b = y[i] > b ? y[i] : b;
    }
    *mn = (int64_t)a;
    *mx = (int64_t)b;
}

int FP_LNAME(label_minmax)(const FP_L *y, int64_t n, int64_t *min_out, int64_t *max_out, int n_threads)
{
    if (n <= 0)
        return FP_ERR_VALUE;
    int64_t nchunks = (n + FP_LABEL_CHUNK - 1) / FP_LABEL_CHUNK;
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    int nt = fp_threads_for(n, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static) reduction(min : mn) reduction(max : mx)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t lo = c * FP_LABEL_CHUNK, a, b;
        FP_LNAME(minmax_chunk)(y + lo, FP_MIN(FP_LABEL_CHUNK, n - lo), &a, &b);
        mn = a < mn ? a : mn;
        mx = b > mx ? b : mx;
    }
    *min_out = mn;
    *max_out = mx;
    return FP_OK;
}

int FP_LNAME(label_mark)(const FP_L *y, int64_t n, int64_t lo, int64_t range, uint8_t *present, int n_threads)
{
    int nt = fp_threads_for(n, n_threads);
    uint8_t *priv = nt > 1 ? (uint8_t *)calloc((size_t)nt * range, 1) : NULL;
    if (nt > 1 && !priv)
        nt = 1;
    memset(present, 0, range);
    if (nt == 1) {
        for (int64_t i = 0; i < n; i++) {
            uint64_t v = (uint64_t)((int64_t)y[i] - lo);
            if (v < (uint64_t)range)
                present[v] = 1;
        }
        return FP_OK;
    }
    #pragma omp parallel num_threads(nt)
    {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        uint8_t *mine = priv + (int64_t)t * range;
        #pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            uint64_t v = (uint64_t)((int64_t)y[i] - lo);
            if (v < (uint64_t)range)
                mine[v] = 1;
        }
    }
    for (int t = 0; t < nt; t++)
        for (int64_t v = 0; v < range; v++)
            present[v] |= priv[(int64_t)t * range + v];
    free(priv);
    return FP_OK;
}

FP_CLONES static void FP_LNAME(equal_chunk)(const FP_L *FP_RESTRICT y, int64_t n, int64_t value,
                                            uint8_t *FP_RESTRICT out)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = (int64_t)y[i] == value;
}

int FP_LNAME(label_equal)(const FP_L *y, int64_t n, int64_t value, uint8_t *out, int n_threads)
{
    int64_t nchunks = (n + FP_LABEL_CHUNK - 1) / FP_LABEL_CHUNK;
    int nt = fp_threads_for(n, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t lo = c * FP_LABEL_CHUNK;
        FP_LNAME(equal_chunk)(y + lo, FP_MIN(FP_LABEL_CHUNK, n - lo), value, out + lo);
    }
    return FP_OK;
}

FP_INLINE int64_t FP_LNAME(class_of)(FP_L v, const int64_t *lut, int64_t lut_lo, int64_t lut_n)
{
    uint64_t d = (uint64_t)((int64_t)v - lut_lo);
    return d < (uint64_t)lut_n ? lut[d] : -1;
}

static void FP_LNAME(confusion_chunk_count)(const FP_L *yt, const FP_L *yp, int64_t n, const int64_t *lut,
                                            int64_t lut_lo, int64_t lut_n, int64_t k, int64_t *cm)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t a = FP_LNAME(class_of)(yt[i], lut, lut_lo, lut_n);
        int64_t b = FP_LNAME(class_of)(yp[i], lut, lut_lo, lut_n);
        if ((a | b) >= 0)
            cm[a * k + b]++;
    }
}

static void FP_LNAME(confusion_chunk_weighted)(const FP_L *yt, const FP_L *yp, const double *w, int64_t n,
                                               const int64_t *lut, int64_t lut_lo, int64_t lut_n, int64_t k,
                                               double *cm)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t a = FP_LNAME(class_of)(yt[i], lut, lut_lo, lut_n);
        int64_t b = FP_LNAME(class_of)(yp[i], lut, lut_lo, lut_n);
        if ((a | b) >= 0)
            cm[a * k + b] += w[i];
    }
}

int FP_LNAME(confusion_matrix)(const FP_L *y_true, const FP_L *y_pred, const double *weights, int64_t n,
                               const int64_t *lut, int64_t lut_lo, int64_t lut_n, int64_t k, int64_t *counts,
                               double *weighted_counts, int n_threads)
{
    int64_t cells = k * k;
    /* Private bins per chunk, at most 2^22 cells in total. */
    int64_t nchunks = FP_MAX((int64_t)1, FP_MIN((n + FP_LABEL_CHUNK - 1) / FP_LABEL_CHUNK,
                                                ((int64_t)1 << 22) / FP_MAX(cells, (int64_t)1)));
    size_t esize = weights ? sizeof(double) : sizeof(int64_t);
    void *part = nchunks > 1 ? calloc((size_t)(nchunks * cells), esize) : NULL;
    if (nchunks > 1 && !part)
        return FP_ERR_NOMEM;
    int nt = fp_threads_for(n, n_threads);
    if (nchunks == 1) {
        if (weights) {
            memset(weighted_counts, 0, sizeof(double) * cells);
            FP_LNAME(confusion_chunk_weighted)(y_true, y_pred, weights, n, lut, lut_lo, lut_n, k, weighted_counts);
        } else {
            memset(counts, 0, sizeof(int64_t) * cells);
            FP_LNAME(confusion_chunk_count)(y_true, y_pred, n, lut, lut_lo, lut_n, k, counts);
        }
        return FP_OK;
    }
    #pragma omp parallel num_threads(nt)
    {
        #pragma omp for schedule(static)
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t lo = n * c / nchunks, hi = n * (c + 1) / nchunks;
            if (weights)
                FP_LNAME(confusion_chunk_weighted)(y_true + lo, y_pred + lo, weights + lo, hi - lo, lut, lut_lo,
                                                   lut_n, k, (double *)part + c * cells);
            else
                FP_LNAME(confusion_chunk_count)(y_true + lo, y_pred + lo, hi - lo, lut, lut_lo, lut_n, k,
                                                (int64_t *)part + c * cells);
        }
        /* Combine in chunk order, whatever the thread count. */
        #pragma omp for schedule(static)
        for (int64_t e = 0; e < cells; e++) {
            if (weights) {
                double s = 0;
                for (int64_t c = 0; c < nchunks; c++)
                    s += ((double *)part)[c * cells + e];
                weighted_counts[e] = s;
            } else {
                int64_t s = 0;
                for (int64_t c = 0; c < nchunks; c++)
                    s += ((int64_t *)part)[c * cells + e];
                counts[e] = s;
            }
        }
    }
    free(part);
    return FP_OK;
}

FP_CLONES static int64_t FP_LNAME(equal_count_chunk)(const FP_L *a, const FP_L *b, int64_t n)
{
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
        c += a[i] == b[i];
    return c;
}

FP_CLONES static void FP_LNAME(equal_weight_chunk)(const FP_L *a, const FP_L *b, const double *w, int64_t n,
                                                   double *hit, double *tot)
{
    double h = 0, t = 0;
    for (int64_t i = 0; i < n; i++) {
        h += a[i] == b[i] ? w[i] : 0.0;
        t += w[i];
    }
    *hit = h;
    *tot = t;
}

int FP_LNAME(accuracy)(const FP_L *y_true, const FP_L *y_pred, const double *weights, int64_t n, double *result,
                       int n_threads)
{
    int64_t nchunks = (n + FP_LABEL_CHUNK - 1) / FP_LABEL_CHUNK;
    int nt = fp_threads_for(n, n_threads);
    if (!weights) {
        int64_t hits = 0;
        #pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : hits)
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t lo = c * FP_LABEL_CHUNK;
            hits += FP_LNAME(equal_count_chunk)(y_true + lo, y_pred + lo, FP_MIN(FP_LABEL_CHUNK, n - lo));
        }
        result[0] = (double)hits;
        result[1] = (double)n;
        return FP_OK;
    }
    double *part = (double *)malloc(sizeof(double) * 2 * (nchunks + 1));
    if (!part)
        return FP_ERR_NOMEM;
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t lo = c * FP_LABEL_CHUNK;
        FP_LNAME(equal_weight_chunk)(y_true + lo, y_pred + lo, weights + lo, FP_MIN(FP_LABEL_CHUNK, n - lo),
                                     part + 2 * c, part + 2 * c + 1);
    }
    double h = 0, t = 0;
    for (int64_t c = 0; c < nchunks; c++) {
        h += part[2 * c];
        t += part[2 * c + 1];
    }
    free(part);
    result[0] = h;
    result[1] = t;
    return FP_OK;
}

#undef FP_LNAME
#undef FP_LABEL_CHUNK
