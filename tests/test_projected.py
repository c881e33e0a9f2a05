"""The projected discriminator's family: the pinned EfficientNet-Lite0 (checked, refused when
wrong, shown to be trained), the fixed random mixing, and training, resume and model files."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fixtures.training import TINY, run_tiny, same_state, tiny_images
from pokegan import config, families
from pokegan.config import ConfigError
from pokegan.families.projected import ProjectedDiscriminator
from pokegan.models import efficientnet_lite as lite
from pokegan.models.io import load_generator, read_file
from pokegan.ops.step import StepContext

ARTWORKS = Path(__file__).parent / "fixtures" / "artworks"   # six 64 px artworks on white
PROJ = dataclasses.replace(TINY, model="projected", loss="hinge", upsample="resize_conv",
                           diffaugment="color,translation,cutout", ema=0.99)


def _artworks() -> torch.Tensor:
    arrays = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(ARTWORKS.glob("*.png"))]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 127.5 - 1


def _entropy(logits: torch.Tensor) -> torch.Tensor:
    p = logits.softmax(1)
    return -(p * p.clamp_min(1e-12).log()).sum(1)


# --------------------------------------------------------------------------- the weights
def test_the_installed_weights_are_the_pinned_file():
    path = lite.find_weights()
    assert path.stat().st_size == lite.WEIGHTS_BYTES
    net = lite.load(path)      # strict load: every key of the file is a parameter of ours
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    shapes = [tuple(f.shape[1:]) for f in net.features(torch.zeros(1, 3, 64, 64))]
    assert shapes == [(24, 16, 16), (40, 8, 8), (112, 4, 4), (320, 2, 2)]


def test_a_tampered_or_missing_weights_file_is_refused(tmp_path):
    copy = tmp_path / "efficientnet-lite0.pth"
    shutil.copyfile(lite.find_weights(), copy)
    with open(copy, "r+b") as f:            # one byte of one weight changed
        f.seek(lite.WEIGHTS_BYTES // 2)
        byte = f.read(1)
        f.seek(lite.WEIGHTS_BYTES // 2)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(lite.WeightsError, match=f"{copy}: sha256 .* is not the pinned"):
        lite.load(copy)
    with pytest.raises(lite.WeightsError, match="weights not found"):
        lite.load(tmp_path / "missing.pth")


def test_the_weights_are_trained_on_imagenet():
    """Real images get confident ImageNet predictions, noise does not: a photograph gets its
    class, and six artworks at the pipeline's 64 px get far lower entropy than uniform noise
    (measured: 0.6 against 2.6 nats on 40 artworks)."""
    net = lite.load()
    from matplotlib import cbook
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photo = Image.open(f).convert("RGB")
    side = min(photo.size)
    photo = photo.crop((0, 0, side, side)).resize((224, 224), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(photo, np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
    noise = torch.rand(6, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        assert int(net(x).argmax()) == 652                   # ImageNet's "military uniform"
        art, rand = _entropy(net(_artworks())), _entropy(net(noise))
    assert art.mean() < rand.mean() - 1.0, (art, rand)


# --------------------------------------------------------------------------- the discriminator
def test_only_the_patch_discriminators_train_and_the_network_stays_out_of_the_state():
    torch.manual_seed(0)
    D = ProjectedDiscriminator(64)
    state = D.state_dict()
    assert not any("_blocks" in k or "_conv_stem" in k for k in state)      # not in any file
    assert {f"mix.ccm{i}" for i in range(4)} | {f"mix.csm{i}" for i in range(3)} <= set(state)
    assert not any(k.startswith("mix.") for k, _ in D.named_parameters())   # fixed, untrained
    torch.manual_seed(0)
    assert same_state(state, ProjectedDiscriminator(64).state_dict())       # drawn from the seed
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    for size, patches in ((64, 16 * 3 + 4), (96, 9 * 4)):
        assert ProjectedDiscriminator(size)(x).shape == (2, patches)
    big = torch.rand(2, 3, 128, 128, requires_grad=True)                    # shrunk to 64 px
    D(big).sum().backward()
    assert big.grad.abs().sum() > 0


@pytest.mark.slow
def test_projected_trains_resumes_bit_identically_and_its_generator_loads(tmp_path):
    cfg = dataclasses.replace(PROJ, lecam=0.3, epochs=2)
    images = tiny_images()
    lite_before = {k: v.clone() for k, v in lite.frozen_network(torch.device("cpu")).state_dict().items()}
    full = run_tiny(tmp_path / "full", images, cfg)
    run_tiny(tmp_path / "cut", images, dataclasses.replace(cfg, epochs=1))
    run_tiny(tmp_path / "cut", images, cfg)             # resumes from epoch 1
    assert (tmp_path / "full" / "models" / "generator.pt").read_bytes() == \
        (tmp_path / "cut" / "models" / "generator.pt").read_bytes()
    last = "checkpoints/epoch_0002.pt"
    ckpt, resumed = (read_file(tmp_path / run / "models" / last) for run in ("full", "cut"))
    assert same_state(ckpt["models"]["D"]["state_dict"], resumed["models"]["D"]["state_dict"])
    assert not any("_blocks" in k for k in ckpt["models"]["D"]["state_dict"])
    assert np.isfinite(full["final"]["d_loss"]) and np.isfinite(full["final"]["g_loss"])
    assert same_state(lite_before, lite.frozen_network(torch.device("cpu")).state_dict())
    G, meta = load_generator(tmp_path / "full" / "models")
    assert type(G).__name__ == "Generator" and G.upsample == "resize_conv"
    assert meta["model"] == "projected" and G(torch.randn(2, 16)).shape == (2, 3, 32, 32)


@pytest.mark.slow
def test_the_fastgan_generator_trains_against_it_and_loads(tmp_path):
    run_tiny(tmp_path, tiny_images(), config.replace(PROJ, proj_g="fastgan", epochs=1))
    G, meta = load_generator(tmp_path / "models")
    assert type(G).__name__ == "FastGenerator" and meta["config"]["proj_g"] == "fastgan"


def test_a_step_runs_under_bf16_autocast():
    cfg = dataclasses.replace(PROJ, batch_size=4, precision="bf16")
    torch.manual_seed(0)
    nets = families.build(cfg)
    ctx = StepContext(cfg, torch.device("cpu"), "bf16", torch.Generator().manual_seed(1))
    out = families.get("projected").step(nets, families.make_optimizers(cfg, nets),
                                         torch.rand(4, 3, 32, 32) * 2 - 1, ctx)
    assert all(torch.isfinite(v) for v in out.values())


# --------------------------------------------------------------------------- config
@pytest.mark.parametrize("variant, message", [
    ({"model": "projected"}, r"v.loss: 'bce' is not implemented for model projected; use 'hinge'"),
    ({"model": "projected", "loss": "hinge"},
     r"v.upsample: 'convtranspose' is not implemented for model projected; use 'resize_conv'"),
    ({"proj_size": 96}, r"v.proj_size: belongs to model projected, not dcgan"),
    ({"model": "projected", "loss": "hinge", "upsample": "resize_conv", "proj_size": 100},
     r"v.proj_size: 100 is not allowed; allowed values: 64, 96, 128"),
    ({"model": "projected", "loss": "hinge", "upsample": "resize_conv", "proj_g": "aegan"},
     r"v.proj_g: 'aegan' is not allowed; allowed values: dcgan, fastgan"),
])
def test_projected_variants_are_checked(variant, message):
    with pytest.raises(ConfigError, match=message):
        config.parse({"variants": {"v": {"model": "dcgan", "dataset": "artwork", **variant}}})
