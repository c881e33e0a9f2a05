"""FID∞: FID extrapolated to infinitely many generated samples.

Chong & Forsyth (CVPR 2020, "Effectively Unbiased FID and Inception Score and where to find
them") show that FID's bias is linear in 1/N for N generated samples, so FID computed on subsets
of several sizes N_i and fitted by least squares as ``FID = a + b / N`` gives the intercept ``a``,
an estimate free of the generated side's bias: unlike plain FID, it is comparable across sample
counts. (The real side keeps the bias of its ``eval.real_max`` samples.)

Each size gets one seeded subset drawn without replacement from the generated features, sizes
spread evenly from a quarter of them to all of them. The points share the real side, so the
square root of its covariance is taken once (``eigh``) and each point costs the eigenvalues of an N×N Gram matrix:
``tr sqrt(S_r S_f) = ‖X_c S_r^½‖_* / sqrt(N−1)`` for the N centred generated features ``X_c``
(the same value as :func:`pokegan.metrics.fid.fid`, to rounding, in ~0.1 s instead of seconds
per point when N ≪ 2048). Scored on the final model only, not on every curve checkpoint.
"""
from __future__ import annotations

import numpy as np

from pokegan.metrics.features import FeatureSet
from pokegan.metrics.registry import Key, Metric, register

POINTS = 8              # subset sizes fitted (the paper uses 15 between 5,000 and 50,000)
SMALLEST = 0.25         # the smallest subset, as a share of the generated samples
MIN_POINTS = 3          # fewer distinct sizes (a handful of samples) give no FID∞


def subset_sizes(n: int, points: int = POINTS, smallest: float = SMALLEST) -> np.ndarray:
    """Distinct subset sizes from ``smallest``·n to n (at least 2: a covariance needs them)."""
    sizes = np.unique(np.linspace(smallest * n, n, points).round().astype(int))
    return sizes[sizes >= 2]


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def fid_points(real: FeatureSet, fake: FeatureSet, seed: int,
               sizes: np.ndarray) -> np.ndarray:
    """FID of ``real`` against one seeded random subset of ``fake`` per size."""
    rng = np.random.default_rng(seed)
    root = _psd_sqrt(real.sigma)
    tr_real = float(np.trace(real.sigma))
    out = []
    for size in sizes:
        x = fake.features[rng.choice(fake.n, size, replace=False)].astype(np.float64)
        mu = x.mean(axis=0)
        xc = x - mu
        tr_fake = float((xc * xc).sum()) / (size - 1)
        m = xc @ root                  # nuclear norm from the N×N Gram matrix: N ≪ 2048
        cross = float(np.sqrt(np.clip(np.linalg.eigvalsh(m @ m.T), 0.0, None)).sum()) / np.sqrt(size - 1)
        out.append(float(((mu - real.mu) ** 2).sum()) + tr_real + tr_fake - 2.0 * cross)
    return np.array(out)


def fid_infinity(real: FeatureSet, fake: FeatureSet, seed: int = 0, points: int = POINTS,
                 smallest: float = SMALLEST) -> float | None:
    """The intercept of the least-squares line FID = a + b/N over the subset sizes N; None when
    ``fake`` has too few samples for ``MIN_POINTS`` distinct sizes."""
    sizes = subset_sizes(fake.n, points, smallest)
    if len(sizes) < MIN_POINTS:
        return None
    slope, intercept = np.polyfit(1.0 / sizes, fid_points(real, fake, seed, sizes), 1)
    return float(intercept)


register(Metric(
    "fid_inf", lambda x: {"fid_inf": fid_infinity(x.real, x.fake, x.seed)},
    order=15, curve=False, terminal="FID∞       {fid_inf:.3f}",
    keys=(Key("fid_inf", "FID∞", digits=1, lower_is_better=True),),
    doc="FID extrapolated to infinitely many generated samples (Chong & Forsyth 2020)"))
