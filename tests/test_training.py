"""Training steps, the loop, checkpoints and resume, in-process on tiny synthetic data."""
import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from pokegan import config, families
from pokegan.config import TrainConfig

from fixtures.training import TINY, run_tiny, same_state, tiny_images
from pokegan.models.io import list_checkpoints, load_generator, read_file
from pokegan.training import TrainingDiverged
from pokegan.training import loop as loop_mod
from pokegan.training.checkpoint import BranchError, branch, save_checkpoint
from pokegan.ops.device import resolve_device, resolve_precision
from pokegan.ops.losses import soft_labels
from pokegan.ops.step import StepContext


@pytest.fixture(scope="module")
def images():
    return tiny_images()


def _g_state(path):
    G, _ = load_generator(path)
    return G.state_dict()


# ------------------------------------------------------------------------ steps
@pytest.mark.parametrize("model, policy", [("dcgan", ""), ("aegan", ""),
                                           ("dcgan", "color,translation,cutout"),
                                           ("aegan", "translation")])
def test_each_variant_trains_a_few_steps(model, policy):
    cfg = dataclasses.replace(TINY, model=model, diffaugment=policy, lr_d=1e-4)
    torch.manual_seed(0)
    nets = families.build(TrainConfig(model=model, latent_dim=16, image_size=32, spectral_norm=True))
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in nets.items()}
    opts = families.make_optimizers(cfg, nets)
    assert opts["D"].param_groups[0]["lr"] == 1e-4 and opts["G"].param_groups[0]["lr"] == 2e-4
    ctx = StepContext(cfg, torch.device("cpu"), "fp32", torch.Generator().manual_seed(0))
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    for _ in range(3):
        out = families.get(model).step(nets, opts, x, ctx)
    assert all(torch.isfinite(v) for v in out.values())
    expected = {"d_loss", "g_loss", "d_real", "d_fake"} | (
        {"dz_loss", "rec_x", "rec_z"} if model == "aegan" else set())
    assert expected <= set(out)
    for k, n in nets.items():                                   # every network learned
        assert any(not torch.equal(a, b) for a, b in zip(before[k], n.parameters())), k


def test_aegan_learning_rates():
    cfg = config.replace(TINY, model="aegan", lr=3e-4, lr_d=1e-4, lr_e=5e-4)
    nets = families.build(TrainConfig(model="aegan", latent_dim=16, image_size=32, spectral_norm=True))
    lrs = {k: o.param_groups[0]["lr"] for k, o in families.make_optimizers(cfg, nets).items()}
    assert lrs == {"G": 3e-4, "D": 1e-4, "E": 5e-4, "Dz": 1e-4}
    assert families.make_optimizers(cfg, nets)["G"].param_groups[0]["betas"] == (0.5, 0.999)


def test_soft_labels():
    g = torch.Generator().manual_seed(0)
    real = soft_labels(20000, True, soft_real=0.85, soft_fake=0.15, spread=0.15, flip=0.0,
                       generator=g, device="cpu")
    assert real.min() >= 0 and real.max() <= 1 and abs(real.mean().item() - 0.83) < 0.02
    flipped = soft_labels(20000, True, soft_real=1.0, soft_fake=0.0, spread=0.0, flip=0.05,
                          generator=g, device="cpu")
    assert abs((flipped == 0).float().mean().item() - 0.05) < 0.01


def test_device_and_precision():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"
    # auto follows the CPU's native bf16, read here from the flags independently of the code
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    if "flags" in flags:
        native = "avx512_bf16" in flags or "amx_bf16" in flags
        # oneDNN limited below its bf16 ISAs (the slow class reproduced on a fast CPU) is not native
        limit = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
        native = native and (limit in ("ALL", "DEFAULT") or "BF16" in limit or "AMX" in limit)
        assert resolve_precision("auto", torch.device("cpu")) == ("bf16" if native else "fp32")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="cuda"):
            resolve_device("cuda")


