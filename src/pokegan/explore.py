"""Exploring a trained model: what `pokegan interpolate / reconstruct / sample --type` do with it.

* :func:`latent_walk` — any generator: spherical interpolation (slerp) between the latents of
  seeds (each seed's latent is the one ``pokegan sample --seed S -n 1`` draws).
* :func:`type_walk` — the conditional model: one latent, its type embedding moved from one
  type to the next.
* :func:`encode` — AEGAN: images → latents with the encoder E.

* :func:`find_pokemon` — a name ('bulbasaur', 'Deoxys-Attack', 'unown-b', '25') → its image in
  ``data/raw/<dataset>/`` (case- and punctuation-insensitive; unknown names get the closest ones).
* :func:`load_raw` — that image preprocessed exactly like the prepared data (the augment stage's
  :func:`pokegan.data.augment.resize`).
* :func:`interpolation_strip` — AEGAN: encode each named image with E, decode the straight line
  between consecutive latents with G; one row: first original, the decoded frames, last original.
* :func:`reconstruction_grid` — AEGAN: real prepared images above G(E(x)), and the mean L1 error;
  with ``prior``, G's samples from the prior below and :func:`encoded_spread` of the originals.
* :func:`reconstruction_curve` — AEGAN: that error at every checkpoint, on the same images.
* :func:`type_labels` — ``--type water`` → class indices for a type-conditional generator.

Errors a user can fix raise :class:`GenerateError` (one line, for the CLI).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn


class GenerateError(ValueError):
    """A wrong model kind, an unknown name or missing data; the message says what to do."""


# --------------------------------------------------------------------------- models
def load_aegan(model: str | Path, what: str = "this command") -> tuple[nn.Module, nn.Module, dict]:
    """(G, E, meta) of an AEGAN model folder; a clear error for any other kind of model."""
    from pokegan.models.io import (ModelFileError, check_pair, check_run, final_path,
                                   generator_file, load_encoder, load_generator)

    folder = Path(model)
    if not folder.is_dir():
        raise GenerateError(f"no model folder at {folder}" if not folder.exists() else
                            f"{folder}: give the model folder (models/<variant>), not a file")
    try:
        G, meta = load_generator(generator_file(folder))
        if not final_path(folder, "E").is_file():
            raise GenerateError(f"{folder} is a {meta.get('model', 'non-AEGAN')} model without an "
                                f"encoder; {what} needs an AEGAN model (e.g. models/aegan_artwork)")
        E, meta_e = load_encoder(final_path(folder, "E"))
        check_pair(meta, meta_e)    # G and E of one run, not a new G with an older E
        check_run(folder)
    except ModelFileError as exc:
        raise GenerateError(str(exc)) from None
    return G, E, meta


def type_labels(meta: dict, type_name: str, n: int) -> torch.Tensor:
    """``n`` copies of the class index of ``type_name`` for the conditional generator ``meta``
    describes."""
    from pokegan import families
    from pokegan.models.conditional import label_index

    if not families.conditional(meta):
        raise GenerateError(f"{meta.get('path', 'the model')} is a {meta.get('model', 'dcgan')} "
                            "model: --type needs a type-conditional (cdcgan) model")
    vocab = meta.get("labels")
    if not vocab:
        raise GenerateError(f"{meta.get('path')}: no label vocabulary stored with the model")
    try:
        return torch.full((n,), label_index(type_name, vocab), dtype=torch.int64)
    except ValueError as exc:
        raise GenerateError(str(exc)) from None


# --------------------------------------------------------------------------- names → images
@dataclass
class Found:
    name: str      # how the match is shown (e.g. 'Deoxys-Attack')
    path: Path     # the raw image


def _names_table(raw_root: Path, dataset: str) -> pd.DataFrame:
    index_path = raw_root / dataset / "index.csv"
    if not index_path.is_file():
        raise GenerateError(f"{index_path}: not found; run `dvc repro download` (or pass --raw)")
    rows = pd.read_csv(index_path, dtype=str, keep_default_na=False)
    rows["dex_name"] = ""
    dex_path = raw_root / "pokedex.csv"
    if dex_path.is_file() and "pokedex_id" in rows.columns:
        dex = pd.read_csv(dex_path, dtype=str, keep_default_na=False)
        if {"id", "dex_name"} <= set(dex.columns):
            rows["dex_name"] = rows["pokedex_id"].map(dict(zip(dex["id"], dex["dex_name"]))).fillna("")
    for col in ("pokedex_id", "species", "form"):
        if col not in rows.columns:
            rows[col] = ""
    return rows


def find_pokemon(name: str, raw_root: str | Path = "data/raw", dataset: str = "artwork") -> Found:
    """The image of the Pokémon called ``name``: matched against species ('Bulbasaur'), Pokédex
    names and forms ('Deoxys-Attack', 'unown-b') and PokeAPI ids ('386-attack', '25'), ignoring
    case and punctuation. A bare species name prefers its base form."""
    from pokegan.data.pokedex import to_id

    raw_root = Path(raw_root)
    rows = _names_table(raw_root, dataset)
    best: dict[str, int] = {}
    shown: dict[str, str] = {}
    # base forms first, so 'deoxys' is Deoxys rather than Deoxys-Attack
    order = sorted(range(len(rows)), key=lambda i: rows["form"].iat[i] != "")
    for i in order:
        species, form = rows["species"].iat[i], rows["form"].iat[i]
        label = rows["dex_name"].iat[i] or (f"{species}-{form}" if form else species) or rows["file"].iat[i]
        for key in (rows["dex_name"].iat[i], f"{species}-{form}" if form else "", species,
                    rows["pokedex_id"].iat[i], Path(rows["file"].iat[i]).stem):
            if key and to_id(key):
                best.setdefault(to_id(key), i)
                shown.setdefault(str(key), label)
    hit = best.get(to_id(name)) if to_id(name) else None
    if hit is None:
        lowered = {k.lower(): v for k, v in shown.items() if not k.replace("-", "").isdigit()}
        close = difflib.get_close_matches(name.strip().lower(), list(lowered), n=5, cutoff=0.6)
        names = list(dict.fromkeys(lowered[c] for c in close))
        hint = f"; did you mean: {', '.join(names)}?" if names else " (no close name either)"
        raise GenerateError(f"no Pokémon called {name!r} in {raw_root / dataset}{hint}")
    i = hit
    form = rows["form"].iat[i]
    label = rows["dex_name"].iat[i] or (f"{rows['species'].iat[i]}-{form}" if form else rows["species"].iat[i])
    return Found(label, raw_root / dataset / rows["file"].iat[i])


def load_raw(path: str | Path, image_size: int, dataset: str = "artwork") -> torch.Tensor:
    """A raw image as uint8 3×S×S, resized exactly like the augment stage does."""
    from PIL import Image

    from pokegan.data.augment import PIXEL_ART_DATASETS, resize

    try:
        with Image.open(path) as img:
            small = resize(img.convert("RGB"), image_size, dataset in PIXEL_ART_DATASETS)
    except (OSError, ValueError) as exc:
        raise GenerateError(f"{path}: cannot be read ({exc}); run `dvc repro download`") from None
    return torch.from_numpy(np.asarray(small.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1).copy())


# --------------------------------------------------------------------------- walks
def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return (1 - t) * a + t * b


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between vectors ``a`` and ``b`` at fractions ``t`` (T×1): Gaussian
    latents live near a sphere, and the straight line between two cuts through its low-density
    inside (Shoemake 1985; White 2016 for GANs). Nearly parallel vectors fall back to lerp."""
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-4:
        return lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def walk(points: torch.Tensor, steps: int, mix=lerp) -> torch.Tensor:
    """``steps`` points per segment between consecutive rows of ``points`` (both ends included,
    junctions once), each segment mixed by ``mix(a, b, t)``."""
    if steps < 2:
        raise GenerateError(f"--steps must be >= 2, got {steps}")
    if len(points) < 2:
        raise GenerateError("a walk needs at least two points (seeds, types or Pokémon)")
    t = torch.linspace(0, 1, steps)[:, None]
    return torch.cat([points[:1]] + [mix(a, b, t)[1:] for a, b in zip(points, points[1:])])


