"""AEGAN's extra networks (Lazarou, arXiv:2004.05472): the encoder E: x → z and the latent
discriminator Dz. G and Dx are the DCGAN generator and discriminator (see :mod:`.dcgan`)."""
from __future__ import annotations

import torch
from torch import nn

from .blocks import dcgan_init, down_block, maybe_sn, widths


class Encoder(nn.Module):
    """Stride-2 convs (BatchNorm, LeakyReLU 0.2) down to 4×4, then a linear layer to the latent."""

    def __init__(self, latent_dim: int = 128, image_size: int = 64, kernel_size: int = 4):
        super().__init__()
        self.kwargs = dict(latent_dim=latent_dim, image_size=image_size, kernel_size=kernel_size)
        self.latent_dim, self.image_size = latent_dim, image_size
        ch = [3] + widths(image_size)
        layers = []
        for i, (c_in, c_out) in enumerate(zip(ch, ch[1:])):
            layers += down_block(c_in, c_out, kernel_size, sn=False, bn=i > 0)
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(ch[-1] * 4 * 4, latent_dim)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))


class LatentDiscriminator(nn.Module):
    """Fully connected: latent → hidden → hidden → 1 logit, LeakyReLU(0.2); optional spectral norm."""

    def __init__(self, latent_dim: int = 128, hidden: int = 512, spectral_norm: bool = True):
        super().__init__()
        self.kwargs = dict(latent_dim=latent_dim, hidden=hidden, spectral_norm=spectral_norm)
        sn = spectral_norm
        self.net = nn.Sequential(
            maybe_sn(nn.Linear(latent_dim, hidden), sn), nn.LeakyReLU(0.2, inplace=True),
            maybe_sn(nn.Linear(hidden, hidden), sn), nn.LeakyReLU(0.2, inplace=True),
            maybe_sn(nn.Linear(hidden, 1), sn),
        )
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).flatten()
