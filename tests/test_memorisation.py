"""The memorisation metric (generated images that copy a training image, beside the share real
images score) and `pokegan nearest`."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from fixtures.project import SIZE, FakeNet, referenced_project
from pokegan.config import EvalConfig
from pokegan.metrics import registry
from pokegan.metrics.evaluate import evaluate_variant, score
from pokegan.metrics.features import FeatureSet
from pokegan.metrics.memorisation import copy_flags, nearest, real_yardstick
from pokegan.models.io import load_generator
from pokegan.grids import GRID_PAD
from pokegan.models.sampling import sample


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 16, 16), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.uint8)


def _score(real: torch.Tensor, generated: torch.Tensor) -> dict:
    net = FakeNet()
    return score(FeatureSet(net.extract(real)), FeatureSet(net.extract(generated)),
                 EvalConfig(), 0, final=True)


def test_a_generator_that_returns_training_images_is_flagged():
    real = _images(200, 0)
    copier = real[torch.randperm(200, generator=torch.Generator().manual_seed(1))[:150]]
    s = _score(real, copier)
    assert s["copies"] == 1.0 and s["copies_real"] < 0.6


def test_a_generator_that_returns_other_images_passes_within_the_yardstick():
    """Fresh images of the real images' distribution are flagged about as often as one half of
    the real set is against the other half (measured here: 0.36 against 0.37)."""
    s = _score(_images(200, 0), _images(200, 2))
    assert 0.1 < s["copies_real"] < 0.6
    assert abs(s["copies"] - s["copies_real"]) < 0.1


def test_the_copy_test_follows_its_definition():
    real = np.array([[0.0], [1.0], [3.0], [10.0]])        # gaps to the nearest other: 1, 1, 2, 7
    fake = np.array([[0.5], [2.75], [5.5], [9.0], [14.0]])
    index, dist = nearest(real, fake)
    assert index.tolist() == [0, 2, 2, 3, 3] and dist.tolist() == [0.5, 0.25, 2.5, 1.0, 4.0]
    assert copy_flags(real, fake).tolist() == [True, True, False, True, True]
    assert nearest(real, real, exclude_self=True)[1].tolist() == [1.0, 1.0, 2.0, 7.0]
    assert real_yardstick(real, seed=0) == real_yardstick(real, seed=0)    # seeded halves


def test_it_is_a_final_metric_beside_the_others(tmp_path, monkeypatch):
    assert registry.get("memorisation").curve is False     # the curve CSV keeps its columns
    cfg = referenced_project(tmp_path / "p", monkeypatch)
    evaluate_variant(cfg, "tiny", net=FakeNet(), log=lambda m: None)
    saved = json.loads(open("metrics/tiny.json").read())
    assert 0 <= saved["copies"] <= 1 and 0 <= saved["copies_real"] <= 1


def _tiles(path, n_tiles: int, per_row: int) -> list[np.ndarray]:
    grid = np.asarray(Image.open(path).convert("RGB"))
    step = SIZE + GRID_PAD
    return [grid[GRID_PAD + (i // per_row) * step:][:SIZE, GRID_PAD + (i % per_row) * step:][:, :SIZE]
            for i in range(n_tiles)]


def test_nearest_draws_samples_beside_training_images(tmp_path, monkeypatch, capsys):
    from pokegan.cli import main
    from pokegan.metrics import inception
    referenced_project(tmp_path / "p", monkeypatch)
    monkeypatch.setattr(inception, "load_feature_net", FakeNet)
    assert main(["nearest", "models/tiny", "-n", "4", "--nrow", "2", "-o", "near.png"]) == 0
    out = capsys.readouterr().out
    assert "wrote near.png: 4 samples" in out and "copies by the memorisation test:" in out
    tiles = _tiles("near.png", 8, 4)
    G, _ = load_generator("models/tiny")
    samples = sample(G, 4, 0).permute(0, 2, 3, 1).numpy()
    originals = np.load("data/prepared/artwork/images.npy").transpose(0, 2, 3, 1)
    for i in range(4):
        assert np.array_equal(tiles[2 * i], samples[i])                 # the sample ...
        assert any(np.array_equal(tiles[2 * i + 1], o) for o in originals)   # ... a real image
    assert main(["nearest", "models/tiny", "--reference", "nowhere.npz"]) == 1
    assert "nowhere.npz" in capsys.readouterr().err


@pytest.mark.parametrize("n", [0, 50_001])
def test_nearest_refuses_a_bad_count(n, capsys):
    from pokegan.cli import main
    assert main(["nearest", "models/none", "-n", str(n)]) == 1
    assert "-n must be between 1 and 50000" in capsys.readouterr().err


def test_nearest_of_a_missing_model_is_one_clear_line(tmp_path, monkeypatch, capsys):
    from pokegan.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["nearest", "models/nope", "-o", "x.png"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pokegan nearest: error:") and "models/nope" in err
    assert err.count("\n") == 1 and not (tmp_path / "x.png").exists()
    with pytest.raises(SystemExit) as exc:
        main(["nearest", "--help"])
    assert exc.value.code == 0 and "usage: pokegan nearest" in capsys.readouterr().out
