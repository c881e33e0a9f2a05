"""DVC stage `evaluate@<variant>`: FID/KID/IS/precision/recall per checkpoint and for the final model.

Writes plots/eval/<variant>.csv (one row per checkpoint), models/best/<variant>.pt (the checkpoint
with the lowest curve KID), metrics/<variant>.json (numbers only) and
metrics/provenance/<variant>.json (how they were computed).
"""
import sys

from pokegan import config
from pokegan.metrics.evaluate import evaluate_variant


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python stages/evaluate.py <variant>", file=sys.stderr)
        return 2
    try:
        cfg = config.load()
        evaluate_variant(cfg, argv[0])
    except (config.ConfigError, OSError, ValueError, RuntimeError) as exc:  # OSError: disk full, ...
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
