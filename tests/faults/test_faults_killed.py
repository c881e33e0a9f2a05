"""Killed work: real stage processes SIGKILLed at known points (download extraction and
rendering, augmentation output, training mid-epoch / mid-checkpoint / mid-final-save,
evaluation mid-scoring / mid-metrics-write). After each kill no partial file passes for a
complete one; rerunning gives what an uninterrupted run gives (training: bit-identical)."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from fixtures.fake_data import make_tarball
from fixtures.project import (fake_models, make_project, run, run_and_kill, temp_leftovers,
                              tree, without_timings)
from pokegan.models.io import list_checkpoints, load_generator, read_file

pytestmark = pytest.mark.slow
TRAIN = ("train", "tiny", "--no-progress")


def _wipe_plots(root):
    shutil.rmtree(root / "plots" / "train" / "tiny", ignore_errors=True)  # as DVC does


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _checkpoint_models(path):
    return {role: e["state_dict"] for role, e in read_file(path)["models"].items()}


# --------------------------------------------------------------------------- download
@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    return make_tarball(tmp_path_factory.mktemp("pkg") / "fake.tgz")


@pytest.fixture(scope="module")
def raw_reference(tmp_path_factory, tarball):
    """data/raw of one uninterrupted download."""
    root = make_project(tmp_path_factory.mktemp("raw_ref"), tarball)
    run(root, "download", tarball=tarball)
    return root


def _raw_state(root):
    files = tree(root / "data" / "raw", skip=("manifest.json",))
    manifest = root / "data" / "raw" / "manifest.json"
    return files, (without_timings(json.loads(manifest.read_text())) if manifest.exists() else None)


def test_download_killed_while_extracting_and_rendering(tmp_path, tarball, raw_reference, faults):
    root = make_project(tmp_path / "p", tarball)
    want = _raw_state(raw_reference)

    row = faults.tried("killed", "download: SIGKILL mid-extraction (first run)")
    tag = run_and_kill(root, "download", tarball=tarball, STALL_CALL="shutil:copyfileobj:3")
    assert not (root / "data" / "raw").exists()
    leaked = list((root / "systmp").glob("pokegan-download-*"))
    assert leaked, "the kill should leave the work folder behind (it did not land mid-run)"
    row.done(f"killed at {tag}; no data/raw, work folder left in TMPDIR")

    row2 = faults.tried("killed", "download: SIGKILL mid-render (into the temp data/raw)")
    tag = run_and_kill(root, "download", tarball=tarball, STALL_CALL="pokegan.data.images:render_svg:2")
    assert not (root / "data" / "raw").exists()
    assert not any(p.exists() for p in leaked), "the first run's work folder was not removed"
    row2.done(f"killed at {tag}; still no data/raw (half-rendered folder hidden)")

    run(root, "download", tarball=tarball)
    assert _raw_state(root) == want
    assert temp_leftovers(root / "data") == []
    assert list((root / "systmp").glob("pokegan-download-*")) == []
    row.done(row.happened + "; rerun == uninterrupted run, leftovers removed")

    row3 = faults.tried("killed", "download: SIGKILL mid-render of a rerun (previous data/raw)")
    tag = run_and_kill(root, "download", tarball=tarball, STALL_CALL="pokegan.data.images:render_svg:3")
    assert _raw_state(root) == want, "the previous data/raw changed"
    assert temp_leftovers(root / "data"), "the kill should leave the temp folder behind"
    run(root, "download", tarball=tarball)
    assert _raw_state(root) == want and temp_leftovers(root / "data") == []
    row2.done(row2.happened + "; rerun == uninterrupted run")
    row3.done(f"killed at {tag}; previous data/raw intact; rerun identical, temp removed")


# --------------------------------------------------------------------------- augment
def test_augment_killed_while_writing_outputs(tmp_path, tarball, raw_reference, faults):
    root = make_project(tmp_path / "p", tarball)
    shutil.copytree(raw_reference / "data" / "raw", root / "data" / "raw")
    run(root, "group")
    run(root, "augment")
    want = tree(root / "data" / "prepared")
    assert {"artwork/images.npy", "sprites/meta.json"} <= set(want)

    row = faults.tried("killed", "augment: SIGKILL while writing the 2nd dataset's meta.json")
    shutil.rmtree(root / "data" / "prepared")
    tag = run_and_kill(root, "augment", STALL_ATOMIC="meta.json:2")
    assert not (root / "data" / "prepared").exists()
    partial = temp_leftovers(root / "data")
    assert partial, "the kill should land while the temporary output exists"
    run(root, "augment")
    assert tree(root / "data" / "prepared") == want and temp_leftovers(root / "data") == []
    row.done(f"killed at {tag.split(' -> ')[0]}; no data/prepared until the rerun, which is "
             "byte-identical; temp folder removed")

    row2 = faults.tried("killed", "augment: SIGKILL mid-write of a rerun (previous outputs)")
    tag = run_and_kill(root, "augment", STALL_ATOMIC="meta.json:1:truncate")
    assert tree(root / "data" / "prepared") == want, "the previous data/prepared changed"
    run(root, "augment")
    assert tree(root / "data" / "prepared") == want and temp_leftovers(root / "data") == []
    row2.done("previous data/prepared intact after the kill; rerun byte-identical")


# --------------------------------------------------------------------------- train
@pytest.fixture(scope="module")
def train_reference(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("train_ref"), prepared=True)
    run(root, *TRAIN)
    return root


def test_training_killed_three_times_then_bit_identical(tmp_path, train_reference, faults):
    root = make_project(tmp_path / "p", prepared=True)
    model = root / "models" / "tiny"

    row1 = faults.tried("killed", "train: SIGKILL mid-epoch (epoch 2, step 2)")
    run_and_kill(root, *TRAIN, STALL_STEP=6)  # 4 steps per epoch
    assert [e for e, _ in list_checkpoints(model)] == [1]
    assert not (model / "generator.pt").exists()
    row1.done("checkpoint 1 only, no generator.pt")

    row2 = faults.tried("killed", "train: SIGKILL inside the epoch-2 checkpoint write (half-written temp)")
    _wipe_plots(root)
    run_and_kill(root, *TRAIN, STALL_ATOMIC="epoch_0002.pt:1:truncate")
    temps = temp_leftovers(model)
    assert any("epoch_0002.pt" in t for t in temps), temps  # killed while the temp existed
    assert [e for e, _ in list_checkpoints(model)] == [1]   # ... and it is not listed
    read_file(list_checkpoints(model)[0][1])
    row2.done(f"temp {temps[0].split('/')[-1]} left, list_checkpoints -> [1] only")

    row3 = faults.tried("killed", "train: SIGKILL inside the generator.pt write (after the last epoch)")
    _wipe_plots(root)
    out = run_and_kill(root, *TRAIN, STALL_ATOMIC="generator.pt:1")
    assert [e for e, _ in list_checkpoints(model)] == [1, 2, 3]
    assert not (model / "generator.pt").exists() and not (model / "info.json").exists()
    row3.done(f"killed at {out.split(' -> ')[0].split('/')[-1]}; checkpoints 1-3 complete, "
              "no generator.pt")

    _wipe_plots(root)
    final = run(root, *TRAIN)
    assert "resuming from epoch 3" in final.stdout
    assert temp_leftovers(root) == [], temp_leftovers(root)
    ref = train_reference / "models" / "tiny"
    assert _states_equal(load_generator(model)[0].state_dict(), load_generator(ref)[0].state_dict())
    for epoch in (1, 2, 3):
        a = _checkpoint_models(model / "checkpoints" / f"epoch_{epoch:04d}.pt")
        b = _checkpoint_models(ref / "checkpoints" / f"epoch_{epoch:04d}.pt")
        assert all(_states_equal(a[r], b[r]) for r in b), epoch
    assert tree(model / "grids") == tree(ref / "grids")
    info = json.loads((model / "info.json").read_text())
    assert info["epochs"] == 3 and info["images_seen"] == 3 * 16
    for row in (row1, row2, row3):
        row.done(row.happened + "; final rerun bit-identical (G, D, every checkpoint, grids), "
                 "temps removed")


# --------------------------------------------------------------------------- evaluate
def _eval_outputs(root):
    """The visible outputs (temporary files start with a dot); a metrics file is compared by
    its content minus the stage's recorded duration (``seconds``), which differs run to run."""
    def visible(t):
        return {k: v for k, v in t.items() if not k.split("/")[-1].startswith(".")}
    metrics = {k: without_timings(json.loads((root / "metrics" / k).read_text()))
               for k in visible(tree(root / "metrics"))}
    return metrics, visible(tree(root / "plots" / "eval"))


