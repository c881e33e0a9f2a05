"""The report is built from small fixture metrics; files and table numbers are checked."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from pokegan.report import build, figures
from pokegan.report.markdown import report_markdown
from pokegan.report.tables import load_metrics, metrics_table
from pokegan.report.training_logs import read_training_log


def _metrics(tmp_path):
    d = tmp_path / "metrics"
    d.mkdir()
    (d / "dcgan_artwork.json").write_text(json.dumps({
        "fid": 312.345, "kid": 0.3012, "kid_std": 0.0042, "is": None, "precision": 0.1234,
        "recall": 0.05, "epoch": 10, "samples": 500, "real_samples": 749,
        "best": {"epoch": 8, "kid": 0.29012, "fid": 301.96}}))
    (d / "aegan_artwork.json").write_text(json.dumps({
        "fid": 250.0, "kid": 0.2, "kid_std": 0.001, "is": 2.345, "precision": 0.5,
        "recall": 0.25, "epoch": 6, "samples": 500, "real_samples": 749,
        "best": {"epoch": 6, "kid": 0.2, "fid": 250.0}}))
    return load_metrics(d)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split("|")[1:-1]]


def test_table_has_one_row_per_variant_with_its_numbers(tmp_path):
    table = metrics_table(_metrics(tmp_path)).splitlines()
    rows = {_cells(line)[0]: dict(zip(_cells(table[0]), _cells(line))) for line in table[2:]}
    assert set(rows) == {"aegan_artwork", "dcgan_artwork"}
    dcgan = rows["dcgan_artwork"]
    assert dcgan["epoch"] == "10" and dcgan["FID"] == "312.3"
    assert dcgan["KID ×10³ (± std)"] == "301.2 ± 4.2"
    assert dcgan["IS"] == "—"                  # IS null is shown as missing, not 0
    assert dcgan["precision"] == "0.123" and dcgan["recall"] == "0.050"
    assert dcgan["best checkpoint: epoch (curve KID ×10³)"] == "8 (290.1)"
    assert dcgan["samples / real"] == "500 / 749"
    assert "DCGAN819" in dcgan["study (its own FID, IS)"]
    assert rows["aegan_artwork"]["IS"] == "2.35"


def test_report_body(tmp_path):
    body = report_markdown(_metrics(tmp_path), {"Curves": "report/curves.png"},
                           {"train": 12.0, "evaluate": 3.5}, "test CPU, 2 cores")
    assert "15.5 min" in body and "not directly comparable" in body
    assert "![Curves](report/curves.png)" in body and "312.3" in body
    assert "generator.pt" in body and "--checkpoint best" in body   # which checkpoint rows score


def test_report_says_whose_training_minutes_are_one_leg(tmp_path):
    """run.json times the last leg of a resumed run, so its minutes undercount the run."""
    for name, record in (("long", {"seconds": 60, "resumed_from_epoch": 60}),
                         ("short", {"seconds": 30, "resumed_from_epoch": 0})):
        (tmp_path / "plots/train" / name).mkdir(parents=True)
        (tmp_path / "plots/train" / name / "run.json").write_text(json.dumps(record))
    resumed = build.resumed_runs(["long", "short", "never_trained"], tmp_path)
    assert resumed == {"long": 60}
    minutes = build.recorded_minutes(["long", "short"], tmp_path)
    metrics = _metrics(tmp_path)
    body = report_markdown(metrics, {}, minutes, "test CPU", resumed=resumed)
    assert "1.5 min" in body and "last leg only (long from epoch 60)" in body
    assert "last leg" not in report_markdown(metrics, {}, minutes, "test CPU")


def test_report_stage_writes_only_its_declared_outputs():
    """The stage once spliced its table into README.md, an output it did not declare."""
    import yaml
    root = Path(__file__).resolve().parents[1]
    stage = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]["report"]
    declared = {next(iter(o)) if isinstance(o, dict) else o for o in stage["outs"]}
    assert declared == {"plots/report.md", "plots/report"}
    assert (build.OUT.as_posix(), build.REPORT.as_posix()) == ("plots/report", "plots/report.md")
    for path in ("stages/report.py", "src/pokegan/report/build.py"):
        code = (root / path).read_text().split('"""', 2)[2]   # after the docstring
        assert "README" not in code, f"{path} writes README.md"


