"""The layout's one rule: api/, workers/ and operator/ import contract/ and their own code only, and
contract/ imports none of them. So the api image ships no worker code, and the api never loads torch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ..support.stack import ROOT

PARTS = {"api": ROOT / "api", "workers": ROOT / "workers", "llm_operator": ROOT / "operator" / "llm_operator"}
CONTRACT = ROOT / "contract"
OURS = {*PARTS, "contract"}


def imported_packages(folder: Path) -> dict[str, set[str]]:
    """Top-level package of every absolute import, by file (relative imports stay inside their part)."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[path.name if not path.is_relative_to(ROOT) else str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("part", sorted(PARTS))
def test_a_part_imports_only_the_contract_and_itself(part: str) -> None:
    others = OURS - {part, "contract"}
    offending = {path: names & others for path, names in imported_packages(PARTS[part]).items() if names & others}
    assert offending == {}


def test_the_contract_imports_no_part_and_no_torch() -> None:
    forbidden = set(PARTS) | {"torch", "transformers", "flask", "kopf"}
    offending = {path: names & forbidden for path, names in imported_packages(CONTRACT).items() if names & forbidden}
    assert offending == {}


def test_the_rule_sees_a_violation(tmp_path: Path) -> None:
    # The checker itself notices both spellings of an import, and leaves relative ones alone
    (tmp_path / "bad.py").write_text(
        "import workers.generate_task\nfrom workers.engine import types\nfrom . import ok\n"
    )
    assert imported_packages(tmp_path) == {"bad.py": {"workers"}}


@pytest.mark.parametrize(
    ("dockerfile", "ships", "never"), [("Dockerfile.api", "api", "workers"), ("Dockerfile.worker", "workers", "api")]
)
def test_each_image_copies_its_own_part_and_the_contract_only(dockerfile: str, ships: str, never: str) -> None:
    copied = {line.split()[1] for line in (ROOT / dockerfile).read_text().splitlines() if line.startswith("COPY ")}
    assert {ships, "contract"} <= copied and never not in copied
