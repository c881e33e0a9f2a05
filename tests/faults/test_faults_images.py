"""Bad images in a `folder` source, through the download stage: each decoded or skipped with its
reason in the manifest, the totals add up; plus a small fuzz of truncated / bit-flipped files
straight into decode_image (only a clean image or BadImage may come out)."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from fixtures.bad_images import build_bad_folder
from fixtures.fake_data import noise, png_bytes
from fixtures.project import make_project, params, run_inprocess, write_params
from pokegan.data.images import BadImage, decode_image

KIND_NAMES = {
    "good.png": "good RGB PNG", "sub/wide.jpg": "non-square JPEG in a subfolder",
    "sub/good_copy.png": "exact duplicate of another file", "empty.png": "zero-byte file",
    "truncated.png": "truncated PNG", "truncated.jpg": "truncated JPEG",
    "text.png": "text file named .png", "cmyk.jpg": "CMYK JPEG", "grey16.png": "16-bit PNG",
    "grey.png": "greyscale PNG", "palette_transparent.png": "palette PNG with transparency",
    "tiny.png": "1x1 image", "bomb.png": "20000x20000 PNG header (bomb)",
    "anim.gif": "animated GIF", "alpha.png": "RGBA with transparent border",
    "dangling.png": "symlink to a missing file",
}


def _animated_gif_cut_after_first_frame() -> bytes:
    frames = [noise((40, 48), 7), noise((40, 48), 8)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    data = buf.getvalue()
    for cut in range(len(data) // 3, len(data)):  # the first cut at which PIL's is_animated breaks
        try:
            with Image.open(io.BytesIO(data[:cut])) as im:
                im.is_animated  # noqa: B018
        except IndexError:
            return data[:cut]
        except Exception:
            continue
    raise AssertionError("no cut of the GIF breaks is_animated any more")


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims width×height."""
    buf = io.BytesIO()
    noise((16, 16), 9).save(buf, format="JPEG", quality=80)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 7] = height.to_bytes(2, "big")
    data[sof + 7:sof + 9] = width.to_bytes(2, "big")
    return bytes(data)


