"""Networks: DCGAN G/D (:mod:`.dcgan`), AEGAN E/Dz (:mod:`.aegan`), the conditional pair
(:mod:`.conditional`), loading/sampling (:mod:`.io`). Which family uses which networks, and how
they are built and trained, is declared in :mod:`pokegan.families`."""
from __future__ import annotations

from .aegan import Encoder, LatentDiscriminator
from .conditional import ConditionalGenerator, ProjectionDiscriminator
from .dcgan import Discriminator, Generator

__all__ = ["ConditionalGenerator", "Discriminator", "Encoder", "Generator", "LatentDiscriminator",
           "ProjectionDiscriminator"]