# --------------------------------------------------------------------------- the stage's work
@pytest.fixture
def evaluated(tmp_path, monkeypatch):
    """A tiny project after the reference and evaluate stages (stand-in feature network),
    with three epochs of grids."""
    from fixtures.project import FakeNet, referenced_project
    from pokegan.metrics.evaluate import evaluate_variant
    root = tmp_path / "p"
    cfg = referenced_project(root, monkeypatch)
    evaluate_variant(cfg, "tiny", net=FakeNet(), log=lambda m: None)
    (root / "models/tiny/grids").mkdir()
    for i in range(1, 4):
        Image.fromarray(np.full((70, 70, 3), 60 * i, np.uint8)).save(
            root / f"models/tiny/grids/epoch_{i:04d}.png")
    return cfg, root


def test_build_report_writes_the_report_and_its_figures(evaluated):
    cfg, root = evaluated
    (root / "plots/train/tiny").mkdir(parents=True)
    (root / "plots/train/tiny/run.json").write_text(json.dumps({"seconds": 90}))
    logged = []
    assert build.build_report(cfg, root, log=logged.append) == root / "plots/report.md"
    md = (root / "plots/report.md").read_text()
    assert md.startswith("# pokegan report") and "| tiny | 3 |" in md
    assert "**FID, KID, precision and recall per checkpoint**" in md   # the registry's panels
    assert "train 1.5" in md                                           # the recorded minutes
    assert "progress_tiny.gif" in md and "Real artwork images (top)" in md
    assert sorted(p.name for p in (root / "plots/report").iterdir()) == [
        "curves.png", "eval.csv", "losses.csv", "progress_tiny.gif",
        "reconstruction.csv", "side_by_side.png"]                       # no training logs: no losses
    assert set(pd.read_csv(root / "plots/report/eval.csv")["variant"]) == {"tiny"}
    assert logged == ["report: 1 variants -> plots/report.md"]


def test_report_draws_the_reconstruction_errors_of_a_variant_that_logs_them(evaluated,
                                                                           monkeypatch):
    cfg, root = evaluated
    logs = root / "plots/train/tiny/plots/metrics"
    logs.mkdir(parents=True)
    for name, values in (("d_loss", [1.5, 1.2]), ("g_loss", [0.7, 0.9]), ("rec_x", [0.6, 0.4])):
        (logs / f"{name}.tsv").write_text(f"step\t{name}\n1\t{values[0]}\n2\t{values[1]}\n")
    drawn = {}
    save = figures._save

    def keep_labels(fig, out):
        drawn[out.name] = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
        save(fig, out)

    monkeypatch.setattr(figures, "_save", keep_labels)
    build.build_report(cfg, root, log=lambda _: None)
    assert drawn["losses.png"][:2] == ["d_loss", "g_loss"]
    assert drawn["losses.png"][2].startswith("rec_x") and len(drawn["losses.png"]) == 3
    assert "(dashed: tiny's reconstruction errors)" in (root / "plots/report.md").read_text()
    assert pd.read_csv(root / "plots/report/reconstruction.csv")["rec_x"].tolist() == [0.6, 0.4]


def test_side_by_side_rows_come_from_the_same_latents(evaluated):
    from pokegan.data.prepared import load_prepared
    from pokegan.models.io import load_generator
    from pokegan.models.sampling import sample
    from pokegan.models.latents import seeded_latents
    cfg, root = evaluated
    G, meta = load_generator(root / "models/tiny/generator.pt")
    z = seeded_latents(cfg.seed, build.N_SIDE, G.latent_dim)
    originals = load_prepared("artwork", root=root / "data/prepared", originals_only=True)[0]
    real, got = figures.comparison_rows(originals, {"tiny": (G, meta)}, build.N_SIDE, cfg.seed)
    assert torch.equal(got["tiny"], sample(G, build.N_SIDE, seed=cfg.seed, latents=z))
    assert real.shape == (build.N_SIDE, 3, 32, 32) and real.dtype == torch.uint8
    picked = torch.randperm(len(originals), generator=torch.Generator().manual_seed(cfg.seed))
    assert torch.equal(real, originals[picked[:build.N_SIDE]])


