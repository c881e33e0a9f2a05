"""Input other people made: SVGs, panoramas, GIFs, npm packages, model files, type CSVs, output
folders and records. Each is refused with one line naming the file or key, or skipped with its
reason and counted, and nothing already written is lost. (Bad params: test_faults_params.py.)"""
from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from fixtures.fake_data import gif, install_fakes, make_tarball, noise, package_files, png_bytes
from fixtures.project import (REPO, SIZE, make_project, params, run_inprocess, synthetic_prepared,
                              tree, write_params)
from pokegan.data.sources import SPRITES_DIR
from pokegan.models.io import save_model

SECRET = (0, 255, 0)       # the colour of a file no SVG may show


def _folder_project(tmp_path, folder: Path, **data) -> Path:
    root = make_project(tmp_path / "p")
    p = params()
    p["data"] = {"source": "folder", "folder": str(folder), "render_size": 32, "min_images": 1,
                 **data}
    p["variants"]["tiny"]["dataset"] = "custom"
    write_params(root, p)
    return root


def _good_images(folder: Path, n: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        noise((40, 40), 100 + i).save(folder / f"good{i}.png")


def _download(root, monkeypatch):
    rc, out, err, _ = run_inprocess(root, "download", monkeypatch=monkeypatch)
    manifest = root / "data/raw/manifest.json"
    ds = json.loads(manifest.read_text())["datasets"] if manifest.exists() else {}
    return rc, out + err, ds


def _used_sources(root, dataset="custom") -> dict[str, str]:
    with open(root / "data/raw" / dataset / "index.csv", newline="") as fh:
        return {r["source"]: r["file"] for r in csv.DictReader(fh)}


def _svg(body: str, w: int = 20, h: int = 20, head: str = "") -> str:
    return (f'{head}<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" height="{h}">{body}</svg>')


# ----------------------------------------------------------------- SVG pixel budget
def test_svg_of_extreme_size_is_skipped_not_fatal(tmp_path, monkeypatch, faults):
    row = faults.tried("bad-input", "SVG of 10x100000 in a folder source")
    folder = tmp_path / "images"
    _good_images(folder)
    (folder / "tall.svg").write_text(_svg('<rect width="10" height="100000" fill="red"/>',
                                          10, 100000))
    (folder / "wide.svg").write_text(_svg('<rect width="100000" height="10" fill="red"/>',
                                          100000, 10))
    root = _folder_project(tmp_path, folder)

    rc, out, ds = _download(root, monkeypatch)

    assert rc == 0 and "Traceback" not in out, f"rc {rc}: {out[-600:]}"
    reasons = {s["file"]: s["reason"] for s in ds["custom"]["skipped"]}
    for name in ("tall.svg", "wide.svg"):
        assert "too elongated" in reasons.get(name, ""), reasons
    assert ds["custom"]["counts"]["used"] == 3
    row.done(f"download ok, 3 used; tall.svg skipped: {reasons['tall.svg'][:80]}")


# ----------------------------------------------------------------- panoramas
def test_panorama_is_skipped_before_its_square_canvas(tmp_path, monkeypatch, faults):
    # scaled down (max_pixels 1M, a 6000x150 PNG) from 40M and 60000x300: the same ratio, and
    # the unfixed code's canvas (36M pixels here) stays small enough for a shared machine
    row = faults.tried("bad-input", "6000x150 PNG under max_pixels (square canvas 36M)")
    folder = tmp_path / "images"
    _good_images(folder)
    Image.new("RGB", (6000, 150), (200, 40, 40)).save(folder / "panorama.png")
    root = _folder_project(tmp_path, folder, max_pixels=1_000_000)

    rc, out, ds = _download(root, monkeypatch)

    assert rc == 0 and "Traceback" not in out, f"rc {rc}: {out[-600:]}"
    reasons = {s["file"]: s["reason"] for s in ds["custom"]["skipped"]}
    assert "panorama.png" not in _used_sources(root), "the panorama was padded to 6000x6000"
    assert "too elongated" in reasons.get("panorama.png", "") and \
        "data.max_pixels" in reasons["panorama.png"], reasons
    assert f"download: skipped panorama.png: {reasons['panorama.png']}" in out
    row.done(f"skipped: {reasons['panorama.png'][:100]}")


# ----------------------------------------------------------------- SVG references
def test_svg_reads_nothing_outside_itself(tmp_path, monkeypatch, faults):
    rows = {"rel.svg": faults.tried("bad-input", 'SVG <image href="../secret.png">'),
            "abs.svg": faults.tried("bad-input", "SVG <image> with an absolute path"),
            "entities.svg": faults.tried("bad-input", "SVG with nested entity expansion")}
    secret = tmp_path / "secret.png"      # ../secret.png from the project, the stage's cwd
    Image.new("RGB", (20, 20), SECRET).save(secret)
    folder = tmp_path / "images"
    _good_images(folder)
    image = '<image {}="{}" width="20" height="20"/>'
    (folder / "rel.svg").write_text(_svg(image.format("href", "../secret.png")))
    (folder / "abs.svg").write_text(_svg(image.format("xlink:href", secret)   # not a duplicate
                                         + '<rect width="5" height="5" fill="red"/>'))
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    (folder / "entities.svg").write_text(_svg("<text>&l9;</text>", head=(
        f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY l0 "lol">{lol}]>')))
    embedded = base64.b64encode(png_bytes(Image.new("RGB", (20, 20), (20, 20, 200)))).decode()
    (folder / "embedded.svg").write_text(_svg(
        '<defs><rect id="r" width="4" height="4" fill="red"/></defs><use href="#r"/>'
        + image.format("href", f"data:image/png;base64,{embedded}")))
    root = _folder_project(tmp_path, folder)

    rc, out, ds = _download(root, monkeypatch)

    assert rc == 0 and "Traceback" not in out, f"rc {rc}: {out[-600:]}"
    reasons = {s["file"]: s["reason"] for s in ds["custom"]["skipped"]}
    used = _used_sources(root)
    bad = []
    for name, row in rows.items():
        shown = ""
        if name in used:
            with Image.open(root / "data/raw/custom" / used[name]) as im:
                shown = "the secret file" if SECRET in [c for _, c in im.convert("RGB")
                                                        .getcolors(1 << 16)] else "no secret"
        expected = "could not be rendered" if name == "entities.svg" else "outside itself"
        if row.check(name not in used and expected in reasons.get(name, ""),
                     f"skipped: {reasons[name][:90]}" if name in reasons
                     else f"rendered, showing {shown}"):
            continue
        bad.append(f"{name}: {row.happened}")
    assert not bad, bad
    assert "embedded.svg" in used, reasons.get("embedded.svg")     # what an SVG may hold
    with Image.open(root / "data/raw/custom" / used["embedded.svg"]) as im:
        pixel = im.convert("RGB").getpixel((16, 16))
    assert all(abs(a - b) <= 3 for a, b in zip(pixel, (20, 20, 200))), pixel


# ----------------------------------------------------------------- npm scripts, node's env
FAKE_DEX = """
const leaked = process.env.POKEGAN_TEST_TOKEN || '';
exports.Dex = {species: {all: () => [{exists: true, num: 1, id: 'bulbasaur', name: 'Bulbasaur',
  baseSpecies: 'Bulbasaur', types: ['Grass'], gen: 1, color: leaked}],
  get: () => null}};
"""


NEEDS_NODE = pytest.mark.skipif(shutil.which("npm") is None or shutil.which("node") is None,
                                reason="needs Node.js and npm")


@NEEDS_NODE
def test_npm_pack_runs_no_package_scripts(tmp_path, faults):
    from pokegan.data.sources import npm
    row_npm = faults.tried("bad-input", "folder spec whose prepack/prepare write a file")
    ran = tmp_path / "scripts-ran"
    ran.mkdir()
    pkg = tmp_path / "evil-pkg"
    pkg.mkdir()
    write = "node -e \"require('fs').writeFileSync('{}', 'ran')\""
    (pkg / "package.json").write_text(json.dumps({
        "name": "evil-pkg", "version": "1.0.0",
        "scripts": {k: write.format(ran / k) for k in ("prepack", "prepare", "postpack")}}))
    (pkg / "index.js").write_text("module.exports = 1;\n")

    tgz = npm.npm_pack(str(pkg), tmp_path / "pack")

    scripts = sorted(p.name for p in ran.iterdir())
    assert tgz.is_file()
    row_npm.check(not scripts, f"npm ran the package's {', '.join(scripts)}" if scripts
                  else "packed; no script of the package ran")
    assert not scripts, row_npm.happened


@NEEDS_NODE
def test_node_reads_the_dex_package_without_our_environment(tmp_path, monkeypatch, faults):
    from pokegan.data import pokedex
    row_env = faults.tried("bad-input", "dex package reading our env and NODE_OPTIONS")
    package = tmp_path / "dex" / "package"
    (package / pokedex.DEX_MODULE).parent.mkdir(parents=True)
    (package / pokedex.DEX_MODULE).write_text(FAKE_DEX)
    preload = tmp_path / "preload.js"
    preload.write_text(f"require('fs').writeFileSync('{tmp_path / 'preloaded'}', 'x');\n")
    monkeypatch.setenv("POKEGAN_TEST_TOKEN", "s3cr3t")
    monkeypatch.setenv("NODE_OPTIONS", f"--require {preload}")

    entries = pokedex.dump_dex(package)

    leaks = [what for what, hit in (("our env (a token)", entries[0]["color"] == "s3cr3t"),
                                    ("NODE_OPTIONS (a preload ran)",
                                     (tmp_path / "preloaded").exists())) if hit]
    row_env.check(not leaks, "node saw " + " and ".join(leaks) if leaks
                  else "node ran with PATH alone: no token, no preload")
    assert not leaks, row_env.happened
    assert entries[0]["name"] == "Bulbasaur"


# ----------------------------------------------------------------- torch floor
def test_torch_floor_has_the_safe_weights_only_loader(faults):
    from packaging.requirements import Requirement
    from packaging.version import Version
    try:
        import tomllib
    except ImportError:          # Python 3.10
        tomllib = pytest.importorskip("tomli")
    row = faults.tried("bad-input", "crafted .pt on torch 2.4-2.5.1 (weights_only bypass)")
    deps = {Requirement(d).name: Requirement(d).specifier for d in
            tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    lock = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        req = line.split("#")[0].split(";")[0].strip()
        if req.startswith(("torch==", "torchvision==")):
            name, version = req.split("==")
            lock[name] = version
    allowed = [v for v in ("2.4.0", "2.5.1") if v in deps["torch"]]
    assert not allowed, f"pyproject allows torch {', '.join(allowed)}"
    assert "0.20.1" not in deps["torchvision"], "torchvision of torch 2.5 still allowed"
    assert "2.6.0" in deps["torch"] and "0.21.0" in deps["torchvision"]
    assert lock["torch"] in deps["torch"] and lock["torchvision"] in deps["torchvision"]
    assert Version(torch.__version__.split("+")[0]) >= Version("2.6")
    row.done(f"pyproject torch{deps['torch']}, torchvision{deps['torchvision']}; "
             f"lock {lock['torch']}; running {torch.__version__}")


# ----------------------------------------------------------------- foreign model files
def test_model_file_with_foreign_kwargs_is_one_line(tmp_path, capsys, faults):
    from pokegan.cli import main
    from pokegan.models.dcgan import Generator
    from pokegan.models.io import pack, save_torch
    row = faults.tried("bad-input", "generator.pt whose kwargs say image_size: 48")
    entry = pack(Generator(16, 32))
    entry["kwargs"]["image_size"] = 48
    bad = tmp_path / "foreign.pt"
    save_torch({"format": "pokegan-model", **entry, "meta": {}}, bad)

    rc = main(["sample", str(bad), "-n", "2", "-o", str(tmp_path / "grid.png")])

    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1, err
    assert str(bad) in err and "image_size" in err, err
    assert not (tmp_path / "grid.png").exists()
    row.done(f"exit 1: {err[:120]}")


# ----------------------------------------------------------------- training data too small
def _train_project(tmp_path, n: int, dataset: str = "artwork", **top) -> Path:
    root = make_project(tmp_path / "p")
    synthetic_prepared(root, dataset, n=n)
    p = params(**top)
    if dataset == "custom":
        p["data"] = {"source": "folder", "folder": str(tmp_path / "images"), "render_size": 32,
                     "min_images": 1}
    p["variants"]["tiny"]["dataset"] = dataset
    write_params(root, p)
    return root


def _refused(root, monkeypatch, *args) -> tuple[str, str]:
    before = tree(root)
    rc, out, err, _ = run_inprocess(root, "train", *args, monkeypatch=monkeypatch)
    message = (out + err).strip()
    info = root / "models/tiny/info.json"
    trained = json.loads(info.read_text()) if info.exists() else None
    assert rc not in (0, "traceback"), \
        f"rc {rc}" + (f", saved a G of {trained['images_seen']} images seen" if trained else "") \
        + f": {message[-400:]}"
    assert len(err.strip().splitlines()) == 1, err
    assert tree(root) == before, "a refused stage wrote something"
    return message, err.strip()


def test_one_image_dataset_is_a_one_line_error(tmp_path, monkeypatch, faults):
    row = faults.tried("bad-input", "custom dataset of 1 image (min_images: 1)")
    root = _train_project(tmp_path, 1, "custom", batch_size=1)
    message, err = _refused(root, monkeypatch, "tiny")
    assert "'custom'" in err and "at least 2" in err, err
    row.done(f"exit 1: {err[:120]}")


def test_batch_larger_than_a_process_share_is_refused(tmp_path, monkeypatch, faults):
    row = faults.tried("bad-param", "processes: 2, 40 images, batch_size: 32 (0 steps)")
    root = _train_project(tmp_path, 40, batch_size=32, processes=2)
    monkeypatch.setenv("PYTHONPATH", str(REPO / "src") + os.pathsep
                       + os.environ.get("PYTHONPATH", ""))   # torchrun's processes, if started
    message, err = _refused(root, monkeypatch, "tiny", "--no-progress")
    for text in ("variants.tiny.batch_size", "20 images per process", "processes 2",
                 "1 to 20"):
        assert text in err, err
    row.done(f"exit 1 before torchrun: {err[:120]}")


# ----------------------------------------------------------------- the types CSV of a folder
def test_types_csv_rows_are_checked(tmp_path, monkeypatch, faults):
    rows = {"missing": faults.tried("bad-input", "types CSV row naming a file that is not there"),
            "short": faults.tried("bad-input", "types CSV row shorter than its header"),
            "name": faults.tried("bad-input", "types CSV type '../fire'")}
    folder = tmp_path / "images"
    _good_images(folder)
    types = tmp_path / "types.csv"
    root = _folder_project(tmp_path, folder, folder_types_csv=str(types))

    types.write_text("file,type1\ngood0.png,water\ngood1.png,fire\nmissing.png,grass\n")
    rc, out, ds = _download(root, monkeypatch)
    assert rc == 0, out[-600:]
    counts, warnings = ds["custom"]["counts"], ds["custom"].get("warnings", [])
    rows["missing"].check(counts["with_types"] == 2 and counts.get("types_csv_rows_unmatched") == 1
                          and any("missing.png" in w for w in warnings) and "missing.png" in out,
                          f"counted and logged: {warnings[0][:100]}" if warnings else
                          f"not a word: {counts['with_types']} typed, no warning")
    shutil.rmtree(root / "data")

    for key, text, expect in (("short", "type1,file\nwater,good0.png\nfire\n", "line 3"),
                              ("name", "file,type1\ngood0.png,../fire\n", "'../fire'")):
        types.write_text(text)
        before = tree(root)
        rc, out, ds = _download(root, monkeypatch)
        line = out.strip().splitlines()[-1] if out.strip() else ""
        ok = (rc not in (0, "traceback") and "Traceback" not in out and str(types) in line
              and expect in line and tree(root) == before)
        rows[key].check(ok, line[:130] if ok else f"rc {rc}: {out.strip()[-160:]}")
    assert all(r.ok for r in rows.values()), {k: r.happened for k, r in rows.items()}


# ----------------------------------------------------------------- folder replacement
KILL_BETWEEN_RENAMES = r"""
import os, signal, sys
from pathlib import Path
from pokegan import files
target, real = Path(sys.argv[1]), os.replace
def replace(src, dst):
    if Path(dst) == target:          # the old folder is aside, the new one not yet in
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst)
os.replace = replace
with files.atomic_dir(target) as tmp:
    (tmp / "data.txt").write_text("new")
"""


def test_folder_replacement_survives_a_kill_between_its_renames(tmp_path, faults):
    from pokegan import files
    row_kill = faults.tried("killed", "atomic_dir: SIGKILL between its two renames")
    parent = tmp_path / "out"
    with files.atomic_dir(parent / "set") as tmp:
        (tmp / "data.txt").write_text("old")
    proc = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, str(parent / "set")],
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert proc.returncode == -signal.SIGKILL
    files.write_json(parent / "other.json", {"a": 1})     # a later write into the same folder
    copies = [p for p in parent.rglob("data.txt") if p.read_text() == "old"]
    row_kill.check((parent / "set" / "data.txt").is_file(),
                   "the old folder was put back" if (parent / "set").is_dir() else
                   f"both copies gone ({len(copies)} copy of the old data left)")
    assert row_kill.ok, row_kill.happened
    assert (parent / "set" / "data.txt").read_text() == "old"
    assert not [p for p in parent.iterdir() if p.name.startswith(".")], list(parent.iterdir())
    with files.atomic_dir(parent / "set") as tmp:       # and it is replaced as any other
        (tmp / "data.txt").write_text("newer")
    assert (parent / "set" / "data.txt").read_text() == "newer"


def test_overwrite_replaces_only_folders_of_samples(tmp_path, faults):
    from pokegan.cli import main
    from pokegan.models.dcgan import Generator
    row_own = faults.tried("bad-input", "sample --per-image --overwrite -o <a folder of photos>")
    gen = tmp_path / "g.pt"
    save_model(gen, Generator(16, SIZE), {"model": "dcgan", "latent_dim": 16, "image_size": SIZE})
    photos = tmp_path / "Pictures"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"not ours")
    (photos / "0000.png").write_bytes(png_bytes(noise((8, 8), 1)))
    before = tree(photos)
    rc = main(["sample", str(gen), "-n", "2", "--per-image", "--overwrite", "-o", str(photos)])
    row_own.check(rc == 1 and tree(photos) == before,
                  "refused, folder untouched" if tree(photos) == before else
                  f"exit {rc}: replaced, now {sorted(p.name for p in photos.iterdir())}")
    assert row_own.ok, row_own.happened
    ours = tmp_path / "samples"
    assert main(["sample", str(gen), "-n", "2", "--per-image", "-o", str(ours)]) == 0
    assert main(["sample", str(gen), "-n", "3", "--per-image", "--overwrite", "-o",
                 str(ours)]) == 0                      # what pokegan wrote it may replace
    assert len(list(ours.glob("*.png"))) == 3


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see the fsyncs")
def test_folder_replacement_reaches_the_disk(tmp_path, monkeypatch, faults):
    from pokegan import files
    row_sync = faults.tried("killed", "power loss after a folder replacement (fsync)")
    parent = tmp_path / "out"
    with files.atomic_dir(parent / "set") as tmp:
        (tmp / "data.txt").write_text("old")
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.readlink(
        f"/proc/self/fd/{fd}"))), real_fsync(fd))[1])
    monkeypatch.setattr(os, "sync", lambda: events.append(("sync", "")))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("rename", str(b))),
                                                     real_replace(a, b))[1])
    with files.atomic_dir(parent / "set") as tmp:
        (tmp / "data.txt").write_text("newer")
    names = [e[0] for e in events]
    renamed_in = max(i for i, e in enumerate(events) if e == ("rename", str(parent / "set")))
    data_synced = any(e[0] == "sync" or (e[0] == "fsync" and e[1].startswith(
        str(parent.resolve() / ".set."))) for e in events[:renamed_in])
    dir_synced = ("fsync", str(parent.resolve())) in events[renamed_in:]
    row_sync.check(data_synced and dir_synced,
                   f"data synced before the rename: {data_synced}; the rename itself synced: "
                   f"{dir_synced} ({' '.join(names)})")
    assert row_sync.ok, row_sync.happened


