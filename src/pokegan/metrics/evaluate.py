"""The ``evaluate@<variant>`` stage's work: score a trained variant.

* :func:`score` — every registered metric (:mod:`pokegan.metrics.registry`) of generated
  features against the reference features (one feature pass per image; every metric reuses it).
* :func:`evaluate_variant` — score every checkpoint of a variant on ``eval.samples_curve``
  samples (``plots/eval/<variant>.csv``) and the final generator on ``eval.samples`` samples
  (``metrics/<variant>.json``); the same seeded latents everywhere, so the curve compares
  checkpoints on identical inputs and the final reuses the last curve point's features when the
  final generator is that checkpoint. The checkpoint with the lowest curve KID is saved as
  ``models/best/<variant>.pt``.

``metrics/<variant>.json`` holds only numbers a person compares across commits (so
``dvc metrics diff`` after a rerun with unchanged weights prints nothing); how they were computed
(feature network, library versions, seconds, notes) goes to ``metrics/provenance/<variant>.json``,
an ordinary output that is not a DVC metric. The real images' features come from the
``reference`` stage (:mod:`pokegan.metrics.references`).
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pokegan.config import NOT_IN_FINGERPRINT, Config, EvalConfig, TrainConfig
from pokegan.files import atomic_path, library_versions, machine, write_json
from pokegan.metrics import registry
from pokegan.metrics.features import FeatureSet, load_reference, reference_path
from pokegan.metrics.inception import FeatureNet, load_feature_net
from pokegan.metrics.inception_score import ISScorer
from pokegan.metrics.kid import kid
from pokegan.metrics.references import expected_fingerprint

PROVENANCE_DIR = "provenance"   # under the metrics folder: metrics/provenance/<variant>.json
BEST_BY = "kid"     # the curve key whose lowest value picks the best checkpoint


def curve_columns() -> list[str]:
    """The columns of plots/eval/<variant>.csv: the checkpoint, its metrics, the sample count."""
    return ["epoch", "images_seen", *(k.name for k in registry.keys(curve=True)), "samples"]


def score(real: FeatureSet, fake: FeatureSet, ev: EvalConfig, seed: int, final: bool = False,
          class_probs: np.ndarray | None = None, class_probs_note: str | None = None) -> dict:
    """The registered metrics of ``fake`` against ``real`` that run on a curve checkpoint (or,
    ``final``, on the final model) and whose inputs are given, and the sample counts."""
    x = registry.Inputs(real, fake, ev, seed, class_probs, class_probs_note)
    return {**registry.compute(x, final), "samples": fake.n, "real_samples": real.n}


# --------------------------------------------------------------------------- evaluate stage
def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def check_trained_as(meta: dict, name: str, variant: TrainConfig) -> None:
    """Refuse to score a generator (or checkpoint) as variant ``name`` when its file records
    another variant, or params that change the weights and differ from ``variant``'s (e.g.
    another variant's generator.pt copied into models/<name>/). Files that record neither (older
    or hand-made ones) pass."""
    path, recorded = meta.get("path"), meta.get("variant")
    if recorded is not None and recorded != name:
        raise ValueError(f"{path} was trained as variant {recorded!r}, not {name!r}; refusing to "
                         f"score it as {name!r} (rerun `dvc repro train@{name}`)")
    trained, now = meta.get("config") or {}, dataclasses.asdict(variant)
    diff = [k for k in sorted(trained) if k in now and k not in NOT_IN_FINGERPRINT
            and trained[k] != now[k]]
    if diff:
        said = ", ".join(f"{k} {trained[k]!r} (params.yaml: {now[k]!r})" for k in diff[:5])
        raise ValueError(f"{path} was trained with other params than variants.{name} has now: "
                         f"{said}; refusing to score it (rerun `dvc repro train@{name}`)")


@dataclass
class _Scored:
    latents: torch.Tensor
    feats: FeatureSet
    row: dict
    generator: torch.nn.Module
    meta: dict


def _nan_to_none(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def provenance_path(name: str, metrics_root: str | Path = "metrics") -> Path:
    """Where how ``metrics/<name>.json`` was computed is recorded (not a DVC metric)."""
    return Path(metrics_root) / PROVENANCE_DIR / f"{name}.json"


def _shown(path: Path, models_root: str | Path) -> str:
    """``path`` as the repository names it (models/...), never this machine's absolute path."""
    return Path(os.path.relpath(path, Path(models_root).parent)).as_posix()


