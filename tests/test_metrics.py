"""Metric math on fixed features (fast, no feature network): FID, KID, IS, precision/recall,
the TF1 resize and reference fingerprints."""
import json

import numpy as np
import pytest
import scipy.linalg
import torch

from pokegan.metrics.features import (FeatureSet, ReferenceError, load_reference,
                                      reference_fingerprint, save_reference, subsample_rows)
from pokegan.metrics.fid import fid
from pokegan.metrics.inception import resize_to_input, tf_bilinear_matrix
from pokegan.metrics.inception_score import ISScorer, find_is_weights, inception_score
from pokegan.metrics.kid import kid
from pokegan.metrics.precision_recall import precision_recall


def _features(seed=0, n1=160, n2=120, d=48):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    a = rng.standard_normal((n1, d)) @ mix + 0.5
    b = rng.standard_normal((n2, d)) @ (mix * 1.3) + 0.8
    return np.abs(a), np.abs(b)  # non-negative like ReLU pool3 features


# --------------------------------------------------------------------------- FID
def _fid_scipy(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean.real))


def test_fid_matches_scipy_sqrtm():
    a, b = _features()
    assert fid(FeatureSet(a), FeatureSet(b)) == pytest.approx(_fid_scipy(a, b), rel=1e-6)


def test_fid_of_identical_sets_is_zero_and_symmetric():
    a, b = _features(1)
    assert abs(fid(FeatureSet(a), FeatureSet(a))) < 1e-6
    assert fid(FeatureSet(a), FeatureSet(b)) == pytest.approx(fid(FeatureSet(b), FeatureSet(a)),
                                                              rel=1e-8)


# --------------------------------------------------------------------------- KID
def _mmd2_unbiased(x, y):
    d = x.shape[1]
    k = lambda p, q: (p @ q.T / d + 1.0) ** 3
    m = len(x)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.sum() / (m * m))


def test_kid_matches_numpy_on_full_sets():
    a, b = _features(2, n1=90, n2=90)
    mean, std, m = kid(a, b, subsets=4, subset_size=1000, seed=0)
    assert m == 90  # min(subset_size, N_real, N_fake): every subset is all of both sets
    assert mean == pytest.approx(_mmd2_unbiased(a, b), rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_subsets_match_numpy_and_torch_fidelity():
    from torch_fidelity.metric_kid import (KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD,
                                           kid_features_to_metric)
    a, b = _features(3)
    mean, std, m = kid(a, b, subsets=20, subset_size=50, seed=7)
    rng = np.random.RandomState(7)
    mmds = []
    for _ in range(20):
        ia = rng.choice(len(a), 50, replace=False)
        ib = rng.choice(len(b), 50, replace=False)
        mmds.append(_mmd2_unbiased(a[ia], b[ib]))
    assert m == 50
    assert mean == pytest.approx(np.mean(mmds), rel=1e-9)
    assert std == pytest.approx(np.std(mmds), rel=1e-7)
    ref = kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), kid_subsets=20,
                                 kid_subset_size=50, rng_seed=7, verbose=False)
    assert mean == pytest.approx(ref[KEY_METRIC_KID_MEAN], rel=1e-9)
    assert std == pytest.approx(ref[KEY_METRIC_KID_STD], rel=1e-7)


def test_kid_subset_size_is_capped_by_the_smaller_set():
    a, b = _features(4, n1=40, n2=25)
    assert kid(a, b, subsets=3, subset_size=1000)[2] == 25


# --------------------------------------------------------------------------- IS
def test_is_of_uniform_probabilities_is_one():
    mean, std = inception_score(np.full((100, 1008), 1 / 1008), splits=10)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [1, 4, 10])
def test_is_of_one_hot_over_k_equally_used_classes_is_k(k):
    probs = np.eye(20)[np.arange(200) % k]
    mean, std = inception_score(probs, splits=5)
    assert mean == pytest.approx(k) and std == pytest.approx(0.0, abs=1e-9)


def test_is_of_a_toy_classifier_with_known_answer():
    # a "classifier" that answers 0.9 on class c(x) and 0.1 on another class, with 2 classes
    # used equally: KL = 0.9 log(0.9/0.5) + 0.1 log(0.1/0.5)
    probs = np.array([[0.9, 0.1], [0.1, 0.9]] * 50)
    expected = np.exp(0.9 * np.log(1.8) + 0.1 * np.log(0.2))
    assert inception_score(probs, splits=2)[0] == pytest.approx(expected)


def test_is_is_null_with_a_reason_without_weights(tmp_path, monkeypatch, capsys):
    from pokegan.metrics import inception_score as isc
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(isc, "_warned", set())   # the reason (no path in it) may be printed already
    path, reason = find_is_weights(None)
    assert path is None and "inception" in reason.lower()
    assert str(tmp_path) not in reason      # recorded with the metrics: no path of this machine
    path, reason = find_is_weights(str(tmp_path / "nope.pth"))
    assert path is None and "nope.pth" in reason
    out = ISScorer(None)(torch.zeros(4, 3, 32, 32, dtype=torch.uint8))
    assert out["is"] is None and out["is_std"] is None and out["is_note"]
    assert "Inception Score skipped" in capsys.readouterr().err


