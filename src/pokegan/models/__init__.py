"""Networks: DCGAN G/D (:mod:`.dcgan`), AEGAN E/Dz (:mod:`.aegan`), loading/sampling (:mod:`.io`)."""
from __future__ import annotations

from torch import nn

from .aegan import Encoder, LatentDiscriminator
from .conditional import CONDITIONAL_MODELS, ConditionalGenerator, ProjectionDiscriminator
from .dcgan import Discriminator, Generator

# Saved files name a class by these keys, never by a pickled reference.
CLASSES: dict[str, type[nn.Module]] = {
    "Generator": Generator, "Discriminator": Discriminator,
    "Encoder": Encoder, "LatentDiscriminator": LatentDiscriminator,
    "ConditionalGenerator": ConditionalGenerator, "ProjectionDiscriminator": ProjectionDiscriminator,
}


def build_models(model: str, *, latent_dim: int, image_size: int, kernel_size: int,
                 spectral_norm: bool, num_classes: int = 0, upsample: str = "convtranspose",
                 mbstd: bool = False) -> dict[str, nn.Module]:
    """The networks of one variant, by role: dcgan → G, D; aegan → G, D (= Dx), E, Dz;
    cdcgan → conditional G and projection D over ``num_classes`` labels."""
    nets: dict[str, nn.Module] = {
        "G": Generator(latent_dim, image_size, kernel_size, upsample),
        "D": Discriminator(image_size, kernel_size, spectral_norm, mbstd),
    }
    if model in CONDITIONAL_MODELS:
        if num_classes < 2:
            raise ValueError(f"model {model!r} needs num_classes >= 2, got {num_classes}")
        nets["G"] = ConditionalGenerator(latent_dim, image_size, kernel_size, num_classes,
                                         upsample=upsample)
        nets["D"] = ProjectionDiscriminator(image_size, kernel_size, spectral_norm, num_classes,
                                            mbstd=mbstd)
    elif model == "aegan":
        nets["E"] = Encoder(latent_dim, image_size, kernel_size)
        nets["Dz"] = LatentDiscriminator(latent_dim, spectral_norm=spectral_norm)
    elif model != "dcgan":
        raise ValueError(f"unknown model {model!r}; allowed: dcgan, aegan, cdcgan")
    return nets


__all__ = ["CLASSES", "ConditionalGenerator", "Discriminator", "Encoder", "Generator", "LatentDiscriminator",
           "ProjectionDiscriminator", "build_models"]
