"""The generation-quality levers: EMA of G, resize-conv upsampling, hinge / ns losses,
R1, minibatch stddev — each does what it should, is off by default, and resumes bit-identically."""
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from pokegan import families
from pokegan.ops.optim import lr_scale
from torch import nn

from fixtures.training import TINY, run_tiny, same_state, tiny_images
from pokegan import config
from pokegan.config import ConfigError, TrainConfig
from pokegan.files import fingerprint
from pokegan.models.blocks import UpConv
from pokegan.models.dcgan import Discriminator, Generator
from pokegan.models.io import load_generator, read_file, save_model
from pokegan.ops.ema import EMA
from pokegan.ops.levers import (LEVER_DEFAULTS, d_adversarial, g_adversarial, hinge_d,
                                     hinge_g, r1_due, r1_penalty)
from pokegan.training.checkpoint import NOT_IN_FINGERPRINT, run_identity
from pokegan.ops.step import StepContext


@pytest.fixture(scope="module")
def images():
    return tiny_images()


# ------------------------------------------------------------------------ defaults / config
def test_levers_default_off_and_fingerprint_unchanged():
    cfg = TrainConfig()
    assert {k: getattr(cfg, k) for k in LEVER_DEFAULTS} == LEVER_DEFAULTS
    # with every lever off the params part is the shared keys (the dcgan family has no own)
    old = {k: v for k, v in dataclasses.asdict(cfg).items()
           if k not in NOT_IN_FINGERPRINT and k not in LEVER_DEFAULTS and k != "family_params"}
    expected, parts = run_identity(cfg, "d", torch.device("cpu"), "fp32")
    assert parts["params"] == old and expected == fingerprint(parts)
    on = dataclasses.replace(cfg, ema=0.999)
    assert run_identity(on, "d", torch.device("cpu"), "fp32")[0] != expected


def test_another_familys_keys_are_not_in_the_fingerprint():
    cpu = torch.device("cpu")
    dcgan = TrainConfig()
    with pytest.raises(ConfigError, match="fastgan_ch: belongs to model fastgan, not dcgan"):
        config.replace(dcgan, fastgan_ch=16)         # a dcgan config cannot even hold it
    assert "fastgan_ch" not in run_identity(dcgan, "d", cpu, "fp32")[1]["params"]
    fast = config.replace(dcgan, model="fastgan", loss="hinge")
    assert run_identity(config.replace(fast, fastgan_ch=16), "d", cpu, "fp32")[0] != \
        run_identity(fast, "d", cpu, "fp32")[0]
    assert run_identity(fast, "d", cpu, "fp32")[1]["params"]["fastgan_ch"] == 32


def _params(**top):
    raw = {"variants": {"v": {"model": "dcgan", "dataset": "artwork", "epochs": 2,
                              "checkpoint_every": 1}}}
    raw.update(top)
    return config.parse(raw)


def test_lever_params_are_validated():
    cfg = _params(ema=0.999, upsample="resize_conv", loss="hinge", r1=1.0, r1_every=4, mbstd=True)
    v = cfg.variant("v")
    assert (v.ema, v.upsample, v.loss, v.r1, v.r1_every, v.mbstd) == (
        0.999, "resize_conv", "hinge", 1.0, 4, True)
    with pytest.raises(ConfigError, match="upsample.*allowed values: convtranspose, resize_conv"):
        _params(upsample="bilinear")
    with pytest.raises(ConfigError, match="loss.*allowed values: bce, hinge, ns"):
        _params(loss="wgan")
    with pytest.raises(ConfigError, match="ema.*out of range"):
        _params(ema=1.0)
    with pytest.raises(ConfigError, match="r1.*out of range"):
        _params(r1=-1.0)
    with pytest.raises(ConfigError, match="r1_every.*out of range"):
        _params(r1_every=0)
    raw = {"variants": {"a": {"model": "aegan", "dataset": "artwork", "loss": "hinge"}}}
    with pytest.raises(ConfigError, match="variants.a.loss.*not implemented for model aegan"):
        config.parse(raw)


# ------------------------------------------------------------------------ EMA
def _nudge(model, scale=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)


