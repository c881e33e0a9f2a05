"""The metrics table of the report: final and best numbers per variant, beside the study's."""
from __future__ import annotations

import json
import math
from pathlib import Path

# What the study reported (its own hand-written FID/IS on 128 real images, other data, other
# resize): shown for orientation only, never compared number for number.
STUDY = {
    "dcgan_artwork": {"name": "DCGAN819", "fid": "~240", "is": "~2.8"},
    "dcgan_sprites": {"name": "DCGAN14000", "fid": "~210", "is": ""},
    "aegan_artwork": {"name": "AEGAN", "fid": "~185 (min)", "is": ""},
}
STUDY_REAL_IS = "2.7"


def load_metrics(metrics_dir: str | Path = "metrics") -> dict[str, dict]:
    """Every ``metrics/<variant>.json``, keyed by variant, in name order (their provenance lies
    in a subfolder, which this does not read)."""
    out = {}
    for path in sorted(Path(metrics_dir).glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    return out


def _fmt(value, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def metrics_table(metrics: dict[str, dict]) -> str:
    """A Markdown table: one row per variant, final and best-checkpoint metrics, sample counts."""
    head = ("| variant | epoch | FID | KID ×10³ (± std) | IS | precision | recall "
            "| best checkpoint: epoch (curve KID ×10³) | samples / real | study (its own FID, IS) |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, m in metrics.items():
        best = m.get("best") or {}
        kid = m.get("kid")
        kid_s = "—" if kid is None else f"{kid * 1e3:.1f} ± {(m.get('kid_std') or 0) * 1e3:.1f}"
        best_s = "—" if best.get("kid") is None else f"{best.get('epoch')} ({best['kid'] * 1e3:.1f})"
        study = STUDY.get(name)
        study_s = f"{study['name']}: {study['fid']}" + (f", IS {study['is']}" if study["is"] else "") \
            if study else ""
        rows.append(f"| {name} | {m.get('epoch', '—')} | {_fmt(m.get('fid'), 1)} | {kid_s} "
                    f"| {_fmt(m.get('is'), 2)} | {_fmt(m.get('precision'), 3)} "
                    f"| {_fmt(m.get('recall'), 3)} | {best_s} "
                    f"| {m.get('samples', '—')} / {m.get('real_samples', '—')} | {study_s} |")
    return "\n".join(rows)
