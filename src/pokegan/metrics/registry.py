"""The metric registry: each metric is one module of this package that declares itself here.

A :class:`Metric` says what it needs (``features``: the generated and real images' Inception
features; ``class_probs``: the IS classifier's class probabilities of the generated images), how
it computes its values from those (:class:`Inputs`), the keys it writes (each a :class:`Key`: how
the report labels and formats it, whether lower is better, whether it is a column of the
per-checkpoint curve) and whether it runs on every curve checkpoint or only on the final model.
Evaluation (``metrics/<variant>.json``, ``plots/eval/<variant>.csv``), ``pokegan fid``, the
report's table and figure, and the dvc.yaml check read this registry and list no metric
themselves.

Every module of :mod:`pokegan.metrics` is imported on first use, so adding a metric is one new
file that calls :func:`register`.
"""
from __future__ import annotations

import math
import string
from dataclasses import dataclass
from typing import Callable

import numpy as np

from pokegan.config import EvalConfig
from pokegan.metrics.features import FeatureSet
from pokegan.plugins import Registry

FEATURES, CLASS_PROBS = "features", "class_probs"     # what a metric may need


@dataclass(frozen=True)
class Key:
    """One value a metric writes: a key of the metrics JSON (and a curve CSV column)."""
    name: str
    label: str = ""                  # how the report, its figure and dvc.yaml name it; "" = a
                                     # detail of another key (its spread, a sample count), not shown
    digits: int = 3                  # decimals in the report table, after ``scale``
    scale: float = 1.0               # report table multiplier ...
    unit: str = ""                   # ... and how its header says so (KID: 1e3, " ×10³")
    spread: str | None = None        # key shown as "± spread" after the value in the table
    lower_is_better: bool | None = None
    curve: bool = True               # a column of the curve CSV (when its metric runs there)
    figure: bool = True              # a panel of the report's per-checkpoint figure

    @property
    def header(self) -> str:
        """The report table's column header."""
        return self.label + self.unit + (" (± std)" if self.spread else "")


@dataclass(frozen=True)
class Inputs:
    """What a metric computes from. ``class_probs_note`` says why ``class_probs`` is None when
    the caller asked the classifier and got nothing (no weights); a caller that has no images
    (``pokegan fid`` on features) sets neither, and metrics needing them do not run."""
    real: FeatureSet
    fake: FeatureSet
    ev: EvalConfig
    seed: int
    class_probs: np.ndarray | None = None
    class_probs_note: str | None = None

    @property
    def provides(self) -> frozenset[str]:
        asked = self.class_probs is not None or self.class_probs_note is not None
        return frozenset({FEATURES, CLASS_PROBS} if asked else {FEATURES})


@dataclass(frozen=True)
class Metric:
    name: str
    compute: Callable[[Inputs], dict]    # -> {key: value or None} for its keys and notes
    keys: tuple[Key, ...]
    order: int                           # place among metrics: CSV columns, table, printing
    needs: frozenset[str] = frozenset({FEATURES})
    curve: bool = True                   # scored on every checkpoint, not only the final model
    notes: tuple[str, ...] = ()          # compute()'s strings saying why a value is null: they go
                                         # to the provenance record, never to the metrics JSON
    terminal: str = ""                   # `pokegan fid`'s line, str.format()ed with the values
    doc: str = ""
    # dvc.yaml (static YAML) draws each curve metric's shown keys as a plot named after the metric;
    # tests/test_dvc_yaml.py checks that it does


_metrics = Registry("pokegan.metrics", "metric")
REGISTRY: dict[str, Metric] = _metrics.entries
register = _metrics.register
_load_all = _metrics.load_all


def metrics() -> tuple[Metric, ...]:
    """Every registered metric, in order."""
    _load_all()
    return tuple(sorted(REGISTRY.values(), key=lambda m: (m.order, m.name)))


def get(name: str) -> Metric:
    _load_all()
    if name not in REGISTRY:
        raise ValueError(f"unknown metric {name!r}; registered: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def keys(curve: bool = False) -> tuple[Key, ...]:
    """The keys metrics write, in order: all of them, or (``curve``) the curve CSV's columns."""
    return tuple(k for m in metrics() if m.curve or not curve for k in m.keys
                 if k.curve or not curve)


def shown(curve: bool = False) -> tuple[Key, ...]:
    """The keys the report shows (as table columns, or ``curve``: as curve panels)."""
    return tuple(k for k in keys(curve) if k.label and (k.figure or not curve))


def needed() -> frozenset[str]:
    """Every input some metric needs (what evaluation must compute)."""
    return frozenset().union(*(m.needs for m in metrics()))


def compute(x: Inputs, final: bool = True) -> dict:
    """Values (and notes) of every metric that runs on this model (``final``: all of them; else
    the curve's) and whose needs ``x`` provides."""
    out: dict = {}
    for m in metrics():
        if (final or m.curve) and m.needs <= x.provides:
            out.update(m.compute(x))
    return out


def values(result: dict) -> dict:
    """The metric values of ``result`` (no notes, nothing else), in registry order."""
    return {k.name: result[k.name] for k in keys() if k.name in result}


def notes(result: dict) -> dict:
    """The non-empty notes of ``result`` (why a value is null)."""
    return {n: result[n] for m in metrics() for n in m.notes if result.get(n)}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(key: Key, record: dict, spread: bool = True) -> str:
    """``record[key.name]`` as the report table shows it ("—" when missing)."""
    value = record.get(key.name)
    if _missing(value):
        return "—"
    text = f"{value * key.scale:.{key.digits}f}"
    if spread and key.spread:
        text += f" ± {(record.get(key.spread) or 0) * key.scale:.{key.digits}f}"
    return text


def terminal_lines(result: dict) -> list[str]:
    """One line per metric with a ``terminal`` template whose values are all present."""
    lines = []
    for m in metrics():
        wanted = [f for _, f, _, _ in string.Formatter().parse(m.terminal) if f]
        if m.terminal and not any(_missing(result.get(f)) for f in wanted):
            lines.append(m.terminal.format(**result))
    return lines


def summary(result: dict) -> str:
    """The terminal lines on one line (for logs): aligned columns collapsed to single spaces."""
    return "  ".join(" ".join(line.split()) for line in terminal_lines(result))
