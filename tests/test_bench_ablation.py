"""bench/ablation.py's table plumbing: merging the CSVs of two processes, its summary, the
config check, and the export of EMA generators from a machine without the feature network."""
import importlib.util
from pathlib import Path

import pandas as pd
import pytest

_spec = importlib.util.spec_from_file_location(
    "ablation", Path(__file__).resolve().parents[1] / "bench" / "ablation.py")
ablation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ablation)


def _row(config, seed, generator, kid):
    return {"config": config, "seed": seed, "generator": generator, "fid": 100 * kid, "kid": kid,
            "kid_std": 0.0, "precision": 0.0, "recall": 0.0, "epochs": 5, "images_seen": 1,
            "samples": 10, "train_s": 1.0, "threads": 1, "precision_mode": "fp32", "overrides": ""}


def test_merge_keeps_every_run_once_and_the_later_row_wins():
    a = [_row("baseline", 0, "live", 0.5), _row("baseline", 0, "ema", 0.4)]
    b = [_row("baseline", "0", "ema", 0.3), _row("hinge", 1, "live", 0.6)]   # seed read as text
    merged = ablation.merge_rows(a, b)
    assert [(r["config"], int(r["seed"]), r["generator"], r["kid"]) for r in merged] == [
        ("baseline", 0, "live", 0.5), ("baseline", 0, "ema", 0.3), ("hinge", 1, "live", 0.6)]


def test_summary_averages_seeds_with_their_spread():
    df = pd.DataFrame([_row("baseline", 0, "live", 0.5), _row("baseline", 1, "live", 0.3),
                       _row("baseline", 0, "ema", 0.2)])
    md = ablation.markdown(df, "note")
    assert "| baseline | 0, 1 | 40.0 ± 10.0 | 0.400 ± 0.100 |" in md
    assert "| ema | 0 | 20.0 | 0.200 |" in md


def test_curve_table_orders_each_run_by_images_shown():
    rows = [{"config": "best", "seed": 0, "generator": "ema", "epoch": e, "images_seen": n,
             "fid": 1.0, "kid": k, "kid_std": 0.0, "samples": 100}
            for e, n, k in [(50, 112000, 0.13), (4, 8960, 0.24)]]
    rows.append(dict(rows[0], generator="live", kid=0.2))
    md = ablation.curve_markdown(pd.DataFrame(rows, columns=ablation.CURVE_COLUMNS), "note")
    assert "| best | 0 | ema | 9k 0.240 · 112k 0.130 |" in md
    assert "| best | 0 | live | 112k 0.200 |" in md


def test_a_table_keeps_its_description_when_rows_are_merged_in(tmp_path):
    md = tmp_path / "abl.md"
    md.write_text(ablation.markdown(pd.DataFrame([_row("best", 0, "live", 0.1)]),
                                    "about 112,320 images shown per run"))
    assert ablation.description(md) == "about 112,320 images shown per run"
    assert ablation.description(tmp_path / "missing.md") is None
    (tmp_path / "other.md").write_text("notes\n\nnot a table this bench wrote\n")
    assert ablation.description(tmp_path / "other.md") is None


def test_a_new_table_made_by_merging_takes_the_merged_runs_description(tmp_path):
    write = lambda name, text: (tmp_path / name).write_text(
        ablation.markdown(pd.DataFrame([_row("best", 0, "live", 0.1)]), text))
    write("runs_a.md", "about 201,600 images shown per run")
    new = tmp_path / "new.md"
    assert ablation.merged_description(new, [str(tmp_path / "runs_a.csv")]) == \
        "about 201,600 images shown per run"
    write("new.md", "the table's own runs")
    assert ablation.merged_description(new, [str(tmp_path / "runs_a.csv")]) == "the table's own runs"
    assert ablation.merged_description(tmp_path / "none.md", [str(tmp_path / "x.csv")]) is None


def test_every_ablation_config_is_a_valid_variant():
    """A typo'd or contradictory lever (ada_target without a diffaugment policy) fails here and
    at the bench's start, not an hour into a --images run."""
    from pokegan import config

    params = Path(__file__).resolve().parents[1] / "params.yaml"
    ablation.check_configs(ablation.CONFIGS, params)
    with pytest.raises(config.ConfigError, match=r"variants\.broken\.ada_target"):
        ablation.check_configs({"broken": dict(ablation.BEST, ada_target=0.6)}, params)


def test_export_keeps_the_ema_generator_and_curve_finds_the_exported_folder(tmp_path):
    # the GPU check's way home: a checkpoint reduced to its EMA G, under a folder name without '+'
    import dataclasses

    import torch

    from fixtures.training import TINY, run_tiny, tiny_images
    from pokegan.models.io import list_checkpoints, load_generator, read_file

    work = tmp_path / "work"
    run_tiny(work / "best+ada0.4_s0", tiny_images(), dataclasses.replace(TINY, epochs=2, ema=0.9))
    epoch, ckpt = list_checkpoints(work / "best+ada0.4_s0" / "models")[-1]
    out = ablation.export_dir(tmp_path / "out", "best+ada0.4", 0) / ckpt.name
    assert "+" not in str(out.relative_to(tmp_path))
    out.parent.mkdir(parents=True)
    ablation.export_ema(ckpt, out)

    slim, full = read_file(out), read_file(ckpt)
    assert "models" not in slim and "train" not in slim          # no D, live G, optimiser states
    assert slim["images_seen"] == full["images_seen"] and slim["epoch"] == epoch == 2
    assert out.stat().st_size < ckpt.stat().st_size / 2
    G_slim, G_full = load_generator(out)[0], load_generator(ckpt)[0]   # both the EMA G
    assert all(torch.equal(a, b) for a, b in zip(G_slim.state_dict().values(),
                                                 G_full.state_dict().values()))
    # --curve and --figure look the run up by its config name: the exported spelling is found
    assert ablation.run_dir(tmp_path / "out", "best+ada0.4", 0) == out.parent
    assert ablation.run_dir(work, "best+ada0.4", 0) == work / "best+ada0.4_s0"
    run_tiny(work / "plain", tiny_images(), dataclasses.replace(TINY, epochs=1))
    with pytest.raises(SystemExit, match="no EMA"):              # a run without one: said so
        ablation.export_ema(list_checkpoints(work / "plain" / "models")[-1][1], tmp_path / "x.pt")


