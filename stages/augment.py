"""DVC stage `augment`: the prepared uint8 tensors every later stage trains and measures on.

Reads data/raw (images), data/groups/groups.csv (types, colour) and params `augment.*`, `seed`,
`image_size`; writes data/prepared/<dataset>/{images.npy,index.csv,meta.json}.
"""
from __future__ import annotations

import sys

import pokegan.config
from pokegan.data import DataError
from pokegan.data.augment import augment_all


def main() -> int:
    try:
        cfg = pokegan.config.load()
        augment_all(cfg, "data/raw", "data/groups/groups.csv", "data/prepared")
    except (pokegan.config.ConfigError, DataError, OSError) as exc:  # OSError: disk full, ...
        print(f"augment: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