def test_ema_equals_live_at_decay_zero_and_lags_otherwise():
    torch.manual_seed(0)
    G = Generator(16, 32)
    zero, slow = EMA(G, 0.0), EMA(G, 0.9)
    start = [p.detach().clone() for p in G.parameters()]
    for i in range(30):
        _nudge(G, seed=i)
        zero.update(G)
        slow.update(G)
    for e, p in zip(zero.model.parameters(), G.parameters()):
        assert torch.equal(e, p)
    lag = [(e - p).abs().max().item() for e, p in zip(slow.model.parameters(), G.parameters())]
    assert max(lag) > 0.01                                   # behind the live weights ...
    moved = [(e - s).abs().max().item() for e, s in zip(slow.model.parameters(), start)]
    assert max(moved) > 0.01                                 # ... but following them
    assert slow.current_decay() == pytest.approx(31 / 40)              # warm-up: (1+t)/(10+t)
    assert EMA(G, 0.999).current_decay() == pytest.approx(0.1)
    assert not any(p.requires_grad for p in slow.model.parameters())


def test_ema_recomputes_batchnorm_statistics_deterministically():
    torch.manual_seed(0)
    G = Generator(16, 32)
    ema = EMA(G, 0.5)
    _nudge(G, 0.5)
    ema.update(G)
    bn = [m for m in ema.model_for_sampling().modules() if isinstance(m, nn.BatchNorm2d)]
    live_bn = [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)]
    assert not torch.equal(bn[0].running_var, live_bn[0].running_var)   # not copied
    first = {k: v.clone() for k, v in ema.model.state_dict().items()}
    ema._stale = True
    assert same_state(first, ema.model_for_sampling().state_dict())          # a function of the weights
    assert not ema.model.training and all(m.momentum == 0.1 for m in bn)


def test_resume_with_ema_r1_hinge_is_bit_identical(tmp_path, images):
    cfg = dataclasses.replace(TINY, ema=0.99, loss="hinge", r1=0.5, r1_every=3)
    run_tiny(tmp_path / "ref", images, cfg)
    run = tmp_path / "run"
    run_tiny(run, images, dataclasses.replace(cfg, epochs=2))
    logs = []
    run_tiny(run, images, cfg, logs=logs)                       # 2 -> 3 epochs: resumes
    assert any("resuming from epoch 2" in m for m in logs), logs
    ref_g, _ = load_generator(tmp_path / "ref" / "models")
    run_g, meta = load_generator(run / "models")
    assert same_state(ref_g.state_dict(), run_g.state_dict()) and meta["config"]["ema"] == 0.99
    ref_ck = read_file(tmp_path / "ref" / "models" / "checkpoints" / "epoch_0003.pt")
    run_ck = read_file(run / "models" / "checkpoints" / "epoch_0003.pt")
    for role in ("G", "D"):
        assert same_state(ref_ck["models"][role]["state_dict"], run_ck["models"][role]["state_dict"])
    assert ref_ck["ema"]["updates"] == run_ck["ema"]["updates"] == 3 * 2
    # generator.pt and a checkpoint's G are the average, not the live weights
    live = run_ck["models"]["G"]["state_dict"]
    assert not same_state(live, run_g.state_dict())
    assert same_state(load_generator(run / "models" / "checkpoints" / "epoch_0003.pt")[0].state_dict(),
                 run_g.state_dict())


