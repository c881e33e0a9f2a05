"""stages/train.py as a real process in a temporary working directory: killed part way with
SIGKILL, restarted, and compared bit for bit with an uninterrupted run."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from pokegan.models.io import list_checkpoints, load_generator

REPO = Path(__file__).resolve().parents[1]
STAGE = REPO / "stages" / "train.py"
N, SIZE = 16, 32

RUNNER = f"""
import os, runpy, sys, time
from pathlib import Path
stall = int(os.environ.get("STALL_AT_STEP", "0"))
if stall:   # stop deterministically at a given step, so the test can kill us there
    import dataclasses
    from pokegan import families
    real, calls = families.get("dcgan").step, [0]
    def step(*args):
        calls[0] += 1
        if calls[0] == stall:
            Path("stalled").touch()
            time.sleep(600)
        return real(*args)
    families.REGISTRY["dcgan"] = dataclasses.replace(families.get("dcgan"), step=step)
sys.argv = ["train.py", *sys.argv[1:]]
runpy.run_path({str(STAGE)!r}, run_name="__main__")
"""


def make_workdir(path: Path, epochs=4) -> Path:
    path.mkdir(parents=True)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params.update(image_size=SIZE, latent_dim=16, grid_size=4, batch_size=8)
    params["variants"] = {"tiny": {"model": "dcgan", "dataset": "artwork", "epochs": epochs,
                                   "checkpoint_every": 1}}
    (path / "params.yaml").write_text(yaml.safe_dump(params))
    data = path / "data" / "prepared" / "artwork"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.save(data / "images.npy", rng.integers(0, 256, (N, 3, SIZE, SIZE), dtype=np.uint8))
    rows = ["row,file,augmentation,species_id,species,type1,type2,colour"]
    rows += [f"{i},{i}.png,original,{i + 1},mon{i},water,,blue" for i in range(N)]
    (data / "index.csv").write_text("\n".join(rows) + "\n")
    (data / "meta.json").write_text(json.dumps({"count": N, "image_size": SIZE,
                                                "fingerprint": "synthetic-1"}))
    (path / "runner.py").write_text(RUNNER)
    return path


def _env(**extra):
    env = dict(os.environ, POKEGAN_THREADS="1", PYTHONHASHSEED="0", **extra)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_stage(cwd: Path, **env) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "runner.py", "tiny", "--no-progress"], cwd=cwd,
                          env=_env(**env), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def g_state(cwd: Path):
    return load_generator(cwd / "models" / "tiny" / "generator.pt")[0].state_dict()


@pytest.mark.slow
def test_killed_and_resumed_run_is_bit_identical(tmp_path):
    ref = make_workdir(tmp_path / "ref")
    run_stage(ref)
    killed = make_workdir(tmp_path / "killed")
    # 2 steps per epoch: step 5 is the first step of epoch 3, after the 2nd checkpoint
    proc = subprocess.Popen([sys.executable, "runner.py", "tiny", "--no-progress"], cwd=killed,
                            env=_env(STALL_AT_STEP="5"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 240
        while not (killed / "stalled").exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.time() < deadline, "the run never reached epoch 3"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert [e for e, _ in list_checkpoints(killed / "models" / "tiny")] == [1, 2]
    assert not (killed / "models" / "tiny" / "generator.pt").exists()

    shutil.rmtree(killed / "plots" / "train" / "tiny")          # as DVC does before a run
    out = run_stage(killed)
    assert "resuming from epoch 2" in out.stdout + out.stderr

    a, b = g_state(ref), g_state(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for name in ("checkpoints/epoch_0004.pt",):
        ca = torch.load(ref / "models" / "tiny" / name, weights_only=True)
        cb = torch.load(killed / "models" / "tiny" / name, weights_only=True)
        for role in ca["models"]:
            sa, sb = ca["models"][role]["state_dict"], cb["models"][role]["state_dict"]
            assert all(torch.equal(sa[k], sb[k]) for k in sa), role
    # the replayed DVCLive log is complete; the record says how the run went
    rows = (killed / "plots" / "train" / "tiny" / "plots" / "metrics" / "d_loss.tsv").read_text()
    assert [r.split("\t")[0] for r in rows.strip().split("\n")[1:]] == ["1", "2", "3", "4"]
    info = json.loads((killed / "models" / "tiny" / "info.json").read_text())
    run = json.loads((killed / "plots" / "train" / "tiny" / "run.json").read_text())
    assert run["resumed_from_epoch"] == 2 and info["images_seen"] == 4 * N
    assert info["data_fingerprint"] == "synthetic-1"
    assert (killed / "plots" / "train" / "tiny" / "samples.png").exists()


def _file_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_same_params_same_generator_file(tmp_path):
    one, two = make_workdir(tmp_path / "one", epochs=2), make_workdir(tmp_path / "two", epochs=2)
    run_stage(one)
    run_stage(two)
    a = torch.load(one / "models" / "tiny" / "generator.pt", weights_only=True)
    b = torch.load(two / "models" / "tiny" / "generator.pt", weights_only=True)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    # every file of the model folder, checkpoints included, is byte-identical: DVC sees the same
    # hash, so a code-only change that retrains leaves evaluation alone
    first = _file_bytes(one / "models" / "tiny")
    assert first == _file_bytes(two / "models" / "tiny") and "checkpoints/epoch_0002.pt" in first
    assert json.loads((one / "plots" / "train" / "tiny" / "run.json").read_text())["seconds"] > 0
    shutil.rmtree(one / "plots" / "train" / "tiny")            # as DVC does before a run
    out = run_stage(one)                                      # a rerun only rewrites outputs
    assert "resuming from epoch 2" in out.stdout
    assert _file_bytes(one / "models" / "tiny") == first
    assert (one / "plots" / "train" / "tiny" / "samples.png").exists()
    rows = (one / "plots" / "train" / "tiny" / "plots" / "metrics" / "g_loss.tsv").read_text()
    assert len(rows.strip().split("\n")) == 1 + 2
