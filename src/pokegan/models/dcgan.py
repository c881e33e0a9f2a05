"""DCGAN generator and discriminator (the study's DCGAN819, docs/study.md), sized by ``image_size``.

64 px:  G  z(128) → 512×4×4 → 256×8×8 → 128×16×16 → 64×32×32 → 3×64×64 (tanh)
        D  3×64×64 → 64×32×32 → 128×16×16 → 256×8×8 → 512×4×4 → 1 logit
32 px drops the widest stage, 128 px adds a 1024-channel one. ``kwargs`` holds the constructor
arguments, so a saved state_dict plus that plain dict rebuilds the network without pickling it.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import UpConv, d_trunk, dcgan_init, maybe_sn, resize_up_block, up_block, widths

UPSAMPLE_MODES = ("convtranspose", "resize_conv")


class Generator(nn.Module):
    """``upsample``: ``convtranspose`` (the study: stride-2 transposed convs) or ``resize_conv``
    (a linear layer to 4×4, then nearest ×2 + 3×3 conv per stage; no transposed conv at all)."""

    def __init__(self, latent_dim: int = 128, image_size: int = 64, kernel_size: int = 4,
                 upsample: str = "convtranspose"):
        super().__init__()
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLE_MODES)}, got {upsample!r}")
        self.kwargs = dict(latent_dim=latent_dim, image_size=image_size, kernel_size=kernel_size)
        if upsample != "convtranspose":        # study files keep their exact kwargs
            self.kwargs["upsample"] = upsample
        self.latent_dim, self.image_size, self.upsample = latent_dim, image_size, upsample
        ch = widths(image_size)[::-1]                       # 64 px: [512, 256, 128, 64]
        if upsample == "resize_conv":
            layers = [nn.Flatten(), nn.Linear(latent_dim, ch[0] * 16, bias=False),
                      nn.Unflatten(1, (ch[0], 4, 4)),
                      nn.BatchNorm2d(ch[0]), nn.ReLU(inplace=True)]   # z → 4×4
            for c_in, c_out in zip(ch, ch[1:]):
                layers += resize_up_block(c_in, c_out)
            layers += [nn.Identity(), UpConv(ch[-1], 3), nn.Tanh()]   # Identity: see resize_up_block
            self.net = nn.Sequential(*layers)
            dcgan_init(self)
            return
        layers = [nn.ConvTranspose2d(latent_dim, ch[0], kernel_size, 1, 0, bias=False),
                  nn.BatchNorm2d(ch[0]), nn.ReLU(inplace=True)]   # 1×1 → 4×4
        for c_in, c_out in zip(ch, ch[1:]):
            layers += up_block(c_in, c_out, kernel_size)
        layers += [nn.ConvTranspose2d(ch[-1], 3, kernel_size, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))


class Discriminator(nn.Module):
    """Stride-2 convs with LeakyReLU(0.2) and one logit (use BCE-with-logits).

    With ``spectral_norm`` every conv is spectrally normalised and there is no BatchNorm
    (SN-GAN style); without it the inner convs get BatchNorm, as in the original DCGAN.
    """

    def __init__(self, image_size: int = 64, kernel_size: int = 4, spectral_norm: bool = True,
                 mbstd: bool = False):
        super().__init__()
        self.kwargs = dict(image_size=image_size, kernel_size=kernel_size, spectral_norm=spectral_norm)
        if mbstd:                               # study files keep their exact kwargs
            self.kwargs["mbstd"] = True
        layers, c = d_trunk(image_size, kernel_size, sn=spectral_norm, mbstd=mbstd)
        layers.append(maybe_sn(nn.Conv2d(c, 1, kernel_size, 1, 0), spectral_norm))   # 4×4 → 1×1
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()