# ------------------------------------------------------------------------ resize-conv G
def test_resize_conv_generator(tmp_path):
    torch.manual_seed(0)
    G = Generator(16, 32, upsample="resize_conv")
    assert G(torch.randn(2, 16)).shape == (2, 3, 32, 32)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in G.modules())
    assert any(isinstance(m, UpConv) for m in G.modules())
    assert any(isinstance(m, nn.ConvTranspose2d) for m in Generator(16, 32).modules())
    assert "upsample" not in Generator(16, 32).kwargs                # study files unchanged
    save_model(tmp_path / "g.pt", G, {"model": "dcgan"})
    H, meta = load_generator(tmp_path / "g.pt")
    assert H.kwargs["upsample"] == "resize_conv" and same_state(G.state_dict(), H.state_dict())
    nets = families.build(TrainConfig(model="dcgan", latent_dim=16, image_size=64, spectral_norm=True, upsample="resize_conv"))
    assert nets["G"](torch.randn(2, 16)).shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="upsample"):
        Generator(16, 32, upsample="bilinear")


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("h, w", [(4, 4), (5, 3), (1, 1)])
def test_upconv_equals_upsample_then_conv(bias, h, w):
    """UpConv's four 2×2 phase convs give the same map as nearest ×2 followed by its 3×3 conv
    (float64, so only rounding separates them), and the same gradients."""
    torch.manual_seed(0)
    conv = UpConv(5, 7, bias=bias).double()
    x = torch.randn(3, 5, h, w, dtype=torch.float64, requires_grad=True)
    fast = conv(x)
    slow = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), conv.weight, conv.bias, padding=1)
    assert fast.shape == (3, 7, 2 * h, 2 * w)
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-12)
    g = torch.randn_like(fast)
    grads = torch.autograd.grad(fast, [x, conv.weight], g)
    want = torch.autograd.grad(slow, [x, conv.weight], g)
    for a, b in zip(grads, want):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_resize_conv_generator_loads_files_saved_with_upsample_layers():
    """Generators saved when resize-conv was nn.Upsample + nn.Conv2d load into the UpConv one
    (same state-dict keys) and draw the same images."""
    torch.manual_seed(0)
    G = Generator(16, 32, upsample="resize_conv").eval()
    old = nn.Sequential(*[nn.Upsample(scale_factor=2, mode="nearest") if isinstance(m, nn.Identity)
                          else nn.Conv2d(m.in_channels, m.out_channels, 3, 1, 1, bias=m.bias is not None)
                          if isinstance(m, UpConv) else m for m in G.net]).eval()
    old.load_state_dict({k[len("net."):]: v for k, v in G.state_dict().items()})
    z = torch.randn(4, 16)
    G.load_state_dict({f"net.{k}": v for k, v in old.state_dict().items()})
    torch.testing.assert_close(G(z), old(z.view(4, 16, 1, 1)), rtol=0, atol=1e-5)


# ------------------------------------------------------------------------ losses
def test_hinge_and_ns_losses_on_known_logits():
    real = torch.tensor([2.0, 0.5, -1.0])
    fake = torch.tensor([-2.0, 0.0, 1.0])
    # relu(1 - real) = [0, .5, 2] -> 5/6; relu(1 + fake) = [0, 1, 2] -> 1
    assert hinge_d(real, fake).item() == pytest.approx(5 / 6 + 1)
    assert d_adversarial("hinge", real, fake).item() == pytest.approx(5 / 6 + 1)
    assert hinge_g(torch.tensor([1.0, -3.0])).item() == pytest.approx(1.0)
    assert g_adversarial("hinge", torch.tensor([1.0, -3.0])).item() == pytest.approx(1.0)
    sp = torch.nn.functional.softplus
    ns = (sp(-real).mean() + sp(fake).mean()).item()
    assert d_adversarial("ns", real, fake).item() == pytest.approx(ns, rel=1e-6)
    assert g_adversarial("ns", fake).item() == pytest.approx(sp(-fake).mean().item(), rel=1e-6)
    y = torch.full((3,), 0.9)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    assert d_adversarial("bce", real, fake, y, 1 - y).item() == pytest.approx(
        (bce(real, y) + bce(fake, 1 - y)).item(), rel=1e-6)


# ------------------------------------------------------------------------ R1 / mbstd
def test_r1_penalty_zero_for_constant_d_positive_otherwise():
    x = (torch.rand(4, 3, 32, 32) * 2 - 1).requires_grad_(True)
    constant = x.sum(dim=(1, 2, 3)) * 0 + 3.0
    assert r1_penalty(constant, x).item() == 0.0
    torch.manual_seed(0)
    D = Discriminator(32)
    x2 = x.detach().clone().requires_grad_(True)
    pen = r1_penalty(D(x2), x2)
    assert pen.item() > 0 and pen.requires_grad                       # differentiable for D
    pen.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())
    cfg = dataclasses.replace(TINY, r1=1.0, r1_every=4)
    assert [r1_due(cfg, s) for s in range(5)] == [True, False, False, False, True]
    assert not r1_due(TINY, 0)


