"""report stage: plots/report.md + plots/report/*.png|gif, and plots/report/eval.csv and
losses.csv, every variant's curves that dvc.yaml's plots draw (its declared outputs, nothing
else: README links to plots/report.md instead of carrying a copy).

The work is pokegan.report.build.build_report: it reads what the other stages wrote (metrics/,
plots/eval/, plots/train/, models/) and the real images.
"""
from __future__ import annotations

from pokegan import config, stage
from pokegan.report.build import build_report


def main() -> int:
    build_report(config.load())
    return 0


if __name__ == "__main__":
    stage.run("report", main, errors=(*stage.USER_ERRORS, ValueError))