# ------------------------------------------------------------------------ the loop
def _step_images(run) -> list[str]:
    """The per-epoch sample grids DVCLive logged (plots/images/samples/<epoch>.jpg)."""
    folder = run / "plots" / "plots" / "images" / "samples"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_loop_outputs_and_determinism(tmp_path, images):
    info = run_tiny(tmp_path / "a", images)
    m = tmp_path / "a" / "models"
    assert [e for e, _ in list_checkpoints(m)] == [1, 2, 3]
    assert sorted(p.name for p in (m / "grids").iterdir()) == [f"epoch_000{i}.png" for i in (1, 2, 3)]
    assert (tmp_path / "a" / "plots" / "samples.png").read_bytes() == (m / "grids" / "epoch_0003.png").read_bytes()
    saved = json.loads((m / "info.json").read_text())
    assert saved["images_seen"] == 3 * 16 and saved["epochs"] == 3 and saved["precision"] == "fp32"
    assert saved["data_fingerprint"] == "data-v1" and "torch" in saved["versions"]
    tsv = (tmp_path / "a" / "plots" / "plots" / "metrics" / "d_real.tsv").read_text().split()
    assert tsv[:2] == ["step", "d_real"] and len(tsv) == 2 + 2 * 3
    assert _step_images(tmp_path / "a") == ["1.jpg", "2.jpg", "3.jpg"]   # DVCLive's slider pattern
    ckpt = torch.load(m / "checkpoints" / "epoch_0002.pt", weights_only=True)
    assert {"models", "train", "history", "fingerprint", "epoch", "images_seen"} <= set(ckpt)
    assert {"torch", "python", "numpy", "generators"} <= set(ckpt["train"]["rng"])
    run_tiny(tmp_path / "b", images)                      # same params -> the same generator
    assert same_state(_g_state(m), _g_state(tmp_path / "b" / "models"))
    assert (m / "generator.pt").stat().st_size > 0 and info["fingerprint"] == saved["fingerprint"]


def test_aegan_loop_writes_encoder(tmp_path, images):
    cfg = dataclasses.replace(TINY, model="aegan", epochs=1, diffaugment="color,cutout")
    info = run_tiny(tmp_path, images, cfg)
    assert (tmp_path / "models" / "encoder.pt").exists()
    assert {"rec_x", "rec_z", "dz_loss"} <= set(info["final"])
    assert (tmp_path / "plots" / "plots" / "metrics" / "rec_z.tsv").exists()


def test_corrupt_checkpoint_falls_back_and_still_ends_identical(tmp_path, images):
    run_tiny(tmp_path / "ref", images)
    ref = _g_state(tmp_path / "ref" / "models")
    run = tmp_path / "run"
    run_tiny(run, images)
    (run / "models" / "checkpoints" / "epoch_0003.pt").write_bytes(b"\x00garbage" * 100)
    (run / "models" / "generator.pt").unlink()
    logs = []
    with pytest.warns(RuntimeWarning, match="corrupt"):
        run_tiny(run, images, logs=logs)
    assert any("resuming from epoch 2" in m for m in logs), logs
    assert same_state(ref, _g_state(run / "models"))
    # the DVCLive history was replayed from the checkpoint: all 3 epochs present once
    rows = (run / "plots" / "plots" / "metrics" / "g_loss.tsv").read_text().split("\n")[1:]
    assert [r.split("\t")[0] for r in rows if r] == ["1", "2", "3"]


def test_other_settings_are_ignored_and_more_epochs_resume(tmp_path, images):
    run = tmp_path / "run"
    run_tiny(run, images, dataclasses.replace(TINY, lr=1e-3, epochs=2))
    logs = []
    run_tiny(run, images, dataclasses.replace(TINY, epochs=2), logs=logs)    # lr changed
    assert any("another run's: params changed (lr 0.001 -> 0.0002)" in m for m in logs), logs
    assert not any("resuming" in m for m in logs)
    logs.clear()
    shutil.rmtree(run / "plots")                  # as `dvc exp run` restores outputs
    run_tiny(run, images, TINY, logs=logs)                                    # 2 -> 3 epochs
    assert any("resuming from epoch 2" in m for m in logs), logs
    assert _step_images(run) == ["1.jpg", "2.jpg", "3.jpg"]   # earlier epochs replayed
    run_tiny(tmp_path / "ref", images, TINY)
    assert same_state(_g_state(run / "models"), _g_state(tmp_path / "ref" / "models"))


