"""DVC stage `download`: fetch the configured source into data/raw (atomically).

Reads params `data.*` and `seed`; writes data/raw/ (manifest.json, pokedex.csv,
<dataset>/index.csv, <dataset>/images/*.png). See pokegan.data.sources.
"""
from __future__ import annotations

import sys

import pokegan.config
from pokegan.data import DataError
from pokegan.data.sources import download


def main() -> int:
    try:
        cfg = pokegan.config.load()
        download(cfg, "data/raw")
    except (pokegan.config.ConfigError, DataError, OSError) as exc:  # OSError: disk full, ...
        print(f"download: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
