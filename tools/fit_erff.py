"""Fit the float32 erf/erfc coefficients used by fp_erff/fp_erfcf (src/fp_math.h).

    python3 tools/fit_erff.py

Two pieces, both minimax in relative error (Lawson's iteratively reweighted
least squares on a dense grid, float64), then checked in float32 arithmetic:
  A: erf(x) = x * PA(x^2)                         for |x| < 1
  B: erfc(x) = exp(-x^2) * t * PB(t), t = 2/(2+x)  for x >= 0 (up to where
     erfc underflows float32, x ~ 10.06); erf/erfc use it from 1 / 0.5 up,
     gelu everywhere (its Phi(x) = erfc(-x/sqrt2)/2 needs no erf branch)
Prints the coefficients (lowest degree first) and the float32 max error in ulp.
"""
import numpy as np
from scipy.special import erf, erfc, erfcx

DEG_A, DEG_B = 6, 8


def lawson(A, f, w, iters=300):
    u = np.full(len(f), 1.0 / len(f))
    for _ in range(iters):
        sw = np.sqrt(u)
        c, *_ = np.linalg.lstsq(A * (sw * w)[:, None], f * sw * w, rcond=None)
        e = np.abs(A @ c - f) * w
        u = u * e
        u /= u.sum()
    return c, e.max()


def horner32(c, t):
    p = np.full_like(t, np.float32(c[-1]))
    for k in c[-2::-1]:
        p = p * t + np.float32(k)
    return p


def main():
    x = np.linspace(1e-6, 1.0, 20000)
    fa = erf(x) / x
    ca, ea = lawson(np.vander(x * x, DEG_A + 1, increasing=True), fa, 1 / fa)
    x = np.linspace(0.0, 10.2, 20000)
    t = 2 / (2 + x)
    fb = erfcx(x) / t
    cb, eb = lawson(np.vander(t, DEG_B + 1, increasing=True), fb, 1 / fb)
    ca32, cb32 = ca.astype(np.float32), cb.astype(np.float32)
    print(f"A (relative fit error {ea:.2e}):", ", ".join(f"{c:.9e}f" for c in ca32))
    print(f"B (relative fit error {eb:.2e}):", ", ".join(f"{c:.9e}f" for c in cb32))
    # float32 evaluation of each piece against float64 scipy, in ulp of the result
    xs = np.linspace(0, 1, 200001, dtype=np.float32)[1:]
    ya = xs * horner32(ca32, xs * xs)
    ref = erf(xs.astype(np.float64))
    print("A: max |err| in ulp", np.max(np.abs(ya - ref) / np.spacing(np.abs(ref).astype(np.float32))))
    xs = np.linspace(0.0, 9.0, 200001, dtype=np.float32)
    tt = np.float32(2) / (np.float32(2) + xs)
    e64 = np.exp(-(xs.astype(np.float64) ** 2)).astype(np.float32)  # stands for fp_expf(-x^2) done exactly
    yb = e64 * tt * horner32(cb32, tt)
    ref = erfc(xs.astype(np.float64))
    print("B: max |err| in ulp", np.max(np.abs(yb - ref) / np.spacing(ref.astype(np.float32))))


if __name__ == "__main__":
    main()
