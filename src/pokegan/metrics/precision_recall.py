"""Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019) on precomputed features.

Each set defines a manifold: the union of balls around its points whose radius is the distance
to the point's k-th nearest neighbour within the set (the point itself excluded). Precision is the
share of generated samples inside the real manifold; recall the share of real samples inside the
generated manifold. Distances are computed with ``torch.cdist`` in chunks (float64), so memory
stays at ``chunk × N``.
"""
from __future__ import annotations

import numpy as np
import torch

from pokegan.metrics.features import FeatureSet


def _as_tensor(f) -> torch.Tensor:
    return torch.as_tensor(np.asarray(getattr(f, "features", f)), dtype=torch.float64)


def knn_radii(x: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    """Distance of every row of ``x`` to its k-th nearest other row."""
    if len(x) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples, got {len(x)}")
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)
        # the k+1-th smallest includes the point itself at distance 0
        out.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(out)


def coverage_share(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor,
                   chunk: int = 1024) -> float:
    """Share of ``points`` within distance ``radii[j]`` of some ``centres[j]``."""
    inside = 0
    for i in range(0, len(points), chunk):
        d = torch.cdist(points[i:i + chunk], centres)
        inside += int((d <= radii.unsqueeze(0)).any(dim=1).sum())
    return inside / len(points)


def precision_recall(real: FeatureSet | np.ndarray, fake: FeatureSet | np.ndarray, k: int = 3,
                     chunk: int = 1024) -> tuple[float, float]:
    x, y = _as_tensor(real), _as_tensor(fake)
    precision = coverage_share(y, x, knn_radii(x, k, chunk), chunk)
    recall = coverage_share(x, y, knn_radii(y, k, chunk), chunk)
    return precision, recall
