"""group (dominant colour, mosaics, sizes) and augment (×3, mirror, seeded bytes, select),
and load_prepared — on a tiny raw folder built here."""
from __future__ import annotations

import copy
import hashlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from fixtures.fake_data import PARAMS_BASE
from pokegan import config
from pokegan.data import DataError, augment, grouping
from pokegan.data.prepared import PreparedDataMissing, load_prepared

COLOURS = {"blue": (40, 80, 210), "red": (215, 35, 35), "green": (50, 170, 60),
           "yellow": (245, 215, 50)}
TYPES = {"blue": ("water", ""), "red": ("fire", "flying"), "green": ("grass", "poison"),
         "yellow": ("electric", "")}


def blob(colour, size=64, outline=True):
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    d.ellipse((8, 12, 44, 56), fill=colour, outline=(0, 0, 0) if outline else None, width=2)
    d.rectangle((46, 4, 60, 10), fill=colour)  # asymmetric: mirroring changes the image
    return img


@pytest.fixture
def raw(tmp_path):
    root = tmp_path / "raw"
    rows, dex = [], []
    for ds, n in (("artwork", 3), ("sprites", 2)):
        (root / ds / "images").mkdir(parents=True)
        idx = []
        for i, (name, rgb) in enumerate(COLOURS.items()):
            for k in range(n):
                sid = str(10 * i + k + 1)
                f = f"images/{sid}.png"
                blob(rgb, 64 if ds == "artwork" else 40).save(root / ds / f)
                idx.append({"file": f, "pokedex_id": sid, "species_id": sid,
                            "species": f"mon{sid}", "form": "", "source": f"{sid}.x", "frame": ""})
                if ds == "artwork":
                    dex.append({"id": sid, "species": f"mon{sid}", "form": "",
                                "type1": TYPES[name][0], "type2": TYPES[name][1],
                                "generation": "1", "colour": name})
        pd.DataFrame(idx).to_csv(root / ds / "index.csv", index=False)
    pd.DataFrame(dex).to_csv(root / "pokedex.csv", index=False)
    return root


def cfg_with(**aug):
    raw = copy.deepcopy(PARAMS_BASE)
    raw["data"]["npm_integrity"] = "sha512-x"
    raw["augment"] = aug
    return config.parse(raw)


def test_dominant_colour_of_blobs():
    for name, rgb in COLOURS.items():
        got, mean = grouping.dominant_colour(np.asarray(blob(rgb)))
        assert got == name, (name, got)
        assert max(abs(a - b) for a, b in zip(mean, rgb)) < 20
    assert grouping.dominant_colour(np.full((8, 8, 3), 255, np.uint8))[0] == "white"
    grey = np.asarray(blob((128, 128, 128), outline=False))
    assert grouping.dominant_colour(grey)[0] == "gray"


def test_groups_and_plots(raw, tmp_path):
    g = grouping.build_groups(raw, 245)
    assert list(g.columns[:10]) == ["dataset", "file", "species_id", "species", "type1", "type2",
                                    "colour", "r", "g", "b"]
    assert len(g) == 4 * 3 + 4 * 2
    assert (g["colour"] == g["dex_colour"]).all()
    assert grouping.colour_agreement(g)["artwork"]["percent"] == 100.0
    assert set(g[g["dataset"] == "sprites"]["type1"]) == {"water", "fire", "grass", "electric"}
    out = tmp_path / "plots"
    out.mkdir()
    written = grouping.write_plots(g, raw, out, mosaic_tiles=2, min_group_size=3)
    assert {"mosaics/type_water.png", "mosaics/type_flying.png", "mosaics/colour_blue.png",
            "group_sizes.png"} <= set(written)
    assert not (out / "mosaics" / "colour_pink.png").exists()  # empty group: no mosaic
    mos = Image.open(out / "mosaics" / "type_water.png")
    assert mos.size[0] < 2 * 60 and mos.size[1] <= 60  # two 48-px tiles
    sizes = pd.read_csv(out / "group_sizes.csv")
    assert list(sizes.columns) == ["group_kind", "group", "count"]
    assert sizes.set_index(["group_kind", "group"]).loc[("type", "water"), "count"] == 3


def run_augment(raw, tmp_path, out_name="prepared", **aug):
    g = grouping.build_groups(raw, 245)
    gcsv = tmp_path / "groups.csv"
    g.to_csv(gcsv, index=False)
    out = tmp_path / out_name
    metas = augment.augment_all(cfg_with(**aug), raw, gcsv, out, log=lambda m: None)
    return out, metas


def test_augment_x3_mirror_and_reproducible(raw, tmp_path):
    out, metas = run_augment(raw, tmp_path)
    x, idx, meta = load_prepared("artwork", out)
    n = 12
    assert x.shape == (3 * n, 3, 32, 32) and x.dtype.__str__() == "torch.uint8"
    assert list(idx.columns) == augment.INDEX_COLUMNS
    assert list(idx["augmentation"]) == ["original"] * n + ["mirror"] * n + ["jitter"] * n
    a = x.numpy()
    assert np.array_equal(a[n:2 * n], a[:n, :, :, ::-1]) and not np.array_equal(a[n:2 * n], a[:n])
    assert not np.array_equal(a[2 * n:], a[:n])  # jittered
    assert meta["count"] == 3 * n and meta["copies"] == 3 and meta["image_size"] == 32
    assert meta["images_sha256"] == hashlib.sha256((out / "artwork" / "images.npy").read_bytes()).hexdigest()
    xs, sidx, smeta = load_prepared("sprites", out)
    assert xs.shape == (8, 3, 32, 32) and set(sidx["augmentation"]) == {"original"}
    assert smeta["copies"] == 1
    xo, oidx, _ = load_prepared("artwork", out, originals_only=True)
    assert xo.shape[0] == n and (oidx["augmentation"] == "original").all()
    out2, metas2 = run_augment(raw, tmp_path, "prepared2")
    assert (out / "artwork" / "images.npy").read_bytes() == (out2 / "artwork" / "images.npy").read_bytes()
    assert metas["artwork"]["fingerprint"] == metas2["artwork"]["fingerprint"]
    out3, metas3 = run_augment(raw, tmp_path, "prepared3", brightness=0.5)
    assert metas3["artwork"]["fingerprint"] != metas["artwork"]["fingerprint"]


def test_select_filter_and_error(raw, tmp_path):
    out, metas = run_augment(raw, tmp_path, select="type:water", copies=1)
    _, idx, meta = load_prepared("artwork", out)
    assert len(idx) == 3 and (idx["type1"] == "water").all() and meta["select"] == "type:water"
    out, _ = run_augment(raw, tmp_path, "p2", select="color:red")
    _, idx, _ = load_prepared("sprites", out)
    assert len(idx) == 2 and (idx["colour"] == "red").all()
    with pytest.raises(DataError, match=r"augment\.select.*type:dragon.*type:water"):
        run_augment(raw, tmp_path, "p3", select="type:dragon")
    assert not (tmp_path / "p3").exists()
    with pytest.raises(config.ConfigError, match=r"augment\.select"):
        cfg_with(select="shape:round")


def test_load_prepared_missing(tmp_path):
    with pytest.raises(PreparedDataMissing, match=r"images\.npy.*dvc repro augment"):
        load_prepared("artwork", tmp_path / "nothing")


def test_pixel_art_resize_is_nearest_when_enlarging():
    img = Image.fromarray(np.array([[[0, 0, 0], [255, 255, 255]]] * 2, dtype=np.uint8))
    big = np.asarray(augment.resize(img, 8, pixel_art=True))
    assert set(np.unique(big)) == {0, 255}
