"""The ``reference`` stage's work: the real images' features, computed once per dataset.

:func:`build_references` featurises the un-augmented real images of every prepared dataset (a
seeded subsample of at most ``eval.real_max``) into ``data/reference/<dataset>.npz``;
:func:`expected_fingerprint` says what such a file must have been computed from, so evaluation
refuses a stale one.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from pokegan.config import Config
from pokegan.files import atomic_dir, library_versions
from pokegan.metrics.features import (FeatureSet, reference_fingerprint, save_reference,
                                      subsample_rows)
from pokegan.metrics.inception import FeatureNet, load_feature_net


def prepared_datasets(root: str | Path = "data/prepared") -> list[str]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(d.name for d in root.iterdir() if d.is_dir() and (d / "meta.json").is_file())


def dataset_fingerprint(dataset: str, root: str | Path = "data/prepared") -> str | None:
    meta = Path(root) / dataset / "meta.json"
    if not meta.is_file():
        return None
    return str(json.loads(meta.read_text()).get("fingerprint"))


def expected_fingerprint(cfg: Config, dataset: str, net: FeatureNet,
                         prepared_root: str | Path = "data/prepared") -> dict:
    """What the reference of ``dataset`` must have been computed from (see features.py)."""
    fp = reference_fingerprint(dataset, dataset_fingerprint(dataset, prepared_root) or "",
                               net.sha1, net.resize, cfg.eval.real_max, cfg.seed)
    if dataset_fingerprint(dataset, prepared_root) is None:
        fp.pop("dataset_fingerprint")  # prepared data not in this workspace: compare the rest
    return fp


def build_references(cfg: Config, prepared_root: str | Path = "data/prepared",
                     out_root: str | Path = "data/reference", net: FeatureNet | None = None,
                     log=print) -> dict[str, Path]:
    """Write ``<out_root>/<dataset>.npz`` for every dataset under ``prepared_root`` (atomically)."""
    from pokegan.data.prepared import load_prepared
    datasets = prepared_datasets(prepared_root)
    if not datasets:
        raise FileNotFoundError(f"{prepared_root}: no prepared datasets found; run `dvc repro augment`")
    net = net or load_feature_net()
    written = {}
    with atomic_dir(out_root) as tmp:
        for ds in datasets:
            t0 = time.perf_counter()
            images, index, meta = load_prepared(ds, root=prepared_root, originals_only=True)
            if len(images) < 2:
                raise ValueError(f"{prepared_root}/{ds}: {len(images)} un-augmented images; "
                                 "a reference needs at least 2")
            rows = subsample_rows(len(images), cfg.eval.real_max, cfg.seed)
            feats = FeatureSet(net.extract(images[torch.as_tensor(rows)], cfg.eval.batch_size,
                                           desc=f"reference {ds}"))
            fp = reference_fingerprint(ds, meta.get("fingerprint", ""), net.sha1, net.resize,
                                       cfg.eval.real_max, cfg.seed)
            source_rows = index["row"].to_numpy()[rows] if "row" in index.columns else rows
            save_reference(tmp / f"{ds}.npz", feats, fp, source_rows,
                           extra={"feature_extractor": net.info(), "originals": len(images),
                                  "image_size": int(images.shape[-1]),
                                  "versions": library_versions()})
            written[ds] = Path(out_root) / f"{ds}.npz"
            dt = time.perf_counter() - t0
            log(f"reference {ds}: {feats.n} of {len(images)} originals at {images.shape[-1]} px, "
                f"{dt:.0f} s ({feats.n / max(dt, 1e-9):.1f} img/s) -> {written[ds]}")
    return written
