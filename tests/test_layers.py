"""The package's layers point one way: entry points -> commands -> orchestrators -> the stages.

Read from the source (``ast``, every import, those inside functions too), so a late import that
reaches back up a layer fails here, not in a reviewer's head. The stages (sources, engine,
policy, suppression, findings, advisories, reporters, results, scan_unit, workers) never import
an orchestrator or anything above one; an orchestrator never imports another.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "trussguard"
ENTRY = {"cli", "cli_streams", "gha", "demo", "__main__"}
COMMANDS = {"commands", "commands_rules", "commands_baseline", "cli_settings", "cli_output"}
ORCHESTRATORS = {"pipeline", "staged", "audit"}


def _rank(module: str) -> int:
    top = module.split(".")[0]
    return 3 if top in ENTRY else 2 if top in COMMANDS else 1 if top in ORCHESTRATORS else 0


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE).with_suffix("").parts): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Every trussguard module the file imports, named relative to the package (``engine.detector``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:  # the package uses absolute imports only
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        out |= {n.removeprefix("trussguard.").strip(".") for n in names if n.startswith("trussguard.")}
    return out


def _violations() -> list[str]:
    modules = _modules()
    bad = []
    for module, path in sorted(modules.items()):
        for target in sorted(t for t in _imports(path) if t in modules):
            if _rank(target) > _rank(module):
                bad.append(f"{module} imports {target}, a layer above it")
            elif _rank(module) == _rank(target) == 1 and target != module:
                bad.append(f"{module} imports {target}: one orchestrator must not build on another")
    return bad


def test_no_import_points_back_up_a_layer():
    assert _violations() == []


def test_the_reporters_read_results_not_an_orchestrator():
    imported = _imports(PACKAGE / "report" / "text.py")
    assert "results" in imported and not imported & ORCHESTRATORS


def test_the_check_sees_late_imports():
    """The layering check reads imports inside functions (``commands`` imports ``pipeline`` there)."""
    assert "pipeline" in _imports(PACKAGE / "commands.py")


def test_relative_imports_are_not_used():
    """``_imports`` reads absolute imports only; a relative one would slip past the layering check."""
    relative = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                for n in ast.walk(ast.parse(p.read_text("utf-8"))) if isinstance(n, ast.ImportFrom) and n.level]
    assert relative == []
