"""bench/spectrum.py: blur lowers and noise raises the high-frequency power against the real
images, and the script compares a tiny project's model with its reference images."""
import csv
import importlib.util
from pathlib import Path

import pytest
import torch

_spec = importlib.util.spec_from_file_location(
    "spectrum", Path(__file__).resolve().parents[1] / "bench" / "spectrum.py")
spectrum = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(spectrum)


def shapes(n: int = 64, side: int = 32, seed: int = 0) -> torch.Tensor:
    """uint8 images of random coloured rectangles on grey: hard edges, like artworks."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, 3, side, side), 128, dtype=torch.uint8)
    for i in range(n):
        for _ in range(3):
            y0, x0 = torch.randint(0, side - 8, (2,), generator=g).tolist()
            h, w = torch.randint(4, 12, (2,), generator=g).tolist()
            x[i, :, y0:y0 + h, x0:x0 + w] = torch.randint(0, 256, (3, 1, 1), generator=g,
                                                          dtype=torch.uint8)
    return x


def blur(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.avg_pool2d(x.float(), 3, 1, 1, count_include_pad=False) \
        .round().to(torch.uint8)


def test_a_set_against_itself_is_zero_everywhere():
    x = shapes()
    r = spectrum.compare(x, x)
    assert r["bands"] == [0.0] * len(spectrum.BANDS) and r["distance"] == 0.0
    assert len(r["curve"]) == 16 and r["curve"][-1][0] == 0.5


def test_blur_lowers_the_high_bands_and_noise_raises_them():
    real, fake = shapes(seed=1), shapes(seed=2)
    noise = torch.randn(fake.shape, generator=torch.Generator().manual_seed(3)) * 40
    plain = spectrum.compare(fake, real)["bands"]
    blurred = spectrum.compare(blur(fake), real)["bands"]
    noisy = spectrum.compare((fake + noise).clamp(0, 255).to(torch.uint8), real)["bands"]
    # the shapes (lowest band) barely move either way; the pixel-level band moves most
    assert abs(blurred[0] - plain[0]) < 0.2 and abs(noisy[0] - plain[0]) < 0.2
    assert blurred[-1] < blurred[-2] < plain[-2] and blurred[-1] < plain[-1] - 3
    assert noisy[-1] > noisy[-2] > plain[-2] and noisy[-1] > plain[-1] + 2


def test_the_real_halves_yardstick_splits_the_set_in_two():
    same = shapes(n=1, seed=1).expand(20, -1, -1, -1)
    assert spectrum.real_halves(same, seed=0)["distance"] < 1e-9
    mixed = torch.cat([shapes(n=10, seed=1), blur(shapes(n=10, seed=1))])
    assert spectrum.real_halves(mixed, seed=0)["distance"] > 0.01


def test_sets_of_other_sizes_are_refused():
    with pytest.raises(ValueError, match="one size"):
        spectrum.compare(shapes(side=32), shapes(side=16))


def test_main_compares_a_model_with_its_datasets_reference(tmp_path, monkeypatch, capsys):
    from fixtures.project import referenced_project

    referenced_project(tmp_path, monkeypatch)
    out = tmp_path / "spectrum.csv"
    assert spectrum.main(["models/tiny", "--samples", "10", "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("| models/tiny |"))
    cells = row.split("|")[1:-1]
    assert cells[1].strip().startswith("artwork (") and cells[2].strip() == "3"
    assert all(abs(float(c)) < 20 for c in cells[3:])
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 32 and {r["model"] for r in rows} == {"models/tiny", "real halves (artwork)"}
    halves = next(line for line in text.splitlines() if line.startswith("| real halves (artwork) |"))
    assert halves.split("|")[3].strip() == ""


def test_main_names_a_missing_model(tmp_path, monkeypatch, capsys):
    from fixtures.project import referenced_project

    referenced_project(tmp_path, monkeypatch)
    assert spectrum.main(["models/nothing", "--samples", "4"]) == 1
    assert "models/nothing" in capsys.readouterr().err


def test_an_unwritable_csv_is_named_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    from fixtures.project import referenced_project

    referenced_project(tmp_path, monkeypatch)
    out = tmp_path / "no such folder" / "s.csv"
    assert spectrum.main(["models/tiny", "--samples", "4", "--csv", str(out)]) == 1
    assert "cannot write" in capsys.readouterr().err and not out.parent.exists()