def test_stale_checkpoints_are_moved_aside(tmp_path, images):
    run = tmp_path / "run"
    run_tiny(run, images, dataclasses.replace(TINY, lr=1e-3, epochs=3))
    logs = []
    run_tiny(run, images, dataclasses.replace(TINY, epochs=2, checkpoint_every=2), logs=logs)
    assert [e for e, _ in list_checkpoints(run / "models")] == [2]
    assert any("moved 8 file(s)" in m and "stale" in m for m in logs), logs
    assert not (run / "models" / "grids" / "epoch_0003.png").exists()
    (moved,) = (run / "stale" / "models").iterdir()      # kept, beside models/, not deleted
    assert [e for e, _ in list_checkpoints(moved)] == [1, 2, 3]


def test_nan_loss_names_variant_epoch_step_and_keeps_last_checkpoint(tmp_path, images, monkeypatch):
    calls = {"n": 0}
    real_step = families.get("dcgan").step

    def poisoned(nets, opts, x, ctx):
        calls["n"] += 1
        out = real_step(nets, opts, x, ctx)
        if calls["n"] == 3 + 1:                      # epoch 2 (2 steps per epoch), step 2
            for p in nets["G"].parameters():
                p.data.fill_(float("nan"))
            out["g_loss"] = torch.tensor(float("nan"))
        return out

    monkeypatch.setitem(families.REGISTRY, "dcgan",
                        dataclasses.replace(families.get("dcgan"), step=poisoned))
    with pytest.raises(TrainingDiverged) as err:
        run_tiny(tmp_path, images, variant="dcgan_nan")
    msg = str(err.value)
    assert "dcgan_nan" in msg and "epoch 2" in msg and "step 2" in msg and "g_loss" in msg
    assert "epoch_0001.pt" in msg
    assert [e for e, _ in list_checkpoints(tmp_path / "models")] == [1]
    assert not (tmp_path / "models" / "generator.pt").exists()


def test_checkpoint_refuses_nan_weights(tmp_path):
    nets = families.build(TrainConfig(model="dcgan", latent_dim=8, image_size=32, spectral_norm=False))
    with torch.no_grad():
        next(nets["D"].parameters()).fill_(float("inf"))
    with pytest.raises(ValueError, match="non-finite weights in D"):
        save_checkpoint(tmp_path / "c.pt", nets=nets, opts={}, generators={}, epoch=1,
                        images_seen=0, history=[], fingerprint="x", meta={})
    assert not (tmp_path / "c.pt").exists()


def test_bad_images_are_refused(tmp_path):
    with pytest.raises(ValueError, match="uint8 N×3×32×32"):
        run_tiny(tmp_path, torch.zeros(4, 3, 64, 64, dtype=torch.uint8))


def test_fingerprinted_code_is_the_train_stage_code_deps():
    """TRAIN_CODE (hashed into every run's fingerprint) lists what dvc.yaml's train stage
    depends on, data aside: a dep added there must be added here, and the other way round."""
    import yaml

    from pokegan.training.checkpoint import REPO_ROOT, TRAIN_CODE, code_hashes
    deps = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]["train"]["do"]["deps"]
    assert sorted(TRAIN_CODE) == sorted(d for d in deps if not d.startswith("data/"))
    hashed = code_hashes()
    assert "src/pokegan/ops/losses.py" in hashed and "stages/train.py" in hashed
    assert not any("__pycache__" in k for k in hashed)


