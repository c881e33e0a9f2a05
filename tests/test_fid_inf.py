"""FID∞ (Chong & Forsyth 2020) on Gaussian features whose true FID is known, and its place in
the outputs, which only the metric registry gives it (it is one file, metrics/fid_inf.py)."""
import json

import numpy as np
import pandas as pd
import pytest

from fixtures.project import FakeNet, referenced_project
from pokegan.metrics import registry
from pokegan.metrics.evaluate import evaluate_variant
from pokegan.metrics.features import FeatureSet
from pokegan.metrics.fid import fid
from pokegan.metrics.fid_inf import fid_infinity, subset_sizes
from pokegan.report.tables import metrics_table

D = 16


def _gaussian(n: int, seed: int, shift: float = 0.0) -> FeatureSet:
    """n draws of one fixed correlated Gaussian in D dimensions, its mean moved by ``shift``
    along the diagonal (true FID to the unshifted one: shift²)."""
    mix = np.random.default_rng(0).standard_normal((D, D)) / np.sqrt(D) / 2 + np.eye(D)
    x = np.random.default_rng(seed).standard_normal((n, D)) @ mix
    return FeatureSet(x + shift / np.sqrt(D))


REAL = _gaussian(50_000, 1)       # so many that the real side's own bias is negligible


def test_identical_distributions_give_fid_inf_near_zero_while_fid_is_biased():
    fake = _gaussian(1000, 2)
    assert fid(REAL, fake.head(250)) > 0.25 and fid(REAL, fake) > 0.07   # FID's 1/N bias
    assert abs(fid_infinity(REAL, fake, seed=0)) < 0.05


def test_a_known_mean_shift_is_recovered():
    fake = _gaussian(1000, 3, shift=2.0)
    assert fid_infinity(REAL, fake, seed=0) == pytest.approx(4.0, abs=0.5)


def test_sizes_and_too_few_samples():
    assert subset_sizes(500).tolist() == [125, 179, 232, 286, 339, 393, 446, 500]
    assert subset_sizes(12).tolist() == [3, 4, 6, 7, 8, 9, 11, 12]
    assert fid_infinity(REAL, _gaussian(2, 4)) is None          # one size: no line to fit
    fake = _gaussian(300, 5)
    assert fid_infinity(REAL, fake, seed=1) == fid_infinity(REAL, fake, seed=1)   # seeded


@pytest.fixture
def project(tmp_path, monkeypatch):
    return referenced_project(tmp_path / "p", monkeypatch)


def _outputs(cfg):
    evaluate_variant(cfg, "tiny", net=FakeNet(), log=lambda m: None)
    saved = json.loads(open("metrics/tiny.json").read())
    return saved, list(pd.read_csv("plots/eval/tiny.csv").columns), \
        metrics_table({"tiny": saved}).splitlines()[0]


def test_the_registry_puts_it_in_the_final_metrics_and_the_table(project, monkeypatch):
    assert registry.get("fid_inf").curve is False                   # final model only
    saved, columns, header = _outputs(project)
    assert np.isfinite(saved["fid_inf"]) and "fid_inf" not in columns
    assert "| FID | FID∞ | KID ×10³ (± std) |" in header
    monkeypatch.delitem(registry.REGISTRY, "fid_inf")               # unregistered: gone
    saved, columns, header = _outputs(project)
    assert "fid_inf" not in saved and "FID∞" not in header


def test_each_point_is_the_plain_fid_of_its_subset():
    """The fast per-point formula (one eigh, then thin SVDs) equals the reference FID."""
    from pokegan.metrics.fid_inf import fid_points
    fake = _gaussian(40, 5, shift=1.0)
    real = _gaussian(300, 6)
    sizes = np.array([10, 25, 40])
    fast = fid_points(real, fake, 0, sizes)
    rng = np.random.default_rng(0)
    slow = [fid(real, FeatureSet(fake.features[rng.choice(fake.n, k, replace=False)])) for k in sizes]
    assert fast == pytest.approx(slow, rel=1e-6, abs=1e-8)
