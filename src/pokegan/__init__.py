"""pokegan: a reproducible pipeline for the Pokémon GAN study (DCGAN, AEGAN; FID/KID/IS)."""
__version__ = "0.1.0"