def test_a_branched_run_ends_bit_identical_to_one_from_scratch(tmp_path):
    # --branch-from: an lr drop tried from another run's kept checkpoint instead of from scratch
    import dataclasses

    from fixtures.training import TINY, run_tiny, same_state, tiny_images
    from pokegan.models.io import read_file

    images, drop = tiny_images(), dataclasses.replace(TINY, lr_drop_after=2, lr_drop=0.5)
    run_tiny(tmp_path / "plain", images, dataclasses.replace(TINY, epochs=2))
    run_tiny(tmp_path / "scratch", images, drop)
    src = tmp_path / "plain" / "models" / "checkpoints" / "epoch_0002.pt"
    ablation.branch_checkpoint(src, tmp_path / "branch" / "models", drop, "data-v1")
    logs = []
    run_tiny(tmp_path / "branch", images, drop, logs=logs)
    assert any("resuming from epoch 2" in m for m in logs), logs
    last = [read_file(tmp_path / run / "models" / "checkpoints" / "epoch_0003.pt")
            for run in ("scratch", "branch")]
    for role in ("G", "D"):
        assert same_state(*(c["models"][role]["state_dict"] for c in last))
    assert last[1]["train"]["optimizers"]["G"]["param_groups"][0]["lr"] == TINY.lr * 0.5
    # a drop that would have acted before the checkpoint, another param or other data: refused
    with pytest.raises(SystemExit, match="acts before epoch 2"):
        ablation.branch_checkpoint(src, tmp_path / "x", dataclasses.replace(drop, lr_drop_after=1),
                                   "data-v1")
    with pytest.raises(SystemExit, match=r"\['lr'\] differ"):
        ablation.branch_checkpoint(src, tmp_path / "x", dataclasses.replace(drop, lr=0.001),
                                   "data-v1")
    with pytest.raises(SystemExit, match="data differs"):
        ablation.branch_checkpoint(src, tmp_path / "x", drop, "data-v2")
    # a source that itself dropped its lr by that epoch is not this run's first epochs either
    run_tiny(tmp_path / "dropped", images, dataclasses.replace(drop, lr_drop_after=1, epochs=2))
    with pytest.raises(SystemExit, match="the source's lr_drop_after 1 acts before epoch 2"):
        ablation.branch_checkpoint(tmp_path / "dropped" / "models" / "checkpoints" / "epoch_0002.pt",
                                   tmp_path / "x", drop, "data-v1")
    assert not (tmp_path / "x").exists()


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
    assert ablation.main([*args, "--epochs", "2", "--samples", "12", "--csv", str(csv),
                          "--md", str(tmp_path / "abl.md")]) == 0
    rows = pd.read_csv(csv)
    assert sorted(rows.generator) == ["ema", "live"] and rows.kid.notna().all()
    assert rows.copies.between(0, 1).all() and rows.copies_real.between(0, 1).all()
    G, meta = load_generator(work / "cbest+diffaug_s0" / "generator.pt")
    assert meta["labels"] == ["fire", "water"] and meta["label_counts"] == [8, 8]
    assert torch.equal(sampling_labels(meta, 12, 0), empirical_labels(12, [8, 8], 0))
    assert len(given) == 2 and all(torch.equal(y, sampling_labels(meta, 12, 0)) for y in given)
    assert sampling_labels({"model": "dcgan"}, 12, 0) is None and sampling_labels({}, 12, 0) is None
    assert ablation.main([*args, "--figure", str(tmp_path / "f.png"), "--figure-epochs", "2"]) == 0
    assert (tmp_path / "f.png").stat().st_size > 0
    assert len(given) == 4 and all(torch.equal(y, sampling_labels(meta, 16, 0)) for y in given[2:])


def test_the_table_shows_the_copy_share_beside_its_real_yardstick():
    rows = [dict(_row("proj64", s, "ema", 0.1), copies=c, copies_real=0.3)
            for s, c in ((0, 0.2), (1, 0.4))]
    md = ablation.markdown(pd.DataFrame(rows + [_row("best", 0, "ema", 0.2)]), "note")
    assert "| proj64+ema | 0, 1 | 10.0 ± 0.0 | 0.100 ± 0.000 | 0.300 (0.300) |" in md
    assert "| best+ema | 0 | 20.0 | 0.200 | — |" in md          # scored before copies were
    assert "| 0.000 | 0.000 | 0.200 (0.300) | 1 |" in md        # one run's row
