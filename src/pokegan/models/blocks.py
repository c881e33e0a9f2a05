"""Small building blocks shared by the DCGAN and AEGAN networks."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

BASE_CHANNELS = 64   # width of the layer next to the image; doubles per halving of the size


def num_stages(image_size: int) -> int:
    """Stride-2 stages between a 4×4 map and the image: 3 for 32 px, 4 for 64, 5 for 128."""
    n = int(math.log2(image_size)) - 2
    if n < 1 or 4 * 2 ** n != image_size:
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
    return n


def widths(image_size: int, base: int = BASE_CHANNELS) -> list[int]:
    """Channels from the image side to the 4×4 side: 64 px → [64, 128, 256, 512]."""
    return [base * 2 ** i for i in range(num_stages(image_size))]


def maybe_sn(layer: nn.Module, on: bool) -> nn.Module:
    """Wrap ``layer`` in spectral normalisation when ``on``."""
    return _spectral_norm(layer) if on else layer


def down_block(c_in: int, c_out: int, kernel: int, *, sn: bool, bn: bool) -> list[nn.Module]:
    """Stride-2 conv (halves the size) + optional BatchNorm + LeakyReLU(0.2)."""
    layers = [maybe_sn(nn.Conv2d(c_in, c_out, kernel, 2, 1, bias=not bn), sn)]
    if bn:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


def up_block(c_in: int, c_out: int, kernel: int) -> list[nn.Module]:
    """Stride-2 transposed conv (doubles the size) + BatchNorm + ReLU."""
    return [nn.ConvTranspose2d(c_in, c_out, kernel, 2, 1, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def resize_up_block(c_in: int, c_out: int) -> list[nn.Module]:
    """Nearest-neighbour ×2 then a 3×3 conv + BatchNorm + ReLU: every output pixel sees the same
    number of kernel taps, so no checkerboard (Odena et al., 2016)."""
    return [nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class MinibatchStd(nn.Module):
    """Appends one feature map: the mean over features of the per-feature standard deviation
    across groups of ``group`` samples (ProGAN/StyleGAN), so D can see a collapsed batch."""

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group, n)
        while n % g:
            g -= 1
        y = x.float().view(g, n // g, c, h, w)                      # sample i*(n/g)+j in group j
        y = (y.var(0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))   # (n/g,)
        y = y.to(x.dtype).view(n // g, 1, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


@torch.no_grad()
def d_trunk(image_size: int, kernel: int, *, sn: bool, mbstd: bool) -> tuple[list[nn.Module], int]:
    """The DCGAN discriminator's conv trunk, 3×S×S → C×4×4, and C: stride-2 down blocks (BatchNorm
    on the inner ones only without spectral norm, as in the original DCGAN), then optionally a
    minibatch-stddev map (C + 1)."""
    ch = [3] + widths(image_size)                       # 64 px: [3, 64, 128, 256, 512]
    layers = []
    for i, (c_in, c_out) in enumerate(zip(ch, ch[1:])):
        layers += down_block(c_in, c_out, kernel, sn=sn, bn=not sn and i > 0)
    if mbstd:
        layers.append(MinibatchStd())
    return layers, ch[-1] + int(mbstd)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: conv/linear weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0.

    Under spectral norm the raw weight lives in ``parametrizations.weight.original``.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
