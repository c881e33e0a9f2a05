"""decode_image and the folder source on a folder of bad files: each handled, every skip
listed with its reason, totals add up."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from PIL import Image

from fixtures.bad_images import build_bad_folder
from fixtures.fake_data import PARAMS_BASE
from pokegan import config
from pokegan.data import DataError, sources
from pokegan.data.images import BadImage, decode_image, flatten_on_white, pad_to_square


def test_decode_image_conversions(tmp_path):
    build_bad_folder(tmp_path / "f")
    f = tmp_path / "f"
    cmyk = np.asarray(decode_image(f / "cmyk.jpg"))
    assert cmyk.shape == (32, 32, 3) and cmyk[..., 0].mean() > 200 and cmyk[..., 1].mean() < 60
    g16 = np.asarray(decode_image(f / "grey16.png"))
    assert abs(int(g16[0, 0, 0]) - 128) <= 1 and (g16[0, 0] == g16[0, 0, 0]).all()
    pal = np.asarray(decode_image(f / "palette_transparent.png"))
    assert (pal[0, 0] == 255).all() and tuple(pal[16, 16]) == (200, 0, 0)
    alpha = np.asarray(decode_image(f / "alpha.png"))
    assert (alpha[0, 0] == 255).all() and tuple(alpha[16, 16]) == (0, 0, 255)
    assert tuple(np.asarray(decode_image(f / "anim.gif"))[5, 5]) == (250, 120, 0)  # first frame
    assert decode_image(f / "grey.png").mode == "RGB"
    with pytest.raises(BadImage, match="too large"):
        decode_image(f / "bomb.png", max_pixels=40_000_000)
    # a big but allowed image size is accepted by the header check (then fails on its data)
    with pytest.raises(BadImage) as exc:
        decode_image(f / "bomb.png", max_pixels=500_000_000)
    assert "too large" not in exc.value.reason


def test_pad_to_square_centres_on_white():
    img = pad_to_square(Image.new("RGB", (10, 4), (0, 0, 0)))
    a = np.asarray(img)
    assert img.size == (10, 10) and (a[0] == 255).all() and (a[3:7] == 0).all()
    la = flatten_on_white(Image.new("LA", (4, 4), (0, 0)))
    assert (np.asarray(la) == 255).all()


def test_folder_source_handles_every_bad_file(tmp_path, monkeypatch):
    expected = build_bad_folder(tmp_path / "in")
    types = tmp_path / "types.csv"
    types.write_text("File,Type1,Type2\ngood,Water,\nwide.jpg,Fire,Flying\n")
    raw = copy.deepcopy(PARAMS_BASE)
    raw["data"] = {"source": "folder", "folder": str(tmp_path / "in"),
                   "folder_types_csv": str(types), "render_size": 32, "min_images": 3}
    cfg = config.parse(raw)
    out = tmp_path / "raw"
    logs = []
    sources.download(cfg, out, log=logs.append)
    m = json.loads((out / "manifest.json").read_text())
    ds = m["datasets"]["custom"]
    c = ds["counts"]
    assert c["found"] == len(expected) and c["found"] == c["used"] + c["skipped"]
    assert c["ignored_non_image_files"] == 1 and c["duplicates_removed"] == 1
    reasons = {s["file"]: s["reason"] for s in ds["skipped"]}
    for name, outcome in expected.items():
        if outcome == "ok":
            assert name not in reasons, (name, reasons.get(name))
        else:
            assert outcome in reasons[name], (name, reasons.get(name))
    assert c["used"] == sum(v == "ok" for v in expected.values())
    assert any("bomb.png" in line for line in logs)
    idx = (out / "custom" / "index.csv").read_text().splitlines()
    assert len(idx) == c["used"] + 1
    for p in (out / "custom" / "images").iterdir():
        assert Image.open(p).size == (32, 32)
    dex = (out / "pokedex.csv").read_text()
    assert "good.png,good,,water," in dex and "sub/wide.jpg,wide,,fire,flying" in dex


def test_folder_source_too_few_images(tmp_path):
    build_bad_folder(tmp_path / "in")
    raw = copy.deepcopy(PARAMS_BASE)
    raw["data"] = {"source": "folder", "folder": str(tmp_path / "in"), "min_images": 100}
    with pytest.raises(DataError, match=r"data\.min_images"):
        sources.download(config.parse(raw), tmp_path / "raw", log=lambda m: None)
    assert not (tmp_path / "raw").exists()
