"""The Inception Score classifier's weights: where they live, which file they must be, and the
one download pokegan ever makes on request (``pokegan fetch-is-weights``).

IS needs torch-fidelity's ``inception-v3-compat`` classifier, whose weights torch-fidelity
downloads from its GitHub release into torch's hub cache at first use. pokegan's pipeline never
downloads during a run (it must work offline and give the same outputs everywhere), so the file
is fetched once, by a command, into the place torch-fidelity itself would have put it:
``torch.hub.get_dir()/checkpoints/<file name>`` (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``).

Every file handed to torch-fidelity for IS is checked against a pinned sha256 first: a
different or damaged file would give other class probabilities and so another IS, silently.
The pinned digest begins with the 8 hex digits in the file's name (torch.hub's naming
convention for checkpoints, ``<name>-<sha256 prefix>.pth``); the full value is the one publicly
recorded for this file together with its size, 95,628,359 bytes.
"""
from __future__ import annotations

import functools
import hashlib
import os
import sys
import urllib.request
from pathlib import Path
from typing import Callable

from pokegan.files import atomic_path, sha256_file

IS_WEIGHTS_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                  "weights-inception-2015-12-05-6726825d.pth")   # torch-fidelity's URL_INCEPTION_V3
IS_WEIGHTS_FILE = IS_WEIGHTS_URL.rsplit("/", 1)[1]
IS_WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
IS_WEIGHTS_BYTES = 95_628_359
# a wrong URL must not fill the disk: the real file is ~96 MB
MAX_DOWNLOAD_BYTES = 4 * IS_WEIGHTS_BYTES
_CHUNK = 1 << 20


class WeightsError(ValueError):
    """A weights file that is not the pinned one, or a download that did not give it.
    A ValueError, so the evaluate stage and the CLI report it as one line."""


def cached_path() -> Path:
    """Where torch-fidelity looks for (and would download) the classifier's weights."""
    import torch
    return Path(torch.hub.get_dir()) / "checkpoints" / IS_WEIGHTS_FILE


def file_sha256(path: str | Path) -> str:
    path = Path(path)
    st = path.stat()
    # keyed by size and mtime, so a file replaced in place is hashed again
    return _sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def verify(path: str | Path, sha256: str | None = None) -> Path:
    """``path`` if its sha256 is the pinned one (or ``sha256``), else :class:`WeightsError`
    naming the file, both digests and how to get the right file."""
    expected = (sha256 or IS_WEIGHTS_SHA256).lower()
    path = Path(path)
    got = file_sha256(path)
    if got != expected:
        raise WeightsError(
            f"{path}: not the Inception Score classifier's weights (sha256 {got}, expected "
            f"{expected}); run `pokegan fetch-is-weights` to put the right file in torch's hub "
            f"cache, or point eval.inception_is_weights at it")
    return path


def fetch(url: str = IS_WEIGHTS_URL, sha256: str | None = None, dest: str | Path | None = None,
          log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> Path:
    """Download ``url`` to ``dest`` (default :func:`cached_path`) and return ``dest``.

    The bytes go to a temporary file beside ``dest`` and are hashed on the way; only a file with
    the expected sha256 is renamed to ``dest``. A wrong digest, a failed or oversized download
    removes the temporary file and raises :class:`WeightsError`, so ``dest`` is either the
    verified file or what it was before. A ``dest`` that already holds the right file is kept
    and nothing is downloaded.
    """
    expected = (sha256 or IS_WEIGHTS_SHA256).lower()
    dest = Path(dest) if dest is not None else cached_path()
    if dest.is_file():
        if file_sha256(dest) == expected:
            log(f"{dest}: already in place (sha256 {expected[:12]}…)")
            return dest
        log(f"{dest}: sha256 does not match; downloading a replacement "
            f"(the file is replaced only once the download is verified)")
    log(f"downloading {url}")
    digest, size = hashlib.sha256(), 0
    with atomic_path(dest, suffix=".part") as tmp:
        try:
            with urllib.request.urlopen(url, timeout=60) as src, open(tmp, "wb") as out:
                for block in iter(lambda: src.read(_CHUNK), b""):
                    size += len(block)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise WeightsError(f"{url}: more than {MAX_DOWNLOAD_BYTES:,} bytes, not "
                                           f"the classifier's weights; nothing was written")
                    digest.update(block)
                    out.write(block)
        except OSError as exc:      # URLError, HTTPError, timeouts and a full disk are OSErrors
            raise WeightsError(f"downloading {url} failed ({exc}); nothing was written") from exc
        got = digest.hexdigest()
        if got != expected:
            raise WeightsError(f"{url}: sha256 {got} ({size:,} bytes), expected {expected}; "
                               f"nothing was written to {dest}")
    _sha256.cache_clear()
    log(f"{dest}: {size:,} bytes, sha256 verified")
    os.utime(dest)                  # the file's age says when it was fetched, not served
    return dest
