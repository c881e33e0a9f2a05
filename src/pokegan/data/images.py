"""Image decoding for every source: robust decoding, SVG rasterising, GIF frames, padding.

All images leave this module as 8-bit RGB with any transparency flattened on white (the
study's images are Pokémon on a white background), so later stages never see a mode zoo.

:func:`decode_image` is the one entry point for arbitrary files (folder / Kaggle sources and
``pokegan fid`` on a folder): it either returns a clean RGB image or raises :class:`BadImage`
with a short human reason, which callers record instead of crashing.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import struct
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from pokegan.data import DataError

WHITE = (255, 255, 255)
MIN_SIDE = 8  # smaller images (1×1 tracking pixels, icons) carry no Pokémon
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".svg")
MAX_PIXELS = 40_000_000  # data.max_pixels' default
# An animated GIF decodes every frame at the full canvas: its frames together get the pixel
# budget of one image, and a frame count cap bounds the per-frame work on tiny canvases.
MAX_GIF_FRAMES = 10_000


class BadImage(DataError):
    """A file that cannot be used as an image; ``reason`` is short and human-readable."""

    def __init__(self, reason: str, path: str | Path | None = None):
        self.reason = reason
        self.path = None if path is None else str(path)
        super().__init__(f"{path}: {reason}" if path is not None else reason)


# --------------------------------------------------------------------------- conversion
def flatten_on_white(img: Image.Image) -> Image.Image:
    """Any PIL mode → 8-bit RGB; transparency (alpha, palette or tRNS) composited on white."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale PNGs open as I;16 / I: scale 0..65535 to 0..255 (PIL's own
        # convert('L') clips instead of scaling, which turns most of the image white).
        arr = np.asarray(img, dtype=np.uint32 if mode == "I" else np.uint16).astype(np.float64)
        hi = 65535.0 if arr.max(initial=0) > 255 else 255.0
        grey = np.clip(np.rint(arr * (255.0 / hi)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        hi = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
        grey = np.clip(np.rint(arr * (255.0 / hi)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if not has_alpha:
        return img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV, RGB
    rgba = np.asarray(img.convert("RGBA"))
    return Image.fromarray(composite_on_white(rgba), "RGB")


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """H×W×4 uint8 → H×W×3 uint8 over a white background (rounded, exact for 0 and 255)."""
    alpha = rgba[..., 3:4].astype(np.uint16)
    rgb = rgba[..., :3].astype(np.uint16)
    out = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


def pad_to_square(img: Image.Image, fill=WHITE, max_pixels: int | None = None) -> Image.Image:
    """Centre ``img`` on a square canvas of its longer side (no scaling).

    With ``max_pixels``, an image whose square canvas would exceed it raises :class:`BadImage`:
    a panorama under the budget (60000x300) would otherwise allocate a 60000² canvas."""
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    if max_pixels is not None:
        check_square(w, h, max_pixels)
    canvas = Image.new("RGB", (side, side), fill)
    canvas.paste(img, ((side - w) // 2, (side - h) // 2))
    return canvas


def check_square(w: int, h: int, max_pixels: int) -> None:
    """:class:`BadImage` when the square canvas of a w×h image would exceed ``max_pixels``."""
    side = max(w, h)
    if side * side > max_pixels:
        raise BadImage(f"too elongated ({w}x{h}: its {side}x{side} square canvas has "
                       f"{side * side} pixels > data.max_pixels {max_pixels})")


def pixel_hash(img: Image.Image) -> str:
    """Hash of the decoded pixels (size + RGB bytes): identical-looking frames hash alike."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{img.size[0]}x{img.size[1]}".encode())
    h.update(img.tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- decoding
def decode_image(path: str | Path, max_pixels: int = MAX_PIXELS, min_side: int = MIN_SIDE
                 ) -> Image.Image:
    """Open any image file as RGB on white, or raise :class:`BadImage` saying why.

    Handles: zero-byte and non-image files, truncated PNG/JPEG, CMYK JPEG, 16-bit PNG,
    greyscale, palette with transparency, animated GIF/PNG/WebP (first frame), SVG
    (rasterised), broken symlinks, tiny images (< ``min_side``) and images larger than
    ``max_pixels`` (rejected from the header, before any pixel is decoded).
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise BadImage("broken symbolic link (target missing)", path)
    if not path.exists():
        raise BadImage("file not found", path)
    if not path.is_file():
        raise BadImage("not a regular file", path)
    size = path.stat().st_size
    if size == 0:
        raise BadImage("empty file (0 bytes)", path)
    if path.suffix.lower() == ".svg":
        try:
            return render_svg(path, 256, max_pixels, min_side)
        except BadImage as exc:
            raise BadImage(exc.reason, path) from None
    with warnings.catch_warnings():
        # our own size check (max_pixels, from the header) decides, not PIL's warning
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = open_within(path, max_pixels)
        except UnidentifiedImageError:
            raise BadImage("not a recognised image format", path) from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise BadImage(f"truncated or unreadable image header ({exc})", path) from None
        try:
            w, h = img.size
            if w * h > max_pixels:
                raise BadImage(f"too large ({w}x{h} = {w * h} pixels > data.max_pixels "
                               f"{max_pixels}; skipped before decoding)", path)
            if min(w, h) < min_side:
                raise BadImage(f"too small ({w}x{h}; need at least {min_side} px a side)", path)
            try:
                # is_animated reads ahead to the second frame: a GIF cut after its first frame
                # fails here (IndexError inside PIL), as other plugins fail in their own ways
                if getattr(img, "is_animated", False):
                    img.seek(0)  # animated GIF/PNG/WebP: the first frame
                img.load()
                return flatten_on_white(img)
            except (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError,
                    struct.error, ZeroDivisionError, MemoryError) as exc:
                raise BadImage(f"truncated or corrupt image data ({type(exc).__name__}: {exc})",
                               path) from None
        finally:
            img.close()


def open_within(path: str | Path, max_pixels: int) -> Image.Image:
    """``Image.open`` with PIL's global bomb limit (which raises at open beyond twice its value)
    following ``max_pixels`` while the header is read; a bomb raises :class:`BadImage`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max(int(max_pixels), 1)
        try:
            return Image.open(path)
        except Image.DecompressionBombError:
            raise BadImage(f"too large (over data.max_pixels {max_pixels}; skipped before "
                           "decoding)", path) from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved_limit


# --------------------------------------------------------------------------- SVG
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# embedded rasters the renderer decodes itself; any other href (a path, a URL, a nested SVG)
# would make it read outside the SVG
_EMBEDDED_RASTER = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp)\s*;\s*base64\s*,(.*)$",
                              re.IGNORECASE | re.DOTALL)


def safe_svg_text(path: str | Path, max_pixels: int = MAX_PIXELS) -> str:
    """The SVG at ``path`` re-serialised for the renderer, or :class:`BadImage` saying why not.

    The renderer resolves ``href``s to files (relative to the working directory, or absolute)
    and would paste any image it finds there into ours. So the file is parsed here (expat:
    no external entities, bounded entity expansion), every ``href`` must be an ``#id`` or an
    embedded PNG/JPEG/GIF/WebP within ``max_pixels``, and the renderer gets our serialisation,
    never the original text with its DTD.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise BadImage(f"SVG could not be rendered (not well-formed XML: {exc})", path) from None
    except (OSError, ValueError) as exc:
        raise BadImage(f"SVG could not be rendered (unreadable: {exc})", path) from None
    for el in root.iter():
        for attr in ("href", _XLINK_HREF):
            href = (el.get(attr) or "").strip()
            if not href or href.startswith("#"):
                continue
            embedded = _EMBEDDED_RASTER.match(href)
            if embedded is None:
                shown = href if len(href) <= 80 else href[:77] + "..."
                raise BadImage(f"SVG links to {shown!r} outside itself; only #references and "
                               "embedded PNG/JPEG/GIF/WebP images are rendered", path)
            _check_embedded(embedded.group(2), max_pixels, path)
    return ET.tostring(root, encoding="unicode")


def _check_embedded(b64: str, max_pixels: int, path) -> None:
    """An embedded raster's size from its header, before the renderer decodes it."""
    try:
        data = base64.b64decode("".join(b64.split()), validate=True)
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
    except (binascii.Error, ValueError, OSError, Image.DecompressionBombError) as exc:
        raise BadImage(f"SVG embeds an unreadable image ({type(exc).__name__})", path) from None
    if w * h > max_pixels:
        raise BadImage(f"SVG embeds a {w}x{h} image ({w * h} pixels > data.max_pixels "
                       f"{max_pixels})", path)


def render_svg(path: str | Path, size: int, max_pixels: int = MAX_PIXELS,
               min_side: int = MIN_SIDE) -> Image.Image:
    """Rasterise an SVG on white so that its longer side is ``size``; then pad to a square.

    The first render fits the SVG in a ``size``×``size`` box, so no declared width or height
    can make the renderer allocate more than about ``size``² pixels; only when rounding makes
    it a pixel too tall is it rendered again to the height (byte-identical to fitting the
    width first, then the height). What the SVG may reference: :func:`safe_svg_text`.
    """
    import resvg_py

    text = safe_svg_text(path, max_pixels)
    try:
        png = resvg_py.svg_to_bytes(svg_string=text, background="#ffffff", width=size,
                                    height=size)
        img = Image.open(io.BytesIO(png))
        if img.size[1] > size:  # taller than the box by rounding: fit the height instead
            png = resvg_py.svg_to_bytes(svg_string=text, background="#ffffff", height=size)
            img = Image.open(io.BytesIO(png))
        img.load()
    except (ValueError, OSError) as exc:
        raise BadImage(f"SVG could not be rendered ({exc})", path) from None
    if min(img.size) < min_side:
        raise BadImage(f"too elongated (rendered at {size} px it is {img.size[0]}x{img.size[1]}; "
                       f"need at least {min_side} px a side)", path)
    img = flatten_on_white(img)
    img = pad_to_square(img)
    if img.size != (size, size):  # rounding of the fitted side (e.g. 255 or 257 px)
        img = img.resize((size, size), Image.LANCZOS)
    return img


# --------------------------------------------------------------------------- GIF frames
def gif_frames(path: str | Path, max_pixels: int = MAX_PIXELS,
               max_frames: int = MAX_GIF_FRAMES) -> Iterator[Image.Image]:
    """Yield every frame of an animated GIF as RGB on white, at the GIF's canvas size.

    PIL composes each frame with the previous one according to the GIF disposal method, so
    a frame is the picture as shown, not the raw (partial) frame rectangle. Raises
    :class:`BadImage` before decoding a frame that would take all frames together past
    ``max_pixels`` (each frame is a full canvas) or past ``max_frames`` frames.
    """
    with open_within(path, max_pixels) as im:
        w, h = im.size
        if w * h > max_pixels:
            raise BadImage(f"too large ({w}x{h} = {w * h} pixels > data.max_pixels "
                           f"{max_pixels}; skipped before decoding)", path)
        for i, frame in enumerate(ImageSequence.Iterator(im)):
            if i >= max_frames or (i + 1) * w * h > max_pixels:
                raise BadImage(f"too many frames (more than {i} of {w}x{h}; at most "
                               f"{max_frames} frames and data.max_pixels {max_pixels} pixels "
                               "in all)", path)
            yield Image.fromarray(composite_on_white(np.asarray(frame.convert("RGBA"))), "RGB")

