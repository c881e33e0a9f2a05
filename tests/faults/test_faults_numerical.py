"""Numerical faults in training: a NaN loss, and NaN weights behind finite losses. The stage
exits non-zero naming variant, epoch and step; the last good checkpoint is kept and loads; no
final model is written; a rerun (the fault gone) resumes from that checkpoint.

(A learning rate at the top of its range, lr = 1.0 — even without spectral norm — does not make
the tiny DCGAN diverge within a test's budget: BCE-with-logits and batch norm keep it finite;
so the faults are injected into the step.)"""
from __future__ import annotations

import dataclasses

import pytest
import torch

from fixtures.project import make_project, run_inprocess, temp_leftovers
from pokegan.models.io import list_checkpoints, load_generator
from pokegan import families

TRAIN = ("train", "tiny", "--no-progress")
STEPS_PER_EPOCH = 4  # 16 images, batch 4


def _hook(monkeypatch, at_call: int, fault: str):
    calls = [0]

    def wrap(real):
        def step(nets, opts, real_images, ctx, **kw):
            calls[0] += 1
            out = real(nets, opts, real_images, ctx, **kw)
            if calls[0] == at_call:
                if fault == "loss":
                    out = {**out, "g_loss": torch.tensor(float("inf")),
                           "d_loss": torch.tensor(float("nan"))}
                else:
                    with torch.no_grad():
                        next(nets["G"].parameters()).view(-1)[0] = float("nan")
            return out
        return step

    for key in families.names():
        fam = families.get(key)
        monkeypatch.setitem(families.REGISTRY, key, dataclasses.replace(fam, step=wrap(fam.step)))


CASES = [  # id, what, fault, at step call, epoch and step the message must name
    ("nan-loss", "NaN d_loss / inf g_loss at epoch 2, step 2", "loss", STEPS_PER_EPOCH + 2,
     "epoch 2, step 2/4", ["d_loss=nan", "g_loss=inf"]),
    ("nan-weights", "NaN in G's weights, losses finite, last step of epoch 2", "weights",
     2 * STEPS_PER_EPOCH, "epoch 2, step 4/4", ["non-finite weights", "G."]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_training_fault_stops_with_a_clear_error(case, tmp_path, monkeypatch, faults):
    _, what, fault, at, where, texts = case
    row = faults.tried("numerical", f"train: {what}")
    root = make_project(tmp_path / "p", prepared=True)
    with monkeypatch.context() as m:
        _hook(m, at, fault)
        rc, out, err, _ = run_inprocess(root, *TRAIN, monkeypatch=m)
    assert rc == 1 and "Traceback" not in err, (rc, out, err)
    for text in ["tiny", where, "last good checkpoint", "epoch_0001.pt", *texts]:
        assert text in err, f"{text!r} not in {err}"
    model = root / "models" / "tiny"
    assert [e for e, _ in list_checkpoints(model)] == [1]
    G, meta = load_generator(model / "checkpoints" / "epoch_0001.pt")
    assert meta["epoch"] == 1 and all(torch.isfinite(t).all() for t in G.state_dict().values()
                                      if t.is_floating_point())
    assert not (model / "generator.pt").exists() and temp_leftovers(root) == []

    rc2, out2, err2, _ = run_inprocess(root, *TRAIN, monkeypatch=monkeypatch)  # fault gone
    assert rc2 == 0 and "resuming from epoch 1" in out2, out2 + err2
    row.done(f"exit 1: {err.strip().splitlines()[-1][:120]}…; epoch_0001.pt loads, "
             "no generator.pt; rerun resumed from epoch 1")
