"""What every data source shares: the interface :func:`pokegan.data.sources.download` drives,
and the steps sources build their datasets with (process pool, pixel dedupe, even sampling)."""
from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
from tqdm import tqdm

INDEX_COLUMNS = ["file", "pokedex_id", "species_id", "species", "form", "source", "frame"]


class Source:
    """One way to fill data/raw (param ``data.source``); download() makes one per run.

    :meth:`fetch` runs before the new raw folder exists, so a failed download or integrity
    check leaves data/raw untouched; :meth:`build` then fills the new folder.
    """

    def __init__(self, cfg, work: Path, log: Callable[[str], None]):
        self.cfg, self.work, self.log = cfg, work, log   # work: a scratch folder for this run

    def fetch(self, timings: dict[str, float]) -> dict:
        """Get and check the input (adding its steps' seconds to ``timings``); returns the
        fields this source adds to manifest.json."""
        return {}

    def build(self, raw: Path, workers: int | None) -> tuple[dict[str, dict], pd.DataFrame]:
        """Write ``raw/<dataset>/images/``; returns each dataset's result (``rows`` in
        :data:`INDEX_COLUMNS`, ``skipped``, ``counts``, ``seconds``) and the pokedex.csv table."""
        raise NotImplementedError


@contextlib.contextmanager
def timed(timings: dict[str, float], key: str) -> Iterator[None]:
    """Seconds the block took, into ``timings[key]`` (they go to the log, never to data/raw)."""
    t = time.time()
    yield
    timings[key] = round(time.time() - t, 2)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def parallel_map(fn, items: list, workers: int, desc: str, unit: str) -> list:
    """``[fn(x) for x in items]`` with a progress bar, in a process pool when it pays off."""
    if workers > 1 and len(items) > 16:
        with ProcessPoolExecutor(workers) as pool:
            return list(tqdm(pool.map(fn, items, chunksize=8), total=len(items), desc=desc, unit=unit))
    return [fn(x) for x in tqdm(items, desc=desc, unit=unit)]


class PixelDedupe:
    """Exact pixel duplicates (equal :func:`pokegan.data.images.pixel_hash`): the first image
    seen is kept, each later one counts in ``removed``."""

    def __init__(self):
        self.first: dict[str, str] = {}
        self.removed = 0

    def duplicate_of(self, pixel_hash: str, name: str = "") -> str | None:
        """None when the pixels are new (``name`` is remembered for them), else the name of the
        first image that had them."""
        if pixel_hash in self.first:
            self.removed += 1
            return self.first[pixel_hash]
        self.first[pixel_hash] = name
        return None


def sample_even(groups: dict[str, list], n: int, rng: np.random.Generator) -> dict[str, list]:
    """Take ``n`` items spread as evenly as possible over ``groups`` (equal quota, water-filled:
    a small group gives all it has, the rest share its unused quota); each group's items are
    shuffled with ``rng`` first, and the last partial round goes to a random set of groups."""
    keys = sorted(groups)
    shuffled = {k: [groups[k][i] for i in rng.permutation(len(groups[k]))] for k in keys}
    sizes = np.array([len(shuffled[k]) for k in keys])
    if sizes.sum() <= n:
        return shuffled
    lo, hi = 0, int(sizes.max())  # largest quota q with sum(min(size, q)) <= n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if np.minimum(sizes, mid).sum() <= n:
            lo = mid
        else:
            hi = mid - 1
    take = np.minimum(sizes, lo)
    extra = n - int(take.sum())
    open_groups = np.flatnonzero(sizes > lo)
    for g in rng.permutation(open_groups)[:extra]:
        take[g] += 1
    return {k: shuffled[k][:t] for k, t in zip(keys, take)}
