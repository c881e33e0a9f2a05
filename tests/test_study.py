"""study/ is the default pipeline at the study's scale: the same stages, word for word,
run on a params.yaml that differs from the default's only in the scale, in a DVC project of its
own so that the default `dvc status` / `dvc repro` never see its hours-long stages."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pokegan import config
from pokegan.plan import ARTWORKS

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "study"
# what the study's scale changes; precision: a run of hours may stop and resume on a machine of
# the other CPU class, and fp32 is the one precision every CPU computes natively
SCALE_KEYS = {("data", "sprites", "max_images"), ("eval", "samples"), ("variants",), ("precision",)}


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _without(params: dict, keys: set[tuple[str, ...]]) -> dict:
    out = yaml.safe_load(yaml.safe_dump(params))        # a deep copy
    for key in keys:
        node = out
        for part in key[:-1]:
            node = node[part]
        node.pop(key[-1])
    return out


def test_study_runs_the_default_pipelines_stages():
    assert _yaml(STUDY / "dvc.yaml")["stages"] == _yaml(ROOT / "dvc.yaml")["stages"], \
        "study/dvc.yaml: its stages: must be ../dvc.yaml's, word for word (copy them over)"
    for link in ("src", "stages"):                       # so each path reads as in ../dvc.yaml
        assert (STUDY / link).resolve() == (ROOT / link).resolve(), f"study/{link}"


def test_study_params_differ_from_the_default_only_in_scale():
    default, study = _yaml(ROOT / "params.yaml"), _yaml(STUDY / "params.yaml")
    assert _without(study, SCALE_KEYS) == _without(default, SCALE_KEYS), \
        "study/params.yaml: a key other than the scale differs from ../params.yaml (copy it over)"
    cfg = config.load(STUDY / "params.yaml")              # validates like the default
    assert cfg.data.sprites.max_images > 0 and cfg.train.precision == "fp32"
    shown = {}
    for name, v in cfg.variants.items():
        per_epoch = (cfg.data.sprites.max_images if v.dataset == "sprites"
                     else ARTWORKS * cfg.augment.copies) // v.batch_size * v.batch_size
        shown[name] = v.epochs * per_epoch
        assert v.epochs % v.checkpoint_every == 0 and v.epochs // v.checkpoint_every >= 8, \
            f"study/params.yaml: variants.{name}: a checkpoint every ~5-12% of the run"
    assert abs(shown["dcgan_sprites"] / shown["dcgan_artwork"] - 1) < 0.01   # the same images shown


@pytest.mark.slow
def test_the_default_pipeline_does_not_see_the_study():
    def names(cwd: Path) -> set[str]:
        out = subprocess.run([sys.executable, "-m", "dvc", "stage", "list", "--all", "--name-only"],
                             cwd=cwd, capture_output=True, text=True, timeout=120, check=True)
        return set(out.stdout.split())
    default = names(ROOT)
    assert "train@dcgan_artwork" in default
    assert not [n for n in default if "study" in n or "dcgan_sprites" in n], default
    assert "train@dcgan_sprites" in names(STUDY)
