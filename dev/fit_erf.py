"""Fits the rational approximation of erf used by the CPU GELU kernel (src/encoders/kernels.rs).

    python3 dev/fit_erf.py

erf(x) ≈ x · P(x²) / Q(x²) on [0, 4], P and Q of degree 5, Q(0) = 1, fitted for the smallest
largest absolute error by iteratively reweighted linear least squares (Lawson's algorithm on the
linearised problem). Needs numpy and mpmath. Prints the coefficients as f32 and the largest
error of the f32 evaluation on [-5, 5] against mpmath's erf.
"""

import mpmath
import numpy as np

mpmath.mp.dps = 30
LIMIT = 4.0
DEGREE = 5


def fit(xs, erf):
    t = xs * xs
    ratio = erf / xs
    weights = np.ones_like(xs)
    denominator = np.ones_like(xs)
    best = None
    for _ in range(60):
        # P(t) − ratio·(Q(t) − 1) = ratio, scaled so that the residual is the error of erf.
        columns = np.concatenate(
            [np.vander(t, DEGREE + 1, increasing=True), -ratio[:, None] * np.vander(t, DEGREE + 1, increasing=True)[:, 1:]],
            axis=1,
        )
        scale = weights * xs / np.abs(denominator)
        solution, *_ = np.linalg.lstsq(columns * scale[:, None], ratio * scale, rcond=None)
        p = solution[: DEGREE + 1]
        q = np.concatenate([[1.0], solution[DEGREE + 1 :]])
        denominator = np.polyval(q[::-1], t)
        error = xs * np.polyval(p[::-1], t) / denominator - erf
        largest = np.abs(error).max()
        if best is None or largest < best[0]:
            best = (largest, p, q)
        weights = weights * np.sqrt(np.abs(error))
        weights /= weights.mean()
    return best


def evaluate_f32(p, q, x):
    x = np.clip(x.astype(np.float32), -LIMIT, LIMIT)
    t = x * x
    numerator = np.float32(0)
    for c in p[::-1].astype(np.float32):
        numerator = numerator * t + c
    denominator = np.float32(0)
    for c in q[::-1].astype(np.float32):
        denominator = denominator * t + c
    return x * numerator / denominator


def main():
    xs = np.linspace(1e-4, LIMIT, 20000)
    erf = np.array([float(mpmath.erf(x)) for x in xs])
    largest, p, q = fit(xs, erf)
    checks = np.linspace(-5.0, 5.0, 20001)
    reference = np.array([float(mpmath.erf(x)) for x in checks])
    error_f32 = np.abs(evaluate_f32(p, q, checks).astype(np.float64) - reference).max()
    print(f"largest error in f64: {largest:.3e}; evaluated in f32: {error_f32:.3e}")
    print("P:", ", ".join(repr(float(c)) for c in p.astype(np.float32)))
    print("Q:", ", ".join(repr(float(c)) for c in q.astype(np.float32)))


if __name__ == "__main__":
    main()
