"""Images from a generator: seeded latents in, uint8 images out (on the CPU)."""
from __future__ import annotations

import torch
from torch import nn

from .latents import seeded_latents


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats → uint8 [0, 255] on the CPU."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


@torch.no_grad()
def sample(G: nn.Module, n: int, seed: int, batch_size: int = 64, device="cpu",
           latents: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` samples as uint8 N×3×S×S on the CPU, G in eval mode (its mode is restored after).

    Latents come from a CPU ``torch.Generator`` seeded with ``seed`` (or are given), so the
    latents — and the images — do not depend on ``batch_size`` or the device. G is moved to
    ``device``.

    A conditional G (``num_classes`` attribute) takes ``labels`` (n class indices); without them
    the labels are drawn uniformly over the classes from a CPU generator seeded with
    ``seed + 1`` (so the latents stay those of the unconditional call). ``labels`` given to an
    unconditional G is an error.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    latent_dim = G.latent_dim
    if latents is None:
        latents = seeded_latents(seed, n, latent_dim)
    if latents.shape != (n, latent_dim):
        raise ValueError(f"latents must be {n}×{latent_dim}, got {tuple(latents.shape)}")
    num_classes = getattr(G, "num_classes", None)
    if num_classes is None and labels is not None:
        raise ValueError(f"{type(G).__name__} is not conditional: it takes no labels")
    if num_classes is not None:
        if labels is None:
            labels = torch.randint(num_classes, (n,), generator=torch.Generator().manual_seed(seed + 1))
        labels = torch.as_tensor(labels, dtype=torch.int64).flatten()
        if labels.shape != (n,) or int(labels.min()) < 0 or int(labels.max()) >= num_classes:
            raise ValueError(f"labels must be {n} class indices in [0, {num_classes})")
    was_training = G.training
    G.to(device).eval()
    try:
        out = [to_uint8(G(latents[i:i + batch_size].to(device)) if labels is None else
                        G(latents[i:i + batch_size].to(device), labels[i:i + batch_size].to(device)))
               for i in range(0, n, batch_size)]
    finally:
        G.train(was_training)
    return torch.cat(out)
