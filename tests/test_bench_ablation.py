"""bench/ablation.py: its tables (merging the CSVs of two processes, the summary), the config
check, and each subcommand on a tiny run: run, curve, figure, export, merge."""
import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
PARAMS = str(BENCH.parent / "params.yaml")
sys.path.append(str(BENCH))                    # as `python bench/ablation.py` has it: its tables
_spec = importlib.util.spec_from_file_location("ablation", BENCH / "ablation.py")
ablation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ablation)
tables = sys.modules["ablation_tables"]


def _row(config, seed, generator, kid):
    return {"config": config, "seed": seed, "generator": generator, "fid": 100 * kid, "kid": kid,
            "kid_std": 0.0, "precision": 0.0, "recall": 0.0, "epochs": 5, "images_seen": 1,
            "samples": 10, "train_s": 1.0, "threads": 1, "precision_mode": "fp32", "overrides": ""}


def test_merge_keeps_every_run_once_and_the_later_row_wins():
    a = [_row("baseline", 0, "live", 0.5), _row("baseline", 0, "ema", 0.4)]
    b = [_row("baseline", "0", "ema", 0.3), _row("hinge", 1, "live", 0.6)]   # seed read as text
    merged = tables.merge_rows(a, b)
    assert [(r["config"], int(r["seed"]), r["generator"], r["kid"]) for r in merged] == [
        ("baseline", 0, "live", 0.5), ("baseline", 0, "ema", 0.3), ("hinge", 1, "live", 0.6)]


def test_summary_averages_seeds_with_their_spread():
    df = pd.DataFrame([_row("baseline", 0, "live", 0.5), _row("baseline", 1, "live", 0.3),
                       _row("baseline", 0, "ema", 0.2)])
    md = tables.markdown(df, "note")
    assert "| baseline | 0, 1 | 40.0 ± 10.0 | 0.400 ± 0.100 |" in md
    assert "| ema | 0 | 20.0 | 0.200 |" in md


def test_curve_table_orders_each_run_by_images_shown():
    rows = [{"config": "best", "seed": 0, "generator": "ema", "epoch": e, "images_seen": n,
             "fid": 1.0, "kid": k, "kid_std": 0.0, "samples": 100}
            for e, n, k in [(50, 112000, 0.13), (4, 8960, 0.24)]]
    rows.append(dict(rows[0], generator="live", kid=0.2))
    md = tables.curve_markdown(pd.DataFrame(rows, columns=tables.CURVE_COLUMNS), "note")
    assert "| best | 0 | ema | 9k 0.240 · 112k 0.130 |" in md
    assert "| best | 0 | live | 112k 0.200 |" in md


def test_a_table_keeps_its_description_when_rows_are_merged_in(tmp_path):
    md = tmp_path / "abl.md"
    md.write_text(tables.markdown(pd.DataFrame([_row("best", 0, "live", 0.1)]),
                                    "about 112,320 images shown per run"))
    assert tables.description(md) == "about 112,320 images shown per run"
    assert tables.description(tmp_path / "missing.md") is None
    (tmp_path / "other.md").write_text("notes\n\nnot a table this bench wrote\n")
    assert tables.description(tmp_path / "other.md") is None


def test_a_new_table_made_by_merging_takes_the_merged_runs_description(tmp_path):
    write = lambda name, text: (tmp_path / name).write_text(
        tables.markdown(pd.DataFrame([_row("best", 0, "live", 0.1)]), text))
    write("runs_a.md", "about 201,600 images shown per run")
    new = tmp_path / "new.md"
    assert tables.merged_description(new, [str(tmp_path / "runs_a.csv")]) == \
        "about 201,600 images shown per run"
    write("new.md", "the table's own runs")
    assert tables.merged_description(new, [str(tmp_path / "runs_a.csv")]) == "the table's own runs"
    assert tables.merged_description(tmp_path / "none.md", [str(tmp_path / "x.csv")]) is None