def test_auto_precision_follows_the_cpu_flag(monkeypatch):
    from pokegan.ops import device as dev
    monkeypatch.setattr(dev, "cpu_supports_bf16", lambda: True)
    assert dev.resolve_precision("auto", torch.device("cpu")) == "bf16"
    monkeypatch.setattr(dev, "cpu_supports_bf16", lambda: False)
    assert dev.resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert dev.resolve_precision("bf16", torch.device("cpu")) == "bf16"   # forced wins


def test_fingerprint_golden(monkeypatch):
    """Golden values, not the code's own recomputation: a field that sneaks into the identity
    (a timestamp, a path, a new param at a non-neutral default) changes these and fails here.
    A deliberate change of what the fingerprint covers updates them (and restarts every run)."""
    import dataclasses

    from pokegan.training import checkpoint
    monkeypatch.setattr(checkpoint, "code_hashes", lambda: {"src/pokegan/x.py": "abc"})
    fp, parts = checkpoint.run_identity(TrainConfig(), "data-1", torch.device("cpu"), "fp32")
    assert fp == "98e6ad37fbd3555d", parts
    levers = dataclasses.replace(TrainConfig(), ema=0.999, ada_target=0.6)
    assert checkpoint.run_identity(levers, "data-1", torch.device("cpu"), "bf16", 2)[0] == \
        "934e04780f473d54"


def test_bf16_is_off_when_onednn_is_limited_to_avx2():
    """ONEDNN_MAX_CPU_ISA=AVX2 reproduces the slow class on a bf16 CPU: auto must pick fp32."""
    import subprocess
    import sys
    code = "from pokegan.ops.device import cpu_supports_bf16; print(cpu_supports_bf16())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert out.stdout.strip() == "False"


def test_a_branched_run_ends_bit_identical_to_one_from_scratch(tmp_path, images):
    # an lr drop tried from another run's kept checkpoint instead of from scratch
    drop = dataclasses.replace(TINY, lr_drop_after=2, lr_drop=0.5)
    run_tiny(tmp_path / "plain", images, dataclasses.replace(TINY, epochs=2))
    run_tiny(tmp_path / "scratch", images, drop)
    src = tmp_path / "plain" / "models" / "checkpoints" / "epoch_0002.pt"
    written = branch(src, tmp_path / "branch" / "models", drop, "data-v1")
    assert written == tmp_path / "branch" / "models" / "checkpoints" / "epoch_0002.pt"
    assert read_file(written)["meta"]["config"] == config.as_dict(drop)
    logs = []
    run_tiny(tmp_path / "branch", images, drop, logs=logs)
    assert any("resuming from epoch 2" in m for m in logs), logs
    last = [read_file(tmp_path / run / "models" / "checkpoints" / "epoch_0003.pt")
            for run in ("scratch", "branch")]
    for role in ("G", "D"):
        assert same_state(*(c["models"][role]["state_dict"] for c in last))
    assert last[1]["train"]["optimizers"]["G"]["param_groups"][0]["lr"] == TINY.lr * 0.5
    # a drop that would have acted before the checkpoint, another param or other data: refused
    with pytest.raises(BranchError, match="acts before epoch 2"):
        branch(src, tmp_path / "x", dataclasses.replace(drop, lr_drop_after=1), "data-v1")
    with pytest.raises(BranchError, match=r"\['lr'\] differ"):
        branch(src, tmp_path / "x", dataclasses.replace(drop, lr=0.001), "data-v1")
    with pytest.raises(BranchError, match="data differs"):
        branch(src, tmp_path / "x", drop, "data-v2")
    # a source that itself dropped its lr by that epoch is not this run's first epochs either
    run_tiny(tmp_path / "dropped", images, dataclasses.replace(drop, lr_drop_after=1, epochs=2))
    with pytest.raises(BranchError, match="the source's lr_drop_after 1 acts before epoch 2"):
        branch(tmp_path / "dropped" / "models" / "checkpoints" / "epoch_0002.pt",
               tmp_path / "x", drop, "data-v1")
    assert not (tmp_path / "x").exists()
