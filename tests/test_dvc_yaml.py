"""dvc.yaml repeats part of the config by hand (DVC has no foreach for top-level plots or
artifacts): these tests fail, naming the missing key or variant, when it falls out of step with
``TrainConfig``, ``params.yaml: variants`` and the metric registry — for the default pipeline and
for the study-scale one in study/ alike. The curves read the report stage's combined files
(``pokegan.report.combined``), so only each variant's sample grids and its artifact stay listed
per variant. ``dvc artifacts get`` fetches a variant's generator from a small local Git + DVC
repository (no network)."""
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pokegan import config
from pokegan.config import TrainConfig
from pokegan.metrics import registry
from pokegan.report import combined

ROOT = Path(__file__).resolve().parents[1]
DVC_YAML = yaml.safe_load((ROOT / "dvc.yaml").read_text())
VARIANTS = list(yaml.safe_load((ROOT / "params.yaml").read_text())["variants"])
PER_VARIANT_KEYS = ("model", "dataset")     # set by `variants.<name>` alone
PIPELINES = ["", "study/"]                  # the default pipeline and the study-scale one


def _pipeline(folder: str) -> tuple[dict, list[str]]:
    """A pipeline's dvc.yaml and the variants of the params.yaml beside it."""
    return (yaml.safe_load((ROOT / folder / "dvc.yaml").read_text()),
            list(yaml.safe_load((ROOT / folder / "params.yaml").read_text())["variants"]))


def _plots(dvc_yaml: dict) -> dict:
    """Top-level plots by id (a bare path entry is its own id)."""
    out = {}
    for entry in dvc_yaml.get("plots", []):
        key = next(iter(entry)) if isinstance(entry, dict) else entry
        out[key] = entry[key] if isinstance(entry, dict) else None
    return out


def _missing(what: str, missing: list[str], hint: str, folder: str = "") -> str:
    return f"{folder}dvc.yaml: {what} lacks {', '.join(missing)}; add {hint}"


def test_train_params_cover_every_train_config_field():
    listed = set(DVC_YAML["stages"]["train"]["do"]["params"])
    fields = [f.name for f in dataclasses.fields(TrainConfig)
              if f.name not in PER_VARIANT_KEYS and not f.metadata.get("family")]
    missing = [f for f in fields if f not in listed]
    assert not missing, _missing("stages.train.do.params", missing,
                                 "each as `- <key>` under the train stage's params "
                                 "(a top-level param that is not listed does not rerun training)")
    assert "variants.${key}" in listed
    # a family's own keys are set per variant (variants.${key} covers them), never listed here
    assert not listed & set(config.family_key_owners()), sorted(listed & set(config.family_key_owners()))


def _metric_plots() -> dict[str, list[registry.Key]]:
    """Plot id -> keys: each registered curve metric's shown curve keys, plotted under its name."""
    return {m.name: [k for k in m.keys if k.label and k.curve]
            for m in registry.metrics() if m.curve and any(k.label and k.curve for k in m.keys)}


@pytest.mark.parametrize("folder", PIPELINES)
def test_metric_plots_read_the_combined_eval_csv(folder):
    plots = _plots(_pipeline(folder)[0])
    for plot_id, keys in _metric_plots().items():
        names = [k.name for k in keys]
        column = names[0] if len(names) == 1 else names      # how dvc.yaml writes one / several
        y = (plots.get(plot_id) or {}).get("y")
        assert y == {combined.EVAL.as_posix(): column}, \
            f"{folder}dvc.yaml: plots.{plot_id}.y should be `{combined.EVAL.as_posix()}: {column}` " \
            f"(the registry's metric {plot_id!r}, every variant's rows), not {y}"
        assert plots[plot_id].get("template") == "variants", \
            f"{folder}dvc.yaml: plots.{plot_id}: `template: variants` colours by the variant column"
        lower = all(k.lower_is_better for k in keys)
        assert ("lower is better" in plots[plot_id]["title"]) == lower, \
            f"{folder}dvc.yaml: plots.{plot_id}.title should {'' if lower else 'not '}say lower is better"


@pytest.mark.parametrize("folder", PIPELINES)
def test_every_curve_plot_is_a_registered_metric(folder):
    """A plot of the evaluation curves that no registered metric writes is stale."""
    stale = [pid for pid, p in _plots(_pipeline(folder)[0]).items()
             if p and combined.EVAL.as_posix() in p.get("y", {}) and pid not in _metric_plots()]
    assert not stale, f"{folder}dvc.yaml: plots {', '.join(stale)} draw no registered curve metric"


@pytest.mark.parametrize("folder", PIPELINES)
def test_losses_plot_reads_the_combined_losses_csv(folder):
    losses = _plots(_pipeline(folder)[0]).get("losses") or {}
    assert losses.get("y") == {combined.LOSSES.as_posix(): combined.LOSS_COLUMNS}, \
        f"{folder}dvc.yaml: plots.losses.y should be `{combined.LOSSES.as_posix()}: " \
        f"[{', '.join(combined.LOSS_COLUMNS)}]`"
    assert losses.get("template") == "variants" and losses.get("x") == "epoch"


