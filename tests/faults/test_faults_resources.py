"""Concurrency and resources: two `dvc repro` at once (the second refused by DVC's lock, the
first finishes), a `dvc repro` killed with its stage (the stale lock does not block the next
run), and a disk that fills during a write — patched writers raising ENOSPC, and, where this
process may mount one, a real tiny tmpfs — : a clear error naming the file, previous outputs
intact, no temporary file left."""
from __future__ import annotations

import errno
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from fixtures.fake_data import noise
from fixtures.project import (make_project, params, run_inprocess, temp_leftovers, tree,
                              write_params)
from pokegan.models.io import list_checkpoints, read_file

TRAIN = ("train", "tiny", "--no-progress")


# --------------------------------------------------------------------------- DVC's lock
def _dvc_project(root, seconds: float):
    root.mkdir()
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q"], cwd=root, check=True, env=env)
        subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True, env=env)
    else:
        subprocess.run([sys.executable, "-m", "dvc", "init", "-q", "--no-scm"], cwd=root,
                       check=True, env=env)
    stage = (f"import pathlib, time; pathlib.Path('started').touch(); time.sleep({seconds}); "
             "pathlib.Path('out.txt').write_text('done')")
    (root / "dvc.yaml").write_text(
        f'stages:\n  slow:\n    cmd: {sys.executable} -c "{stage}"\n    outs:\n      - out.txt\n')
    return env


def _dvc(root, env, **kw):
    return subprocess.Popen([sys.executable, "-m", "dvc", "repro"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def _wait_for(path, proc, timeout=120):
    deadline = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.1)


@pytest.mark.slow
def test_two_dvc_repro_at_once(tmp_path, faults):
    row = faults.tried("tool", "DVC itself: two `dvc repro` at once in one project")
    root = tmp_path / "dvcproj"
    env = _dvc_project(root, seconds=6)
    first = _dvc(root, env)
    try:
        _wait_for(root / "started", first)
        second = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=root, env=env,
                                capture_output=True, text=True, timeout=120)
        assert first.poll() is None, "the first run ended before the second was refused"
    finally:
        out1, _ = first.communicate(timeout=180)
    msg = second.stdout + second.stderr
    assert second.returncode != 0, msg
    assert "is busy" in msg or "Unable to acquire lock" in msg, msg
    assert first.returncode == 0, out1
    assert (root / "out.txt").read_text() == "done"
    line = next(ln for ln in msg.splitlines() if "busy" in ln or "lock" in ln)
    row.done(f"second: exit {second.returncode}, '{line.strip()[:100]}'; first finished (exit 0)")


@pytest.mark.slow
def test_killed_dvc_repro_leaves_no_blocking_lock(tmp_path, faults):
    row = faults.tried("tool", "DVC itself: `dvc repro` SIGKILLed with its stage, then rerun")
    root = tmp_path / "dvcproj"
    env = _dvc_project(root, seconds=2)
    first = _dvc(root, env, start_new_session=True)
    try:
        _wait_for(root / "started", first)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # dvc and the stage it runs
        first.communicate()
    assert not (root / "out.txt").exists()
    again = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (root / "out.txt").read_text() == "done"
    row.done("the dead run's rwlock entry is ignored; rerun exit 0, out.txt complete")


