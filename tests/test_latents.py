"""One seed, one latent batch: every caller that turns a seed into latents agrees bit for bit
(evaluation, `pokegan sample`, the report's same-latent figure, the training grid, the latent
walks), and the draw itself is pinned (changing it would silently change every figure and
score that compares models on the same latents)."""
import dataclasses

import pytest
import torch

from fixtures.training import TINY
from pokegan.cli import truncated_latents
from pokegan.explore import seed_latents
from pokegan.models.dcgan import Generator
from pokegan.models.sampling import sample
from pokegan.models.latents import seeded_latents
from pokegan.training.loop import grid_latents


def test_the_draw_is_torch_randn_from_a_fresh_cpu_generator():
    z = seeded_latents(3, 5, 4)
    assert torch.equal(z, torch.randn(5, 4, generator=torch.Generator().manual_seed(3)))
    assert z[0].tolist() == pytest.approx([-0.0766, 0.3599, -0.7820, 0.0715], abs=1e-4)
    # nested (curve samples ⊂ final samples) when rows × dim is a multiple of 16, else not quite
    assert torch.equal(seeded_latents(3, 10, 16), seeded_latents(3, 50, 16)[:10])
    assert not torch.equal(seeded_latents(0, 10, 100), seeded_latents(0, 50, 100)[:10])


def test_every_caller_draws_the_same_latents():
    z = seeded_latents(7, 6, 16)
    assert torch.equal(truncated_latents(6, 16, 7), z)                        # pokegan sample
    assert torch.equal(seed_latents([7, 9], 16), torch.cat([z[:1], seeded_latents(9, 1, 16)]))
    cfg = dataclasses.replace(TINY, seed=0)
    assert torch.equal(grid_latents(cfg), seeded_latents(7_777, cfg.grid_size, cfg.latent_dim))
    torch.manual_seed(0)
    G = Generator(16, 32)
    # sample() without latents draws them from its seed (evaluation and the report rely on it)
    assert torch.equal(sample(G, 6, seed=7), sample(G, 6, seed=7, latents=z))


def test_truncation_redraws_from_the_same_stream():
    z = seeded_latents(1, 64, 8, truncation=1.0)
    assert z.abs().max() <= 1.0
    plain = seeded_latents(1, 64, 8)
    keep = plain.abs() <= 1.0
    assert torch.equal(z[keep], plain[keep])                 # only the outliers were redrawn
    assert torch.equal(truncated_latents(64, 8, 1, 1.0), z)
