"""How far a change of palette moves an artwork in the projected discriminator's feature space,
measured against how far swapping it for another artwork does, and the same in the Inception
pool3 space that FID and KID read.

A discriminator can only punish what its features see. If recolouring an artwork moves the
frozen EfficientNet-Lite0 maps a small part of the way to a different Pokémon while it moves the
Inception features much further, a generator trained against the projected D is free to wander
through palettes that the metrics then punish.

    python bench/colour_sensitivity.py [--n 300] [--proj-size 64] [--seed 0]

For each feature space the ratio  mean ‖f(x) − f(T x)‖ / mean ‖f(x) − f(y)‖  over ``--n`` of
the 749 artworks (data/prepared, originals only), y another artwork drawn by ``--seed``, for
T: the channel swap RGB→BRG (same shapes and brightness pattern, other hues), greyscale, and
the mirror image (a change of geometry, as a yardstick that keeps the colours). 0: the features
do not see the change; 1: it moves them as far as another Pokémon does. The projected D's spaces
are its four maps after the fixed random mixing (what its trained heads read), with the mixing
weights drawn from ``--seed`` as a run draws them.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import torch
from spectrum import LUMA      # bench/ is on the path when a script here runs

TRANSFORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "channel swap": lambda x: x[:, [2, 0, 1]],
    "greyscale": lambda x: (x * torch.tensor(LUMA, dtype=x.dtype).view(1, 3, 1, 1))
    .sum(1, keepdim=True).expand_as(x),
    "mirror": lambda x: x.flip(-1),
}


def other_images(n: int, seed: int) -> torch.Tensor:
    """A permutation of range(n) that moves every index (each image paired with another)."""
    g = torch.Generator().manual_seed(seed)
    return (torch.arange(n) + torch.randint(1, n, (1,), generator=g)) % n \
        if n > 1 else torch.zeros(1, dtype=torch.long)


def sensitivity(features: Callable[[torch.Tensor], list[torch.Tensor]], x: torch.Tensor,
                seed: int = 0) -> dict[str, list[float]]:
    """Per transform (and per feature map ``features`` returns): mean distance from each image's
    features to its transformed image's, over the mean distance to another image's."""
    base = [f.flatten(1) for f in features(x)]
    other = other_images(len(x), seed)
    yardstick = [(f - f[other]).norm(dim=1).mean() for f in base]
    out = {}
    for name, t in TRANSFORMS.items():
        moved = [f.flatten(1) for f in features(t(x))]
        out[name] = [float((b - m).norm(dim=1).mean() / y)
                     for b, m, y in zip(base, moved, yardstick)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="artworks (default 300)")
    ap.add_argument("--proj-size", type=int, default=64,
                    help="side the projected D resizes images to (default 64)")
    ap.add_argument("--seed", type=int, default=0, help="which artworks, pairs and mixing weights")
    ap.add_argument("--data", default="data/prepared", help="prepared data folder")
    args = ap.parse_args(argv)
    if args.n < 2:
        ap.error("--n must be at least 2: each artwork is measured against another")

    from pokegan.data.prepared import load_prepared
    from pokegan.families.projected import ProjectedDiscriminator
    from pokegan.metrics.inception import load_feature_net
    from pokegan.models.efficientnet_lite import frozen_network
    from pokegan.models.sampling import to_uint8

    images, _, _ = load_prepared("artwork", args.data, originals_only=True)
    g = torch.Generator().manual_seed(args.seed)
    images = images[torch.randperm(len(images), generator=g)[:args.n]]
    x = images.float() / 127.5 - 1.0
    torch.manual_seed(args.seed)                 # the mixing weights, as a run draws them
    mix = ProjectedDiscriminator(args.proj_size).mix
    net = frozen_network(torch.device("cpu"))

    @torch.inference_mode()
    def projected(batch: torch.Tensor) -> list[torch.Tensor]:
        batch = torch.nn.functional.interpolate(batch, size=(args.proj_size,) * 2, mode="bilinear",
                                                align_corners=False,
                                                antialias=batch.shape[-1] > args.proj_size)
        return mix(net.features(batch.contiguous(memory_format=torch.channels_last)))

    inception = load_feature_net()

    def pool3(batch: torch.Tensor) -> list[torch.Tensor]:
        return [torch.from_numpy(inception.extract(to_uint8(batch), desc=False))]

    by_space = {"projected": sensitivity(projected, x, args.seed),
                "inception": sensitivity(pool3, x, args.seed)}
    print(f"{len(x)} artworks, projected D at {args.proj_size} px; ratio of the distance a change "
          "moves the features to the distance to another artwork (0: unseen, 1: another Pokémon)")
    names = list(TRANSFORMS)
    print("| features | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    rows = [(f"projected D, map {i + 1}", "projected", i) for i in range(4)]
    for label, space, i in rows + [("Inception pool3", "inception", 0)]:
        print(f"| {label} | " + " | ".join(f"{by_space[space][t][i]:.3f}" for t in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
