"""Kernel Inception Distance on precomputed features.

Unbiased MMD² with the polynomial kernel ``k(x, y) = (x·y / d + 1)^3``, averaged over
``subsets`` random subsets of ``m = min(subset_size, N_real, N_fake)`` rows of each set (mean and
std reported). The kernel and the estimator are torch-fidelity's ``kernel_poly`` and ``mmd2``;
the subsets are drawn exactly as its ``kid_features_to_metric`` draws them (``RandomState(seed)``,
one ``choice`` per set per subset), but we compute the three full kernel matrices once and index
them per subset instead of recomputing kernels per subset (same numbers, ~``subsets``× cheaper).
"""
from __future__ import annotations

import numpy as np

from pokegan.metrics.features import FeatureSet

KERNEL = {"kid_kernel_poly_degree": 3, "kid_kernel_poly_gamma": None, "kid_kernel_poly_coef0": 1}


def kid_subset_size(n_real: int, n_fake: int, subset_size: int) -> int:
    return int(min(subset_size, n_real, n_fake))


def kid(real: FeatureSet | np.ndarray, fake: FeatureSet | np.ndarray, subsets: int = 100,
        subset_size: int = 1000, seed: int = 0) -> tuple[float, float, int]:
    """(KID mean, KID std over subsets, subset size used)."""
    from torch_fidelity.metric_kid import kernel_poly, mmd2
    x = np.asarray(getattr(real, "features", real), np.float64)
    y = np.asarray(getattr(fake, "features", fake), np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"feature shapes differ: {x.shape} vs {y.shape}")
    m = kid_subset_size(len(x), len(y), subset_size)
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    k_xx = kernel_poly(x, x, **KERNEL)
    k_yy = kernel_poly(y, y, **KERNEL)
    k_xy = kernel_poly(x, y, **KERNEL)
    rng = np.random.RandomState(seed)
    mmds = np.empty(subsets)
    for i in range(subsets):
        ix = rng.choice(len(x), m, replace=False)
        iy = rng.choice(len(y), m, replace=False)
        mmds[i] = mmd2(k_xx[np.ix_(ix, ix)], k_xy[np.ix_(ix, iy)], k_yy[np.ix_(iy, iy)])
    return float(mmds.mean()), float(mmds.std()), m