def add_more_bad_files(d) -> dict[str, tuple[str, str]]:
    """Kinds beyond build_bad_folder: {name: (description, expected outcome)}."""
    (d / "png_named.jpg").write_bytes(png_bytes(noise((36, 36), 10)))
    (d / "anim_cut.gif").write_bytes(_animated_gif_cut_after_first_frame())
    (d / "broken.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><rect")
    full = bytearray(png_bytes(noise((40, 40), 11)))
    full[len(full) // 2] ^= 0xFF  # corrupt the IDAT data (CRC mismatch)
    (d / "bitflip.png").write_bytes(bytes(full))
    (d / "huge_header.jpg").write_bytes(_jpeg_claiming(60000, 60000))
    Image.new("1", (24, 24), 1).save(d / "onebit.png")
    (d / "plain.bmp").write_bytes(_bmp(noise((20, 20), 12)))
    return {
        "png_named.jpg": ("PNG bytes named .jpg", "ok"),
        "anim_cut.gif": ("animated GIF cut after its first frame", "truncated or corrupt"),
        "broken.svg": ("malformed SVG", "SVG could not be rendered"),
        "bitflip.png": ("PNG with a flipped byte (bad CRC)", "corrupt"),
        "huge_header.jpg": ("JPEG header claiming 60000x60000", "too large"),
        "onebit.png": ("1-bit PNG", "ok"),
        "plain.bmp": ("BMP", "ok"),
    }


def _bmp(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="BMP")
    return buf.getvalue()


def test_folder_of_bad_images(tmp_path, monkeypatch, faults):
    folder = tmp_path / "images"
    expected = {k: (KIND_NAMES[k], v) for k, v in build_bad_folder(folder).items()}
    expected.update(add_more_bad_files(folder))
    rows = {name: faults.tried("bad-input", f"{desc} ({name})")
            for name, (desc, _) in expected.items()}
    root = make_project(tmp_path / "p")
    p = params()
    p["data"] = {"source": "folder", "folder": str(folder), "render_size": 32, "min_images": 3}
    p["variants"]["tiny"]["dataset"] = "custom"
    write_params(root, p)

    rc, out, err, _ = run_inprocess(root, "download", monkeypatch=monkeypatch)
    assert rc == 0, out + err
    ds = json.loads((root / "data/raw/manifest.json").read_text())["datasets"]["custom"]
    reasons = {s["file"]: s["reason"] for s in ds["skipped"]}
    with open(root / "data/raw/custom/index.csv", newline="") as fh:
        index = list(csv.DictReader(fh))
    used = {r["file"]: r["source"] for r in index}
    sources_used = set(used.values())
    bad = []
    for name, (desc, outcome) in expected.items():
        if outcome == "ok":
            ok = name in sources_used and name not in reasons
            if ok:
                out_file = next(f for f, s in used.items() if s == name)
                with Image.open(root / "data/raw/custom" / out_file) as im:
                    ok = im.mode == "RGB" and im.size == (32, 32)
            rows[name].check(ok, "decoded to 32x32 RGB" if ok else f"not used: {reasons.get(name)}")
        else:
            reason = reasons.get(name, "")
            ok = outcome in reason and name not in sources_used
            rows[name].check(ok, f"skipped: {reason[:110]}" if reason else "NOT skipped")
        if not rows[name].ok:
            bad.append(name)
    c = ds["counts"]
    assert not bad, {n: rows[n].happened for n in bad}
    assert c["found"] == len(expected) == c["used"] + c["skipped"]
    assert c["used"] == len(index) == sum(o == "ok" for _, o in expected.values())
    assert c["skipped"] == len(ds["skipped"])
    assert "Traceback" not in out + err


def _fuzz_cases(rng) -> list[tuple[str, bytes]]:
    img = noise((40, 48), 3)
    samples = []
    for fmt, ext, kw in (("PNG", ".png", {}), ("JPEG", ".jpg", {"progressive": True}),
                         ("GIF", ".gif", {"save_all": True, "append_images": [noise((40, 48), 4)]}),
                         ("WEBP", ".webp", {}), ("TIFF", ".tif", {"compression": "tiff_lzw"}),
                         ("BMP", ".bmp", {})):
        buf = io.BytesIO()
        img.save(buf, format=fmt, **kw)
        samples.append((ext, buf.getvalue()))
    cases = []
    for ext, data in samples:
        for cut in np.unique(np.linspace(1, len(data) - 1, 40).astype(int)):
            cases.append((ext, data[:cut]))
        for _ in range(25):
            b = bytearray(data)
            for i in rng.integers(0, len(b), rng.integers(1, 5)):
                b[i] = int(rng.integers(0, 256))
            cases.append((ext, bytes(b)))
    return cases


@pytest.mark.filterwarnings("ignore::UserWarning")  # PIL's "Truncated File Read" and the like
def test_fuzzed_files_are_decoded_or_skipped(tmp_path, faults):
    rng = np.random.default_rng(0)
    cases = _fuzz_cases(rng)
    row = faults.tried("bad-input", f"{len(cases)} truncated/bit-flipped PNG/JPEG/GIF/WebP/TIFF/BMP")
    escaped = []
    decoded = skipped = 0
    for i, (ext, data) in enumerate(cases):
        path = tmp_path / f"f{i}{ext}"
        path.write_bytes(data)
        try:
            img = decode_image(path)
            assert img.mode == "RGB"
            decoded += 1
        except BadImage as exc:
            assert exc.reason
            skipped += 1
        except Exception as exc:  # anything else would stop the download stage
            escaped.append(f"{path.name}: {type(exc).__name__}: {exc}")
        path.unlink()
    row.check(not escaped, f"{decoded} decoded, {skipped} skipped with a reason, "
                           f"{len(escaped)} escaped" + (f" ({escaped[0]})" if escaped else ""))
    assert not escaped, escaped[:5]
