"""Source ``folder``: any image files under ``data.folder`` (+ optional
``data.folder_types_csv``), as one dataset, ``custom``."""
from __future__ import annotations

import csv
import os
import re
import time
from pathlib import Path, PurePosixPath

import pandas as pd
from PIL import Image
from tqdm import tqdm

from pokegan.data import DataError
from pokegan.data import images as im
from pokegan.data import pokedex as pdx
from pokegan.data.sources.base import PixelDedupe, Source


def _safe_name(rel: str) -> str:
    stem = rel.rsplit(".", 1)[0] if "." in PurePosixPath(rel).name else rel
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem.replace("/", "__"))


# type names become class labels, `augment.select` values and mosaic file names
_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def read_types_csv(path: str | Path) -> dict[str, tuple[str, str]]:
    """file,type1[,type2] (header names case-insensitive; 'name' accepted for 'file').

    A row without a file or type1, or a type that is not one word of letters, digits, '-' or
    '_', is a :class:`DataError` naming the CSV's line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data.folder_types_csv: {path} not found")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = {c.lower().strip(): c for c in (reader.fieldnames or [])}
        key = cols.get("file") or cols.get("name")
        if key is None or "type1" not in cols:
            raise DataError(f"data.folder_types_csv: {path} needs columns file,type1[,type2] "
                            f"(found: {', '.join(reader.fieldnames or [])})")
        out = {}
        for row in reader:
            where = f"data.folder_types_csv: {path} line {reader.line_num}"
            # DictReader fills the columns a short row lacks with None
            name = (row.get(key) or "").strip().lower()
            t1 = (row.get(cols["type1"]) or "").strip().lower()
            t2 = ((row.get(cols["type2"]) or "") if "type2" in cols else "").strip().lower()
            if not name or not t1:
                raise DataError(f"{where}: needs a file and a type1, got {row.get(key)!r}, "
                                f"{row.get(cols['type1'])!r}")
            for t in (t1, t2) if t2 else (t1,):
                if not _TYPE_RE.match(t):
                    raise DataError(f"{where}: type {t!r} is not allowed; a type is one word of "
                                    "lowercase letters, digits, '-' or '_' (e.g. water)")
            out[name] = (t1, t2)
    return out


def _match_types(rel: str, types: dict[str, tuple[str, str]],
                 matched: set[str] | None = None) -> tuple[str, str]:
    p = PurePosixPath(rel.lower())
    for key in (str(p), p.name, p.stem):
        if key in types:
            if matched is not None:
                matched.add(key)
            return types[key]
    return "", ""


def build_folder(folder: str | Path, out_dir: Path, render_size: int, max_pixels: int,
                 types_csv: str | Path | None = None) -> tuple[dict, pd.DataFrame]:
    """Every image file under ``folder`` (recursively), decoded robustly, padded to a square,
    resized to render_size. Exact pixel duplicates are dropped (listed as skipped)."""
    t0 = time.time()
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"data.folder: {folder} is not a folder")
    types = read_types_csv(types_csv) if types_csv else {}
    candidates, ignored = [], 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if p.suffix.lower() in im.IMAGE_SUFFIXES:
                candidates.append(p)
            else:
                ignored += 1
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rows, skipped, pokedex_rows = [], [], []
    dedupe = PixelDedupe()
    names: set[str] = set()
    matched: set[str] = set()     # rows of the types CSV that named an image used
    for p in tqdm(candidates, desc="folder: decode images", unit="img"):
        rel = p.relative_to(folder).as_posix()
        try:
            img = im.decode_image(p, max_pixels)
            square = im.pad_to_square(img, max_pixels=max_pixels)
        except im.BadImage as exc:
            skipped.append({"file": rel, "reason": exc.reason})
            continue
        first = dedupe.duplicate_of(im.pixel_hash(img), rel)
        if first is not None:
            skipped.append({"file": rel, "reason": f"duplicate of {first}"})
            continue
        img = square
        if img.size != (render_size, render_size):
            img = img.resize((render_size, render_size), Image.LANCZOS)
        name = _safe_name(rel)
        while name in names:
            name += "_"
        names.add(name)
        img.save(out_dir / "images" / f"{name}.png")
        t1, t2 = _match_types(rel, types, matched)
        rows.append({"file": f"images/{name}.png", "pokedex_id": rel, "species_id": "",
                     "species": PurePosixPath(rel).stem, "form": "", "source": rel, "frame": ""})
        pokedex_rows.append({"id": rel, "species": PurePosixPath(rel).stem, "form": "",
                             "type1": t1, "type2": t2, "generation": "", "colour": ""})
    counts = {"found": len(candidates), "used": len(rows), "skipped": len(skipped),
              "duplicates_removed": dedupe.removed, "ignored_non_image_files": ignored,
              "with_types": sum(1 for r in pokedex_rows if r["type1"])}
    unmatched = sorted(set(types) - matched)
    if types_csv:
        counts["types_csv_rows_unmatched"] = len(unmatched)
    pokedex = pd.DataFrame(pokedex_rows, columns=pdx.POKEDEX_COLUMNS)
    result = {"rows": rows, "skipped": skipped, "counts": counts,
              "seconds": round(time.time() - t0, 2)}
    if unmatched:
        # a conditional run would fail later, far from here, on the images left untyped
        result["warnings"] = [f"data.folder_types_csv: {len(unmatched)} row(s) name no image "
                              f"used from {folder} (missing or skipped): "
                              + ", ".join(unmatched[:10]) + (" ..." if len(unmatched) > 10 else "")]
    return result, pokedex


class FolderSource(Source):
    """Dataset ``custom``: the images under ``data.folder``, typed by ``data.folder_types_csv``."""

    def fetch(self, timings: dict[str, float]) -> dict:
        self.folder = Path(self.cfg.data.folder)
        return {"folder": str(self.folder)}

    def build(self, raw: Path, workers: int | None):
        d = self.cfg.data
        res, pokedex = build_folder(self.folder, raw / "custom", d.render_size, d.max_pixels,
                                    d.folder_types_csv)
        for s in res["skipped"]:
            self.log(f"download: skipped {s['file']}: {s['reason']}")
        for w in res.get("warnings", []):
            self.log(f"download: warning: {w}")
        return {"custom": res}, pokedex
