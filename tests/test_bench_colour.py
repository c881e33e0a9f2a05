"""bench/colour_sensitivity.py: how far a palette change moves an image's features, on hand-made
feature functions and on a tiny prepared set through the real projected D's frozen network."""
import importlib.util
import sys
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.append(str(BENCH))                    # as `python bench/colour_sensitivity.py` has it
_spec = importlib.util.spec_from_file_location("colour_sensitivity", BENCH / "colour_sensitivity.py")
colour = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colour)


def test_every_image_is_paired_with_another():
    for n in (2, 5, 17):
        other = colour.other_images(n, seed=3)
        assert sorted(other.tolist()) == list(range(n))
        assert (other != torch.arange(n)).all()


def test_features_blind_to_hue_do_not_see_a_channel_swap_but_see_the_mirror():
    x = torch.rand(12, 3, 8, 8) * 2 - 1
    ratios = colour.sensitivity(lambda b: [b.mean(1)], x)      # the channels' mean: hue-blind
    assert ratios["channel swap"][0] < 1e-6
    assert ratios["mirror"][0] > 0.3


def test_features_that_keep_the_pixels_see_every_change():
    x = torch.rand(12, 3, 8, 8) * 2 - 1
    ratios = colour.sensitivity(lambda b: [b, b.mean((2, 3))], x)
    for name in colour.TRANSFORMS:
        assert len(ratios[name]) == 2
        assert ratios[name][0] > 0.3
    # pooled away, the mirror leaves a per-channel mean unchanged: one map sees it, one does not
    assert ratios["mirror"][1] < 1e-6 < ratios["channel swap"][1]


def test_main_prints_a_row_per_map_and_for_inception(tmp_path, monkeypatch, capsys):
    import pokegan.metrics.inception as inception
    from fixtures.project import FakeNet, synthetic_prepared

    synthetic_prepared(tmp_path)
    monkeypatch.setattr(inception, "load_feature_net", FakeNet)
    assert colour.main(["--n", "8", "--data", str(tmp_path / "data" / "prepared")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("8 artworks, projected D at 64 px")
    rows = [line for line in out.splitlines() if line.startswith("| projected D, map")]
    assert len(rows) == 4 and "| Inception pool3 |" in out
    for row in rows:
        assert all(0 < float(v) < 5 for v in row.split("|")[2:-1])


def test_one_artwork_is_refused_as_it_has_no_other_to_measure_against(capsys):
    import pytest

    with pytest.raises(SystemExit):
        colour.main(["--n", "1"])
    assert "--n must be at least 2" in capsys.readouterr().err
