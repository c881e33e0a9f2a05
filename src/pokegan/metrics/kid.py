"""Kernel Inception Distance on precomputed features.

Unbiased MMD² with the polynomial kernel ``k(x, y) = (x·y / d + 1)^3``, averaged over
``subsets`` random subsets of ``m = min(subset_size, N_real, N_fake)`` rows of each set (mean and
std reported). The kernel and the estimator are torch-fidelity's ``kernel_poly`` and ``mmd2``;
the subsets are drawn exactly as its ``kid_features_to_metric`` draws them (``RandomState(seed)``,
one ``choice`` per set per subset). Memory is bounded whatever N is: the three kernel matrices
are computed once and indexed per subset only while they fit in ``FULL_KERNEL_BYTES`` (that is
~``subsets``× cheaper, and the numbers committed so far were computed that way); beyond it each
subset computes its own three m×m blocks, as torch-fidelity does (full matrices would take ~20 GB
at N = 50,000). The two ways agree to ~1e-16.
"""
from __future__ import annotations

import numpy as np

from pokegan.metrics.features import FeatureSet
from pokegan.metrics.registry import Inputs, Key, Metric, register

KERNEL = {"kid_kernel_poly_degree": 3, "kid_kernel_poly_gamma": None, "kid_kernel_poly_coef0": 1}
FULL_KERNEL_BYTES = 64 << 20   # float64 N×N kernels up to this size are computed once


def kid_subset_size(n_real: int, n_fake: int, subset_size: int) -> int:
    return int(min(subset_size, n_real, n_fake))


def _indexed_blocks(x: np.ndarray, y: np.ndarray):
    """(k_xx, k_xy, k_yy) of a subset, indexed from kernels computed once (small N)."""
    from torch_fidelity.metric_kid import kernel_poly
    k_xx, k_xy, k_yy = (kernel_poly(a, b, **KERNEL) for a, b in ((x, x), (x, y), (y, y)))
    return lambda ix, iy: (k_xx[np.ix_(ix, ix)], k_xy[np.ix_(ix, iy)], k_yy[np.ix_(iy, iy)])


def _subset_blocks(x: np.ndarray, y: np.ndarray):
    """(k_xx, k_xy, k_yy) of a subset, computed from its own rows (any N, three m×m blocks)."""
    from torch_fidelity.metric_kid import kernel_poly
    return lambda ix, iy: (kernel_poly(x[ix], x[ix], **KERNEL), kernel_poly(x[ix], y[iy], **KERNEL),
                           kernel_poly(y[iy], y[iy], **KERNEL))


def kid(real: FeatureSet | np.ndarray, fake: FeatureSet | np.ndarray, subsets: int = 100,
        subset_size: int = 1000, seed: int = 0) -> tuple[float, float, int]:
    """(KID mean, KID std over subsets, subset size used)."""
    from torch_fidelity.metric_kid import mmd2
    x = np.asarray(getattr(real, "features", real), np.float64)
    y = np.asarray(getattr(fake, "features", fake), np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"feature shapes differ: {x.shape} vs {y.shape}")
    m = kid_subset_size(len(x), len(y), subset_size)
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    blocks = _subset_blocks(x, y) if 8 * (len(x) + len(y)) ** 2 > FULL_KERNEL_BYTES else \
        _indexed_blocks(x, y)
    rng = np.random.RandomState(seed)
    mmds = np.empty(subsets)
    for i in range(subsets):
        ix = rng.choice(len(x), m, replace=False)
        iy = rng.choice(len(y), m, replace=False)
        mmds[i] = mmd2(*blocks(ix, iy))
    return float(mmds.mean()), float(mmds.std()), m


def _values(x: Inputs) -> dict:
    mean, std, m = kid(x.real, x.fake, x.ev.kid_subsets, x.ev.kid_subset_size, x.seed)
    return {"kid": mean, "kid_std": std, "kid_subset_size": m}


register(Metric(
    "kid", _values, order=20,
    keys=(Key("kid", "KID", digits=1, scale=1e3, unit=" ×10³", spread="kid_std",
              lower_is_better=True),
          Key("kid_std"),
          Key("kid_subset_size", curve=False)),
    terminal="KID        {kid:.5f} ± {kid_std:.5f} (subsets of {kid_subset_size})",
    doc="Kernel Inception Distance: unbiased, the better number at small sample counts"))
