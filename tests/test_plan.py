"""`make run`'s plan: what will run and how long, from measured rates (probes stubbed here)."""
from __future__ import annotations

import dataclasses

import pytest

from pokegan import config, plan


@pytest.fixture
def cfg():
    return config.parse({"epochs": 2, "checkpoint_every": 1, "eval": {"samples": 300, "samples_curve": 100},
                         "variants": {"a": {"model": "dcgan", "dataset": "artwork"},
                                      "s": {"model": "aegan", "dataset": "sprites", "epochs": 1,
                                            "batch_size": 64}}})


def test_plan_counts_the_work_of_stale_stages_at_the_measured_rates(cfg, monkeypatch):
    monkeypatch.setattr(plan, "feature_rate", lambda: 5.0)
    monkeypatch.setattr(plan, "family_rate", lambda v, d, p: {"dcgan": 32.0, "aegan": 8.0}[v.model])
    work = {w.stage: w for w in plan.plan(cfg, ["download", "train@a", "evaluate@a", "train@s"])}
    assert set(work) == {"train@a", "evaluate@a", "train@s"}      # only what DVC will run
    assert work["train@a"].seconds == pytest.approx(2 * (749 * 3 // 32) * 32 / 32.0)
    n = cfg.data.sprites.max_images                            # data stages rerun: from params
    assert work["train@s"].seconds == pytest.approx(1 * (n // 64) * 64 / 8.0)
    assert work["evaluate@a"].seconds == pytest.approx((2 * 100 + 200) / 5.0)


def test_nothing_stale_means_nothing_to_time(cfg, monkeypatch):
    monkeypatch.setattr(plan, "feature_rate", lambda: pytest.fail("probed although nothing runs"))
    assert plan.plan(cfg, []) == []


def test_a_stopped_run_is_estimated_by_what_is_left(tmp_path, monkeypatch):
    """A checkpoint of the same run (same params, data, code, device, precision) makes the plan
    count only the epochs after it, as the loop will resume there; another run's does not."""
    from fixtures.project import N_IMAGES, SIZE, synthetic_prepared

    from pokegan.data.prepared import load_prepared
    from pokegan.training import train

    monkeypatch.chdir(tmp_path)
    synthetic_prepared(tmp_path)
    raw = {"epochs": 5, "checkpoint_every": 1, "image_size": SIZE, "latent_dim": 16,
           "batch_size": 8, "precision": "fp32", "device": "cpu",
           "variants": {"a": {"model": "dcgan", "dataset": "artwork"}}}
    cfg = config.parse(raw)
    images, _, meta = load_prepared("artwork")
    stopped = dataclasses.replace(cfg.variant("a"), epochs=2)      # as if stopped after epoch 2
    train("a", stopped, images, data_fingerprint=meta["fingerprint"], model_dir=tmp_path / "models/a",
          progress=False, log=lambda m: None)
    monkeypatch.setattr(plan, "family_rate", lambda v, d, p: 10.0)
    per_epoch = N_IMAGES // 8 * 8
    work = plan.plan(cfg, ["train@a"])[0]
    assert work.seconds == pytest.approx((5 - 2) * per_epoch / 10.0)
    assert "resumes after epoch 2" in work.what
    other = config.parse({**raw, "lr": 0.001})                      # another run: from scratch
    assert plan.plan(other, ["train@a"])[0].seconds == pytest.approx(5 * per_epoch / 10.0)


def test_forced_bf16_on_a_cpu_that_emulates_it_names_the_fp32_override(monkeypatch):
    """A variant that forces bf16 still plans at the rate timed here, but on a CPU without
    native bf16 the plan warns and names the override; auto and fp32 variants, and CPUs with
    native bf16, get no warning."""
    monkeypatch.setattr(plan, "family_rate", lambda v, d, p: 10.0)
    cfg = config.parse({"epochs": 1, "device": "cpu",
                        "variants": {"forced": {"model": "dcgan", "dataset": "artwork", "precision": "bf16"},
                                     "auto": {"model": "dcgan", "dataset": "artwork"},
                                     "fp32": {"model": "dcgan", "dataset": "artwork", "precision": "fp32"}}})
    stale = ["train@forced", "train@auto", "train@fp32"]
    monkeypatch.setattr(plan, "cpu_supports_bf16", lambda: False)
    monkeypatch.setattr("pokegan.ops.device.cpu_supports_bf16", lambda: False)   # what auto resolves by
    warned = {w.stage: w.warning for w in plan.plan(cfg, stale)}
    assert "dvc exp run -S variants.forced.precision=fp32 evaluate@forced" in warned["train@forced"]
    assert "emulated" in warned["train@forced"]
    assert warned["train@auto"] == warned["train@fp32"] == ""
    monkeypatch.setattr(plan, "cpu_supports_bf16", lambda: True)
    assert all(w.warning == "" for w in plan.plan(cfg, stale))


def test_the_warning_is_printed_under_its_stage(monkeypatch, capsys):
    monkeypatch.setattr(plan, "stale_stages", lambda: ["train@forced"])
    monkeypatch.setattr(plan, "plan", lambda cfg, stale: [
        plan.Work("train@forced", "10 images", 60.0, "bf16 is emulated on this CPU")])
    monkeypatch.setattr(plan.config, "load", lambda: config.parse({"device": "cpu"}))
    assert plan.main() == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if "train@forced" in line)
    assert "warning: bf16 is emulated on this CPU" in lines[at + 1]
