"""Loading the prepared data written by the augment stage (``data/prepared/<dataset>/``).

Layout per dataset: ``images.npy`` (uint8, N×3×S×S), ``index.csv``
(row,file,augmentation,species_id,species,type1,type2,colour) and ``meta.json``
(count, image_size, select, copies, sha256 of images.npy, fingerprint).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pokegan.data import DataError


class PreparedDataMissing(DataError, FileNotFoundError):
    """The prepared data of a dataset is absent; run `dvc repro augment`."""


def prepared_paths(dataset: str, root: str | Path = "data/prepared") -> dict[str, Path]:
    base = Path(root) / dataset
    return {"dir": base, "images": base / "images.npy", "index": base / "index.csv",
            "meta": base / "meta.json"}


# Which augmentation kinds (index.csv's column) each `train_on` value keeps.
TRAIN_ON_KINDS = {"all": None, "flips": ("original", "mirror")}


def load_prepared(dataset: str, root="data/prepared", originals_only=False,
                  kinds: tuple[str, ...] | None = None) -> tuple[torch.Tensor, pd.DataFrame, dict]:
    """(uint8 tensor N×3×S×S on CPU, index DataFrame, meta dict).

    ``originals_only`` keeps the rows whose augmentation is 'original', ``kinds`` those whose
    augmentation is one of ``kinds`` (e.g. ``TRAIN_ON_KINDS["flips"]``); the index is then
    re-numbered from 0, its ``row`` column still points into the full images.npy.
    Raises :class:`PreparedDataMissing` naming the missing path and `dvc repro augment`.
    """
    paths = prepared_paths(dataset, root)
    for key in ("images", "index", "meta"):
        if not paths[key].exists():
            available = sorted(p.name for p in Path(root).iterdir() if p.is_dir()) \
                if Path(root).is_dir() else []
            raise PreparedDataMissing(
                f"{paths[key]}: not found — the prepared data for dataset {dataset!r} is missing; "
                f"run `dvc repro augment` (available datasets: {', '.join(available) or 'none'})")
    try:
        meta = json.loads(paths["meta"].read_text())
        arr = np.load(paths["images"], mmap_mode=None, allow_pickle=False)
        index = pd.read_csv(paths["index"], keep_default_na=False,
                            dtype={"species": str, "type1": str, "type2": str, "colour": str,
                                   "file": str, "augmentation": str})
    except (OSError, ValueError, EOFError, pd.errors.ParserError) as exc:
        # truncated images.npy ("file seems not fully written"), garbage, bad JSON/CSV
        raise DataError(f"{paths['dir']}: unreadable or corrupt prepared data "
                        f"({type(exc).__name__}: {exc}); run `dvc repro augment`") from None
    if not isinstance(meta, dict) or not isinstance(arr, np.ndarray):
        raise DataError(f"{paths['dir']}: not the augment stage's output; run `dvc repro augment`")
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[1] != 3:
        raise DataError(f"{paths['images']}: expected uint8 N×3×S×S, got {arr.dtype} {arr.shape}; "
                        "run `dvc repro augment`")
    if len(index) != arr.shape[0]:
        raise DataError(f"{paths['index']}: {len(index)} rows but {paths['images']} holds "
                        f"{arr.shape[0]} images; run `dvc repro augment`")
    if originals_only:
        kinds = ("original",)
    if kinds is not None:
        keep = index["augmentation"].isin(kinds).to_numpy()
        if not keep.any():
            raise DataError(f"{paths['index']}: no rows of augmentation {', '.join(kinds)}")
        arr = arr[keep]
        index = index[keep].reset_index(drop=True)
    return torch.from_numpy(np.ascontiguousarray(arr)), index, meta