def test_every_ablation_config_is_a_valid_variant():
    """A typo'd or contradictory lever (ada_target without a diffaugment policy) fails here and
    at the bench's start, not an hour into a --images run."""
    from pokegan import config

    params = Path(__file__).resolve().parents[1] / "params.yaml"
    ablation.check_configs(ablation.CONFIGS, params)
    with pytest.raises(config.ConfigError, match=r"variants\.broken\.ada_target"):
        ablation.check_configs({"broken": dict(ablation.BEST, ada_target=0.6)}, params)


def test_export_writes_each_run_under_a_name_without_plus_that_curve_finds(tmp_path, capsys):
    # the GPU check's way home: checkpoints reduced to their EMA G, under folder names without '+'
    import dataclasses

    import torch

    from fixtures.training import TINY, run_tiny, tiny_images
    from pokegan.models.io import list_checkpoints, load_generator, read_file

    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    for name, cfg in (("best+ada0.4", dataclasses.replace(TINY, epochs=2, ema=0.9)),
                      ("best", dataclasses.replace(TINY, epochs=1))):       # best: no EMA
        run_tiny(tmp_path / name, tiny_images(), cfg)
        (tmp_path / name / "models").rename(work / f"{name}_s0")
    args = ["--seeds", "0", "--work", str(work), "--params", PARAMS]
    assert ablation.main(["export", str(out), "--configs", "best+ada0.4", "--epochs", "1", "2", "9",
                          *args]) == 0
    assert "skip best+ada0.4 seed 0 epoch 9: not under" in capsys.readouterr().out
    exported = ablation.export_dir(out, "best+ada0.4", 0)
    assert "+" not in str(exported.relative_to(tmp_path))
    assert [e for e, _ in list_checkpoints(exported)] == [1, 2]
    ckpt = list_checkpoints(work / "best+ada0.4_s0")[-1][1]
    slim = read_file(exported / ckpt.name)
    assert "models" not in slim and slim["images_seen"] == read_file(ckpt)["images_seen"]
    G_slim, G_full = load_generator(exported / ckpt.name)[0], load_generator(ckpt)[0]
    assert all(torch.equal(a, b) for a, b in zip(G_slim.state_dict().values(),
                                                 G_full.state_dict().values()))
    # curve and figure look the run up by its config name: the exported spelling is found, and
    # an exported checkpoint has the EMA G alone
    assert ablation.run_dir(out, "best+ada0.4", 0) == exported
    assert ablation.run_dir(work, "best+ada0.4", 0) == work / "best+ada0.4_s0"
    assert list(ablation.live_and_ema(exported / ckpt.name, exported / ckpt.name)) == ["ema"]
    assert list(ablation.live_and_ema(ckpt, ckpt)) == ["live", "ema"]
    with pytest.raises(SystemExit, match="no EMA"):              # a run without one: said so
        ablation.main(["export", str(out), "--configs", "best", *args])


def test_merge_adds_a_second_process_rows_and_keeps_the_table_description(tmp_path, capsys):
    csv, other = tmp_path / "abl.csv", tmp_path / "abl_b.csv"
    tables.write_tables([_row("best", 0, "live", 0.5)], csv, csv.with_suffix(".md"),
                        "about 40,320 images shown per run")
    tables.write_tables([_row("best", 0, "live", 0.4), _row("best", 1, "ema", 0.3)], other,
                        other.with_suffix(".md"), "another command line's budget")
    assert ablation.main(["merge", str(other), "--csv", str(csv), "--md",
                          str(csv.with_suffix(".md")), "--params", PARAMS]) == 0
    assert "into " + str(csv) + ": 2 rows" in capsys.readouterr().out
    rows = pd.read_csv(csv)
    assert list(rows.columns) == tables.COLUMNS
    assert list(zip(rows.seed, rows.generator, rows.kid)) == [(0, "live", 0.4), (1, "ema", 0.3)]
    assert tables.description(csv.with_suffix(".md")) == "about 40,320 images shown per run"


