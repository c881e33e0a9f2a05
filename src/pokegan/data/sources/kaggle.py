"""Source ``kaggle``: ``kagglehub.dataset_download(data.kaggle_slug)``, then read as a folder
(:mod:`.folder`). kagglehub is optional (``pip install kagglehub``)."""
from __future__ import annotations

from pathlib import Path

from pokegan.data import DataError
from pokegan.data.sources.base import timed
from pokegan.data.sources.folder import FolderSource


def kaggle_folder(slug: str) -> Path:
    try:
        import kagglehub
    except ImportError:
        raise DataError("data.source: kaggle needs the kagglehub package (pip install kagglehub)") \
            from None
    try:
        return Path(kagglehub.dataset_download(slug))
    except Exception as exc:  # kagglehub raises many kinds (HTTP, auth, not found)
        raise DataError(f"data.kaggle_slug: downloading {slug!r} with kagglehub failed: {exc}") \
            from None


class KaggleSource(FolderSource):
    def fetch(self, timings: dict[str, float]) -> dict:
        slug = self.cfg.data.kaggle_slug
        with timed(timings, "fetch"):
            self.folder = kaggle_folder(slug)
        return {"kaggle_slug": slug, "folder": str(self.folder)}
