"""Data-parallel training: `processes: 2` runs stages/train.py under torchrun (gloo on CPU)."""
import json
import subprocess
import sys

import pytest
import torch
import yaml

from pokegan.models.io import load_generator
from test_training_stage import N, _env, make_workdir  # the tiny project of the stage tests


def _run(cwd):
    proc = subprocess.run([sys.executable, "runner.py", "tiny", "--no-progress"], cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def _workdir(path, processes):
    wd = make_workdir(path, epochs=2)
    params = yaml.safe_load((wd / "params.yaml").read_text())
    params["processes"] = processes
    (wd / "params.yaml").write_text(yaml.safe_dump(params))
    return wd


@pytest.mark.slow
def test_two_processes_train_reproducibly_and_differ_from_one(tmp_path):
    a, b = _workdir(tmp_path / "a", 2), _workdir(tmp_path / "b", 2)
    _run(a)
    _run(b)
    info = json.loads((a / "models" / "tiny" / "info.json").read_text())
    assert info["world_size"] == 2
    batch = 8                                   # make_workdir's batch_size, per process
    assert info["images_seen"] == 2 * ((N // 2) // batch) * batch * 2   # epochs x steps x batch x world
    ga = load_generator(a / "models" / "tiny" / "generator.pt")[0].state_dict()
    gb = load_generator(b / "models" / "tiny" / "generator.pt")[0].state_dict()
    assert all(torch.equal(ga[k], gb[k]) for k in ga), "same seed, same world size: same weights"
    one = _workdir(tmp_path / "one", 1)
    _run(one)
    g1 = load_generator(one / "models" / "tiny" / "generator.pt")[0].state_dict()
    assert any(not torch.equal(ga[k], g1[k]) for k in ga), "2 processes must really train apart"
    # only rank 0 wrote files: one log per epoch, no duplicates from the other process
    log = (a / "plots" / "train" / "tiny" / "plots" / "metrics" / "d_loss.tsv").read_text()
    assert len(log.strip().splitlines()) == 1 + 2
