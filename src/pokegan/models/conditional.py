"""Type-conditional DCGAN (``model: cdcgan``): labels are each image's ``type1``.

* :class:`ConditionalGenerator` — a learned type embedding is concatenated to z and fed to the
  DCGAN generator (so G(z, y) is the study's G with ``latent_dim + embed_dim`` inputs).
* :class:`ProjectionDiscriminator` — the DCGAN discriminator's conv trunk φ(x) (flattened 4×4
  map) with the projection head of Miyato & Koyama (2018):
  ``logit = ψ(φ(x)) + ⟨embed(y), φ(x)⟩``; ψ is linear (= D's last 4×4 conv), the class
  embedding is spectrally normalised with the rest of D.

The label vocabulary (sorted type names) is not part of the networks: the training loop stores
it in the model meta (``meta["labels"]``, with ``meta["label_counts"]``), which is how
``pokegan sample --type water`` maps a name to an index (:func:`label_index`).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .blocks import d_trunk, dcgan_init, maybe_sn
from .dcgan import Generator

LABEL_COLUMN = "type1"


class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim: int = 128, image_size: int = 64, kernel_size: int = 4,
                 num_classes: int = 18, embed_dim: int = 32, upsample: str = "convtranspose"):
        super().__init__()
        self.kwargs = dict(latent_dim=latent_dim, image_size=image_size, kernel_size=kernel_size,
                           num_classes=num_classes, embed_dim=embed_dim)
        if upsample != "convtranspose":
            self.kwargs["upsample"] = upsample
        self.latent_dim, self.image_size, self.num_classes = latent_dim, image_size, num_classes
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.body = Generator(latent_dim + embed_dim, image_size, kernel_size, upsample)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.from_embedding(z, self.embed(y))

    def from_embedding(self, z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """G for type embeddings ``e`` (N×embed_dim), e.g. a mix of two types' rows of
        ``embed.weight`` (``pokegan interpolate --types``)."""
        return self.body(torch.cat([z.flatten(1), e.to(z.dtype)], dim=1))


class ProjectionDiscriminator(nn.Module):
    def __init__(self, image_size: int = 64, kernel_size: int = 4, spectral_norm: bool = True,
                 num_classes: int = 18, mbstd: bool = False):
        super().__init__()
        self.kwargs = dict(image_size=image_size, kernel_size=kernel_size,
                           spectral_norm=spectral_norm, num_classes=num_classes)
        if mbstd:
            self.kwargs["mbstd"] = True
        self.num_classes = num_classes
        layers, c = d_trunk(image_size, kernel_size, sn=spectral_norm, mbstd=mbstd)
        self.phi = nn.Sequential(*layers)                      # → C×4×4
        feat = c * 4 * 4
        self.psi = maybe_sn(nn.Linear(feat, 1), spectral_norm)
        self.embed = maybe_sn(nn.Embedding(num_classes, feat), spectral_norm)
        dcgan_init(self)
        with torch.no_grad():
            emb = self.embed.parametrizations.weight.original if spectral_norm else self.embed.weight
            nn.init.normal_(emb, 0.0, 0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.phi(x).flatten(1)
        return self.psi(h).flatten() + (self.embed(y).to(h.dtype) * h).sum(dim=1)


# --------------------------------------------------------------------------- labels
def encode_labels(values: Sequence[str]) -> tuple[torch.Tensor, list[str]]:
    """Per-image type names → (int64 label tensor, sorted vocabulary). Empty names → 'unknown'."""
    names = [str(v).strip().lower() or "unknown" for v in values]
    vocab = sorted(set(names))
    if len(vocab) < 2:
        raise ValueError(f"a conditional model needs at least 2 distinct {LABEL_COLUMN} values, "
                         f"got {vocab or 'none'}")
    lookup = {name: i for i, name in enumerate(vocab)}
    return torch.tensor([lookup[n] for n in names], dtype=torch.int64), vocab


def label_index(name: str, vocab: Sequence[str]) -> int:
    """Index of a type name (case-insensitive); ValueError listing the valid names."""
    key = str(name).strip().lower()
    if key not in vocab:
        raise ValueError(f"unknown type {name!r}; this model knows: {', '.join(vocab)}")
    return list(vocab).index(key)


def cycling_labels(n: int, num_classes: int) -> torch.Tensor:
    """0, 1, ..., K-1, 0, 1, ... (the per-epoch grid: every type in turn)."""
    return torch.arange(n, dtype=torch.int64) % num_classes


def empirical_labels(n: int, counts: Sequence[int], seed: int) -> torch.Tensor:
    """``n`` labels drawn (seeded, CPU) from the distribution ``counts``; nested: the first k of
    n are the same for every n (inverse-CDF of one uniform per sample)."""
    probs = torch.as_tensor(list(counts), dtype=torch.float64)
    cdf = probs.cumsum(0) / probs.sum()
    u = torch.rand(n, generator=torch.Generator().manual_seed(seed + 31), dtype=torch.float64)
    return torch.searchsorted(cdf, u, right=True).clamp_(max=len(cdf) - 1)


def check_labels(labels, names: Sequence[str] | None, n: int) -> tuple[torch.Tensor, list[str], list[int]]:
    """Validate the per-image labels given to training: (int64 labels, names, count per name)."""
    if labels is None or names is None:
        raise ValueError(f"a conditional model needs labels= and "
                         f"label_names= (each image's {LABEL_COLUMN}; see encode_labels)")
    labels = torch.as_tensor(labels, dtype=torch.int64).flatten().cpu()
    names = [str(x) for x in names]
    if labels.shape[0] != n:
        raise ValueError(f"got {labels.shape[0]} labels for {n} images")
    if len(names) < 2 or int(labels.min()) < 0 or int(labels.max()) >= len(names):
        raise ValueError(f"labels must lie in [0, {len(names)}) and name at least 2 classes")
    return labels, names, torch.bincount(labels, minlength=len(names)).tolist()
