"""DVC stage `group`: types and dominant colour of every image, plus mosaics and a bar chart.

Reads data/raw and params `group.*`; writes data/groups/groups.csv,
data/groups/summary.json and plots/groups/ (group_sizes.png/.csv, mosaics/type_*.png, mosaics/colour_*.png).
"""
from __future__ import annotations

import time

import pokegan.config
from pokegan import files, stage
from pokegan.data import grouping


def main() -> None:
    cfg = pokegan.config.load()
    t0 = time.time()
    groups = grouping.build_groups("data/raw", cfg.group.background_threshold)
    agreement = grouping.colour_agreement(groups)
    for name, a in agreement.items():
        print(f"group: {name}: measured colour agrees with the Pokédex colour for "
              f"{a['agree']}/{a['images']} images ({a['percent']}%)")
    with files.atomic_dir("plots/groups") as plots:
        written = grouping.write_plots(groups, "data/raw", plots, cfg.group.mosaic_tiles,
                                       cfg.group.min_group_size)
    with files.atomic_dir("data/groups") as out:
        groups.to_csv(out / "groups.csv", index=False, lineterminator="\n")
        files.write_json(out / "summary.json", {
            "images": groups.groupby("dataset").size().to_dict(),
            "colour_agreement": agreement,
            "colours": {n: g["colour"].value_counts().to_dict()
                        for n, g in groups.groupby("dataset")},
            "plots": written})   # no wall time: a DVC output must not change between runs
    print(f"group: {len(groups)} images grouped, {len(written)} plot files in "
          f"{time.time() - t0:.1f} s")


if __name__ == "__main__":
    stage.run("group", main)
