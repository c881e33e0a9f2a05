"""Inception Score: ``exp(E_x KL(p(y|x) || p(y)))``, mean and std over splits.

The pinned pool3 network has no classifier head, so IS needs torch-fidelity's full
``inception-v3-compat`` network (TF inception-2015-12-05 with its 1008-way head; we use its
``logits_unbiased`` like torch-fidelity does). Its weights are downloaded from GitHub by
torch-fidelity, which fails offline, so a run never downloads: we use them only when a file is
given by ``eval.inception_is_weights`` or already lies in torch's hub cache, where
``pokegan fetch-is-weights`` puts it (:mod:`.is_weights`). Otherwise IS is ``None`` with a
reason string (and a one-line warning). Either file must have the pinned sha256; another file
is an error that names it, never a silently different IS.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import torch

from pokegan.metrics.is_weights import IS_WEIGHTS_FILE, WeightsError, cached_path, verify
from pokegan.metrics.registry import CLASS_PROBS, Key, Metric, register


def inception_score(probs: np.ndarray | torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """IS mean and std over ``splits`` consecutive splits of an N×C matrix of class probabilities.

    Uniform probabilities give 1; one-hot rows over k equally used classes give k.
    """
    p = torch.as_tensor(np.asarray(probs), dtype=torch.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"expected N×C probabilities, got shape {tuple(p.shape)}")
    splits = max(1, min(int(splits), len(p)))
    scores = []
    for chunk in torch.tensor_split(p, splits):
        marginal = chunk.mean(dim=0, keepdim=True)
        # KL(p || marginal) per row; xlogy makes 0·log 0 = 0
        kl = (torch.xlogy(chunk, chunk) - torch.xlogy(chunk, marginal.expand_as(chunk))).sum(dim=1)
        scores.append(float(torch.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def find_is_weights(configured: str | None = None) -> tuple[Path | None, str]:
    """(path to the IS classifier weights or None, reason when None). A file that is there but
    not the pinned one raises :class:`WeightsError` naming it."""
    if configured:
        path = Path(configured).expanduser()
        if path.is_file():
            return verify(path), ""
        return None, f"eval.inception_is_weights={configured!r} does not exist"
    cached = cached_path()
    if cached.is_file():
        return verify(cached), ""
    # the reason is recorded with the metrics: it names no path of this machine
    return None, (f"IS needs the full Inception classifier (torch-fidelity inception-v3-compat, "
                  f"{IS_WEIGHTS_FILE}), which pokegan never downloads during a run; run "
                  f"`pokegan fetch-is-weights` once (it puts the file in torch's hub cache, "
                  f"torch.hub.get_dir()/checkpoints, by default ~/.cache/torch/hub/checkpoints) "
                  f"or set eval.inception_is_weights to its path")


@functools.lru_cache(maxsize=2)
def _load_classifier(path: str):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    verify(path)        # the file torch-fidelity is handed, checked where it is handed over
    net = FeatureExtractorInceptionV3("inception-v3-compat", ["logits_unbiased"],
                                      feature_extractor_weights_path=path)
    return net.eval()


@torch.inference_mode()
def class_probabilities(images: torch.Tensor, weights: Path, batch_size: int = 50) -> np.ndarray:
    """Softmax over the classifier's unbiased logits for uint8 N×3×S×S images (it resizes)."""
    net = _load_classifier(str(weights))
    out = []
    for i in range(0, len(images), batch_size):
        (logits,) = net(images[i:i + batch_size])
        out.append(torch.softmax(logits.double(), dim=1).numpy())
    return np.concatenate(out)


_warned: set[str] = set()      # reasons already printed by this process


def warn_once(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        print(f"warning: Inception Score skipped (null): {reason}", file=sys.stderr)


def is_values(probs: np.ndarray | None, splits: int, reason: str | None) -> dict:
    """The IS keys from class probabilities, or nulls and the reason there are none."""
    if probs is None:
        return {"is": None, "is_std": None, "is_note": reason}
    mean, std = inception_score(probs, splits)
    return {"is": mean, "is_std": std, "is_note": None}


class ISScorer:
    """Scores uint8 images, or says why it cannot (``available`` / ``reason``); evaluation uses
    its :meth:`class_probs` as the input of every metric that needs them."""

    def __init__(self, configured: str | None = None, splits: int = 10, batch_size: int = 50):
        self.weights, self.reason = find_is_weights(configured)
        self.splits, self.batch_size = splits, batch_size

    @property
    def available(self) -> bool:
        return self.weights is not None

    def class_probs(self, images: torch.Tensor) -> np.ndarray | None:
        """The classifier's class probabilities of uint8 images; None (warned once, ``reason``
        says why) when it is unavailable or fails."""
        if not self.available:
            warn_once(self.reason)
            return None
        try:
            return class_probabilities(images, self.weights, self.batch_size)
        except WeightsError:
            raise               # another file than the pinned one: an error, not a null IS
        except Exception as exc:  # a broken weights file must not lose the other metrics
            self.reason = f"IS classifier failed to load/run from {self.weights.name}: {exc}"
            self.weights = None
            warn_once(self.reason)
            return None

    def __call__(self, images: torch.Tensor) -> dict:
        probs = self.class_probs(images)
        return is_values(probs, self.splits, self.reason if probs is None else None)


register(Metric(
    "inception_score", lambda x: is_values(x.class_probs, x.ev.is_splits, x.class_probs_note),
    order=30, needs=frozenset({CLASS_PROBS}), notes=("is_note",),
    # null without the classifier weights (the usual case offline): no empty panel in the report
    keys=(Key("is", "IS", digits=2, lower_is_better=False, figure=False),
          Key("is_std", curve=False)),
    terminal="IS         {is:.2f} ± {is_std:.2f}",
    doc="Inception Score of the generated images (needs the full classifier's weights)"))
