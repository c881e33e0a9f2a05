"""README's numbers are the committed files' numbers: every metric cell of its tables with a
`source` column (Results, the study's three systems) and of its `make run` table is compared
with the file its row names, to the digits printed, so a rerun that changes a metric, or a
hand edit of the README, fails here until both agree."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# results table column -> key of the linked JSON file
RESULT_KEYS = {"epoch": "epoch", "samples": "samples", "FID": "fid", "KID": "kid",
               "precision": "precision", "recall": "recall"}
VARIANTS = ("dcgan_artwork", "aegan_artwork", "best_artwork")


def _tables(text: str) -> list[list[list[str]]]:
    """Every markdown table of ``text`` as rows of cells (header first, the --- row dropped)."""
    tables, rows = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                rows.append(cells)
        elif rows:
            tables.append(rows)
            rows = []
    return tables


def _table_with(header_cell: str) -> list[list[str]]:
    found = [t for t in _tables(README.read_text()) if header_cell in t[0]]
    assert len(found) == 1, f"README has {len(found)} tables with a {header_cell!r} column"
    return found[0]


def _agrees(printed: str, value: float) -> bool:
    """``printed`` is ``value`` rounded to the digits printed (e.g. 0.389 for 0.38919)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(float(printed) - value) <= 0.5 * 10 ** -decimals + 1e-12


def test_results_tables_match_the_files_they_link():
    tables = [t for t in _tables(README.read_text()) if "source" in t[0]]
    assert len(tables) >= 2, "README lacks its results table or the study's side-by-side table"
    linked = set()
    for table in tables:
        header, rows = table[0], table[1:]
        assert rows, f"README's table with columns {header} has no rows"
        for row in rows:
            cells = dict(zip(header, row))
            (path,) = re.findall(r"\]\(([^)]+\.json)\)", cells["source"])
            linked.add(path)
            data = json.loads((ROOT / path).read_text())
            for column, key in RESULT_KEYS.items():
                assert column in cells, f"README's table with columns {header} lacks {column!r}"
                assert _agrees(cells[column], data[key]), \
                    f"README, {row[0]}, {column}: {cells[column]} but {path} has {data[key]}"
    # every variant make run scores has its row, and so has every finished study-scale run
    for folder in ("metrics", "study/metrics"):
        for metrics in sorted((ROOT / folder).glob("*.json")):
            assert f"{folder}/{metrics.name}" in linked, \
                f"README's results table has no row for {folder}/{metrics.name}"


def _make_run_value(label: str, source: str, variant: str) -> float | None:
    if source == "`plots/train/<variant>/run.json`":
        return json.loads((ROOT / "plots/train" / variant / "run.json").read_text())["seconds"] / 60
    if source == "`metrics/provenance/<variant>.json`":
        return json.loads((ROOT / "metrics/provenance" / f"{variant}.json").read_text())["seconds"] / 60
    if source == "`metrics/<variant>.json`":
        return json.loads((ROOT / "metrics" / f"{variant}.json").read_text())["kid"]
    return None


def test_make_run_table_matches_the_committed_run():
    table = _table_with("from")
    header, rows = table[0], table[1:]
    assert [h.strip("`") for h in header[1:4]] == list(VARIANTS)
    checked = 0
    for row in rows:
        for variant, cell in zip(VARIANTS, row[1:4]):
            value = _make_run_value(row[0], row[4], variant)
            if value is None:
                continue
            checked += 1
            assert _agrees(cell, value), f"README make-run table, {row[0]}, {variant}: {cell} " \
                                         f"but {row[4]} gives {value}"
    assert checked == 3 * len(VARIANTS), "README's make-run table lost a row drawn from a file"


@pytest.mark.parametrize("printed,value,ok", [("0.389", 0.38919, True), ("0.388", 0.38919, False),
                                              ("352.1", 352.13, True), ("2", 2, True)])
def test_agreement_is_to_the_digits_printed(printed, value, ok):
    assert _agrees(printed, value) is ok
