"""Networks: DCGAN G/D (:mod:`.dcgan`), AEGAN E/Dz (:mod:`.aegan`), loading/sampling (:mod:`.io`)."""
from __future__ import annotations

from torch import nn

from .aegan import Encoder, LatentDiscriminator
from .dcgan import Discriminator, Generator

# Saved files name a class by these keys, never by a pickled reference.
CLASSES: dict[str, type[nn.Module]] = {
    "Generator": Generator, "Discriminator": Discriminator,
    "Encoder": Encoder, "LatentDiscriminator": LatentDiscriminator,
}


def build_models(model: str, *, latent_dim: int, image_size: int, kernel_size: int,
                 spectral_norm: bool) -> dict[str, nn.Module]:
    """The networks of one variant, by role: dcgan → G, D; aegan → G, D (= Dx), E, Dz."""
    nets: dict[str, nn.Module] = {
        "G": Generator(latent_dim, image_size, kernel_size),
        "D": Discriminator(image_size, kernel_size, spectral_norm),
    }
    if model == "aegan":
        nets["E"] = Encoder(latent_dim, image_size, kernel_size)
        nets["Dz"] = LatentDiscriminator(latent_dim, spectral_norm=spectral_norm)
    elif model != "dcgan":
        raise ValueError(f"unknown model {model!r}; allowed: dcgan, aegan")
    return nets


__all__ = ["CLASSES", "Discriminator", "Encoder", "Generator", "LatentDiscriminator", "build_models"]
