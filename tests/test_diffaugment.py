import pytest
import torch

from pokegan import config
from pokegan.ops.diffaugment import cutout, diff_augment, parse_policy, translation


def _x(n=4, s=16, seed=0):
    return torch.rand(n, 3, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("policy", ["", "color", "translation", "cutout", "color,translation,cutout",
                                    "cutout, color"])
def test_shapes_kept_and_deterministic(policy):
    x = _x()
    a = diff_augment(x, policy, torch.Generator().manual_seed(1))
    b = diff_augment(x, policy, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b)
    if policy:
        assert not torch.equal(a, x)
        assert not torch.equal(a, diff_augment(x, policy, torch.Generator().manual_seed(2)))
    else:
        assert a is x or torch.equal(a, x)


def test_translation_moves_content_and_pads_with_zero():
    x = torch.full((2, 3, 16, 16), 0.5)
    x[:, :, 5, 5] = 1.0
    out = translation(x, None, shifts=torch.tensor([[2, -1], [0, 0]]))
    assert out[0, :, 7, 4].eq(1.0).all() and out[0, :, 5, 5].eq(0.5).all()
    assert out[0, :, :2, :].eq(0).all() and out[0, :, :, -1:].eq(0).all()   # vacated rows/cols
    assert out[0].eq(0).sum() == 3 * (2 * 16 + 1 * 16 - 2 * 1)
    assert torch.equal(out[1], x[1])


def test_translation_draws_shifts_within_an_eighth():
    x = torch.ones(64, 1, 16, 16)
    out = translation(x, torch.Generator().manual_seed(0))
    zero_rows = (out[:, 0].sum(dim=2) == 0).sum(dim=1)          # fully vacated rows per image
    assert zero_rows.max() == 2 and zero_rows.min() == 0          # r = 16/8 = 2


def test_cutout_zeroes_a_half_size_square():
    x = torch.ones(2, 3, 16, 16)
    out = cutout(x, None, centres=torch.tensor([[8, 8], [0, 15]]))
    assert out[0, 0].eq(0).sum() == 8 * 8
    assert out[0, :, 4:12, 4:12].eq(0).all()
    assert out[1, 0].eq(0).sum() == 4 * 5       # rows -4..3, cols 11..18: clipped at the corner
    drawn = cutout(torch.ones(32, 1, 16, 16), torch.Generator().manual_seed(0))
    assert drawn.eq(0).flatten(1).sum(1).max() == 64


def test_color_is_per_image():
    x = _x(8)
    out = diff_augment(x, "color", torch.Generator().manual_seed(0))
    shift = (out - x).mean(dim=(1, 2, 3))
    assert shift.unique().numel() == 8


def test_gradients_flow():
    x = _x().requires_grad_()
    diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(0)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_policy_typo_names_allowed_values():
    assert parse_policy("color, cutout") == ("color", "cutout")
    with pytest.raises(ValueError, match="allowed values.*color, translation, cutout.*did you mean 'color'"):
        parse_policy("colour,cutout")
    raw = config.yaml.safe_load(open("params.yaml"))
    raw["variants"]["dcgan_artwork"]["diffaugment"] = "translation,cutot"
    with pytest.raises(config.ConfigError) as err:
        config.parse(raw)
    assert str(err.value).startswith("variants.dcgan_artwork.diffaugment:")
    raw["variants"]["dcgan_artwork"]["diffaugment"] = "translation,cutout"
    assert config.parse(raw).variant("dcgan_artwork").diffaugment == "translation,cutout"
    raw["diffaugment"] = "flip"
    with pytest.raises(config.ConfigError, match="^diffaugment:"):
        config.parse(raw)
