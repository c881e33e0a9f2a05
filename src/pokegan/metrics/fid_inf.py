"""FID∞: FID extrapolated to infinitely many generated samples.

Chong & Forsyth (CVPR 2020, "Effectively Unbiased FID and Inception Score and where to find
them") show that FID's bias is linear in 1/N for N generated samples, so FID computed on subsets
of several sizes N_i and fitted by least squares as ``FID = a + b / N`` gives the intercept ``a``,
an estimate free of the generated side's bias: unlike plain FID, it is comparable across sample
counts. (The real side keeps the bias of its ``eval.real_max`` samples.)

Each size gets one seeded subset drawn without replacement from the generated features, sizes
spread evenly from a quarter of them to all of them. Every point is a full FID (an
eigendecomposition of a 2048×2048 matrix, seconds each), so FID∞ is scored on the final model
only, not on every curve checkpoint.
"""
from __future__ import annotations

import numpy as np

from pokegan.metrics.features import FeatureSet
from pokegan.metrics.fid import fid
from pokegan.metrics.registry import Inputs, Key, Metric, register

POINTS = 8              # subset sizes fitted (the paper uses 15 between 5,000 and 50,000)
SMALLEST = 0.25         # the smallest subset, as a share of the generated samples
MIN_POINTS = 3          # fewer distinct sizes (a handful of samples) give no FID∞


def subset_sizes(n: int, points: int = POINTS, smallest: float = SMALLEST) -> np.ndarray:
    """Distinct subset sizes from ``smallest``·n to n (at least 2: a covariance needs them)."""
    sizes = np.unique(np.linspace(smallest * n, n, points).round().astype(int))
    return sizes[sizes >= 2]


def fid_points(real: FeatureSet, fake: FeatureSet, seed: int,
               sizes: np.ndarray) -> np.ndarray:
    """FID of ``real`` against one seeded random subset of ``fake`` per size."""
    rng = np.random.default_rng(seed)
    return np.array([fid(real, FeatureSet(fake.features[rng.choice(fake.n, size, replace=False)]))
                     for size in sizes])


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