# ----------------------------------------------------------------- GIF frames
def test_gif_frames_have_a_pixel_budget(tmp_path, monkeypatch, faults):
    row = faults.tried("bad-input", "animated GIF of 60 40x40 frames, max_pixels 50000")
    colours = [((7 * i) % 256, (31 * i) % 256, (57 * i) % 256) for i in range(60)]
    files = {**package_files(), f"{SPRITES_DIR}/150.gif": gif(colours, (40, 40))}
    tarball = make_tarball(tmp_path / "pkg.tgz", files)
    root = make_project(tmp_path / "p", tarball)
    p = params(tarball)
    p["data"]["max_pixels"] = 50_000
    p["data"]["sprites"]["max_images"] = 100
    write_params(root, p)
    install_fakes(monkeypatch, tarball)

    rc, out, ds = _download(root, monkeypatch)

    assert rc == 0 and "Traceback" not in out, f"rc {rc}: {out[-600:]}"
    reasons = {s["file"]: s["reason"] for s in ds["sprites"]["skipped"]}
    used = {r for r in _used_sources(root, "sprites")}
    assert "150.gif" not in used, f"{sum(1 for _ in used)} sources used, 150.gif among them"
    assert "too many frames" in reasons.get("150.gif", ""), reasons
    assert {"1.gif", "4.gif"} <= used                     # small GIFs are read as before
    row.done(f"skipped: {reasons['150.gif'][:100]}")


# ----------------------------------------------------------------- pokegan info
def test_info_on_a_corrupt_record_is_one_line(tmp_path, monkeypatch, capsys, faults):
    from pokegan.cli import main
    row = faults.tried("corrupted", "pokegan info on a truncated info.json")
    model = tmp_path / "models" / "tiny"
    model.mkdir(parents=True)
    (model / "info.json").write_text('{"variant": "tiny", "epo')
    monkeypatch.chdir(tmp_path)

    rc = main(["info", str(model)])

    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1, err
    assert str(model / "info.json") in err and "train@tiny" in err, err
    row.done(f"exit 1: {err[:120]}")
