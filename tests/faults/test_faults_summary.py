"""The fault-suite summary counts only faults of pokegan's own code."""
from conftest import Row, summary_lines


def test_tool_checks_are_not_counted_as_faults_survived():
    rows = [Row("killed", "training killed", "t1", ok=True),
            Row("tool", "DVC itself: two repro at once", "t2", ok=True),
            Row("bad-param", "lr: -1", "t3", ok=False)]
    head = summary_lines(rows)[0]
    assert head.startswith("faults tried 1, survived 1; bad inputs tried 1, handled 0")
    assert "checks of the tools themselves 1, held 1" in head
