"""The CUDA path: runs only where a GPU is present (bench/gpu_check.sh runs it there)."""
import pytest
import torch

from pokegan import config
from pokegan.models.io import load_generator
from pokegan.models.sampling import sample
from pokegan.training import train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")


def test_training_on_cuda_keeps_data_on_the_device(tmp_path):
    cfg = config.parse({"epochs": 2, "image_size": 32, "batch_size": 8, "device": "cuda",
                        "variants": {"v": {"model": "dcgan", "dataset": "artwork"}}}).variant("v")
    images = torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8)
    info = train("v", cfg, images, data_fingerprint="x", model_dir=tmp_path / "m", progress=False)
    assert info["device"] == "cuda"
    G, meta = load_generator(tmp_path / "m" / "generator.pt")
    out = sample(G, 4, seed=0, device="cuda")
    assert out.dtype == torch.uint8 and out.shape == (4, 3, 32, 32)


def test_compiled_training_on_cuda(tmp_path):
    # compile: default (no CUDA graphs; reduce-overhead is refused on a GPU, test_compile.py)
    cfg = config.parse({"epochs": 2, "image_size": 32, "batch_size": 8, "device": "cuda",
                        "compile": "default",
                        "variants": {"v": {"model": "dcgan", "dataset": "artwork"}}}).variant("v")
    images = torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8)
    info = train("v", cfg, images, data_fingerprint="x", model_dir=tmp_path / "m", progress=False)
    assert info["device"] == "cuda" and info["params"]["compile"] == "default"
    G, _ = load_generator(tmp_path / "m" / "generator.pt")
    assert all(torch.isfinite(p).all() for p in G.parameters())
    assert not any(k.startswith("_orig_mod") for k in G.state_dict())
