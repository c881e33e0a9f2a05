"""The metric registry: every metric is one module that registers itself, and
evaluation, `pokegan fid`, the report's table and figure read the registry and list no metric."""
import io
import json

import numpy as np
import pandas as pd
import pytest

from fixtures.project import FakeNet, referenced_project, use_fake_net
from pokegan.metrics import registry
from pokegan.metrics.evaluate import curve_columns, evaluate_variant
from pokegan.report.figures import curve_panels
from pokegan.report.tables import metrics_table


def test_the_study_metrics_are_registered_with_their_columns():
    names = [m.name for m in registry.metrics()]
    assert {"fid", "kid", "inception_score", "precision_recall"} <= set(names)
    # the curve CSV's columns are what they were before the registry (plots and reports read them)
    assert curve_columns() == ["epoch", "images_seen", "fid", "kid", "kid_std", "is",
                               "precision", "recall", "samples"]
    assert [(c, label) for c, label in curve_panels()] == [
        ("fid", "FID"), ("kid", "KID"), ("precision", "precision"), ("recall", "recall")]
    assert registry.get("inception_score").needs == {registry.CLASS_PROBS}
    with pytest.raises(ValueError, match="unknown metric 'lpips'"):
        registry.get("lpips")


def test_values_keep_registry_order_and_leave_notes_out():
    result = {"recall": 0.5, "is_note": "no weights", "fid": 3.0, "is": None, "samples": 9}
    assert list(registry.values(result)) == ["fid", "is", "recall"]
    assert registry.notes(result) == {"is_note": "no weights"}


def _gap(x: registry.Inputs) -> dict:
    return {"mean_gap": float(np.linalg.norm(x.real.mu - x.fake.mu))}


def _size(x: registry.Inputs) -> dict:
    return {"fake_rows": x.fake.n}


NEW = [registry.Metric("mean_gap", _gap, order=25, terminal="mean gap   {mean_gap:.4f}",
                       keys=(registry.Key("mean_gap", "mean gap", digits=2,
                                          lower_is_better=True),)),
       registry.Metric("fake_rows", _size, order=99, curve=False,
                       keys=(registry.Key("fake_rows", "rows"),))]


@pytest.fixture
def project(tmp_path, monkeypatch):
    return referenced_project(tmp_path / "p", monkeypatch)


def test_a_new_metric_is_one_registration(project, monkeypatch, capsys):
    """Metrics registered at run time reach the metrics JSON, the curve CSV (the curve one,
    between kid and is by its order), the report table and figure, and `pokegan fid`."""
    registry.metrics()
    for m in NEW:
        monkeypatch.setitem(registry.REGISTRY, m.name, m)
    evaluate_variant(project, "tiny", net=FakeNet(), log=lambda m: None)
    saved = json.loads(open("metrics/tiny.json").read())
    assert saved["mean_gap"] >= 0 and saved["fake_rows"] == 12
    curve = pd.read_csv("plots/eval/tiny.csv")
    assert list(curve.columns) == ["epoch", "images_seen", "fid", "kid", "kid_std", "mean_gap",
                                   "is", "precision", "recall", "samples"]
    header = metrics_table({"tiny": saved}).splitlines()[0]
    assert "| KID ×10³ (± std) | mean gap | IS |" in header and "| rows |" in header
    assert ("mean_gap", "mean gap") in curve_panels() and ("fake_rows", "rows") not in curve_panels()

    from pokegan.cli import main
    use_fake_net(monkeypatch)
    ref = "data/reference/artwork.npz"
    assert main(["fid", ref, ref, "--json", "fid.json"]) == 0
    assert "mean gap   0.0000" in capsys.readouterr().out
    assert json.loads(open("fid.json").read())["fake_rows"] == 16


# metrics/tiny.json and plots/eval/tiny.csv of this fixture as evaluate wrote them before the
# registry (commit c0c3636): the registry changes where metrics are listed, not what is written
BEFORE_JSON = {"best": {"epoch": 1, "fid": 0.003956824914362809, "kid": 3.849163520381893e-05},
               "epoch": 3, "fid": 0.0038795278271841985, "images_seen": 48, "is": None,
               "is_std": None, "kid": 0.00013818440416741852, "kid_std": 1.546388979707804e-05,
               "kid_subset_size": 12, "precision": 1.0, "real_samples": 16, "recall": 0.0,
               "samples": 12}
BEFORE_CSV = """epoch,images_seen,fid,kid,kid_std,is,precision,recall,samples
1,16,0.003956824914362809,3.849163520381893e-05,4.574255454821104e-05,,1.0,0.0,8
2,32,0.004624830245646345,0.0002858442871771061,8.23912468298138e-05,,1.0,0.0,8
3,48,0.003871822397901894,0.00010607784061802405,7.898347272801438e-05,,1.0,0.0,8
"""


def test_evaluation_outputs_are_those_before_the_registry(project):
    evaluate_variant(project, "tiny", net=FakeNet(), log=lambda m: None)
    saved = json.loads(open("metrics/tiny.json").read())
    for key, want in BEFORE_JSON.items():     # approx takes neither nested dicts nor None
        assert saved[key] == (want if want is None else pytest.approx(want, rel=1e-9)), key
    curve = pd.read_csv("plots/eval/tiny.csv")
    before = pd.read_csv(io.StringIO(BEFORE_CSV))
    assert list(curve.columns) == list(before.columns)
    pd.testing.assert_frame_equal(curve, before, rtol=1e-9)
    prov = json.loads(open("metrics/provenance/tiny.json").read())
    assert "IS needs the full Inception classifier" in prov["is_note"]   # a note, not a metric
