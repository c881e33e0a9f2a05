"""Image decoding for every source: robust decoding, SVG rasterising, GIF frames, padding.

All images leave this module as 8-bit RGB with any transparency flattened on white (the
study's images are Pokémon on a white background), so later stages never see a mode zoo.

:func:`decode_image` is the one entry point for arbitrary files (folder / Kaggle sources and
``pokegan fid`` on a folder): it either returns a clean RGB image or raises :class:`BadImage`
with a short human reason, which callers record instead of crashing.
"""
from __future__ import annotations

import hashlib
import io
import struct
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from pokegan.data import DataError

WHITE = (255, 255, 255)
MIN_SIDE = 8  # smaller images (1×1 tracking pixels, icons) carry no Pokémon
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".svg")


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


def pad_to_square(img: Image.Image, fill=WHITE) -> Image.Image:
    """Centre ``img`` on a square canvas of its longer side (no scaling)."""
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    canvas = Image.new("RGB", (side, side), fill)
    canvas.paste(img, ((side - w) // 2, (side - h) // 2))
    return canvas


def pixel_hash(img: Image.Image) -> str:
    """Hash of the decoded pixels (size + RGB bytes): identical-looking frames hash alike."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{img.size[0]}x{img.size[1]}".encode())
    h.update(img.tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- decoding
def decode_image(path: str | Path, max_pixels: int = 40_000_000, min_side: int = MIN_SIDE
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
            return render_svg(path, 256)
        except BadImage as exc:
            raise BadImage(exc.reason, path) from None
    with warnings.catch_warnings():
        # we do our own size check (max_pixels, from the header); PIL's global bomb limit
        # (which raises at open beyond twice its value) follows ours while we open the file
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max(int(max_pixels), 1)
        try:
            img = Image.open(path)
        except Image.DecompressionBombError:
            raise BadImage(f"too large (over data.max_pixels {max_pixels}; skipped before "
                           "decoding)", path) from None
        except UnidentifiedImageError:
            raise BadImage("not a recognised image format", path) from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise BadImage(f"truncated or unreadable image header ({exc})", path) from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved_limit
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


# --------------------------------------------------------------------------- SVG
def render_svg(path: str | Path, size: int) -> Image.Image:
    """Rasterise an SVG on white so that its longer side is ``size``; then pad to a square."""
    import resvg_py

    path = str(path)
    try:
        png = resvg_py.svg_to_bytes(svg_path=path, background="#ffffff", width=size)
        img = Image.open(io.BytesIO(png))
        if img.size[1] > size:  # taller than wide: fit the height instead
            png = resvg_py.svg_to_bytes(svg_path=path, background="#ffffff", height=size)
            img = Image.open(io.BytesIO(png))
        img.load()
    except (ValueError, OSError) as exc:
        raise BadImage(f"SVG could not be rendered ({exc})", path) from None
    img = flatten_on_white(img)
    img = pad_to_square(img)
    if img.size != (size, size):  # rounding of the fitted side (e.g. 255 or 257 px)
        img = img.resize((size, size), Image.LANCZOS)
    return img


# --------------------------------------------------------------------------- GIF frames
def gif_frames(path: str | Path) -> Iterator[Image.Image]:
    """Yield every frame of an animated GIF as RGB on white, at the GIF's canvas size.

    PIL composes each frame with the previous one according to the GIF disposal method, so
    a frame is the picture as shown, not the raw (partial) frame rectangle.
    """
    with Image.open(path) as im:
        for frame in ImageSequence.Iterator(im):
            yield Image.fromarray(composite_on_white(np.asarray(frame.convert("RGBA"))), "RGB")

