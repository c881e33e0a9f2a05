"""pokegan: a reproducible pipeline for the Pokémon GAN study (DCGAN, AEGAN; FID/KID/IS).

The Python API for trained models (what the ``pokegan`` command uses)::

    from pokegan import generator_file, load_generator, sample, save_grid_png
    G, meta = load_generator("models/dcgan_artwork")     # generator.pt: the last epoch
    images = sample(G, 16, seed=0)                        # uint8 16×3×64×64 on the CPU
    save_grid_png(images, "grid.png")
    G_best, _ = load_generator(generator_file("models/dcgan_artwork", "best"))

Also :func:`latent_walk` (slerp between seeds), :func:`type_walk` (conditional models),
:func:`load_encoder`, :func:`encode` and :func:`interpolate` (AEGAN); these names are imported on
first use.

Importing the package imports every model family (:mod:`pokegan.families`): registering them
hands the config loader their keys and the model files their network classes, so every module
below the families can rely on a complete registry without importing a family.
"""
__version__ = "0.1.0"

from pokegan import families as _families   # noqa: E402

_families.load_all()

_API = {
    "load_generator": "pokegan.models.io",
    "load_encoder": "pokegan.models.io",
    "sample": "pokegan.models.sampling",
    "generator_file": "pokegan.models.io",
    "save_grid_png": "pokegan.grids",
    "latent_walk": "pokegan.explore",
    "type_walk": "pokegan.explore",
    "encode": "pokegan.explore",
    "interpolate": "pokegan.explore",
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'pokegan' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(_API[name]), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
