"""Fréchet Inception Distance on precomputed features / statistics.

The math is torch-fidelity's ``fid_statistics_to_metric`` (TTUR's formula,
``|mu1-mu2|² + tr(S1) + tr(S2) - 2·tr sqrt(S1·S2)`` with the trace of the square root taken from
the eigenvalues of ``S1·S2``), called on float64 statistics from :class:`FeatureSet`.
FID is biased at small N (real vs real halves of 749 artworks score ~47): always report the
sample counts, and KID beside it.
"""
from __future__ import annotations

import numpy as np

from pokegan.metrics.features import FeatureSet
from pokegan.metrics.registry import Inputs, Key, Metric, register


def fid_from_stats(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                   sigma2: np.ndarray) -> float:
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric
    s1 = {"mu": np.asarray(mu1, np.float64), "sigma": np.asarray(sigma1, np.float64)}
    s2 = {"mu": np.asarray(mu2, np.float64), "sigma": np.asarray(sigma2, np.float64)}
    return float(fid_statistics_to_metric(s1, s2, verbose=False)[KEY_METRIC_FID])


def fid(a: FeatureSet, b: FeatureSet) -> float:
    """FID between two feature sets (statistics cached on the sets)."""
    return fid_from_stats(a.mu, a.sigma, b.mu, b.sigma)


def _values(x: Inputs) -> dict:
    return {"fid": fid(x.real, x.fake)}


register(Metric("fid", _values, order=10, terminal="FID        {fid:.3f}",
                keys=(Key("fid", "FID", digits=1, lower_is_better=True),),
                doc="Fréchet Inception Distance of the generated features to the real ones"))
