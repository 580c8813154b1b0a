/* Body of activation.c, included once per dtype (FP_T, FP_S). */

FP_CLONES static void FP_NAME(relu_chunk)(const FP_T *FP_RESTRICT x, FP_T *FP_RESTRICT y, int64_t n)
{
    /* x > 0 ? x : 0 keeps NaN as NaN... no: NaN > 0 is false. torch.relu(NaN)
     * is NaN, so test for the "definitely not positive" case instead. */
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] <= 0 ? (FP_T)0 : x[i];
}

int FP_NAME(relu_forward)(const FP_T *x, FP_T *y, int64_t n, int n_threads)
{
    int64_t nchunks = (n + FP_CHUNK - 1) / FP_CHUNK;
    int nt = fp_threads_for(n, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t lo = c * FP_CHUNK;
        FP_NAME(relu_chunk)(x + lo, y + lo, FP_MIN(FP_CHUNK, n - lo));
    }
    return FP_OK;
}

FP_CLONES static void FP_NAME(relu_backward_chunk)(const FP_T *FP_RESTRICT gy, const FP_T *FP_RESTRICT x,
                                                   FP_T *FP_RESTRICT gx, int64_t n)
{
    /* torch: grad * (x > 0); the gradient at 0 is 0. */
    for (int64_t i = 0; i < n; i++)
        gx[i] = x[i] > 0 ? gy[i] : (FP_T)0;
}

int FP_NAME(relu_backward)(const FP_T *grad_y, const FP_T *x, FP_T *grad_x, int64_t n, int n_threads)
{
    int64_t nchunks = (n + FP_CHUNK - 1) / FP_CHUNK;
    int nt = fp_threads_for(n, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t lo = c * FP_CHUNK;
        FP_NAME(relu_backward_chunk)(grad_y + lo, x + lo, grad_x + lo, FP_MIN(FP_CHUNK, n - lo));
    }
    return FP_OK;
}
