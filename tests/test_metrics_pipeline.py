"""The real pinned feature network, the reference/evaluate stages on a tiny fixture, `pokegan fid`.

Everything runs offline on a few dozen 32 px images; slow-marked (the network does ~10 img/s on
2 CPU cores).
"""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from pokegan.metrics.inception import NET_SHA1, FeatureNet, FeatureNetError, load_feature_net

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def shapes(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """uint8 n×3×size×size: coloured discs and boxes on white, like small Pokémon artworks."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = np.full((n, size, size, 3), 255, np.uint8)
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            colour = rng.integers(0, 256, 3)
            cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
            r = rng.integers(size // 8, size // 3)
            mask = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) if rng.random() < 0.5 else \
                (abs(yy - cy) <= r) & (abs(xx - cx) <= r * rng.uniform(0.5, 1.0))
            out[i][mask] = colour
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


@pytest.fixture(scope="module")
def net() -> FeatureNet:
    return load_feature_net()


# --------------------------------------------------------------------------- feature network
def test_pinned_network_is_checked_and_refused_when_different(net, tmp_path):
    assert net.sha1 == NET_SHA1
    fake = tmp_path / "default_1.pt"
    fake.write_bytes(b"not the network")
    with pytest.raises(FeatureNetError, match="refusing"):
        FeatureNet(fake)


def test_fid_real_vs_real_is_zero_and_grows_with_noise(net):
    from pokegan.metrics.features import FeatureSet
    from pokegan.metrics.fid import fid
    from pokegan.metrics.kid import kid
    real = torch.from_numpy(shapes(40))
    f_real = net.extract(real, batch_size=20, desc=False)
    assert f_real.shape == (40, 2048) and f_real.dtype == np.float32
    assert np.isfinite(f_real).all() and f_real.min() >= 0  # pool3 after ReLU
    ref = FeatureSet(f_real)
    assert abs(fid(ref, FeatureSet(f_real.copy()))) < 1e-3
    gen = torch.Generator().manual_seed(0)
    fids, kids = [], []
    for sigma in (10, 40, 100):
        noisy = (real.float() + sigma * torch.randn(real.shape, generator=gen)).clamp(0, 255)
        f = FeatureSet(net.extract(noisy.round().to(torch.uint8), batch_size=20, desc=False))
        fids.append(fid(ref, f))
        kids.append(kid(ref, f, subsets=10, subset_size=40)[0])
    assert 0 < fids[0] < fids[1] < fids[2], fids
    assert kids[0] < kids[1] < kids[2], kids


# --------------------------------------------------------------------------- stages end to end
def _fixture(tmp_path: Path) -> Path:
    """A tiny repository: params.yaml, data/prepared/artwork, models/tiny (if models exist)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(image_size=32, latent_dim=16, seed=3)
    params["eval"].update(samples=14, samples_curve=10, real_max=12, kid_subset_size=1000,
                          kid_subsets=5, pr_k=3, is_splits=2, batch_size=8,
                          inception_is_weights=None)
    params["variants"] = {"tiny": {"model": "dcgan", "dataset": "artwork", "epochs": 2,
                                   "checkpoint_every": 1}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    ds = tmp_path / "data/prepared/artwork"
    ds.mkdir(parents=True)
    originals = shapes(16, 32, seed=1)
    images = np.concatenate([originals, originals[:, :, :, ::-1]])  # + mirrored copies
    np.save(ds / "images.npy", np.ascontiguousarray(images))
    pd.DataFrame({"row": range(32), "file": [f"{i % 16}.png" for i in range(32)],
                  "augmentation": ["original"] * 16 + ["mirror"] * 16,
                  "species_id": [i % 16 for i in range(32)], "species": "x", "type1": "grass",
                  "type2": "", "colour": "green"}).to_csv(ds / "index.csv", index=False)
    (ds / "meta.json").write_text(json.dumps({"count": 32, "image_size": 32, "fingerprint": "fx1"}))
    return tmp_path


def _make_models(root: Path):
    # plain imports: a missing module is a failure, never a skip that hides the stages' test
    from pokegan.models import io
    from pokegan.models.dcgan import Generator
    from pokegan.training.checkpoint import checkpoint_path, save_checkpoint
    model_dir = root / "models/tiny"
    torch.manual_seed(0)
    G = Generator(latent_dim=16, image_size=32)
    for epoch in (1, 2):
        with torch.no_grad():
            for p in G.parameters():
                p.add_(0.01 * torch.randn_like(p))
        save_checkpoint(checkpoint_path(model_dir, epoch), nets={"G": G}, opts={}, generators={},
                        epoch=epoch, images_seen=16 * epoch, history=[], fingerprint="t",
                        meta={"model": "dcgan", "latent_dim": 16, "image_size": 32})
    io.save_model(model_dir / "generator.pt", G, {"epoch": 2, "images_seen": 32,
                                                  "latent_dim": 16, "image_size": 32})


def _only_numbers(record) -> bool:
    """True when ``record`` holds only numbers (or null), nested in dicts."""
    if isinstance(record, dict):
        return all(_only_numbers(v) for v in record.values())
    return record is None or (isinstance(record, (int, float)) and not isinstance(record, bool))


def _run_stage(script: str, *args: str) -> int:
    import runpy
    old = sys.argv
    sys.argv = [script, *args]
    try:
        runpy.run_path(str(ROOT / "stages" / script), run_name="__main__")
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        sys.argv = old
    return 0


def test_reference_and_evaluate_stages_end_to_end(tmp_path, monkeypatch, capsys):
    root = _fixture(tmp_path)
    _make_models(root)
    monkeypatch.chdir(root)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))  # no IS weights

    assert _run_stage("reference.py") == 0
    with np.load(root / "data/reference/artwork.npz") as z:
        info = json.loads(str(z["info"]))
        assert z["features"].shape == (12, 2048) and int(z["n"]) == 12  # real_max of 16 originals
        assert z["sigma"].shape == (2048, 2048)
        assert set(z["rows"]) <= set(range(16))  # un-augmented rows only
    fp = info["fingerprint"]
    assert fp["dataset_fingerprint"] == "fx1" and fp["feature_net_sha1"] == NET_SHA1
    assert fp["real_max"] == 12 and fp["seed"] == 3

    assert _run_stage("evaluate.py", "tiny") == 0
    curve = pd.read_csv(root / "plots/eval/tiny.csv")
    assert list(curve.columns) == ["epoch", "images_seen", "fid", "kid", "kid_std", "is",
                                   "precision", "recall", "samples"]
    assert list(curve["epoch"]) == [1, 2] and list(curve["samples"]) == [10, 10]
    assert curve["is"].isna().all() and (curve["fid"] > 0).all()
    metrics_file = root / "metrics/tiny.json"
    m = json.loads(metrics_file.read_text())
    assert m["samples"] == 14 and m["real_samples"] == 12 and m["epoch"] == 2
    assert m["fid"] > 0 and m["is"] is None
    assert 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1
    best = curve.loc[curve["kid"].idxmin()]
    assert m["best"] == {"epoch": best["epoch"], "kid": best["kid"], "fid": best["fid"]}
    assert "reused 10 curve features" in capsys.readouterr().out
    # metrics: numbers a person compares across commits; the rest is provenance, not a metric
    assert _only_numbers(m), m
    prov = json.loads((root / "metrics/provenance/tiny.json").read_text())
    assert prov["feature_extractor"]["sha1"] == NET_SHA1 and prov["is_note"] and prov["seconds"] > 0
    assert prov["scored"] == {"final": "models/tiny/generator.pt", "best": "models/best/tiny.pt",
                              "best_chosen_by": "lowest curve KID"}
    for written in (metrics_file, root / "metrics/provenance/tiny.json", root / "plots/eval/tiny.csv"):
        assert str(tmp_path) not in written.read_text(), f"{written} names a path of this machine"
    # the best checkpoint's generator, usable on its own
    from pokegan.metrics.evaluate import same_weights
    from pokegan.models.io import load_generator
    G_best, meta = load_generator(root / "models/best/tiny.pt")
    G_ckpt, _ = load_generator(root / f"models/tiny/checkpoints/epoch_{int(best['epoch']):04d}.pt")
    assert same_weights(G_best, G_ckpt) and meta["epoch"] == best["epoch"]

    # a rerun with unchanged weights: `dvc metrics diff` has nothing to show, best.pt unchanged
    before = {p: p.read_bytes() for p in (metrics_file, root / "models/best/tiny.pt")}
    assert _run_stage("evaluate.py", "tiny") == 0
    assert all(p.read_bytes() == b for p, b in before.items())

    # a reference computed for other prepared data is refused with a clear message
    meta = root / "data/prepared/artwork/meta.json"
    meta.write_text(json.dumps({"count": 32, "image_size": 32, "fingerprint": "changed"}))
    assert _run_stage("evaluate.py", "tiny") == 1
    err = capsys.readouterr().err
    assert "dvc repro reference" in err and "dataset_fingerprint" in err


