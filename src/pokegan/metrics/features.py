"""The shared feature cache: features + statistics of a set of images, and reference files.

Every metric (FID, KID, precision/recall) works on :class:`FeatureSet` objects, so an image goes
through the Inception network once and every metric reuses its features. The real images of a
dataset are featurised once by the ``reference`` stage into ``data/reference/<dataset>.npz``
(features, mu, sigma, n, fingerprint); evaluation loads that file and refuses it when its
fingerprint does not match the current data, feature network or params.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pokegan.files import atomic_path, fingerprint

REFERENCE_DIR = Path("data/reference")
REFERENCE_FORMAT = 1


class ReferenceError(RuntimeError):
    """A reference file is missing or was computed for other data / network / params."""


@dataclass
class FeatureSet:
    """N×D features of one image set, with its mean and covariance (float64) on demand."""
    features: np.ndarray
    _mu: np.ndarray | None = field(default=None, repr=False)
    _sigma: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        self.features = np.asarray(self.features)
        if self.features.ndim != 2:
            raise ValueError(f"features must be N×D, got shape {self.features.shape}")

    @property
    def n(self) -> int:
        return int(self.features.shape[0])

    @property
    def mu(self) -> np.ndarray:
        if self._mu is None:
            self._mu = self.features.astype(np.float64).mean(axis=0)
        return self._mu

    @property
    def sigma(self) -> np.ndarray:
        if self._sigma is None:
            if self.n < 2:
                raise ValueError("a covariance needs at least 2 feature vectors")
            self._sigma = np.cov(self.features.astype(np.float64), rowvar=False)
        return self._sigma

    def head(self, n: int) -> "FeatureSet":
        """The first ``n`` rows (statistics recomputed)."""
        return FeatureSet(self.features[:n])


# --------------------------------------------------------------------------- reference files
def reference_path(dataset: str, root: str | Path = REFERENCE_DIR) -> Path:
    return Path(root) / f"{dataset}.npz"


def reference_fingerprint(dataset: str, dataset_fingerprint: str, net_sha1: str, resize: str,
                          real_max: int, seed: int) -> dict:
    """What a reference file depends on; stored in it and compared before use."""
    return {"format": REFERENCE_FORMAT, "dataset": dataset,
            "dataset_fingerprint": str(dataset_fingerprint), "feature_net_sha1": net_sha1,
            "resize": resize, "real_max": int(real_max), "seed": int(seed)}


def subsample_rows(n: int, cap: int, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded subsample of at most ``cap`` of ``n`` rows."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False))


def save_reference(path: str | Path, feats: FeatureSet, fp: dict, rows: np.ndarray,
                   extra: dict | None = None) -> None:
    """Write features, mu, sigma, n, the source rows and the fingerprint, atomically."""
    info = {"fingerprint": fp, "fingerprint_hash": fingerprint(fp), **(extra or {})}
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, features=feats.features.astype(np.float32), mu=feats.mu,
                     sigma=feats.sigma, n=np.int64(feats.n), rows=np.asarray(rows, np.int64),
                     info=np.array(json.dumps(info, sort_keys=True)))


@dataclass
class Reference:
    path: Path
    feats: FeatureSet
    info: dict
    rows: np.ndarray | None = None   # row of each feature in the prepared images.npy (if stored)

    @property
    def fingerprint(self) -> dict:
        return self.info.get("fingerprint", {})


def load_reference(path: str | Path, expect: dict | None = None) -> Reference:
    """Load a reference ``.npz``; with ``expect``, refuse it unless its fingerprint matches.

    Only the keys present in ``expect`` are compared, so a caller that cannot know one value
    (e.g. the dataset fingerprint without the prepared data) can leave it out.
    """
    path = Path(path)
    if not path.is_file():
        raise ReferenceError(f"{path}: reference statistics not found; run `dvc repro reference`")
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):  # a bare .npy array, not an .npz archive
                raise ReferenceError(f"{path}: not a pokegan reference file (an .npy array, not "
                                     "an .npz archive); run `dvc repro reference`")
            missing = {"features", "mu", "sigma", "n", "info"} - set(z.files)
            if missing:
                raise ReferenceError(f"{path}: not a pokegan reference file (missing "
                                     f"{', '.join(sorted(missing))}); run `dvc repro reference`")
            info = json.loads(str(z["info"]))
            feats = FeatureSet(z["features"], _mu=z["mu"], _sigma=z["sigma"])
            rows = np.asarray(z["rows"], np.int64) if "rows" in z.files else None
    except ReferenceError:
        raise
    except Exception as exc:  # truncated zip (BadZipFile), garbage, bad JSON, bad shapes, ...
        raise ReferenceError(f"{path}: unreadable or corrupt reference file ({type(exc).__name__}: "
                             f"{exc}); run `dvc repro reference`") from None
    if not isinstance(info, dict):
        raise ReferenceError(f"{path}: not a pokegan reference file (no fingerprint); "
                             "run `dvc repro reference`")
    ref = Reference(path, feats, info, rows)
    if expect is not None:
        check_fingerprint(ref, expect)
    return ref


def check_fingerprint(ref: Reference, expect: dict) -> None:
    have = ref.fingerprint
    diff = [f"{k}: file has {have.get(k)!r}, expected {v!r}"
            for k, v in expect.items() if have.get(k) != v]
    if diff:
        raise ReferenceError(
            f"{ref.path}: reference statistics were computed for other data, feature network or "
            f"params ({'; '.join(diff)}); refusing to use them — run `dvc repro reference`")
