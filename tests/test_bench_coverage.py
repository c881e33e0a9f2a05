"""bench/coverage.py: recall split by the artworks' groups, on hand-made features and on a tiny
project scored by the stand-in feature network."""
import importlib.util
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "coverage", Path(__file__).resolve().parents[1] / "bench" / "coverage.py")
coverage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(coverage)


def test_the_covered_rows_average_to_the_metrics_recall():
    from pokegan.metrics.precision_recall import precision_recall

    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(60, 5)), rng.normal(0.5, 1.3, size=(90, 5))
    rows = coverage.covered(real, fake, 3)
    assert rows.dtype == bool and rows.shape == (60,)
    assert 0 < rows.mean() < 1
    assert rows.mean() == precision_recall(real, fake, 3)[1]


def test_a_group_the_generator_never_draws_has_no_recall_and_no_nearest_share():
    rng = np.random.default_rng(1)
    near, far = rng.normal(size=(20, 4)), rng.normal(size=(10, 4)) + 50.0
    real, groups = np.vstack([near, far]), np.array(["green"] * 20 + ["black"] * 10)
    fake = rng.normal(size=(40, 4))                      # only where the green artworks are
    table = coverage.by_group(groups, coverage.covered(real, fake, 3),
                              coverage.nearest_real(real, fake)).set_index("group")
    assert table.loc["black", "recall"] == 0 and table.loc["green", "recall"] > 0.5
    assert table.loc["black", "share_generated_nearest"] == 0
    assert table.loc["green", "share_generated_nearest"] == 1
    assert list(table.artworks) == [10, 20] and table.share_real.sum() == 1


def test_main_splits_a_generators_recall_by_type_and_colour(tmp_path, monkeypatch, capsys):
    import pandas as pd

    import pokegan.metrics.inception as inception
    from fixtures.project import FakeNet, referenced_project

    referenced_project(tmp_path, monkeypatch)            # cwd; models/tiny; 16 artworks
    monkeypatch.setattr(inception, "load_feature_net", FakeNet)
    out = tmp_path / "cov.csv"
    assert coverage.main(["models/tiny/generator.pt", "--samples", "24", "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "real vs real, random halves (8 vs 8" in printed and "recall with 16 of them" in printed
    assert "KID " in printed
    rows = pd.read_csv(out)
    assert set(rows["by"]) == {"type1", "colour"}
    assert set(rows.group) == {"water", "fire", "blue"}
    assert rows.groupby("by").artworks.sum().tolist() == [16, 16]