def test_a_conditional_config_trains_on_type_labels_and_is_scored_and_drawn(tmp_path, monkeypatch):
    # cbest+diffaug: the bench hands the type-conditional family each image's type1, as the
    # train stage does, and samples both of its G in the data's type mix (sampling_labels)
    import pandas as pd
    import torch

    import pokegan.metrics.inception as inception
    import pokegan.models.sampling as sampling
    from fixtures.project import FakeNet, referenced_project
    from pokegan.metrics.evaluate import sampling_labels
    from pokegan.models.conditional import empirical_labels
    from pokegan.models.io import load_generator

    referenced_project(tmp_path / "p", monkeypatch)            # cwd: a 32 px project, FakeNet reference
    monkeypatch.setattr(inception, "load_feature_net", FakeNet)
    given = []                                                  # the labels of every bench sample()
    real_sample = sampling.sample
    monkeypatch.setattr(sampling, "sample", lambda G, n, *a, labels=None, **kw:
                        given.append(labels) or real_sample(G, n, *a, labels=labels, **kw))
    work, csv = tmp_path / "work", tmp_path / "abl.csv"
    args = ["--configs", "cbest+diffaug", "--seeds", "0", "--work", str(work)]
    assert ablation.main(["run", *args, "--epochs", "2", "--samples", "12", "--csv", str(csv),
                          "--md", str(tmp_path / "abl.md")]) == 0
    rows = pd.read_csv(csv)
    assert list(rows.columns) == tables.COLUMNS
    assert sorted(rows.generator) == ["ema", "live"] and rows.kid.notna().all()
    assert rows.copies.between(0, 1).all() and rows.copies_real.between(0, 1).all()
    G, meta = load_generator(work / "cbest+diffaug_s0" / "generator.pt")
    assert meta["labels"] == ["fire", "water"] and meta["label_counts"] == [8, 8]
    assert torch.equal(sampling_labels(meta, 12, 0), empirical_labels(12, [8, 8], 0))
    assert len(given) == 2 and all(torch.equal(y, sampling_labels(meta, 12, 0)) for y in given)
    assert sampling_labels({"model": "dcgan"}, 12, 0) is None and sampling_labels({}, 12, 0) is None
    assert ablation.main(["figure", str(tmp_path / "f.png"), *args, "--epochs", "2"]) == 0
    assert (tmp_path / "f.png").stat().st_size > 0
    assert len(given) == 4 and all(torch.equal(y, sampling_labels(meta, 16, 0)) for y in given[2:])
    # the run's one checkpoint (epoch 2), live and EMA G, as the run scored its last
    assert ablation.main(["curve", str(tmp_path / "curve.csv"), *args, "--samples", "12"]) == 0
    curve = pd.read_csv(tmp_path / "curve.csv")
    assert list(curve.columns) == tables.CURVE_COLUMNS
    assert list(zip(curve.generator, curve.epoch)) == [("live", 2), ("ema", 2)]
    assert curve.set_index("generator").kid.to_dict() == rows.set_index("generator").kid.to_dict()
    assert "| cbest+diffaug | 0 | ema |" in (tmp_path / "curve.md").read_text()
    # a branch the library refuses (another model) stops the bench with its reason
    with pytest.raises(SystemExit, match=r"cannot branch from .*params \[.*'model'.*\] differ"):
        ablation.main(["run", "--configs", "best+diffaug+drop220", "--seeds", "0", "--work",
                       str(work), "--epochs", "2", "--train-only", "--branch-from",
                       "cbest+diffaug:2"])


def test_the_table_shows_the_copy_share_beside_its_real_yardstick():
    rows = [dict(_row("proj64", s, "ema", 0.1), copies=c, copies_real=0.3)
            for s, c in ((0, 0.2), (1, 0.4))]
    md = tables.markdown(pd.DataFrame(rows + [_row("best", 0, "ema", 0.2)]), "note")
    assert "| proj64+ema | 0, 1 | 10.0 ± 0.0 | 0.100 ± 0.000 | 0.300 (0.300) |" in md
    assert "| best+ema | 0 | 20.0 | 0.200 | — |" in md          # scored before copies were
    assert "| 0.000 | 0.000 | 0.200 (0.300) | 1 |" in md        # one run's row
