"""DVC stage `augment`: the prepared uint8 tensors every later stage trains and measures on.

Reads data/raw (images), data/groups/groups.csv (types, colour) and params `augment.*`, `seed`,
`image_size`; writes data/prepared/<dataset>/{images.npy,index.csv,meta.json}.
"""
from __future__ import annotations

import pokegan.config
from pokegan import stage
from pokegan.data.augment import augment_all


def main() -> None:
    cfg = pokegan.config.load()
    augment_all(cfg, "data/raw", "data/groups/groups.csv", "data/prepared")


if __name__ == "__main__":
    stage.run("augment", main)
