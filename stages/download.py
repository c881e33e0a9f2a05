"""DVC stage `download`: fetch the configured source into data/raw (atomically).

Reads params `data.*` and `seed`; writes data/raw/ (manifest.json, pokedex.csv,
<dataset>/index.csv, <dataset>/images/*.png). See pokegan.data.sources.
"""
from __future__ import annotations

import pokegan.config
from pokegan import stage
from pokegan.data.sources import download


def main() -> None:
    download(pokegan.config.load(), "data/raw")


if __name__ == "__main__":
    stage.run("download", main)
