"""Bad params: each fails before any work — nothing written, in seconds — with a message naming
the key and the values it accepts, and no traceback."""
from __future__ import annotations

import pytest

from fixtures.project import make_project, params, run_inprocess, tree, write_params

GROUPS_CSV = ("dataset,file,species_id,species,type1,type2,colour\n"
              + "".join(f"artwork,images/{i}.png,{i},mon{i},{('water', 'fire')[i % 2]},,blue\n"
                        for i in range(8)))


def _variant(**kw):
    def change(p):
        p["variants"]["tiny"].update(kw)
    return change


def _top(**kw):
    def change(p):
        p.update(kw)
    return change


def _variants(**names):
    """Variants of these names, each a copy of `tiny`."""
    def change(p):
        p["variants"].update({n: dict(p["variants"]["tiny"]) for n in names})
    return change


def _augment(**kw):
    def change(p):
        p["augment"].update(kw)
    return change


# id, what was tried, change to params, stage + args, texts the message must hold
CASES = [
    ("lr-zero", "lr: 0 (top level)", _top(lr=0), ("train", "tiny"),
     ["lr", "out of range", "> 0"]),
    ("lr-negative", "variants.tiny.lr: -0.001", _variant(lr=-0.001), ("train", "tiny"),
     ["variants.tiny.lr", "> 0"]),
    ("batch-too-big", "variants.tiny.batch_size 64 > 16 images", _variant(batch_size=64),
     ("train", "tiny"), ["variants.tiny.batch_size", "16 images", "1 to 16"]),
    ("unknown-key", "variants.tiny.learning_rate (unknown key)", _variant(learning_rate=0.1),
     ("train", "tiny"), ["variants.tiny.learning_rate", "unknown key", "allowed keys", "lr"]),
    ("unknown-model", "variants.tiny.model: stylegan", _variant(model="stylegan"),
     ("train", "tiny"), ["variants.tiny.model", "stylegan", "dcgan", "aegan"]),
    ("image-size", "image_size: 48 (architecture needs 32/64/128)", _top(image_size=48),
     ("train", "tiny"), ["image_size", "48", "32, 64, 128"]),
    ("kernel-size", "kernel_size: 5", _top(kernel_size=5), ("train", "tiny"),
     ["kernel_size", "4"]),
    ("diffaugment-typo", "variants.tiny.diffaugment: 'color,translaton'",
     _variant(diffaugment="color,translaton"), ("train", "tiny"),
     ["variants.tiny.diffaugment", "translaton", "color, translation, cutout",
      "did you mean 'translation'"]),
    ("unknown-variant", "`train.py tiyn` (no such variant)", None, ("train", "tiyn"),
     ["unknown variant 'tiyn'", "tiny"]),
    ("checkpoint-every", "variants.tiny.checkpoint_every 5 > epochs 3",
     _variant(checkpoint_every=5), ("train", "tiny"), ["variants.tiny.checkpoint_every", "epochs"]),
    ("select-no-match", "augment.select: type:dragon (matches no image)",
     _augment(select="type:dragon"), ("augment",),
     ["augment.select", "type:dragon", "matches no image", "type:fire", "type:water"]),
    ("select-syntax", "augment.select: 'kind:water'", _augment(select="kind:water"),
     ("augment",), ["augment.select", "'all'", "type:<type>", "colour:<colour>"]),
    ("eval-samples", "eval.samples: 1", lambda p: p["eval"].update(samples=1),
     ("evaluate", "tiny"), ["eval.samples", ">= 2"]),
    ("beta1-one", "beta1: 1.0 (Adam needs < 1)", _top(beta1=1.0), ("train", "tiny"),
     ["beta1", "1.0", "< 1.0"]),
    ("beta2-one", "variants.tiny.beta2: 1.0", _variant(beta2=1.0), ("train", "tiny"),
     ["variants.tiny.beta2", "< 1.0"]),
    ("variant-best", "variant named best (models/best/ is every variant's best G)",
     _variants(best=True), ("train", "best"), ["variants.best", "reserved", "models/best/"]),
    ("variant-dotdot", "variant named ../escape (outside models/)",
     _variants(**{"../escape": True}), ("train", "../escape"),
     ["variants.../escape", "not allowed as a variant name"]),
    ("variant-slash", "variant named a/b", _variants(**{"a/b": True}), ("train", "a/b"),
     ["variants.a/b", "not allowed as a variant name"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_param_fails_before_any_work(case, tmp_path, monkeypatch, faults):
    _, what, change, (stage, *args), texts = case
    row = faults.tried("bad-param", what)
    root = make_project(tmp_path / "p", prepared=True)
    (root / "data" / "groups").mkdir(parents=True)
    (root / "data" / "groups" / "groups.csv").write_text(GROUPS_CSV)
    p = params()
    if change is not None:
        change(p)
    write_params(root, p)
    before = tree(root)

    rc, out, err, seconds = run_inprocess(root, stage, *args, monkeypatch=monkeypatch)

    message = (out + err).strip()
    assert rc not in (0, "traceback"), f"rc {rc}: {message}"
    assert "Traceback" not in message, message
    for text in texts:
        assert text in message, f"{text!r} not in: {message}"
    assert tree(root) == before, "a failed stage wrote something"
    assert seconds < 20, f"took {seconds:.1f} s before failing"
    row.done(f"exit {rc} in {seconds:.1f} s, nothing written: "
             f"{message.splitlines()[-1][:150]}")
