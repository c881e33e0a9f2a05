"""DVC stage `reference`: Inception features + statistics of the real images, computed once.

Writes data/reference/<dataset>.npz for every dataset in data/prepared (un-augmented images,
seeded subsample of at most eval.real_max), with a fingerprint that evaluation checks.
"""
import sys

from pokegan import config, stage
from pokegan.metrics.references import build_references


def main() -> int:
    try:
        cfg = config.load()
        build_references(cfg)
    except (config.ConfigError, OSError, ValueError, RuntimeError) as exc:  # OSError: disk full, ...
        return stage.fail("reference", exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
