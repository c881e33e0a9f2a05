"""Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019) on precomputed features.

Each set defines a manifold: the union of balls around its points whose radius is the distance
to the point's k-th nearest neighbour within the set (the point itself excluded). Precision is the
share of generated samples inside the real manifold; recall the share of real samples inside the
generated manifold.

The k-NN test is torch-fidelity's (``metric_prc``, a pinned dependency); we only feed it float64
tensors and the chunk size that bounds memory at ``chunk × N`` distances.
``tests/test_metrics.py`` checks it against a direct implementation of the definition.
"""
from __future__ import annotations

import numpy as np
import torch
from torch_fidelity.metric_prc import calculate_precision_recall_part

from pokegan.metrics.features import FeatureSet
from pokegan.metrics.registry import Inputs, Key, Metric, register


def _as_tensor(f) -> torch.Tensor:
    return torch.as_tensor(np.asarray(getattr(f, "features", f)), dtype=torch.float64)


def precision_recall(real: FeatureSet | np.ndarray, fake: FeatureSet | np.ndarray, k: int = 3,
                     chunk: int = 1024) -> tuple[float, float]:
    """(precision, recall) of ``fake`` against ``real``; each set needs more than ``k`` rows."""
    x, y = _as_tensor(real), _as_tensor(fake)
    for side, f in (("real", x), ("generated", y)):
        if len(f) <= k:
            raise ValueError(f"precision/recall with k={k} needs more than {k} {side} samples, "
                             f"got {len(f)}")
    # torch-fidelity's convention: features_1 = generated, features_2 = real
    precision, recall = calculate_precision_recall_part(y, x, neighborhood=k, batch_size=chunk)
    # it averages in float32; each share is a count over n, so take the exact float64 share
    return round(precision * len(y)) / len(y), round(recall * len(x)) / len(x)


def _values(x: Inputs) -> dict:
    k = min(x.ev.pr_k, x.real.n - 1, x.fake.n - 1)     # tiny sets: a smaller neighbourhood
    precision, recall = precision_recall(x.real, x.fake, k) if k >= 1 else (None, None)
    return {"precision": precision, "recall": recall}


register(Metric(
    "precision_recall", _values, order=40,
    keys=(Key("precision", "precision", lower_is_better=False),
          Key("recall", "recall", lower_is_better=False)),
    terminal="precision  {precision:.3f}   recall {recall:.3f}",
    doc="share of generated images on the real manifold, and of real ones on the generated"))