def test_figures_are_written(tmp_path):
    curves = {"a": pd.DataFrame({"epoch": [2, 4], "fid": [300.0, 250.0], "kid": [0.3, 0.2],
                                 "precision": [0.1, 0.2], "recall": [0.0, 0.1]})}
    figures.curves_figure(curves, tmp_path / "curves.png")
    real = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    figures.side_by_side(real, {"a": real.flip(0)}, tmp_path / "side.png")
    frames = []
    for i in range(3):
        p = tmp_path / f"epoch_{i:04d}.png"
        Image.fromarray(np.full((8, 8, 3), 80 * i, np.uint8)).save(p)
        frames.append(p)
    figures.progress_gif(frames, tmp_path / "progress.gif")
    for name in ("curves.png", "side.png"):
        assert Image.open(tmp_path / name).size[0] > 100
    gif = Image.open(tmp_path / "progress.gif")
    assert gif.n_frames == 3


def test_curves_are_drawn_against_images_shown():
    """A sprite run's epoch is 14,000 images and an artwork run's 2,240: against the epoch their
    curves would not line up, so the figure uses images shown wherever every curve records it."""
    art = pd.DataFrame({"epoch": [20, 40], "images_seen": [44800, 89600], "kid": [0.3, 0.2]})
    spr = pd.DataFrame({"epoch": [4, 8], "images_seen": [55808, 111616], "kid": [0.4, 0.3]})
    assert figures.curve_x({"a": art, "s": spr}) == ("images_seen", "images shown")
    assert figures.curve_x({"a": art, "old": spr.drop(columns="images_seen")}) == ("epoch", "epoch")


def test_progress_gif_keeps_the_top_left_tiles(tmp_path):
    # a 3×3 grid of 8 px tiles with 2 px padding (32 px); keep 2×2 tiles → 2 + 2·10 = 22 px
    grid = np.zeros((32, 32, 3), np.uint8)
    grid[22:30, 22:30] = 90                   # the last tile: cropped away
    frames = []
    for i in range(2):                        # frames differ (PIL merges identical ones)
        grid[2:10, 2:10] = 200 - 50 * i
        p = tmp_path / f"epoch_{i:04d}.png"
        Image.fromarray(grid).save(p)
        frames.append(p)
    figures.progress_gif(frames, tmp_path / "p.gif", tile_px=8, tiles=2)
    gif = Image.open(tmp_path / "p.gif")
    assert gif.size == (22, 22) and gif.n_frames == 2
    rgb = np.asarray(gif.convert("RGB"))
    assert rgb[5, 5].tolist() == [200, 200, 200] and 90 not in rgb


def test_training_log_reader(tmp_path):
    m = tmp_path / "plots" / "metrics"
    m.mkdir(parents=True)
    (m / "d_loss.tsv").write_text("timestamp\tstep\td_loss\n1\t1\t1.5\n2\t2\t1.2\n")
    (m / "g_loss.tsv").write_text("timestamp\tstep\tg_loss\n1\t1\t0.7\n2\t2\t0.9\n")
    log = read_training_log(tmp_path)
    assert list(log["epoch"]) == [1, 2]
    assert list(log["g_loss"]) == [0.7, 0.9]
    figures.losses_figure({"v": log}, tmp_path / "losses.png")
    assert (tmp_path / "losses.png").stat().st_size > 1000


def test_progress_gif_of_a_long_run_keeps_spaced_frames_first_and_last(tmp_path):
    frames = []
    for epoch in range(30):
        path = tmp_path / f"grid_{epoch:04d}.png"
        Image.new("RGB", (8, 8), (epoch * 8, 0, 0)).save(path)
        frames.append(path)
    figures.progress_gif(frames, tmp_path / "p.gif", max_frames=5)
    gif = Image.open(tmp_path / "p.gif")
    reds = []
    for i in range(gif.n_frames):
        gif.seek(i)
        reds.append(gif.convert("RGB").getpixel((0, 0))[0])
    assert reds == [0, 56, 112, 176, 232]      # epochs 0, 7, 14, 22, 29
