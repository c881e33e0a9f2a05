"""The report stage's combined curve files (pokegan.report.combined), built from small
per-variant CSV / DVCLive TSV fixtures, and what `dvc plots show` makes of them with the
repository's `variants` template and plot definitions (a local Git + DVC repository)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pokegan.report import combined

ROOT = Path(__file__).resolve().parents[1]
EVAL_HEADER = "epoch,images_seen,fid,kid,kid_std,is,precision,recall,samples\n"


def _eval_csv(root: Path, variant: str, rows: list[str]) -> None:
    path = root / "plots/eval" / f"{variant}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(EVAL_HEADER + "".join(r + "\n" for r in rows))


def _tsv(root: Path, variant: str, name: str, values: list[float]) -> None:
    """One DVCLive metric log: plots/train/<variant>/plots/metrics/<name>.tsv (step = epoch)."""
    path = root / "plots/train" / variant / "plots/metrics" / f"{name}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"step\t{name}\n" + "".join(f"{i}\t{v}\n" for i, v in enumerate(values, 1)))


@pytest.fixture
def project(tmp_path):
    """Two evaluated, trained variants and a third that was neither."""
    _eval_csv(tmp_path, "a", ["2,4480,358.04,0.389,0.008,,0.25,0.5,100",
                              "4,8960,300.5,0.3,0.007,,0.5,0.75,100"])
    _eval_csv(tmp_path, "b", ["5,11200,279.08,0.252,0.006,2.5,0.0,0.125,100"])
    for variant, d, g in (("a", [1.25, 1.5], [0.75, 1.0]), ("b", [0.5], [2.0])):
        _tsv(tmp_path, variant, "d_loss", d)
        _tsv(tmp_path, variant, "g_loss", g)
        _tsv(tmp_path, variant, "d_real", [0.7] * len(d))     # logged, not a loss
    _tsv(tmp_path, "a", "rec_x", [0.6, 0.4])                  # "a" reconstructs, like the AEGAN
    _tsv(tmp_path, "a", "rec_z", [0.9, 0.8])
    return tmp_path


def _write_combined(project, variants=("a", "b")):
    """What the report stage does: read each variant's files once, write the combined ones."""
    variants = list(variants)
    return combined.write_combined(combined.read_curves(variants, project),
                                   combined.read_logs(variants, project), project)


def test_combined_eval_tags_every_variants_rows(project):
    df = combined.combined_eval(combined.read_curves(["b", "a", "missing"], project))
    assert list(df.columns) == ["variant", *EVAL_HEADER.strip().split(",")]
    assert df["variant"].tolist() == ["b", "a", "a"]              # variant order, then row order
    assert df["epoch"].tolist() == [5, 2, 4] and df["fid"].tolist() == [279.08, 358.04, 300.5]
    assert df["is"].isna().tolist() == [False, True, True]        # an empty cell stays empty


def test_combined_losses_takes_d_and_g_loss_per_epoch(project):
    _tsv(project, "c", "d_loss", [3.0, 2.0])                     # a log without g_loss
    df = combined.combined_losses(combined.read_logs(["a", "b", "c", "missing"], project))
    assert list(df.columns) == ["variant", "epoch", "d_loss", "g_loss"]
    assert df["variant"].tolist() == ["a", "a", "b", "c", "c"]
    assert df["epoch"].tolist() == [1, 2, 1, 1, 2]
    assert df["d_loss"].tolist() == [1.25, 1.5, 0.5, 3.0, 2.0]
    assert df["g_loss"].tolist()[:3] == [0.75, 1.0, 2.0] and df["g_loss"].iloc[3:].isna().all()


def test_combined_reconstruction_holds_only_the_variants_that_reconstruct(project):
    df = combined.combined_reconstruction(combined.read_logs(["a", "b"], project))
    assert list(df.columns) == ["variant", "epoch", "rec_x", "rec_z"]
    assert df["variant"].tolist() == ["a", "a"]                 # no empty rows for "b"
    assert df["rec_x"].tolist() == [0.6, 0.4] and df["rec_z"].tolist() == [0.9, 0.8]
    none = combined.combined_reconstruction(combined.read_logs(["b"], project))
    assert none.empty and list(none.columns) == ["variant", "epoch", "rec_x", "rec_z"]


def test_nothing_to_combine_gives_an_empty_frame(tmp_path):
    assert combined.combined_eval(combined.read_curves(["a"], tmp_path)).empty
    assert combined.combined_losses(combined.read_logs([], tmp_path)).empty


def test_write_combined_writes_every_file(project):
    written = _write_combined(project)
    assert written == [project / "plots/report" / f for f in
                       ("eval.csv", "losses.csv", "reconstruction.csv")]
    assert (project / "plots/report/eval.csv").read_text().splitlines()[:2] == [
        "variant," + EVAL_HEADER.strip(), "a,2,4480,358.04,0.389,0.008,,0.25,0.5,100"]
    losses = pd.read_csv(project / "plots/report/losses.csv")
    pd.testing.assert_frame_equal(losses,
                                  combined.combined_losses(combined.read_logs(["a", "b"], project)))
    assert pd.read_csv(project / "plots/report/reconstruction.csv")["variant"].tolist() == ["a", "a"]
    assert sorted(p.name for p in (project / "plots/report").iterdir()) == \
        ["eval.csv", "losses.csv", "reconstruction.csv"]            # no temporary file left


def test_plots_read_columns_the_combined_files_have(project):
    """Every column dvc.yaml's plots take from a combined file is one that file has."""
    _write_combined(project)
    for folder in ("", "study/"):
        for entry in yaml.safe_load((ROOT / folder / "dvc.yaml").read_text())["plots"]:
            props = next(iter(entry.values())) if isinstance(entry, dict) else None
            for path, cols in ((props or {}).get("y") or {}).items():
                if path.startswith("plots/report/"):
                    have = pd.read_csv(project / path).columns
                    wanted = [cols] if isinstance(cols, str) else cols
                    assert {props["x"], *wanted} <= set(have), (folder, path, props["x"], cols)


# --------------------------------------------------------------------------- dvc plots show
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_dvc_plots_show_draws_every_variant_from_the_combined_files(project):
    """The repository's plot definitions and template, in a Git + DVC repository holding the
    combined files of two variants: each curve plot has rows of both, tagged with their variant."""
    _write_combined(project)
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    dvc = str(Path(sys.executable).with_name("dvc"))
    subprocess.run(["git", "init", "-q"], cwd=project, env=env, check=True)
    subprocess.run([dvc, "init", "-q"], cwd=project, env=env, check=True)
    (project / ".dvc/plots").mkdir(exist_ok=True)
    shutil.copy(ROOT / ".dvc/plots/variants.json", project / ".dvc/plots/variants.json")
    plots = [e for e in yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
             if isinstance(e, dict) and any(str(f).startswith("plots/report/")
                                            for f in next(iter(e.values())).get("y", {}))]
    (project / "dvc.yaml").write_text(yaml.safe_dump({"plots": plots}, allow_unicode=True))
    proc = subprocess.run([dvc, "plots", "show", "--json"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert not shown.get("errors"), shown["errors"]
    ids = {next(iter(e)) for e in plots}
    assert ids >= {"fid", "kid", "precision_recall", "losses", "reconstruction"}
    for plot_id in ids:
        (rendered,) = shown["data"][plot_id]
        rows = rendered["content"]["data"]["values"]
        drawn = {"a"} if plot_id == "reconstruction" else {"a", "b"}  # only "a" reconstructs
        assert {r["variant"] for r in rows} == drawn, plot_id
        assert rendered["content"]["encoding"]["color"]["field"] == "variant"
