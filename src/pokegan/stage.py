"""How every stage script (stages/*.py) reports an error — one convention, kept here:

* ``<stage>: error: <message>`` on stderr, one line, no traceback, exit 1: bad params, bad or
  missing input data, a full disk — whatever the user can fix by reading the message;
* exit 2 only for a command-line usage error, reported as argparse does (the usage line, then
  ``<stage>: error: <message>``);
* anything else is a bug and keeps its traceback.

tests/test_stage_errors.py runs every stage script against this convention.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, NoReturn

from pokegan.config import ConfigError
from pokegan.data import DataError

# what every stage treats as the user's to fix (OSError: a missing file, a full disk)
USER_ERRORS: tuple[type[BaseException], ...] = (ConfigError, DataError, OSError)


def fail(name: str, exc: BaseException | str) -> int:
    """Print ``<name>: error: <message>`` as one line on stderr; returns the exit code, 1."""
    # one line, so a log scan or DVC's failure output shows the whole error (YAML errors span
    # several lines)
    message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    print(f"{name}: error: {message}", file=sys.stderr)
    return 1


def run(name: str, main: Callable[..., int | None], *args,
        errors: tuple[type[BaseException], ...] = USER_ERRORS) -> NoReturn:
    """Exit with ``main(*args)``'s code (None: 0), or with :func:`fail`'s if it raises one of
    ``errors``."""
    try:
        code = main(*args)
    except errors as exc:
        sys.exit(fail(name, exc))
    sys.exit(code or 0)


def usage_error(name: str, usage: str, message: str) -> int:
    """A command-line usage error reported as argparse reports one; returns the exit code, 2."""
    print(f"usage: {usage}\n{name}: error: {message}", file=sys.stderr)
    return 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its usage errors named ``<stage>: error:`` (argparse names the script
    file, e.g. ``train.py: error:``)."""

    def __init__(self, name: str, **kwargs):
        super().__init__(**kwargs)
        self.stage = name

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.stage}: error: {message}\n")