def _best_by_kid(scored: list[_Scored]) -> _Scored | None:
    """The checkpoint with the lowest curve KID (the unbiased small-sample metric); the
    earliest one on a tie."""
    return min(scored, key=lambda s: (s.row[BEST_BY], s.row["epoch"])) if scored else None


def _save_best(best: _Scored, path: Path) -> None:
    """The best checkpoint's generator as a plain generator file (what ``load_generator``
    reads, byte-reproducible, like generator.pt), so it can be used without the checkpoint."""
    from pokegan.models.io import save_model
    meta = {k: v for k, v in best.meta.items() if k != "path"}   # load_generator sets it again
    save_model(path, best.generator, {**meta, "chosen_by": "curve kid"})


# --------------------------------------------------------------------------- conditional models
KID_PER_TYPE_MIN_REAL = 30   # types with fewer real reference images get no per-type KID


def reference_types(ref, dataset: str, prepared_root: str | Path = "data/prepared",
                    column: str = "type1") -> np.ndarray | None:
    """``column`` (type1; or colour, ...) of every reference feature row, looked up by its stored
    row in the prepared index; None when the reference has no rows or the prepared index is
    absent / does not cover them."""
    import pandas as pd
    index_path = Path(prepared_root) / dataset / "index.csv"
    if ref.rows is None or not index_path.is_file():
        return None
    index = pd.read_csv(index_path, dtype=str, keep_default_na=False)
    by_row = dict(zip(index["row"].astype(int), index[column]))
    if not all(int(r) in by_row for r in ref.rows):
        return None
    return np.array([by_row[int(r)].strip().lower() or "unknown" for r in ref.rows])


def kid_per_type(real: FeatureSet, real_types: np.ndarray, fake: FeatureSet, fake_types: np.ndarray,
                 ev: EvalConfig, seed: int, min_real: int | None = None
                 ) -> tuple[dict[str, float], dict[str, dict]]:
    """({type: KID}, {type: {real, fake}}): the generated images of each type against the real
    images of that type, for types with >= ``min_real`` (default KID_PER_TYPE_MIN_REAL) real
    images and >= 2 generated ones."""
    min_real = KID_PER_TYPE_MIN_REAL if min_real is None else min_real
    scores, counts = {}, {}
    for t in sorted(set(real_types.tolist())):
        r, f = real_types == t, fake_types == t
        if r.sum() < min_real or f.sum() < 2:
            continue
        scores[t] = kid(real.features[r], fake.features[f], ev.kid_subsets, ev.kid_subset_size, seed)[0]
        counts[t] = {"real": int(r.sum()), "fake": int(f.sum())}
    return scores, counts


def sampling_labels(meta: dict, n: int, seed: int) -> torch.Tensor | None:
    """The labels a generator of a conditional family (``meta["model"]``) is scored with: ``n``
    seeded draws from its training label distribution (``meta["label_counts"]``), nested like
    the latents, so the generated set has the data's class mix; None for other families."""
    from pokegan import families
    from pokegan.models.conditional import empirical_labels

    return empirical_labels(n, meta["label_counts"], seed) if families.conditional(meta) else None


