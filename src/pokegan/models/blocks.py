"""Small building blocks shared by the DCGAN and AEGAN networks."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
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


def _phase_taps(w: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Along ``dim``, a 3-tap kernel read on a nearest-×2 signal is a 2-tap kernel on the
    original for each output phase: even outputs see rows (i-1, i) with taps (w0, w1+w2), odd
    ones rows (i, i+1) with (w0+w1, w2)."""
    w0, w1, w2 = w.unbind(dim)
    return torch.stack([w0, w1 + w2], dim), torch.stack([w0 + w1, w2], dim)


class UpConv(nn.Conv2d):
    """Nearest-neighbour ×2 followed by this 3×3 conv (padding 1), computed without building the
    upsampled map: one 2×2 conv on the (padded) input with one set of output channels per phase
    (even/odd row × even/odd column), interleaved afterwards. The same sums as upsample-then-
    conv (equal to rounding; tested) with 4 instead of 9 multiply-adds per output pixel and
    input. Measured on a 2-core Xeon: best_artwork's 5 epochs train in 256 s instead of 333 s
    (bf16, same seed); its KID over seeds did not change (docs/budgets.md)."""

    def __init__(self, c_in: int, c_out: int, bias: bool = True):
        super().__init__(c_in, c_out, 3, 1, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = torch.cat([t for r in _phase_taps(self.weight, 2) for t in _phase_taps(r, 3)])  # ab=00,01,10,11
        bias = None if self.bias is None else self.bias.repeat(4)
        y = F.conv2d(F.pad(x, (1, 1, 1, 1)), k, bias)                 # n, 4·c, H+1, W+1
        n, _, h, w = x.shape
        y = y.unflatten(1, (2, 2, -1))
        # phase (a, b) of output pixel (2i+a, 2j+b) is y[:, a, b, :, i+a, j+b]
        rows = [torch.stack([y[:, a, b, :, a:a + h, b:b + w] for b in (0, 1)], -1) for a in (0, 1)]
        return torch.stack(rows, -3).reshape(n, -1, 2 * h, 2 * w)


def resize_up_block(c_in: int, c_out: int) -> list[nn.Module]:
    """Nearest-neighbour ×2 then a 3×3 conv + BatchNorm + ReLU: every output pixel sees the same
    number of kernel taps, so no checkerboard (Odena et al., 2016). The Identity holds the place
    of the nn.Upsample that files saved before ``UpConv`` have, so their layer numbers load."""
    return [nn.Identity(), UpConv(c_in, c_out, bias=False),
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
