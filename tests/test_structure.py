"""The package's floors: every import (module level or inside a function) points down or across,
never up, and no two packages import each other.

From the bottom: file and registry helpers; the typed config; networks, model files, the
training primitives and the data; the model families, which build their step from those; the
loop, checkpoints and metrics, which read the families' registry; and the stages' and users'
entry points. ``python tests/test_structure.py`` prints the picture: each floor with its packages
and where each one's imports go.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "pokegan"
FLOORS = [                                  # bottom first; a package imports only its floor or below
    ("helpers", {"files", "plugins"}),
    ("config", {"config"}),
    ("primitives", {"models", "ops", "data", "grids"}),
    ("families", {"families"}),
    ("training and metrics", {"training", "metrics"}),
    ("entry points", {"report", "explore", "plan", "stage", "cli", "__init__"}),
]


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def imports() -> list[tuple[str, str, int]]:
    """(importing module, imported pokegan module, line) for every import in src/pokegan."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        mod, is_pkg = _module_name(path)
        package = mod.split(".") if is_pkg else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package[:len(package) - node.level + 1] + [node.module or ""]
                                ).strip(".") if node.level else node.module or ""
                # `from pokegan import files` imports the module pokegan.files
                targets = [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base
                           for a in node.names]
            else:
                continue
            found += [(mod, t, node.lineno) for t in targets if t.split(".")[0] == "pokegan"]
    return found


def package(dotted: str) -> str:
    """The top-level package or module of pokegan a module belongs to ('__init__': the root)."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def floor(pkg: str) -> int:
    for i, (_, members) in enumerate(FLOORS):
        if pkg in members:
            return i
    raise AssertionError(f"src/pokegan/{pkg}: on no floor; add it to FLOORS in {__file__}")


def package_edges() -> dict[tuple[str, str], list[str]]:
    """(package, package it imports) -> where ('pokegan.config:12', ...)."""
    edges: dict[tuple[str, str], list[str]] = {}
    for src, dst, line in imports():
        a, b = package(src), package(dst)
        if a != b:
            edges.setdefault((a, b), []).append(f"{src}:{line}")
    return edges


def test_every_package_is_on_a_floor():
    for path in SRC.iterdir():
        if path.suffix == ".py" or (path / "__init__.py").is_file():
            floor(path.stem if path.suffix == ".py" else path.name)


def test_no_import_points_up():
    up = [f"{a} (floor {floor(a)}) imports {b} (floor {floor(b)}) at {', '.join(where)}"
          for (a, b), where in package_edges().items() if floor(b) > floor(a)]
    assert not up, "imports that point up:\n" + "\n".join(up)


def test_no_two_packages_import_each_other():
    edges = package_edges()
    circles = sorted({tuple(sorted((a, b))) for a, b in edges if (b, a) in edges})
    assert not circles, "circles: " + "; ".join(
        f"{a} <-> {b} ({', '.join(edges[a, b][:2])} / {', '.join(edges[b, a][:2])})"
        for a, b in circles)


def test_no_module_imports_itself_back():
    graph: dict[str, set[str]] = {}
    for src, dst, _ in imports():
        graph.setdefault(src, set()).add(dst)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), list(graph.get(start, ()))
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo += graph.get(node, ())
        return False
    # a package's __init__ importing its own modules is how packages work, not a circle
    loops = sorted(m for m in graph if reaches(m, m)
                   and not all(d.startswith(m + ".") for d in graph[m]))
    assert not loops, f"modules that import themselves back: {', '.join(loops)}"


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The floors above are only as good as the import finder: a config.py that imports the
    families (what they must never do) is reported."""
    fake = tmp_path / "pokegan"
    for name, text in {"__init__.py": "", "config.py": "def f():\n    from pokegan import families\n",
                       "families/__init__.py": "from pokegan.config import f\n"}.items():
        (fake / name).parent.mkdir(parents=True, exist_ok=True)
        (fake / name).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "SRC", fake)
    assert package_edges() == {("config", "families"): ["pokegan.config:2"],
                               ("families", "config"): ["pokegan.families:1"]}


def picture() -> str:
    edges = package_edges()
    lines = []
    for i, (name, members) in reversed(list(enumerate(FLOORS))):
        lines.append(f"floor {i}: {name}")
        for pkg in sorted(members):
            outs = sorted({b for a, b in edges if a == pkg}, key=lambda b: (-floor(b), b))
            lines.append(f"  {pkg:<10} -> {', '.join(outs) if outs else '(nothing of pokegan)'}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(picture())