def seed_latents(seeds: list[int], latent_dim: int) -> torch.Tensor:
    """One latent per seed: the first one ``pokegan sample --seed S`` draws."""
    from pokegan.models.latents import seeded_latents
    return torch.cat([seeded_latents(s, 1, latent_dim) for s in seeds])


@torch.no_grad()
def latent_walk(G: nn.Module, seeds: list[int], steps: int = 8,
                labels: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 frames of G along the slerp path between the seeds' latents (``steps`` per
    segment); a conditional G draws every frame as ``labels[0]``'s type."""
    from pokegan.models.sampling import sample

    z = walk(seed_latents(seeds, G.latent_dim), steps, slerp)
    y = labels[:1].expand(len(z)) if labels is not None else None
    return sample(G, len(z), seed=0, latents=z, labels=y)


@torch.no_grad()
def type_walk(G: nn.Module, meta: dict, types: list[str], steps: int = 8,
              seed: int = 0) -> torch.Tensor:
    """uint8 frames of a conditional G at one latent (``seed``'s) while its type embedding moves
    linearly from each type to the next."""
    from pokegan.models.sampling import to_uint8

    index = torch.cat([type_labels(meta, t, 1) for t in types])
    e = walk(G.embed.weight[index], steps)
    z = seed_latents([seed], G.latent_dim).expand(len(e), -1)
    was = G.training
    G.eval()
    try:
        return to_uint8(G.from_embedding(z, e))
    finally:
        G.train(was)


