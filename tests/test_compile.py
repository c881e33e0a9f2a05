"""``compile``: torch.compile'd training steps on the CPU (inductor) — the same math as eager,
plain modules in every file, and a clear error where compile cannot work (R1)."""
import dataclasses

import pytest
import torch

from pokegan import config
from pokegan.models.io import load_generator

from fixtures.training import TINY, run_tiny, tiny_images


def _weights(folder):
    return load_generator(folder / "models" / "generator.pt")[0].state_dict()


def _distance(a, b) -> float:
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


@pytest.mark.slow
def test_compiled_training_follows_eager_and_writes_plain_modules(tmp_path):
    cfg = dataclasses.replace(TINY, epochs=2, checkpoint_every=1)
    images = tiny_images()
    run_tiny(tmp_path / "eager", images, cfg)
    run_tiny(tmp_path / "seed1", images, dataclasses.replace(cfg, seed=1))
    torch._dynamo.reset()
    info = run_tiny(tmp_path / "compiled", images, dataclasses.replace(cfg, compile="default"))
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 2   # G and D were compiled
    eager, other, comp = (_weights(tmp_path / d) for d in ("eager", "seed1", "compiled"))
    assert comp.keys() == eager.keys()                   # no '_orig_mod.' prefixes in the files
    # fused kernels round differently, so not bit-equal; but far closer than another seed
    assert _distance(eager, comp) < 0.1 * _distance(eager, other)
    assert info["params"]["compile"] == "default" and info["epochs"] == 2
    # compile is how the step runs, not what it computes: an eager run resumes its checkpoint
    logs = []
    run_tiny(tmp_path / "compiled", images, dataclasses.replace(cfg, epochs=3), logs=logs)
    assert any("resuming from epoch 2" in m for m in logs)


def test_compile_with_r1_is_refused_naming_the_key():
    with pytest.raises(config.ConfigError, match=r"variants\.v\.compile: 'default' .*r1"):
        config.parse({"variants": {"v": {"model": "dcgan", "dataset": "artwork",
                                         "compile": "default", "r1": 1.0}}})


def test_unknown_compile_mode_names_the_allowed_values():
    with pytest.raises(config.ConfigError, match=r"compile: 'fast' is not allowed.*reduce-overhead"):
        config.parse({"compile": "fast"})


@pytest.mark.parametrize("mode", ["reduce-overhead", "max-autotune"])
def test_cuda_graph_modes_are_refused_on_a_gpu_before_anything_is_written(tmp_path, monkeypatch, mode):
    # where the device resolves to a GPU (faked here: the check runs before anything touches it)
    from pokegan.training import loop
    monkeypatch.setattr(loop, "resolve_device", lambda name: torch.device("cuda"))
    with pytest.raises(config.ConfigError, match=rf"variants\.tiny\.compile: '{mode}' captures CUDA graphs"):
        run_tiny(tmp_path / "run", tiny_images(), dataclasses.replace(TINY, compile=mode))
    assert not (tmp_path / "run" / "models").exists() or not any((tmp_path / "run" / "models").iterdir())
