"""Every stage script reports errors one way (pokegan.stage): ``<stage>: error: <message>`` on
stderr in one line, exit 1 for bad params or missing input, exit 2 only for a command-line
usage error. The scripts are found by listing stages/, so a new stage is held to it as well."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.project import params, write_params

ROOT = Path(__file__).resolve().parents[1]
STAGES = sorted(p.stem for p in (ROOT / "stages").glob("*.py"))
# the command-line arguments of the stages that take some (a new such stage goes here)
ARGS = {"train": ["tiny"], "evaluate": ["tiny"]}
# stages that succeed in an empty folder, and why
NO_INPUT_NEEDED = {"report": "with no metrics/ it writes a report of no variants"}


def run_stage(stage: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep
               + os.environ.get("PYTHONPATH", ""), POKEGAN_THREADS="1")
    return subprocess.run([sys.executable, str(ROOT / "stages" / f"{stage}.py"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def assert_convention(proc: subprocess.CompletedProcess, stage: str, code: int) -> str:
    """The last stderr line is the error, the only one; returns it."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, f"{stage}: exit {proc.returncode}, not {code}:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert lines and lines[-1].startswith(f"{stage}: error: "), proc.stderr
    assert sum("error:" in line for line in lines) == 1, proc.stderr
    return lines[-1]


def test_every_stage_is_covered():
    assert {"download", "group", "augment", "reference", "train", "evaluate", "report"} <= set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_bad_params_is_one_error_line_and_exit_1(stage, tmp_path):
    (tmp_path / "params.yaml").write_text("seed: [0\nimage_size: 32\n")  # not valid YAML
    proc = run_stage(stage, ARGS.get(stage, []), tmp_path)
    line = assert_convention(proc, stage, 1)
    # the YAML parser's message spans lines: it is printed as one
    assert proc.stderr.strip() == line and "params.yaml" in line and "YAML" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"], "it wrote something"


@pytest.mark.parametrize("stage", [s for s in STAGES if s not in NO_INPUT_NEEDED])
def test_missing_input_is_one_error_line_and_exit_1(stage, tmp_path):
    p = params()
    p["data"].update(source="folder", folder="no-such-folder")   # download's input (no network)
    p["variants"]["tiny"]["dataset"] = "custom"                    # the folder source's dataset
    write_params(tmp_path, p)
    assert_convention(run_stage(stage, ARGS.get(stage, []), tmp_path), stage, 1)


@pytest.mark.parametrize("stage", sorted(ARGS))
def test_usage_error_is_exit_2(stage, tmp_path):
    write_params(tmp_path, params())
    proc = run_stage(stage, [], tmp_path)
    assert_convention(proc, stage, 2)
    assert proc.stderr.startswith("usage: "), proc.stderr
