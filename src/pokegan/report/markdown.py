"""plots/report.md, generated, never edited by hand (README links to it)."""
from __future__ import annotations

import os
import platform
from pathlib import Path

from pokegan.report.tables import STUDY_REAL_IS, metrics_table

def machine_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def report_markdown(metrics: dict[str, dict], figures: dict[str, str], minutes: dict[str, float],
                    machine: str, image_prefix: str = "",
                    resumed: dict[str, int] | None = None) -> str:
    """The report body. ``figures`` maps a caption to an image path relative to the report;
    ``minutes`` maps a stage to the minutes its outputs recorded; ``resumed`` maps a run
    resumed from a checkpoint to the epoch it resumed from (its training minutes are the last
    leg's only)."""
    total = sum(minutes.values())
    partial = "; ".join(f"{name} from epoch {epoch}" for name, epoch in (resumed or {}).items())
    lines = [
        "## Results",
        "",
        f"Measured on {machine}; recorded stage time {total:.1f} min "
        f"({', '.join(f'{k} {v:.1f}' for k, v in minutes.items())})"
        + (f". Runs resumed from a checkpoint record their last leg only ({partial})." if partial
           else "."),
        "",
        metrics_table(metrics),
        "",
        "Each row scores the variant's `generator.pt`, the last epoch's generator (*epoch*), on "
        "`eval.samples` samples. FID and KID use the TF-Inception pool3 features "
        "(`feature_extractor` in `metrics/provenance/<variant>.json`) against the variant's real, "
        "un-augmented set; KID is unbiased and the better number at these sample counts. "
        "*best checkpoint* is the checkpoint with the lowest KID on the curve, each checkpoint "
        "scored on `eval.samples_curve` samples (fewer than the final model's, so not comparable "
        "to the KID column); its generator is `models/best/<variant>.pt` "
        "(`pokegan sample models/<variant> --checkpoint best`). The *study* column is what the original report measured with its "
        "own hand-written Inception code on 128 real images (its real images scored IS "
        f"{STUDY_REAL_IS}): another implementation and protocol, **not directly comparable**.",
        "",
    ]
    for caption, path in figures.items():
        lines += [f"**{caption}**", "", f"![{caption}]({image_prefix}{path})", ""]
    return "\n".join(lines)