def generated(G: torch.nn.Module, meta: dict, n: int, seed: int, batch_size: int = 64,
              latents: torch.Tensor | None = None) -> torch.Tensor:
    """The images a generator is scored and shown with: ``n`` uint8 samples from ``seed``'s
    latents (or ``latents``), a conditional one's at :func:`sampling_labels`."""
    from pokegan.models.latents import seeded_latents
    from pokegan.models.sampling import sample

    latents = seeded_latents(seed, n, G.latent_dim) if latents is None else latents
    return sample(G, n, seed, batch_size=batch_size, latents=latents,
                  labels=sampling_labels(meta, n, seed))


def score_generator(G: torch.nn.Module, meta: dict, real: FeatureSet, net: FeatureNet,
                    ev: EvalConfig, seed: int, n: int, *, final: bool = False,
                    latents: torch.Tensor | None = None, reuse: FeatureSet | None = None,
                    classifier: ISScorer | None = None, desc: str = "") -> tuple[FeatureSet, dict]:
    """Sample ``G`` (:func:`generated`) and score its features against ``real`` through the
    metric registry (:func:`score`): the one path from a generator to its numbers, for the
    evaluate stage and the benches. ``reuse``: features of the first images, known already (the
    same G on the same first latents); ``classifier``: the IS classifier, when a metric needs
    class probabilities. Returns the features and the scores."""
    images = generated(G, meta, n, seed, ev.batch_size, latents)
    start = reuse.n if reuse is not None else 0
    new = net.extract(images[start:], ev.batch_size, desc=desc) if start < len(images) \
        else np.zeros((0, net.dim), np.float32)
    feats = FeatureSet(np.concatenate([reuse.features, new]) if reuse is not None else new)
    probs = classifier.class_probs(images) if classifier else None
    note = classifier.reason if classifier and probs is None else None
    return feats, score(real, feats, ev, seed, final, probs, note)


