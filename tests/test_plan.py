"""`make run`'s plan: what will run and how long, from measured rates (probes stubbed here)."""
from __future__ import annotations

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
