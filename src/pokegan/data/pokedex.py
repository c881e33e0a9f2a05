"""Species metadata (types, generation, Pokédex colour) from Pokémon Showdown's data via npm.

The dex package (param ``data.dex_package``) is fetched with ``npm pack`` and checked against
``data.dex_integrity`` (:func:`pokegan.data.sources.npm.fetch_dex`); only its CommonJS build is
extracted, and a tiny node script requires its ``Dex`` module and prints every species as JSON.
The package's three npm dependencies (``@pkmn/sets``, ``@pkmn/streams``, ``ts-chacha20``) are
required by the simulator's module graph but not used by the species table, so the script
answers those requires with empty stubs: no unpinned code is fetched or run (the output is
byte-identical to that of a full ``npm install``, checked for 0.10.11). Pokémon Showdown's
server data (``@pkmn/sim``) carries the Pokédex ``color``; ``@pkmn/dex`` 0.10.x strips it (we
checked 0.10.11: no ``color`` field) and is not read (the loader needs ``@pkmn/sim``'s layout);
a package without colours leaves the ``colour`` column empty and a warning is recorded. Types are the current generation's (e.g. Clefairy is fairy).

Sprite file names are PokeAPI ids: ``25`` (species 25), ``201-b`` (species 201, form "b"),
``10001`` (ids ≥ 10000 are alternate forms with no species number in the name; they are
resolved by the sources module, which matches them to byte-identical named form files).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pokegan.data import DataError

POKEDEX_COLUMNS = ["id", "species", "form", "type1", "type2", "generation", "colour"]
POKEDEX_COLOURS = ("black", "blue", "brown", "gray", "green", "pink", "purple", "red", "white",
                   "yellow")
ALT_ID_MIN = 10000
_NAME_RE = re.compile(r"^(\d+)(?:-([a-z0-9][a-z0-9-]*))?$")

DEX_BUILD_DIR = "package/build/cjs"          # the part of the tarball node reads
DEX_MODULE = "build/cjs/sim/dex.js"          # the Dex alone, not the battle simulator
DEX_STUBBED = ("@pkmn/sets", "@pkmn/streams", "ts-chacha20")

_NODE_SCRIPT = r"""
const Module = require('module');
const stubbed = new Set(JSON.parse(process.argv[3]));
const load = Module._load;
Module._load = function (request, ...rest) {     // unpinned dependencies: never loaded
  return stubbed.has(request) ? {} : load.call(this, request, ...rest);
};
const { Dex } = require(process.argv[2]);
const seen = new Set();
const out = [];
function add(s) {
  if (!s || !s.exists || s.num <= 0 || seen.has(s.id)) return;
  seen.add(s.id);
  out.push({ id: s.id, name: s.name, num: s.num, base: s.baseSpecies, forme: s.forme || '',
             types: s.types, gen: s.gen, color: s.color || null });
}
for (const s of Dex.species.all()) {
  add(s);
  for (const f of (s.cosmeticFormes || [])) add(Dex.species.get(f));
}
process.stdout.write(JSON.stringify(out));
"""


def to_id(text: str) -> str:
    """Showdown's id: lowercase letters and digits only ('Basculin-Blue-Striped' → 'basculinbluestriped')."""
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def parse_sprite_name(stem: str) -> tuple[int, str] | None:
    """'25' → (25, ''), '201-b' → (201, 'b'), '10001' → (10001, ''); None if not a PokeAPI id."""
    m = _NAME_RE.match(stem)
    if not m:
        return None
    return int(m.group(1)), m.group(2) or ""


def split_spec(spec: str) -> tuple[str, str]:
    """'@pkmn/sim@0.10.11' → ('@pkmn/sim', '0.10.11'); a spec without version → (spec, '')."""
    at = spec.rfind("@")
    if at > 0:
        return spec[:at], spec[at + 1:]
    return spec, ""


