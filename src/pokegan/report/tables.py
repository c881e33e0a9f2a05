"""The metrics table of the report: final and best numbers per variant, beside the study's."""
from __future__ import annotations

import json
from pathlib import Path

# What the study reported (its own hand-written FID/IS on 128 real images, other data, other
# resize): shown for orientation only, never compared number for number.
STUDY = {
    "dcgan_artwork": {"name": "DCGAN819", "fid": "~240", "is": "~2.8"},
    "dcgan_artwork_seed1": {"name": "DCGAN819", "fid": "~240", "is": "~2.8"},   # another seed
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


def metrics_table(metrics: dict[str, dict]) -> str:
    """A Markdown table: one row per variant, its final metrics (one column per key the metric
    registry shows), the best checkpoint, sample counts."""
    from pokegan.metrics import registry
    from pokegan.metrics.evaluate import BEST_BY
    shown = registry.shown()
    best_key = next(k for k in registry.keys() if k.name == BEST_BY)
    head = ("| variant | epoch | " + " | ".join(k.header for k in shown)
            + f" | best checkpoint: epoch (curve {best_key.label}{best_key.unit}) "
            "| samples / real | study (its own FID, IS) |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, m in metrics.items():
        best = m.get("best") or {}
        best_s = "—" if best.get(BEST_BY) is None else \
            f"{best.get('epoch')} ({registry.format_value(best_key, best, spread=False)})"
        study = STUDY.get(name)
        study_s = f"{study['name']}: {study['fid']}" + (f", IS {study['is']}" if study["is"] else "") \
            if study else ""
        cells = [name, str(m.get("epoch", "—")), *(registry.format_value(k, m) for k in shown),
                 best_s, f"{m.get('samples', '—')} / {m.get('real_samples', '—')}", study_s]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
