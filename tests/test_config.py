import pytest
import yaml

from pokegan import config
from pokegan.config import ConfigError


def _params():
    return yaml.safe_load(open("params.yaml"))


def test_repository_params_are_valid():
    cfg = config.load()
    assert set(cfg.variants) >= {"dcgan_artwork", "aegan_artwork", "best_artwork"}
    assert cfg.variant("aegan_artwork").lr_d == 0.0001


def test_top_level_lr_reaches_every_variant_without_own_lr():
    raw = _params()
    raw["lr"] = 0.0001
    cfg = config.parse(raw)
    for name, v in cfg.variants.items():
        if "lr" not in (raw["variants"][name] or {}):
            assert v.lr == 0.0001, name


@pytest.mark.parametrize("mutate, key", [
    (lambda r: r.update(lr=-1), "lr"),
    (lambda r: r.update(lr=0), "lr"),
    (lambda r: r.update(batch_size="big"), "batch_size"),
    (lambda r: r.update(learning_rate=0.1), "learning_rate"),
    (lambda r: r["variants"]["dcgan_artwork"].update(model="vae"), "variants.dcgan_artwork.model"),
    (lambda r: r["variants"]["dcgan_artwork"].update(dataset="anime"), "variants.dcgan_artwork.dataset"),
    (lambda r: r["variants"]["dcgan_artwork"].update(colour=1), "variants.dcgan_artwork.colour"),
    (lambda r: r.update(image_size=48), "image_size"),
    (lambda r: r["data"].update(source="ftp"), "data.source"),
    (lambda r: r["augment"].update(select="kind:water"), "augment.select"),
    (lambda r: r["eval"].update(samples=0), "eval.samples"),
])
def test_bad_values_name_the_key(mutate, key):
    raw = _params()
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        config.parse(raw)
    assert str(err.value).startswith(key + ":"), str(err.value)


def test_unknown_key_suggests_the_close_one():
    raw = _params()
    raw["batchsize"] = 8
    with pytest.raises(ConfigError, match="did you mean 'batch_size'"):
        config.parse(raw)


def test_unknown_variant_lists_the_defined_ones():
    cfg = config.load()
    with pytest.raises(ConfigError, match="dcgan_artwork"):
        cfg.variant("dcgan_artwrk")
