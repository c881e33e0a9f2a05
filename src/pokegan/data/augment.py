"""The augment stage's library: the study's ×3 for the artwork set, a group filter, and the
prepared uint8 tensors every later stage loads (see :mod:`pokegan.data.prepared`).

Per dataset, ``data/prepared/<dataset>/``:

* ``images.npy`` — uint8 N×3×S×S (S = top-level ``image_size``), in blocks: all originals,
  then all mirrors, then all jittered copies (``index.csv`` says which row is which).
* ``index.csv`` — row,file,augmentation,species_id,species,type1,type2,colour.
* ``meta.json`` — count, image_size, select, copies, sha256 of images.npy, fingerprint.

Resizing to S: artwork and custom images are smooth renderings, resized with LANCZOS
(antialiased). Sprites are pixel art: enlarged with NEAREST (crisp pixels, no blur); shrunk
with BOX (area averaging: every source pixel counts, so one-pixel outlines do not vanish or
break up the way they do with NEAREST at non-integer ratios).

Only ``artwork`` is augmented (``augment.copies``: original, mirrored, colour-jittered);
``sprites`` and ``custom`` are used as they are (the study's large set was not augmented).
The jitter draws brightness, contrast and saturation factors from U[1-a, 1+a] with a
generator seeded by ``seed``, so the bytes are reproducible.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageEnhance
from tqdm import tqdm

from pokegan import files
from pokegan.data import DataError

AUGMENTED_DATASETS = ("artwork",)
PIXEL_ART_DATASETS = ("sprites",)
AUGMENTATIONS = ("original", "mirror", "jitter")
INDEX_COLUMNS = ["row", "file", "augmentation", "species_id", "species", "type1", "type2", "colour"]


def parse_select(select: str) -> tuple[str, str]:
    """'all' → ('all', ''); 'type:Water' → ('type', 'water'); 'color:blue' → ('colour', 'blue')."""
    s = select.strip()
    if s.lower() == "all":
        return "all", ""
    kind, sep, value = s.partition(":")
    kind = kind.strip().lower()
    kind = "colour" if kind == "color" else kind
    if not sep or kind not in ("type", "colour") or not value.strip():
        raise DataError(f"augment.select: {select!r} is not allowed; use 'all', "
                        "'type:<type>' (e.g. type:water) or 'colour:<colour>' (e.g. colour:blue)")
    return kind, value.strip().lower()


def valid_groups(rows: pd.DataFrame) -> list[str]:
    types = pd.concat([rows["type1"], rows["type2"]])
    out = [f"type:{t} ({n})" for t, n in sorted(types[types != ""].value_counts().items())]
    out += [f"colour:{c} ({n})" for c, n in sorted(rows["colour"].value_counts().items()) if c]
    return out


def select_rows(rows: pd.DataFrame, select: str, dataset: str) -> pd.DataFrame:
    """Rows of one dataset in the selected group; a group with no image is an error."""
    kind, value = parse_select(select)
    if kind == "all":
        return rows
    if kind == "type":
        keep = (rows["type1"] == value) | (rows["type2"] == value)
    else:
        keep = rows["colour"] == value
    out = rows[keep]
    if out.empty:
        raise DataError(f"augment.select: {select!r} matches no image of dataset {dataset!r}; "
                        f"valid groups: {', '.join(valid_groups(rows)) or 'none'}")
    return out


def resize(img: Image.Image, size: int, pixel_art: bool) -> Image.Image:
    if img.size == (size, size):
        return img
    if pixel_art:
        method = Image.NEAREST if size >= max(img.size) else Image.BOX
    else:
        method = Image.LANCZOS
    return img.resize((size, size), method)


def jitter(img: Image.Image, rng: np.random.Generator, brightness: float, contrast: float,
           saturation: float) -> Image.Image:
    """Brightness, then contrast, then saturation, each ×U[1-a, 1+a] (PIL ImageEnhance)."""
    for enhancer, amount in ((ImageEnhance.Brightness, brightness),
                             (ImageEnhance.Contrast, contrast),
                             (ImageEnhance.Color, saturation)):
        factor = float(rng.uniform(1.0 - amount, 1.0 + amount))
        if amount > 0:
            img = enhancer(img).enhance(factor)
    return img


def _to_chw(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)


def prepare_dataset(rows: pd.DataFrame, raw_dir: Path, dataset: str, image_size: int,
                    copies: int, seed: int, brightness: float, contrast: float,
                    saturation: float) -> tuple[np.ndarray, pd.DataFrame]:
    """(N×3×S×S uint8, index) for one dataset; ``copies`` applies to AUGMENTED_DATASETS."""
    copies = copies if dataset in AUGMENTED_DATASETS else 1
    pixel_art = dataset in PIXEL_ART_DATASETS
    n = len(rows)
    out = np.empty((n * copies, 3, image_size, image_size), dtype=np.uint8)
    rng = np.random.default_rng(seed)
    for i, rec in enumerate(tqdm(rows.itertuples(index=False), total=n,
                                 desc=f"augment: {dataset}", unit="img")):
        path = raw_dir / rec.file
        try:
            with Image.open(path) as img:
                small = resize(img.convert("RGB"), image_size, pixel_art)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot be read ({exc}); run `dvc repro download`") from None
        out[i] = _to_chw(small)
        if copies >= 2:
            out[n + i] = out[i][:, :, ::-1]  # mirrored left-right, exactly
        if copies >= 3:
            out[2 * n + i] = _to_chw(jitter(small, rng, brightness, contrast, saturation))
    base = rows[["file", "species_id", "species", "type1", "type2", "colour"]].reset_index(drop=True)
    index = pd.concat([base.assign(augmentation=AUGMENTATIONS[c]) for c in range(copies)],
                      ignore_index=True)
    index.insert(0, "row", np.arange(len(index)))
    return out, index[INDEX_COLUMNS]


def write_prepared(out_dir: Path, dataset: str, images: np.ndarray, index: pd.DataFrame,
                   meta_extra: dict) -> dict:
    """images.npy, index.csv and meta.json into ``out_dir/dataset`` (a folder being built
    inside :func:`pokegan.files.atomic_dir`)."""
    d = out_dir / dataset
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "images.npy", "wb") as fh:
        np.save(fh, images, allow_pickle=False)
    index.to_csv(d / "index.csv", index=False, lineterminator="\n")
    meta = {"dataset": dataset, "count": int(images.shape[0]), "image_size": int(images.shape[-1]),
            "originals": int((index["augmentation"] == "original").sum()),
            "images_sha256": files.sha256_file(d / "images.npy"),
            "index_sha256": files.sha256_file(d / "index.csv"), **meta_extra}
    meta["fingerprint"] = files.fingerprint(meta)
    files.write_json(d / "meta.json", meta)
    return meta


def read_groups(path: str | Path = "data/groups/groups.csv") -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: not found; run `dvc repro group`")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def augment_all(cfg, raw: str | Path = "data/raw", groups_csv: str | Path = "data/groups/groups.csv",
                out: str | Path = "data/prepared", log=print) -> dict[str, dict]:
    """Build data/prepared for every dataset in groups.csv; returns meta per dataset."""
    a = cfg.augment
    raw = Path(raw)
    groups = read_groups(groups_csv)
    datasets = sorted(groups["dataset"].unique())
    if not datasets:
        raise DataError(f"{groups_csv}: no images; run `dvc repro download group`")
    selected = {ds: select_rows(groups[groups["dataset"] == ds], a.select, ds) for ds in datasets}
    metas = {}
    with files.atomic_dir(out) as tmp:
        for ds in datasets:
            t0 = time.time()
            copies = a.copies if ds in AUGMENTED_DATASETS else 1
            images, index = prepare_dataset(selected[ds], raw / ds, ds, cfg.train.image_size,
                                            copies, cfg.train.seed, a.brightness, a.contrast,
                                            a.saturation)
            extra = {"select": a.select, "copies": copies, "seed": cfg.train.seed,
                     "jitter": {"brightness": a.brightness, "contrast": a.contrast,
                                "saturation": a.saturation} if copies >= 3 else None,
                     "resize": "nearest/box (pixel art)" if ds in PIXEL_ART_DATASETS else "lanczos"}
            metas[ds] = write_prepared(tmp, ds, images, index, extra)
            log(f"augment: {ds}: {metas[ds]['originals']} images × {copies} = {metas[ds]['count']} "
                f"at {cfg.train.image_size} px in {time.time() - t0:.1f} s")
    return metas