def test_evaluation_killed_then_identical(tmp_path, faults):
    ref = make_project(tmp_path / "ref", prepared=True)
    fake_models(ref)
    run(ref, "reference", FAKE_NET=1)
    root = tmp_path / "p"
    shutil.copytree(ref, root)
    run(ref, "evaluate", "tiny", FAKE_NET=1)
    want = _eval_outputs(ref)
    assert "tiny.json" in want[0] and "tiny.csv" in want[1]

    row1 = faults.tried("killed", "evaluate: SIGKILL while scoring the 2nd checkpoint")
    run_and_kill(root, "evaluate", "tiny", FAKE_NET=1,
                 STALL_CALL="pokegan.metrics.evaluate:score:2")
    assert _eval_outputs(root) == ({}, {})
    row1.done("no metrics/ nor plots/eval written")

    row2 = faults.tried("killed", "evaluate: SIGKILL inside the metrics/<v>.json write")
    run_and_kill(root, "evaluate", "tiny", FAKE_NET=1, STALL_ATOMIC="tiny.json:1:truncate")
    metrics, curve = _eval_outputs(root)
    assert metrics == {} and curve == want[1], (metrics, curve)
    assert any("tiny.json" in t for t in temp_leftovers(root / "metrics"))
    row2.done("curve CSV complete, metrics JSON absent (its half-written temp is hidden)")

    run(root, "evaluate", "tiny", FAKE_NET=1)
    assert _eval_outputs(root) == want
    assert temp_leftovers(root / "metrics") == [] and temp_leftovers(root / "plots") == []
    for row in (row1, row2):
        row.done(row.happened + "; rerun identical to an uninterrupted run (CSV bytes; JSON but for its seconds), temps removed")