# --------------------------------------------------------------------------- AEGAN
def _to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(127.5).sub(1.0)


@torch.no_grad()
def encode(E: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """AEGAN: the latents E(x) of uint8 N×3×S×S images (what G(E(x)) reconstructs from);
    E as :func:`pokegan.models.io.load_encoder` returns it (eval mode)."""
    return E(_to_float(images))


@torch.no_grad()
def interpolate(G: nn.Module, E: nn.Module, images: torch.Tensor, steps: int) -> torch.Tensor:
    """Decoded frames along the straight lines between the latents E(x_0), E(x_1), ...:
    ``steps`` frames per segment including both ends (junctions not repeated), uint8."""
    from pokegan.models.sampling import to_uint8

    return to_uint8(G(walk(encode(E, images), steps)))


def interpolation_strip(model: str | Path, names: list[str], steps: int = 8,
                        raw_root: str | Path = "data/raw", dataset: str | None = None
                        ) -> tuple[torch.Tensor, list[Found]]:
    """One row of uint8 images: the first original, the decoded path, the last original."""
    if len(names) < 2:
        raise GenerateError("give at least two Pokémon names")
    G, E, meta = load_aegan(model, "interpolate")
    dataset = dataset or meta.get("dataset") or "artwork"
    found = [find_pokemon(n, raw_root, dataset) for n in names]
    x = torch.stack([load_raw(f.path, int(meta["image_size"]), dataset) for f in found])
    frames = interpolate(G, E, x, steps)
    return torch.cat([x[:1], frames, x[-1:]]), found


def _originals(dataset: str, image_size: int, prepared_root: str | Path) -> torch.Tensor:
    """The un-augmented prepared images of ``dataset`` (uint8), checked against the model's size."""
    from pokegan.data.prepared import PreparedDataMissing, load_prepared

    try:
        real, _, _ = load_prepared(dataset, root=prepared_root, originals_only=True)
    except PreparedDataMissing as exc:
        raise GenerateError(str(exc)) from None
    if real.shape[-1] != image_size:
        raise GenerateError(f"{prepared_root}/{dataset} holds {real.shape[-1]} px images but the "
                            f"model makes {image_size} px ones")
    return real


def _pick(n_real: int, n: int, seed: int) -> torch.Tensor:
    """The same ``n`` seeded indices for a grid and for every checkpoint of a curve."""
    return torch.randperm(n_real, generator=torch.Generator().manual_seed(seed))[:n]


@torch.no_grad()
def reconstruct(G: nn.Module, E: nn.Module, real: torch.Tensor, chunk: int = 50
                ) -> tuple[torch.Tensor, float]:
    """(G(E(x)) as floats in [-1, 1], mean L1 error against x in those units) for uint8 ``real``,
    in chunks so that a few hundred images fit any machine."""
    rec = torch.cat([G(encode(E, real[i:i + chunk])).float() for i in range(0, len(real), chunk)])
    return rec, float((rec - _to_float(real)).abs().mean())


def reconstruction_grid(model: str | Path, n: int = 8, seed: int = 0,
                        prepared_root: str | Path = "data/prepared", dataset: str | None = None,
                        prior: bool = False) -> tuple[torch.Tensor, float, dict | None]:
    """(uint8 2n images: n real prepared originals then their G(E(x)), mean L1 in [-1, 1] units,
    None). ``dataset``: whose originals (default the one the model trained on). ``prior``: a
    third row, G's samples from ``seed``'s N(0, I) latents, the ones ``pokegan sample`` draws,
    and instead of None the :func:`encoded_spread` of every original: an AEGAN can decode E(x)
    well and the prior badly."""
    from pokegan.models.sampling import sample, to_uint8

    if n < 1:
        raise GenerateError(f"-n must be >= 1, got {n}")
    G, E, meta = load_aegan(model, "reconstruct")
    originals = _originals(dataset or meta.get("dataset") or "artwork", int(meta["image_size"]),
                           prepared_root)
    real = originals[_pick(len(originals), n, seed)]
    rec, err = reconstruct(G, E, real)
    if not prior:
        return torch.cat([real, to_uint8(rec)]), err, None
    return torch.cat([real, to_uint8(rec), sample(G, n, seed)]), err, encoded_spread(E, originals)


@torch.no_grad()
def encoded_spread(E: nn.Module, real: torch.Tensor, chunk: int = 50) -> dict:
    """AEGAN: where E puts uint8 ``real`` against the N(0, I) prior G samples from: the median
    latent norm (the prior's is about the square root of the latent size) and the median over
    dimensions of the encoded latents' std (the prior's is 1)."""
    z = torch.cat([encode(E, real[i:i + chunk]).flatten(1) for i in range(0, len(real), chunk)])
    return {"images": len(real), "latent_dim": z.shape[1], "norm": float(z.norm(dim=1).median()),
            "std": float(z.std(0).median())}


def reconstruction_curve(model: str | Path, n: int = 750, seed: int = 0,
                         prepared_root: str | Path = "data/prepared", dataset: str | None = None
                         ) -> list[dict]:
    """AEGAN: the mean L1 error of G(E(x)) at every checkpoint of a model folder, on the same
    ``n`` seeded originals of ``dataset`` (default the training set; another dataset, e.g. the
    sprite frames of an artwork model, are real images it never saw). One row per checkpoint:
    epoch, images_seen, dataset, images, l1."""
    from pokegan.models.io import ModelFileError, check_pair, list_checkpoints, load_encoder, load_generator

    if n < 1:
        raise GenerateError(f"-n must be >= 1, got {n}")
    _, _, meta = load_aegan(model, "reconstruct")
    dataset = dataset or meta.get("dataset") or "artwork"
    real = _originals(dataset, int(meta["image_size"]), prepared_root)
    real = real[_pick(len(real), n, seed)]
    checkpoints = list_checkpoints(model)
    if not checkpoints:
        raise GenerateError(f"{model} has no checkpoints (models/<variant>/checkpoints/epoch_*.pt)")
    rows = []
    for epoch, path in checkpoints:
        try:
            G, meta_g = load_generator(path)
            E, meta_e = load_encoder(path)
            check_pair(meta_g, meta_e)
        except ModelFileError as exc:
            raise GenerateError(str(exc)) from None
        rows.append({"epoch": epoch, "images_seen": meta_g.get("images_seen"), "dataset": dataset,
                     "images": len(real), "l1": reconstruct(G, E, real)[1]})
    return rows


def reference_images(dataset: str, reference: str | Path | None = None,
                     prepared_root: str | Path = "data/prepared", expect: dict | None = None):
    """(uint8 images, :class:`~pokegan.metrics.features.Reference`): the real images the metrics
    compare ``dataset``'s samples with — ``data/reference/<dataset>.npz`` (or ``reference``)
    names their rows in the prepared data. ``expect``: fingerprint keys the reference must match."""
    from pokegan.data.prepared import PreparedDataMissing, load_prepared
    from pokegan.metrics.features import ReferenceError, load_reference, reference_path

    try:
        ref = load_reference(reference or reference_path(dataset), expect=expect)
        real, _, _ = load_prepared(dataset, root=prepared_root)
    except (ReferenceError, PreparedDataMissing) as exc:
        raise GenerateError(str(exc)) from None
    if ref.rows is None or int(ref.rows.max()) >= len(real):
        raise GenerateError(f"{ref.path} does not name its images' rows in {prepared_root}/"
                            f"{dataset}; run `dvc repro reference`")
    return real[torch.as_tensor(ref.rows)], ref


def nearest_artworks(G: nn.Module, meta: dict, n: int, seed: int = 0,
                     reference: str | Path | None = None,
                     prepared_root: str | Path = "data/prepared", net=None
                     ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``n`` seeded samples of ``G``, each followed by its nearest real image in Inception pool3
    space (uint8, 2n images), the distances, and which samples the memorisation test calls
    copies. The real images are :func:`reference_images`, the set the metrics compare against."""
    from pokegan.metrics.evaluate import generated
    from pokegan.metrics.inception import load_feature_net
    from pokegan.metrics.memorisation import copy_flags, nearest

    if n < 1:
        raise GenerateError(f"-n must be >= 1, got {n}")
    net = net or load_feature_net()
    real, ref = reference_images(meta.get("dataset") or "artwork", reference, prepared_root,
                                 expect={"feature_net_sha1": net.sha1, "resize": net.resize})
    fakes = generated(G, meta, n, seed)
    feats = net.extract(fakes, desc=False)
    index, dist = nearest(ref.feats, feats)
    pairs = torch.stack([fakes, real[torch.as_tensor(index)]], 1).flatten(0, 1)
    return pairs, dist, copy_flags(ref.feats, feats)
