"""DVC stage `evaluate@<variant>`: FID/KID/IS/precision/recall per checkpoint and for the final model.

Writes plots/eval/<variant>.csv (one row per checkpoint), models/best/<variant>.pt (the checkpoint
with the lowest curve KID), metrics/<variant>.json (numbers only) and
metrics/provenance/<variant>.json (how they were computed).
"""
import sys

from pokegan import config, stage
from pokegan.metrics.evaluate import evaluate_variant


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        return stage.usage_error("evaluate", "python stages/evaluate.py <variant>",
                                 "expected one argument, the variant")
    try:
        cfg = config.load()
        evaluate_variant(cfg, argv[0])
    except (config.ConfigError, OSError, ValueError, RuntimeError) as exc:  # OSError: disk full, ...
        return stage.fail("evaluate", exc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
