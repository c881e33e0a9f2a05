"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random, differentiable transforms are applied to every image D sees — real and fake,
in the D step and in the G step — so D cannot overfit a small set while G still gets gradients.
Policies (in the order given): ``color`` (brightness +U[-0.5,0.5), saturation ×U[0,2),
contrast ×U[0.5,1.5)), ``translation`` (shift up to 1/8 of the size, zero padded),
``cutout`` (a zeroed square of half the size). Images are N×C×H×W in [-1, 1]; every random
draw comes from the explicit ``generator`` (on the images' device).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from pokegan.config import DIFFAUGMENT_POLICIES, ConfigError, check_diffaugment


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color,cutout"`` → ``("color", "cutout")``; a typo raises ValueError with the allowed values."""
    try:
        return check_diffaugment("diffaugment", policy)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def _uniform(n: int, x: torch.Tensor, g: torch.Generator, lo: float, hi: float) -> torch.Tensor:
    u = torch.rand(n, 1, 1, 1, generator=g, device=x.device, dtype=torch.float32)
    return (lo + (hi - lo) * u).to(x.dtype)


def brightness(x, g):
    return x + _uniform(x.shape[0], x, g, -0.5, 0.5)


def saturation(x, g):
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * _uniform(x.shape[0], x, g, 0.0, 2.0) + mean


def contrast(x, g):
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(x.shape[0], x, g, 0.5, 1.5) + mean


def color(x, g):
    return contrast(saturation(brightness(x, g), g), g)


def translation(x: torch.Tensor, g: torch.Generator, ratio: float = 0.125,
                shifts: torch.Tensor | None = None) -> torch.Tensor:
    """Shift each image by integers (dy, dx) in [-r, r], r = round(ratio·size); vacated pixels are 0.

    ``shifts`` (N×2, optional) fixes the shifts instead of drawing them.
    """
    n, _, h, w = x.shape
    r = int(h * ratio + 0.5)
    if shifts is None:
        shifts = torch.randint(-r, r + 1, (n, 2), generator=g, device=x.device)
    shifts = shifts.to(x.device)
    padded = F.pad(x, [r, r, r, r])
    rows = torch.arange(h, device=x.device)[None, :] + r - shifts[:, 0:1]   # N×H
    cols = torch.arange(w, device=x.device)[None, :] + r - shifts[:, 1:2]   # N×W
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]            # N×H×W×C
    return out.permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, g: torch.Generator, ratio: float = 0.5,
           centres: torch.Tensor | None = None) -> torch.Tensor:
    """Zero a square of side round(ratio·size) centred at a random pixel (clipped at the border).

    ``centres`` (N×2, optional) fixes the (row, col) centres instead of drawing them.
    """
    n, _, h, w = x.shape
    size = int(h * ratio + 0.5)
    if centres is None:
        centres = torch.stack([torch.randint(0, h, (n,), generator=g, device=x.device),
                               torch.randint(0, w, (n,), generator=g, device=x.device)], dim=1)
    centres = centres.to(x.device)
    top = centres[:, 0:1] - size // 2
    left = centres[:, 1:2] - size // 2
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    in_rows = (ys >= top) & (ys < top + size)                               # N×H
    in_cols = (xs >= left) & (xs < left + size)                             # N×W
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])                     # N×H×W
    return x * keep[:, None].to(x.dtype)


_OPS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: str | tuple[str, ...], generator: torch.Generator,
                 p: torch.Tensor | None = None) -> torch.Tensor:
    """Apply ``policy`` (a string or parsed tuple) to a batch; ``""`` returns ``x`` unchanged.

    With ``p`` (a 0-dim tensor, adaptive augmentation) each op reaches each image with
    probability ``p``; without it every op reaches every image (DiffAugment), drawing exactly the
    random numbers it always drew."""
    parts = parse_policy(policy) if isinstance(policy, str) else policy
    for name in parts:
        if p is None:
            x = _OPS[name](x, generator)
        else:
            hit = torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device) < p
            x = torch.where(hit, _OPS[name](x, generator), x)
    return x.contiguous()


assert set(_OPS) == set(DIFFAUGMENT_POLICIES)
