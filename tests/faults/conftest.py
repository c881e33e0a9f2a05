"""The fault suite's bookkeeping: every test says what it tried (``faults.tried(kind, what)``)
and what happened; at the end of the session a table and the totals are printed:
"faults tried N, survived M; bad inputs tried K, handled L".

A row's outcome is set by the test (``row.check(ok, happened)``) or, when left open, by the
test's own result (passed = survived / handled).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:  # `fixtures` lives in tests/, a level up
    sys.path.insert(0, str(TESTS))

FAULT_KINDS = ("killed", "corrupted", "concurrency", "numerical")
INPUT_KINDS = ("bad-input", "bad-param")
# checks of the tools we stand on (DVC's own run lock on a toy project): worth keeping, since
# `make run` relies on them, but not faults that pokegan's code survived, so not counted as such
TOOL_KINDS = ("tool",)
_ROWS: list["Row"] = []


@dataclass
class Row:
    kind: str
    what: str
    test: str
    happened: str = ""
    ok: bool | None = None     # None: decided by the test's outcome
    skipped: bool = False

    def done(self, happened: str) -> "Row":
        self.happened = happened
        return self

    def check(self, ok: bool, happened: str) -> bool:
        self.ok, self.happened = bool(ok), happened
        return bool(ok)


class Recorder:
    def __init__(self, test: str):
        self.test, self.rows = test, []

    def tried(self, kind: str, what: str) -> Row:
        assert kind in FAULT_KINDS + INPUT_KINDS + TOOL_KINDS, kind
        row = Row(kind, what, self.test)
        self.rows.append(row)
        _ROWS.append(row)
        return row


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """In-process training as the stage processes run it (POKEGAN_THREADS=1): on 2 shared cores
    more threads only contend, and bit-identity holds for one thread count."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def faults(request) -> Recorder:
    rec = Recorder(request.node.nodeid.split("::", 1)[-1])
    request.node._fault_recorder = rec
    return rec


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    rec = getattr(item, "_fault_recorder", None)
    if rec is None or not (rep.when == "call" or rep.failed or rep.skipped):
        return
    for row in rec.rows:
        if rep.skipped:
            row.skipped = True
            row.happened = row.happened or f"skipped: {_last_line(rep)}"
        elif rep.failed:
            if row.ok is None:
                row.ok = False
            if not row.ok:
                row.happened = (row.happened + " | " if row.happened else "") + \
                    f"TEST FAILED: {_last_line(rep)}"
        elif row.ok is None:
            row.ok = True


def _last_line(rep) -> str:
    text = getattr(rep, "longreprtext", "") or str(rep.longrepr or "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    err = [ln for ln in lines if ln.startswith("E ")]
    return (err[0] if err else lines[-1] if lines else "")[:160]


def summary_lines(rows: list[Row]) -> list[str]:
    faults = [r for r in rows if r.kind in FAULT_KINDS and not r.skipped]
    inputs = [r for r in rows if r.kind in INPUT_KINDS and not r.skipped]
    tools = [r for r in rows if r.kind in TOOL_KINDS and not r.skipped]
    lines = [f"faults tried {len(faults)}, survived {sum(bool(r.ok) for r in faults)}; "
             f"bad inputs tried {len(inputs)}, handled {sum(bool(r.ok) for r in inputs)}"
             + (f"; checks of the tools themselves {len(tools)}, held {sum(bool(r.ok) for r in tools)}"
                if tools else "")
             + (f"; skipped {sum(r.skipped for r in rows)}" if any(r.skipped for r in rows) else "")]
    w_what = min(58, max([len(r.what) for r in rows] + [4]))
    lines.append(f"{'kind':<11} {'what was tried':<{w_what}} {'result':<8} what happened")
    for r in sorted(rows, key=lambda r: (FAULT_KINDS + INPUT_KINDS + TOOL_KINDS).index(r.kind)):
        result = "skipped" if r.skipped else ("ok" if r.ok else "FAILED")
        what = r.what if len(r.what) <= w_what else r.what[: w_what - 1] + "…"
        lines.append(f"{r.kind:<11} {what:<{w_what}} {result:<8} {r.happened}")
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _ROWS:
        return
    terminalreporter.section("faults and bad input")
    for line in summary_lines(_ROWS):
        terminalreporter.write_line(line)