# --------------------------------------------------------------------------- disk full (patched)
def _enospc(*_args, **_kw):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_while_writing_a_checkpoint(tmp_path, monkeypatch, faults):
    row = faults.tried("concurrency", "disk full (ENOSPC) mid-write of the epoch-3 checkpoint")
    root = make_project(tmp_path / "p", prepared=True)
    real_save = torch.save

    def save(obj, f, *a, **kw):           # f: the open temp file (models.io.save_torch)
        if "epoch_0003" in f.name:
            real_save(obj, f, *a, **kw)
            f.flush()
            f.truncate(f.tell() // 2)           # what fitted on the disk
            _enospc()
        return real_save(obj, f, *a, **kw)

    monkeypatch.setattr(torch, "save", save)
    rc, out, err, _ = run_inprocess(root, *TRAIN, monkeypatch=monkeypatch)
    model = root / "models" / "tiny"
    assert rc == 1 and "Traceback" not in err, (rc, out, err)
    assert "epoch_0003.pt" in err and "No space left on device" in err, err
    assert [e for e, _ in list_checkpoints(model)] == [1, 2]
    for _, path in list_checkpoints(model):
        read_file(path)
    assert temp_leftovers(root) == [] and not (model / "generator.pt").exists()

    monkeypatch.setattr(torch, "save", real_save)  # space freed: the rerun resumes
    rc2, out2, err2, _ = run_inprocess(root, *TRAIN, monkeypatch=monkeypatch)
    assert rc2 == 0 and "resuming from epoch 2" in out2, out2 + err2
    row.done(f"exit 1: {err.strip().splitlines()[-1][:110]}…; checkpoints 1-2 intact, "
             "no temp; rerun resumed from 2")


def _image_folder(path, n=6):
    path.mkdir()
    for i in range(n):
        noise((40, 40), 100 + i).save(path / f"{i}.png")
    return path


def test_disk_full_while_writing_download_manifest(tmp_path, monkeypatch, faults):
    row = faults.tried("concurrency", "disk full (ENOSPC) writing data/raw/manifest.json of a rerun")
    root = make_project(tmp_path / "p")
    p = params()
    p["data"] = {"source": "folder", "folder": str(_image_folder(tmp_path / "imgs")),
                 "render_size": 32, "min_images": 1}
    p["variants"]["tiny"]["dataset"] = "custom"
    write_params(root, p)
    assert run_inprocess(root, "download", monkeypatch=monkeypatch)[0] == 0
    before = tree(root / "data")
    noise((40, 40), 999).save(tmp_path / "imgs" / "new.png")  # the rerun has more to write

    real_write_text = pathlib.Path.write_text

    def write_text(self, *a, **kw):
        if ".manifest.json." in self.name:
            real_write_text(self, "{\n  \"partial", encoding="utf-8")
            _enospc()
        return real_write_text(self, *a, **kw)

    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    rc, out, err, _ = run_inprocess(root, "download", monkeypatch=monkeypatch)
    assert rc == 1 and "Traceback" not in err, (rc, out, err)
    assert "data/raw" in err and "No space left on device" in err and "unchanged" in err, err
    assert tree(root / "data") == before and temp_leftovers(root / "data") == []
    row.done(f"exit 1: {err.strip().splitlines()[-1][:110]}…; previous data/raw intact, no temp")


# --------------------------------------------------------------------------- disk full (tmpfs)
@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 40 MiB tmpfs: two checkpoints of the tiny DCGAN fit (~16.7 MB each), a third does not
    (root only; skipped where mount is not allowed)."""
    mnt = tmp_path / "small_disk"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_real_full_disk_during_training(tmp_path, tiny_tmpfs, monkeypatch, faults):
    row = faults.tried("concurrency", "models/ on a real 40 MiB tmpfs that fills at checkpoint 3")
    root = make_project(tmp_path / "p", prepared=True)
    (root / "models").symlink_to(tiny_tmpfs)
    rc, out, err, _ = run_inprocess(root, *TRAIN, monkeypatch=monkeypatch)
    assert rc == 1 and "Traceback" not in err, (rc, out, err)
    assert "No space left on device" in err and "models/tiny/" in err, err
    model = root / "models" / "tiny"
    saved = list_checkpoints(model)
    assert [e for e, _ in saved] == [1, 2], saved
    for _, path in saved:  # whatever was written before the disk filled is complete
        read_file(path)
    assert temp_leftovers(tiny_tmpfs) == []
    assert not (model / "generator.pt").exists()
    row.done(f"exit 1 after {len(saved)} checkpoints: {err.strip().splitlines()[-1][:100]}…; "
             "every checkpoint on disk loads, no temp")