# --------------------------------------------------------------------------- precision / recall
def _precision_recall_by_definition(real, fake, k):
    """Kynkäänniemi et al.'s test written out (pokegan's own code before it used torch-fidelity's):
    a point is covered by the other set when it lies within some centre's k-NN radius."""
    x, y = torch.as_tensor(real, dtype=torch.float64), torch.as_tensor(fake, dtype=torch.float64)

    def radii(f):   # k+1-th smallest distance: the point itself is at distance 0
        return torch.cdist(f, f).kthvalue(k + 1, dim=1).values

    def covered(points, centres):
        return float((torch.cdist(points, centres) <= radii(centres)[None]).any(1).double().mean())

    return covered(y, x), covered(x, y)


@pytest.mark.parametrize("seed,k,chunk", [(0, 3, 1024), (1, 5, 7), (2, 1, 50)])
def test_precision_recall_is_torch_fidelity_and_equals_the_definition(seed, k, chunk):
    a, b = _features(seed)
    b[:10] = a[:10]                   # shared points: distance-0 ties on the radius boundary
    want = _precision_recall_by_definition(a, b, k)
    assert 0 < want[0] < 1 and 0 < want[1] < 1, want     # a case where both shares matter
    assert precision_recall(a, b, k=k, chunk=chunk) == want
    assert precision_recall(b, a, k=k, chunk=chunk) == want[::-1]   # swapping sides swaps them


def test_cli_fid_takes_generated_then_reference(tmp_path, monkeypatch, capsys):
    """README's `pokegan fid GENERATED REFERENCE`: a generated set that is a small corner of the
    real one has full precision and low recall — not the other way round."""
    from fixtures.project import FakeNet, use_fake_net
    from pokegan.cli import main
    use_fake_net(monkeypatch)
    monkeypatch.chdir(tmp_path)
    real, _ = _features(3, n1=80)
    corner = np.argsort(((real - real[0]) ** 2).sum(1))[:12]     # real[0] and its neighbours
    net = FakeNet()
    for name, feats in (("real.npz", real), ("generated.npz", real[corner])):
        save_reference(tmp_path / name, FeatureSet(feats),
                       reference_fingerprint("x", "f", net.sha1, net.resize, 80, 0),
                       np.arange(len(feats)))
    assert main(["fid", "generated.npz", "real.npz", "--json", "out.json"]) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["precision"] == 1.0 and out["recall"] < 0.5, out
    assert out["generated"]["n"] == 12 and out["reference"]["n"] == 80
    assert "generated: generated.npz" in capsys.readouterr().out


def test_precision_recall_needs_more_than_k_samples():
    a, b = _features(0)
    with pytest.raises(ValueError, match="more than 3 generated samples"):
        precision_recall(a, b[:3], k=3)


def test_precision_recall_identical_sets():
    a, _ = _features(5)
    assert precision_recall(a, a.copy(), k=3) == (1.0, 1.0)


def test_precision_recall_disjoint_far_apart_sets():
    a, b = _features(6)
    assert precision_recall(a, b + 1000.0, k=3) == (0.0, 0.0)


def test_precision_recall_subset_has_full_precision():
    a, _ = _features(7)
    p, r = precision_recall(a, a[:40], k=3)
    assert p == 1.0 and r < 1.0


# --------------------------------------------------------------------------- resize
def test_tf_bilinear_matrix_rows_sum_to_one_and_identity_at_same_size():
    m = tf_bilinear_matrix(64, 299)
    assert torch.allclose(m.sum(1), torch.ones(299))
    assert torch.equal(tf_bilinear_matrix(7, 7), torch.eye(7))


def test_resize_matches_tf1_bilinear_reference():
    # TF1 resize_bilinear (align_corners=False): src = dst * in / out, edges clamped —
    # the same as fid-helper-pytorch's nv_bilinear (grid_sample emulation)
    pytest.importorskip("cv2")
    from fid_helper_pytorch._resample_func import nv_bilinear
    x = torch.randint(0, 256, (2, 3, 32, 48), dtype=torch.uint8)
    ours = resize_to_input(x)
    ref = nv_bilinear(x.float(), (299, 299))
    assert ours.shape == (2, 3, 299, 299)
    assert (ours - ref).abs().max() < 0.01  # on the 0..255 scale


# --------------------------------------------------------------------------- references
def _fp(**over):
    fp = reference_fingerprint("artwork", "abc", "sha", "tf1", 750, 0)
    fp.update(over)
    return fp


def test_reference_roundtrip_and_fingerprint_mismatch_refused(tmp_path):
    a, _ = _features(8)
    path = tmp_path / "artwork.npz"
    save_reference(path, FeatureSet(a.astype(np.float32)), _fp(), np.arange(len(a)))
    ref = load_reference(path, expect=_fp())
    assert ref.feats.n == len(a)
    assert np.allclose(ref.feats.mu, a.astype(np.float32).astype(np.float64).mean(0))
    with pytest.raises(ReferenceError, match="dvc repro reference"):
        load_reference(path, expect=_fp(dataset_fingerprint="other"))
    with pytest.raises(ReferenceError, match="feature_net_sha1"):
        load_reference(path, expect=_fp(feature_net_sha1="deadbeef"))
    with pytest.raises(ReferenceError, match="dvc repro reference"):
        load_reference(tmp_path / "missing.npz")
    assert json.loads(json.dumps(ref.info))["fingerprint"]["real_max"] == 750


def test_subsample_rows_is_seeded_sorted_and_capped():
    r1, r2 = subsample_rows(100, 30, 0), subsample_rows(100, 30, 0)
    assert np.array_equal(r1, r2) and len(r1) == 30 and np.all(np.diff(r1) > 0)
    assert not np.array_equal(r1, subsample_rows(100, 30, 1))
    assert np.array_equal(subsample_rows(10, 30, 0), np.arange(10))
