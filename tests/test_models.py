import pytest
import torch

from pokegan import families
from pokegan.config import TrainConfig
from torch import nn

from pokegan.models import Discriminator, Encoder, Generator, LatentDiscriminator
from pokegan.models.io import (ModelFileError, ModelFileNotFound, export_ema, list_checkpoints,
                               load_encoder, load_generator, read_file, save_model)
from pokegan.models.sampling import sample


@pytest.mark.parametrize("size, widest", [(32, 256), (64, 512), (128, 1024)])
def test_generator_and_discriminator_shapes(size, widest):
    torch.manual_seed(0)
    G, D = Generator(128, size), Discriminator(size)
    x = G(torch.randn(3, 128))
    assert x.shape == (3, 3, size, size)
    assert x.min() >= -1 and x.max() <= 1                       # tanh
    assert G.net[0].out_channels == widest
    assert D(x).shape == (3,)                                   # one logit per image
    assert D.net[-1].out_channels == 1


def test_dcgan_64_follows_the_study():
    G = Generator(128, 64)
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == \
        [(128, 512), (512, 256), (256, 128), (128, 64), (64, 3)]
    assert all(c.kernel_size == (4, 4) for c in convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 4
    assert isinstance(G.net[-1], nn.Tanh)
    D = Discriminator(64)
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    convs = [c for c in D.modules() if isinstance(c, nn.Conv2d)]
    assert all(c.stride == (2, 2) for c in convs[:-1]) and convs[-1].stride == (1, 1)


@pytest.mark.parametrize("sn", [True, False])
def test_spectral_norm_toggles(sn):
    D = Discriminator(64, spectral_norm=sn)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5
    assert all(hasattr(c, "parametrizations") == sn for c in convs)
    assert any(isinstance(m, nn.BatchNorm2d) for m in D.modules()) == (not sn)
    Dz = LatentDiscriminator(16, spectral_norm=sn)
    assert all(hasattr(m, "parametrizations") == sn for m in Dz.modules() if isinstance(m, nn.Linear))


@pytest.mark.parametrize("size", [32, 64, 128])
def test_aegan_networks_shapes(size):
    nets = families.build(TrainConfig(model="aegan", latent_dim=32, image_size=size, spectral_norm=True))
    assert set(nets) == {"G", "D", "E", "Dz"}
    x = torch.rand(2, 3, size, size) * 2 - 1
    z = nets["E"](x)
    assert z.shape == (2, 32)
    assert nets["Dz"](z).shape == (2,)
    assert nets["G"](z).shape == (2, 3, size, size)
    with pytest.raises(ValueError, match="unknown model .vae.; allowed: aegan, cdcgan, dcgan, fastgan"):
        families.build(TrainConfig(model="vae", latent_dim=8, image_size=32, spectral_norm=True))


def test_dcgan_init():
    G = Generator(64, 32)
    w = G.net[0].weight
    assert abs(w.std().item() - 0.02) < 0.002
    bn = G.net[1]
    assert abs(bn.weight.mean().item() - 1) < 0.01 and bn.bias.abs().max() == 0


def test_save_load_roundtrip_without_pickled_classes(tmp_path):
    torch.manual_seed(1)
    G, E = Generator(16, 32), Encoder(16, 32)
    save_model(tmp_path / "generator.pt", G, {"variant": "v", "epoch": 3})
    save_model(tmp_path / "encoder.pt", E, {"variant": "v"})
    raw = torch.load(tmp_path / "generator.pt", weights_only=True)   # plain data only
    assert raw["class"] == "Generator" and raw["kwargs"]["latent_dim"] == 16
    G2, meta = load_generator(tmp_path)                                # folder works too
    assert not G2.training and meta["latent_dim"] == 16 and meta["image_size"] == 32
    assert meta["epoch"] == 3 and meta["variant"] == "v"
    for a, b in zip(G.state_dict().values(), G2.state_dict().values()):
        assert torch.equal(a, b)
    E2, _ = load_encoder(tmp_path / "encoder.pt")
    assert E2(torch.zeros(1, 3, 32, 32)).shape == (1, 16)
    with pytest.raises(ModelFileError, match="holds a Encoder, not a"):   # a generator class
        load_generator(tmp_path / "encoder.pt")


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(ModelFileNotFound, match="no such model file"):
        load_generator(tmp_path / "generator.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ModelFileError, match="corrupt"):
        load_generator(bad)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="not a pokegan"):
        load_generator(tmp_path / "other.pt")


def test_list_checkpoints(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    for e in (10, 2, 1):
        (tmp_path / "checkpoints" / f"epoch_{e:04d}.pt").write_bytes(b"")
    (tmp_path / "checkpoints" / ".epoch_0003.pt.x.tmp").write_bytes(b"")
    assert [e for e, _ in list_checkpoints(tmp_path)] == [1, 2, 10]
    assert list_checkpoints(tmp_path / "missing") == []


def test_sample_is_uint8_and_independent_of_batch_size():
    torch.manual_seed(0)
    G = Generator(16, 32).train()
    a = sample(G, 10, seed=5, batch_size=3)
    b = sample(G, 10, seed=5, batch_size=64)
    assert a.dtype == torch.uint8 and a.shape == (10, 3, 32, 32)
    assert torch.equal(a, b)
    assert G.training                                       # mode restored
    assert not torch.equal(a, sample(G, 10, seed=6))
    z = torch.randn(4, 16)
    assert sample(G, 4, seed=0, latents=z).shape == (4, 3, 32, 32)


def test_export_ema_keeps_the_ema_generator_alone(tmp_path):
    # a checkpoint reduced to what sampling its EMA G needs, e.g. to bring it home from a machine
    import dataclasses

    from fixtures.training import TINY, run_tiny, tiny_images

    run_tiny(tmp_path / "ema", tiny_images(), dataclasses.replace(TINY, epochs=2, ema=0.9))
    epoch, ckpt = list_checkpoints(tmp_path / "ema" / "models")[-1]
    out = tmp_path / "out" / ckpt.name
    export_ema(ckpt, out)
    slim, full = read_file(out), read_file(ckpt)
    assert "models" not in slim and "train" not in slim          # no D, live G, optimiser states
    assert slim["images_seen"] == full["images_seen"] and slim["epoch"] == epoch == 2
    assert slim["history"] == full["history"] and list_checkpoints(out.parent) == [(2, out)]
    assert out.stat().st_size < ckpt.stat().st_size / 2
    G_slim, G_full = load_generator(out)[0], load_generator(ckpt)[0]   # both the EMA G
    assert all(torch.equal(a, b) for a, b in zip(G_slim.state_dict().values(),
                                                 G_full.state_dict().values()))
    with pytest.raises(ModelFileError, match="checkpoint holds no live network G"):
        load_generator(out, live=True)
    run_tiny(tmp_path / "plain", tiny_images(), dataclasses.replace(TINY, epochs=1))
    with pytest.raises(ModelFileError, match="no EMA"):          # a run without one: said so
        export_ema(list_checkpoints(tmp_path / "plain" / "models")[-1][1], tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()