@pytest.mark.parametrize("folder", PIPELINES)
def test_no_curve_plot_is_listed_per_variant(folder):
    """The per-variant curve files are read through the combined ones, not one line each."""
    plots = _plots(_pipeline(folder)[0])
    per_variant = [f"{pid}: {f}" for pid, p in plots.items() if p for f in p.get("y", {})
                   if f.startswith("plots/eval/") or f.endswith(("/d_loss.tsv", "/g_loss.tsv"))]
    per_variant += [pid for pid in plots if pid.startswith("losses_")]
    assert not per_variant, f"{folder}dvc.yaml: {', '.join(per_variant)}: draw " \
                            f"{combined.EVAL.as_posix()} / {combined.LOSSES.as_posix()} instead"


@pytest.mark.parametrize("folder", PIPELINES)
def test_the_report_stage_writes_the_combined_files(folder):
    """DVC refuses an output inside another, so the combined files are declared by the report
    stage's plots/report folder."""
    outs = _pipeline(folder)[0]["stages"]["report"]["outs"]
    report_dir = next(o for o in outs if isinstance(o, dict) and "plots/report" in o)
    assert report_dir["plots/report"] == {"cache": False}
    for path in (combined.EVAL, combined.LOSSES):
        assert path.parent.as_posix() == "plots/report", path


def test_evaluate_declares_the_metrics_file():
    stage = DVC_YAML["stages"]["evaluate"]["do"]
    assert [next(iter(m)) for m in stage["metrics"]] == ["metrics/${key}.json"]


@pytest.mark.parametrize("folder", PIPELINES)
def test_sample_grids_show_every_variant(folder):
    """DVC takes no glob in plots:, and a folder entry (plots/train) would draw every DVCLive
    TSV under it as a chart of its own: each variant's grids stay listed by hand."""
    dvc_yaml, variants = _pipeline(folder)
    plots = _plots(dvc_yaml)
    for pattern in ("plots/train/{}/samples.png", "plots/train/{}/plots/images/samples"):
        missing = [pattern.format(v) for v in variants if pattern.format(v) not in plots]
        assert not missing, _missing("plots", missing, "each as `- <path>` under plots:", folder)
    grids = (re.fullmatch(r"plots/train/([^/]+)/(samples\.png|plots/images/samples)", p)
             for p in plots)
    stale = sorted({m.group(1) for m in grids if m} - set(variants))
    assert not stale, f"{folder}dvc.yaml: plots lists the grids of {', '.join(stale)}, " \
                      "which params.yaml: variants does not name"


@pytest.mark.parametrize("folder", PIPELINES)
def test_every_variant_is_an_artifact(folder):
    dvc_yaml, variants = _pipeline(folder)
    artifacts = dvc_yaml.get("artifacts", {})
    missing = [v for v in variants if v not in artifacts]
    assert not missing, _missing("artifacts", missing, "for each: `<variant>: {path: "
                                 "models/<variant>/generator.pt, type: model, desc: ...}`", folder)
    for v in variants:
        assert artifacts[v]["path"] == f"models/{v}/generator.pt", \
            f"{folder}dvc.yaml: artifacts.{v}.path"
        assert artifacts[v]["type"] == "model", f"{folder}dvc.yaml: artifacts.{v}.type"


# --------------------------------------------------------------------------- dvc artifacts get
def _run(*cmd: str, cwd: Path, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_dvc_artifacts_get_fetches_a_registered_generator(tmp_path):
    """A repository laid out like ours (a train stage writing models/<variant>/, the artifact
    entry as dvc.yaml declares it) registers `tiny@v0.1.0` with an annotated tag (DVC's model
    registry convention) and `dvc artifacts get` returns that generator."""
    from pokegan.metrics.evaluate import same_weights
    from pokegan.models.io import load_generator

    dvc = str(Path(sys.executable).with_name("dvc"))
    repo = tmp_path / "repo"
    repo.mkdir()
    env = dict(os.environ, DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")]))
    for key in [k for k in env if k.startswith("DVC_STUDIO")]:
        env.pop(key)                                    # no Studio: the DVC path only
    artifact = dict(DVC_YAML["artifacts"][VARIANTS[0]], path="models/tiny/generator.pt")
    make = ("from pathlib import Path; from fixtures.project import fake_models; "
            "fake_models(Path('.'), 'tiny')")
    (repo / "dvc.yaml").write_text(yaml.safe_dump({
        "stages": {"train": {"cmd": f'"{sys.executable}" -c "{make}"', "outs": ["models/tiny"]}},
        "artifacts": {"tiny": artifact}}))
    _run("git", "init", "-q", cwd=repo, env=env)
    _run(dvc, "init", "-q", cwd=repo, env=env)
    _run(dvc, "repro", "-q", cwd=repo, env=env)
    _run("git", "add", "-A", cwd=repo, env=env)
    _run("git", "commit", "-qm", "tiny", cwd=repo, env=env)
    _run("git", "tag", "-a", "tiny@v0.1.0", "-m", "Registering artifact tiny version 0.1.0",
         cwd=repo, env=env)

    out = tmp_path / "fetched" / "generator.pt"
    _run(dvc, "artifacts", "get", str(repo), "tiny", "--rev", "v0.1.0", "-o", str(out),
         cwd=tmp_path, env=env)
    fetched, meta = load_generator(out)
    assert same_weights(fetched, load_generator(repo / "models/tiny/generator.pt")[0])
    assert meta["epoch"] == 3
