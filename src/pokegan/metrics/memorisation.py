"""Memorisation: how many generated images are copies of a training image.

With a few hundred training images a strong discriminator can teach G to reproduce them. The
test is the "authenticity" criterion of Alaa et al. (ICML 2022, "How Faithful is your Synthetic
Data?"), on Inception pool3 features: a generated image's nearest real image ``r`` is found, and
the generated image counts as a copy when it lies at least as close to ``r`` as ``r``'s own
nearest other real image does: it sits inside the gap that separates ``r`` from every other real
image, where a fresh image of the same distribution rarely falls.

"Rarely" is not "never", so the share comes with a yardstick: the same test applied to real
images the reference never saw. The real set is split into two seeded random halves, one half
is tested against the other, and the shares of :data:`SPLITS` splits are averaged. A half is half
as dense, but the test compares two nearest-neighbour distances of the same set, so its rate does
not depend on the set's size to first order. A generator whose share is within the yardstick
copies no more than fresh data would seem to; one well above it reproduces training images.
"""
from __future__ import annotations

import numpy as np
import torch

from pokegan.metrics.features import FeatureSet
from pokegan.metrics.registry import Inputs, Key, Metric, register

SPLITS = 10        # random halves of the real set averaged into the yardstick
CHUNK = 1024       # rows of the distance matrix computed at once (memory: CHUNK × N_real)


def _rows(f) -> torch.Tensor:
    return torch.as_tensor(np.asarray(getattr(f, "features", f)), dtype=torch.float64)


def nearest(reference: FeatureSet | np.ndarray, query: FeatureSet | np.ndarray,
            exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(index, distance) of each ``query`` row's nearest ``reference`` row (Euclidean);
    ``exclude_self``: ``query`` is ``reference`` and a row may not be its own neighbour."""
    ref, q = _rows(reference), _rows(query)
    index, dist = [], []
    for start in range(0, len(q), CHUNK):
        d = torch.cdist(q[start:start + CHUNK], ref)
        if exclude_self:
            rows = torch.arange(len(d))
            d[rows, rows + start] = float("inf")
        best = d.min(1)
        index.append(best.indices)
        dist.append(best.values)
    return torch.cat(index).numpy(), torch.cat(dist).numpy()


def copy_flags(real: FeatureSet | np.ndarray, fake: FeatureSet | np.ndarray) -> np.ndarray:
    """True for each ``fake`` row that is at least as close to its nearest ``real`` row as that
    row is to its nearest other real row (needs 2 or more real rows)."""
    if len(_rows(real)) < 2:
        raise ValueError("the copy test needs at least 2 real images")
    _, gap = nearest(real, real, exclude_self=True)
    index, dist = nearest(real, fake)
    return dist <= gap[index]


def copy_share(real, fake) -> float:
    return float(copy_flags(real, fake).mean())


def real_yardstick(real: FeatureSet | np.ndarray, seed: int, splits: int = SPLITS) -> float:
    """The mean share of one random half of the real rows flagged as copies of the other half."""
    rows = _rows(real).numpy()
    rng = np.random.RandomState(seed)
    shares = []
    for _ in range(splits):
        order = rng.permutation(len(rows))
        half = len(rows) // 2
        shares.append(copy_share(rows[order[:half]], rows[order[half:]]))
    return float(np.mean(shares))


def _values(x: Inputs) -> dict:
    if x.real.n < 4:       # each half needs two rows for its own nearest-neighbour gaps
        return {"copies": None, "copies_real": None}
    return {"copies": copy_share(x.real, x.fake), "copies_real": real_yardstick(x.real, x.seed)}


register(Metric(
    "memorisation", _values, order=50, curve=False,
    keys=(Key("copies", "copies", lower_is_better=True),
          Key("copies_real", "copies (real halves)")),
    terminal="copies     {copies:.3f}   real halves {copies_real:.3f}",
    doc="share of generated images closer to their nearest real image than it is to any other "
        "real image, beside the share real images score"))