def test_each_lever_trains_a_few_steps():
    for kw in (dict(loss="hinge"), dict(loss="ns"), dict(r1=1.0, r1_every=2), dict(mbstd=True),
               dict(upsample="resize_conv")):
        cfg = dataclasses.replace(TINY, **kw)
        torch.manual_seed(0)
        nets = families.build(TrainConfig(model="dcgan", latent_dim=16, image_size=32, spectral_norm=True, upsample=cfg.upsample, mbstd=cfg.mbstd))
        before = {k: [p.detach().clone() for p in n.parameters()] for k, n in nets.items()}
        opts = families.make_optimizers(cfg, nets)
        ctx = StepContext(cfg, torch.device("cpu"), "fp32", torch.Generator().manual_seed(0))
        x = torch.rand(8, 3, 32, 32) * 2 - 1
        for _ in range(2):
            out = families.get("dcgan").step(nets, opts, x, ctx)
        assert all(torch.isfinite(v) for v in out.values()), kw
        assert ctx.steps_done == 2
        for k, n in nets.items():
            assert any(not torch.equal(a, b) for a, b in zip(before[k], n.parameters())), (kw, k)


def test_minibatch_stddev():
    D = Discriminator(32, mbstd=True)
    assert D.kwargs["mbstd"] is True and "mbstd" not in Discriminator(32).kwargs
    assert D(torch.rand(6, 3, 32, 32)).shape == (6,)
    from pokegan.models.blocks import MinibatchStd
    same = torch.ones(4, 2, 3, 3)
    assert torch.allclose(MinibatchStd()(same)[:, 2], torch.full((4, 3, 3), 1e-4))
    varied = torch.arange(8.0).view(8, 1, 1, 1).expand(8, 2, 3, 3)
    y = MinibatchStd(group=4)(varied)[:, 2, 0, 0]             # groups {0,2,4,6} and {1,3,5,7}
    assert torch.allclose(y, torch.full((8,), torch.tensor([0.0, 2, 4, 6]).std(unbiased=False).item()),
                          atol=1e-4)


# ------------------------------------------------------------------------ lr step decay
def test_lr_drop_scales_every_role_after_its_epoch_and_resumes_bit_identically(tmp_path, images):
    cfg = dataclasses.replace(TINY, lr_d=0.0008, lr_drop_after=1, lr_drop=0.5)
    assert [lr_scale(cfg, e) for e in (1, 2, 3)] == [1.0, 0.5, 0.5]
    assert lr_scale(TINY, 10_000) == 1.0                       # 0 = never
    ref = run_tiny(tmp_path / "ref", images, cfg)
    run = tmp_path / "run"
    run_tiny(run, images, dataclasses.replace(cfg, epochs=2))
    run_tiny(run, images, cfg)                                          # resumes 2 -> 3
    ckpt = lambda folder, e: read_file(folder / "models" / "checkpoints" / f"epoch_{e:04d}.pt")
    for e, scale in ((1, 1.0), (2, 0.5), (3, 0.5)):
        opts = ckpt(tmp_path / "ref", e)["train"]["optimizers"]
        assert [g["lr"] for g in opts["G"]["param_groups"]] == [cfg.lr * scale]
        assert [g["lr"] for g in opts["D"]["param_groups"]] == [cfg.lr_d * scale]
    for role in ("G", "D"):
        assert same_state(ckpt(tmp_path / "ref", 3)["models"][role]["state_dict"],
                          ckpt(run, 3)["models"][role]["state_dict"])
    assert ref["final"]["lr_scale"] == 0.5
    # the first epoch is the same run as without the drop; the second is not
    plain = tmp_path / "plain"
    run_tiny(plain, images, dataclasses.replace(cfg, lr_drop_after=0, epochs=2))
    assert same_state(ckpt(plain, 1)["models"]["G"]["state_dict"],
                      ckpt(tmp_path / "ref", 1)["models"]["G"]["state_dict"])
    assert not same_state(ckpt(plain, 2)["models"]["G"]["state_dict"],
                          ckpt(tmp_path / "ref", 2)["models"]["G"]["state_dict"])
    assert "lr_scale" not in run_tiny(tmp_path / "off", images, TINY)["final"]
    with pytest.raises(ConfigError, match="lr_drop.*out of range"):
        _params(lr_drop=0.0)
    with pytest.raises(ConfigError, match="lr_drop_after.*out of range"):
        _params(lr_drop_after=-1)