# --------------------------------------------------------------------------- pokegan fid
def _png_folder(path: Path, n: int, seed: int) -> Path:
    from PIL import Image
    path.mkdir(parents=True)
    for i, img in enumerate(shapes(n, 40, seed)):
        Image.fromarray(img.transpose(1, 2, 0)).save(path / f"{i:03d}.png")
    return path


def test_cli_fid_two_folders_and_errors(tmp_path, monkeypatch, capsys):
    from pokegan.cli import main
    monkeypatch.chdir(tmp_path)  # no params.yaml: EvalConfig defaults
    a = _png_folder(tmp_path / "a", 10, 1)
    b = _png_folder(tmp_path / "b", 8, 2)
    (b / "broken.png").write_bytes(b"\x89PNG not really")
    out = tmp_path / "out/fid.json"
    assert main(["fid", str(a), str(b), "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["fid"] > 0 and "kid" in res and res["kid_subset_size"] == 8
    assert res["generated"]["n"] == 10 and res["reference"]["n"] == 8
    assert res["reference"]["bad"] == 1
    printed = capsys.readouterr()
    assert "FID" in printed.out and "broken.png" in printed.err

    assert main(["fid", str(a), str(tmp_path / "missing")]) == 1
    assert "missing: no such folder" in capsys.readouterr().err


def test_cli_fid_folder_against_reference(tmp_path, monkeypatch, capsys, net):
    from pokegan.cli import main
    from pokegan.metrics.features import FeatureSet, reference_fingerprint, save_reference
    monkeypatch.chdir(tmp_path)
    a = _png_folder(tmp_path / "a", 6, 1)
    feats = FeatureSet(net.extract(torch.from_numpy(shapes(6, 40, 1)), desc=False))
    ref = tmp_path / "ref.npz"
    save_reference(ref, feats, reference_fingerprint("x", "f", net.sha1, net.resize, 6, 0),
                   np.arange(6))
    assert main(["fid", str(a), str(ref), "--json", str(tmp_path / "o.json")]) == 0
    res = json.loads((tmp_path / "o.json").read_text())
    assert abs(res["fid"]) < 1e-2  # PNG round trip of the same images: same features
    bad = tmp_path / "bad.npz"
    save_reference(bad, feats, reference_fingerprint("x", "f", "0" * 40, net.resize, 6, 0),
                   np.arange(6))
    assert main(["fid", str(a), str(bad)]) == 1
    assert "feature_net_sha1" in capsys.readouterr().err


def test_is_with_a_supplied_classifier_file(tmp_path, monkeypatch):
    """The IS path end to end with a weights file given by path (randomly initialised here, so
    no download): the torch-fidelity classifier loads, runs on uint8 images, IS >= 1."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe
    from pokegan.metrics import inception_score as isc
    with monkeypatch.context() as m:  # build a state_dict of the right shapes without weights
        m.setattr(fe, "load_state_dict_from_url", lambda *a, **k: {})
        m.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        torch.manual_seed(0)
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["logits_unbiased"])
    weights = tmp_path / "is.pth"
    torch.save(net.state_dict(), weights)
    # random weights are not the pinned file: pin this file's digest instead
    from pokegan.metrics import is_weights
    monkeypatch.setattr(is_weights, "IS_WEIGHTS_SHA256", is_weights.file_sha256(weights))
    isc._load_classifier.cache_clear()
    scorer = isc.ISScorer(str(weights), splits=2, batch_size=4)
    assert scorer.available
    out = scorer(torch.from_numpy(shapes(8, 32, 5)))
    # IS >= 1 in exact arithmetic (exp of a mean KL); a near-uniform classifier lands on 1 to
    # rounding, which fp32 kernels of another ISA (AVX2) put just below
    assert out["is_note"] is None and out["is"] >= 1.0 - 1e-6 and out["is_std"] >= 0.0
    isc._load_classifier.cache_clear()