def evaluate_variant(cfg: Config, name: str, models_root: str | Path = "models",
                     reference_root: str | Path = "data/reference",
                     prepared_root: str | Path = "data/prepared",
                     metrics_root: str | Path = "metrics", plots_root: str | Path = "plots/eval",
                     net: FeatureNet | None = None, log=print) -> dict:
    """Score every checkpoint and the final generator of ``name``; write the curve CSV, the
    best checkpoint's generator, the metrics JSON and its provenance, each atomically. Returns
    the metrics."""
    import pandas as pd
    from tqdm import tqdm

    from pokegan.models.io import (best_generator_path, check_run, final_path, list_checkpoints,
                                   load_generator)
    from pokegan.models.latents import seeded_latents

    started = time.perf_counter()
    variant = cfg.variant(name)
    ev, seed = cfg.eval, cfg.seed
    net = net or load_feature_net()
    ref = load_reference(reference_path(variant.dataset, reference_root),
                         expect=expected_fingerprint(cfg, variant.dataset, net, prepared_root))
    real = ref.feats
    model_dir = Path(models_root) / name
    final_file = final_path(model_dir)
    if not final_file.is_file():
        raise FileNotFoundError(f"{final_file}: final generator not found; run `dvc repro train@{name}`")
    G_final, meta_final = load_generator(final_file, map_location="cpu")
    check_trained_as(meta_final, name, variant)
    check_run(model_dir)                    # generator.pt is the one its run's info.json names
    ref_size = ref.info.get("image_size")
    if ref_size and meta_final.get("image_size") and int(meta_final["image_size"]) != int(ref_size):
        raise ValueError(f"{final_file} generates {meta_final['image_size']} px images but "
                         f"{ref.path} holds {ref_size} px real images; run `dvc repro` to rebuild both")
    # the IS classifier, asked only when a registered metric needs class probabilities
    classifier = ISScorer(ev.inception_is_weights, ev.is_splits, ev.batch_size) \
        if registry.CLASS_PROBS in registry.needed() else None
    vocab = meta_final.get("labels")     # a conditional G's classes: per-type KID below

    rows, last, best = [], None, None
    checkpoints = list_checkpoints(model_dir)
    for epoch, path in tqdm(checkpoints, desc=f"{name} checkpoints", unit="ckpt"):
        G, meta = load_generator(path, map_location="cpu")
        check_trained_as(meta, name, variant)
        latents = seeded_latents(seed, ev.samples_curve, int(meta["latent_dim"]))
        feats, s = score_generator(G, meta, real, net, ev, seed, ev.samples_curve, latents=latents,
                                   classifier=classifier, desc=f"{name} epoch {epoch}")
        row = {"epoch": int(epoch), "images_seen": meta.get("images_seen"), **s}
        rows.append(row)
        last = _Scored(latents, feats, row, G, meta)
        best = _best_by_kid([b for b in (best, last) if b is not None])
        log(f"{name} epoch {epoch}: {registry.summary(s)}  ({s['samples']} samples)")

    G, meta = G_final, meta_final
    latents = seeded_latents(seed, ev.samples, int(meta["latent_dim"]))
    reuse = None
    if last is not None and same_weights(G, last.generator) and ev.samples >= last.feats.n \
            and torch.equal(latents[:last.feats.n], last.latents):
        reuse = last.feats  # same generator, same first latents: those features are known
    final_feats, s = score_generator(G, meta, real, net, ev, seed, ev.samples, final=True,
                                     latents=latents, reuse=reuse, classifier=classifier,
                                     desc=f"{name} final")
    final_epoch = meta.get("epoch", rows[-1]["epoch"] if rows else None)

    columns = curve_columns()
    curve = pd.DataFrame([{c: _nan_to_none(r.get(c)) for c in columns} for r in rows],
                         columns=columns)
    with atomic_path(Path(plots_root) / f"{name}.csv") as tmp:
        curve.to_csv(tmp, index=False)
    best_path = best_generator_path(model_dir)
    if best is not None:
        _save_best(best, best_path)
    else:       # no checkpoints: nothing to choose from, and no stale choice may survive
        best_path.unlink(missing_ok=True)
    result = {
        **registry.values(s),
        "epoch": final_epoch, "images_seen": meta.get("images_seen"),
        "samples": s["samples"], "real_samples": real.n,
        "best": {"epoch": best.row["epoch"], BEST_BY: best.row[BEST_BY], "fid": best.row["fid"]}
        if best else None,
    }
    provenance = {
        "scored": {"final": _shown(final_file, models_root),
                   "best": _shown(best_path, models_root) if best else None,
                   "best_chosen_by": "lowest curve KID"},
        "feature_extractor": net.info(),
        "precision_of_features": "fp32",
        # how the weights were computed: bf16 and fp32 runs differ (README: Precision per CPU class)
        "training": {k: meta.get(k) for k in ("device", "precision", "fingerprint")},
        "library_versions": library_versions(),
        "machine": machine(),
        **registry.notes(s),     # why a value is null (e.g. no IS classifier weights)
    }
    if vocab:
        real_types = reference_types(ref, variant.dataset, prepared_root)
        if real_types is None:
            provenance["kid_per_type_note"] = (
                f"per-image types of the reference unknown (no rows in {ref.path.name} or no "
                f"index.csv for dataset {variant.dataset} under the prepared data)")
        else:
            fake_types = np.array(vocab)[sampling_labels(meta, len(latents), seed).numpy()]
            result["kid_per_type"], result["kid_per_type_samples"] = kid_per_type(
                real, real_types, final_feats, fake_types, ev, seed)
            log(f"{name} KID per type: " + ", ".join(
                f"{t} {k:.4f}" for t, k in result["kid_per_type"].items()))
    write_json(Path(metrics_root) / f"{name}.json", result)
    provenance["seconds"] = round(time.perf_counter() - started, 1)
    write_json(provenance_path(name, metrics_root), provenance)
    log(f"{name} final (epoch {final_epoch}): {registry.summary(s)}  "
        f"on {s['samples']} samples vs {real.n} real"
        + (f" (reused {reuse.n} curve features)" if reuse is not None else ""))
    return result
