"""Each image installs only the base dependencies and its part's extras (requirements/api.txt or
worker.txt, exported from the lock), so every third-party package a part imports must be reachable from
those. The development environment installs every extra at once and would never show a missing one; the
image would fail at its first import (as the worker image once did, without prometheus-client)."""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ..support.stack import ROOT
from .test_import_rule import CONTRACT, OURS, PARTS, imported_packages

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = {"api": ["api"], "workers": ["worker"], "llm_operator": ["operator"]}


def closure(requirements: list[str]) -> set[str]:
    """Every distribution these requirements install, following each one's own requirements."""
    found: set[str] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        if name in found and not requirement.extras:
            continue
        found.add(name)
        try:
            children = [Requirement(text) for text in requires(name) or []]
        except PackageNotFoundError:
            continue
        for child in children:
            wanted = not child.marker or any(child.marker.evaluate({"extra": e}) for e in ["", *requirement.extras])
            if wanted:
                pending.append(Requirement(str(child).split(";")[0]))
    return found


def needed(folders: list) -> set[str]:
    """Distributions that provide the third-party modules these folders import."""
    providers = packages_distributions()
    modules = set().union(*(names for folder in folders for names in imported_packages(folder).values()))
    third_party = modules - OURS - set(sys.stdlib_module_names) - {"__future__"}
    return {canonicalize_name(providers[module][0]) for module in third_party if module in providers}


@pytest.mark.parametrize("part", sorted(PARTS))
def test_a_part_imports_only_what_its_extras_install(part: str) -> None:
    declared = PROJECT["dependencies"] + [d for extra in EXTRAS[part] for d in PROJECT["optional-dependencies"][extra]]
    assert needed([PARTS[part], CONTRACT]) - closure(declared) == set()


def test_the_check_sees_a_missing_dependency() -> None:
    # prometheus_client without the extra that brings it
    assert "prometheus-client" not in closure(PROJECT["dependencies"])
    assert "prometheus-client" in needed([PARTS["workers"]])
