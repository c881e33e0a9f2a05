"""Latents from a seed: the one way pokegan turns a seed into generator inputs.

Every caller (evaluation, ``pokegan sample``, the report's same-latent figure, the training
grid) draws from a fresh CPU ``torch.Generator`` seeded with the seed, so a seed names the same
latents on any device and batch size. Changing how this draws would change every figure and score
that compares models "on the same latents".

The first k of n rows are the same for every n only when ``k * dim`` is a multiple of 16: torch's
CPU ``randn`` transforms uniforms 16 at a time and redraws a ragged tail (with dim 100, the 10th
of 10 rows differs from the 10th of 50). Code that relies on nesting must compare the rows.
"""
from __future__ import annotations

import torch

TRUNCATION_REDRAWS = 1000   # rounds of redrawing before giving up on the last out-of-range entries


def seeded_latents(seed: int, n: int, dim: int, truncation: float | None = None) -> torch.Tensor:
    """``n``×``dim`` standard-normal latents drawn from ``seed``. With ``truncation`` t, every
    entry with |z| > t is redrawn from the same stream (the truncation trick: less variety,
    more typical samples); t must be a finite number > 0."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, dim, generator=gen)
    if truncation is not None:
        for _ in range(TRUNCATION_REDRAWS):
            bad = z.abs() > truncation
            if not bad.any():
                break
            z[bad] = torch.randn(int(bad.sum()), generator=gen)
    return z