def require_node_tools() -> None:
    missing = [t for t in ("node", "npm") if shutil.which(t) is None]
    if missing:
        raise DataError(f"{' and '.join(missing)} not found on PATH: the default source "
                        "(data.source: npm) needs Node.js/npm; install Node.js (it ships npm), "
                        "or set data.source: folder (a local folder of images) in params.yaml")


def node_env() -> dict[str, str]:
    """The environment node runs the dex package in: enough to find node, nothing else — no
    tokens or credentials of ours, and no NODE_OPTIONS (``--require``) that would load code
    before the package's."""
    return {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}


def dump_dex(package_dir: str | Path) -> list[dict]:
    """Every species of the extracted (integrity-checked) dex package in ``package_dir`` as a
    dict (id, name, num, base, forme, types, gen, color), read by node."""
    require_node_tools()
    package_dir = Path(package_dir).resolve()
    module = package_dir / DEX_MODULE
    if not module.is_file():
        raise DataError(f"data.dex_package: the package has no {DEX_MODULE}; only @pkmn/sim's "
                        "layout is supported")
    script = package_dir.parent / "dump_dex.js"
    script.write_text(_NODE_SCRIPT)
    res = subprocess.run(["node", str(script), str(module), json.dumps(DEX_STUBBED)],
                         capture_output=True, text=True, cwd=package_dir.parent, env=node_env())
    if res.returncode != 0:
        raise DataError(f"data.dex_package: reading {module} with node failed: "
                        f"{res.stderr.strip()[-500:]}")
    try:
        entries = json.loads(res.stdout)
    except json.JSONDecodeError as exc:
        raise DataError(f"data.dex_package: {module} printed no valid JSON ({exc})") from None
    if not entries:
        raise DataError(f"data.dex_package: {module} listed no species")
    return entries


@dataclass
class Dex:
    """Lookup of sprite ids in the dumped species list."""
    by_id: dict[str, dict]
    base_by_num: dict[int, dict]
    has_colour: bool

    @classmethod
    def from_entries(cls, entries: list[dict]) -> "Dex":
        by_id = {e["id"]: e for e in entries}
        base_by_num: dict[int, dict] = {}
        for e in entries:
            if e["name"] == e.get("base", e["name"]) and e["num"] not in base_by_num:
                base_by_num[e["num"]] = e
        has_colour = any(e.get("color") for e in entries)
        return cls(by_id, base_by_num, has_colour)

    def lookup(self, num: int, form: str) -> dict | None:
        """The row for species ``num`` in ``form`` (the base species' where the dex has no
        such forme — cosmetic or default formes like '412-plant', '386-normal')."""
        base = self.base_by_num.get(num)
        if base is None:
            return None
        entry = self.by_id.get(to_id(base["name"] + form)) if form else None
        entry = entry or base
        types = [t.lower() for t in entry.get("types") or []]
        colour = (entry.get("color") or base.get("color") or "").lower()
        return {"species": base["name"], "form": form,
                "type1": types[0] if types else "", "type2": types[1] if len(types) > 1 else "",
                "generation": base.get("gen", ""), "colour": colour,
                "dex_name": entry["name"]}


def pokedex_table(dex: Dex, ids: list[str]) -> pd.DataFrame:
    """pokedex.csv: every base species in the dex plus every (form) id in ``ids``."""
    rows = {}
    for num in sorted(dex.base_by_num):
        rows[str(num)] = {"id": str(num), **dex.lookup(num, "")}
    for pid in ids:
        parsed = parse_sprite_name(pid)
        if parsed is None or pid in rows:
            continue
        info = dex.lookup(*parsed)
        if info is not None:
            rows[pid] = {"id": pid, **info}
    df = pd.DataFrame(list(rows.values()),
                      columns=POKEDEX_COLUMNS + ["dex_name"])
    return df


def read_pokedex(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: not found; run `dvc repro download`")
    return pd.read_csv(path, dtype=str, keep_default_na=False)
