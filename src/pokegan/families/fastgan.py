"""A FastGAN-style family (Liu et al. 2021, "Towards Faster and Stabilized GAN Training for
High-fidelity Few-shot Image Synthesis"), sized for 64 px and 2 CPU cores.

* G: z → 4×4, then nearest ×2 + 3×3 conv + BatchNorm + GLU per stage, with **skip-layer
  excitation**: the 4×4 map gates the channels of the S/2 map and the 8×8 map those of the S map
  (a cheap long-range path that FastGAN credits for fast convergence). ~1.5× the DCGAN G's MACs.
* D: stride-2 blocks (a 4×4 conv path and an average-pool path, averaged) with spectral norm, one
  hinge logit, and **self-supervision**: two small decoders rebuild, from D's own features on
  real images, the whole image at half size (from the 8×8 map) and one quarter of it at full
  resolution (from that quarter of the S/4 map). The pixel loss is L1 (FastGAN's LPIPS needs
  pretrained weights we cannot download). The quarter cycles with the step, so no host sync.
* Loss: hinge; the levers (DiffAugment/ADA, LeCam, EMA of G) come from the variant's params.

Keys of this family: ``fastgan_ch`` (the width unit: G is 8c..c/2 from 4×4 to the image, D
c..8c) and ``recon`` (the weight of D's reconstruction loss).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pokegan.config import key
from pokegan.models.blocks import UpConv, dcgan_init, maybe_sn, num_stages
from pokegan.ops.levers import hinge_d, hinge_g
from pokegan.ops.step import frozen, update

from . import Family, register


@dataclass(frozen=True)
class FastGANParams:
    fastgan_ch: int = key(32, lo=4, hi=512, doc="width unit: G 8c..c/2, D c..8c channels")
    recon: float = key(1.0, lo=0.0, doc="weight of D's L1 reconstruction of real images")


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """Nearest ×2, 3×3 conv to 2·c_out channels, BatchNorm, GLU (→ c_out)."""
    return nn.Sequential(nn.Identity(), UpConv(c_in, 2 * c_out, bias=False),   # see resize_up_block
                         nn.BatchNorm2d(2 * c_out), nn.GLU(dim=1))


class SkipExcitation(nn.Module):
    """Channel gates for a large map from a small one: pool to 4×4, 4×4 conv, 1×1 conv, sigmoid."""

    def __init__(self, c_small: int, c_big: int):
        super().__init__()
        self.net = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(c_small, c_big, 4, 1, 0),
                                 nn.LeakyReLU(0.1), nn.Conv2d(c_big, c_big, 1), nn.Sigmoid())

    def forward(self, small: torch.Tensor, big: torch.Tensor) -> torch.Tensor:
        return big * self.net(small)


def _g_widths(image_size: int, ch: int) -> list[int]:
    """Channels of G's maps from 4×4 to the image: 64 px, ch 32 → [256, 128, 64, 32, 16]."""
    return [max(ch * 8 // 2 ** i, 8) for i in range(num_stages(image_size) + 1)]


class FastGenerator(nn.Module):
    def __init__(self, latent_dim: int = 128, image_size: int = 64, ch: int = 32):
        super().__init__()
        self.kwargs = dict(latent_dim=latent_dim, image_size=image_size, ch=ch)
        self.latent_dim, self.image_size = latent_dim, image_size
        w = _g_widths(image_size, ch)
        self.init = nn.Sequential(nn.ConvTranspose2d(latent_dim, 2 * w[0], 4, 1, 0, bias=False),
                                  nn.BatchNorm2d(2 * w[0]), nn.GLU(dim=1))
        self.ups = nn.ModuleList(_up(a, b) for a, b in zip(w, w[1:]))
        self.sle_half = SkipExcitation(w[0], w[-2])      # 4×4 gates the S/2 map
        self.sle_full = SkipExcitation(w[1], w[-1])      # 8×8 gates the S map
        self.to_rgb = nn.Sequential(nn.Conv2d(w[-1], 3, 3, 1, 1), nn.Tanh())
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.init(z.view(z.shape[0], self.latent_dim, 1, 1))
        maps = [x]
        for up in self.ups[:-1]:
            maps.append(up(maps[-1]))
        half = self.sle_half(maps[0], maps[-1])
        full = self.sle_full(maps[1], self.ups[-1](half))
        return self.to_rgb(full)


class _Down(nn.Module):
    """Halves the size: (4×4 stride-2 conv, BN, LeakyReLU, 3×3 conv, BN, LeakyReLU) averaged with
    (2×2 average pool, 1×1 conv, BN, LeakyReLU), spectrally normalised convs."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.main = nn.Sequential(
            maybe_sn(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), True), nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.2), maybe_sn(nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), True),
            nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))
        self.direct = nn.Sequential(nn.AvgPool2d(2), maybe_sn(nn.Conv2d(c_in, c_out, 1, bias=False), True),
                                    nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))

    def forward(self, x):
        return (self.main(x) + self.direct(x)) / 2


def _decoder(c_in: int, stages: int) -> nn.Sequential:
    """``stages`` up blocks halving the width each, then a 3×3 conv to RGB (tanh)."""
    layers, c = [], c_in
    for _ in range(stages):
        layers.append(_up(c, max(c // 2, 8)))
        c = max(c // 2, 8)
    return nn.Sequential(*layers, nn.Conv2d(c, 3, 3, 1, 1), nn.Tanh())


class FastDiscriminator(nn.Module):
    def __init__(self, image_size: int = 64, ch: int = 32):
        super().__init__()
        self.kwargs = dict(image_size=image_size, ch=ch)
        n = num_stages(image_size)                       # stride-2 stages down to 4×4
        w = [ch * 2 ** i for i in range(n)]              # 64 px: [32, 64, 128, 256]
        self.stem = nn.Sequential(maybe_sn(nn.Conv2d(3, w[0], 4, 2, 1), True), nn.LeakyReLU(0.2))
        self.downs = nn.ModuleList(_Down(a, b) for a, b in zip(w, w[1:]))
        self.logit = maybe_sn(nn.Conv2d(w[-1], 1, 4, 1, 0), True)
        self.dec_small = _decoder(w[-2], n - 2)          # 8×8 map → S/2 image
        self.dec_part = _decoder(w[1] if n > 2 else w[0], 2)   # quarter of the S/4 map → S/2 crop
        dcgan_init(self)

    def forward(self, x: torch.Tensor, part: int | None = None):
        """The logit per image; with ``part`` (0..3, a quarter) also the two reconstructions."""
        maps = [self.stem(x)]
        for down in self.downs:
            maps.append(down(maps[-1]))
        logit = self.logit(maps[-1]).flatten()
        if part is None:
            return logit
        quarter = maps[1] if len(maps) > 2 else maps[0]  # the S/4 map
        h = quarter.shape[-1] // 2
        r, c = divmod(part, 2)
        crop = quarter[:, :, r * h:(r + 1) * h, c * h:(c + 1) * h]
        return logit, self.dec_small(maps[-2]), self.dec_part(crop)


def reconstruction_targets(x: torch.Tensor, part: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What D's decoders must rebuild: ``x`` at half size, and quarter ``part`` of ``x``."""
    s = x.shape[-1] // 2
    r, c = divmod(part, 2)
    return F.avg_pool2d(x, 2), x[:, :, r * s:(r + 1) * s, c * s:(c + 1) * s]


def fastgan_step(nets, opts, real: torch.Tensor, ctx) -> dict[str, torch.Tensor]:
    """D: hinge + ``recon`` · L1 of its two reconstructions of the (augmented) reals, plus
    LeCam/ADA through the context; then G: hinge against the updated D."""
    G, D = nets["G"], nets["D"]
    c = ctx.cfg
    part = ctx.steps_done % 4
    ctx.steps_done += 1
    z = ctx.latents(real.shape[0])
    with ctx.autocast():
        fake = G(z)
        real_in = ctx.aug(real)
        logit_real, rec_small, rec_part = D(real_in, part)
        logit_fake = D(ctx.aug(fake.detach()))
    small, crop = reconstruction_targets(real_in.float(), part)
    d_recon = (rec_small.float() - small).abs().mean() + (rec_part.float() - crop).abs().mean()
    d_loss = hinge_d(logit_real, logit_fake)
    update(ctx, ctx.d_regularised(d_loss, logit_real, logit_fake) + c.recon * d_recon, opts["D"])
    with frozen(D), ctx.autocast():
        logit_gen = D(ctx.aug(fake))
    g_loss = hinge_g(logit_gen)
    update(ctx, g_loss, opts["G"])
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
            "d_real": torch.sigmoid(logit_real.detach().float()).mean(),
            "d_fake": torch.sigmoid(logit_fake.detach().float()).mean(),
            "d_recon": d_recon.detach()}


def build_fastgan(cfg, num_classes: int = 0):
    return {"G": FastGenerator(cfg.latent_dim, cfg.image_size, cfg.fastgan_ch),
            "D": FastDiscriminator(cfg.image_size, cfg.fastgan_ch)}


FASTGAN = register(Family(
    name="fastgan", build=build_fastgan, step=fastgan_step,
    lrs=lambda cfg: {"G": cfg.lr, "D": cfg.d_lr},
    classes=(FastGenerator, FastDiscriminator), generator=("FastGenerator",),
    params=FastGANParams,
    requires={"loss": "hinge", "r1": 0.0, "upsample": "convtranspose", "mbstd": False},
    doc="FastGAN-style: skip-layer excitation in G, self-supervised D, hinge loss"))
