"""Loss pieces: the study's soft, noisy discriminator labels and the GAN / reconstruction losses."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_labels(n: int, real: bool, *, soft_real: float, soft_fake: float, spread: float,
                flip: float, generator: torch.Generator, device) -> torch.Tensor:
    """D targets: ``soft_real + spread·N(0,1)`` (or ``soft_fake + ...``) clamped to [0, 1]; then a
    ``flip`` share of them (Bernoulli per sample) is replaced by ``1 - label`` (the wrong label)."""
    centre = soft_real if real else soft_fake
    noise = torch.randn(n, generator=generator, device=device)
    labels = (centre + spread * noise).clamp_(0.0, 1.0)
    flipped = torch.rand(n, generator=generator, device=device) < flip
    return torch.where(flipped, 1.0 - labels, labels)


def bce(logits: torch.Tensor, target: torch.Tensor | float) -> torch.Tensor:
    """BCE-with-logits in fp32 (the study's sigmoid + BCE, numerically stable)."""
    logits = logits.float()
    if not torch.is_tensor(target):
        target = torch.full_like(logits, float(target))
    return F.binary_cross_entropy_with_logits(logits, target)


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(a.float(), b.float())


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(a.float(), b.float())
