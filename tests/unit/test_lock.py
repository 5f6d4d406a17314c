"""The lock (uv.lock and the requirements/ files pip installs from) agrees with pyproject.toml: a change to
the declared dependencies without `make lock` fails here, before an image or a new machine installs
something else than what was tested."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from ..support.stack import ROOT

LOCK_FILES = ["pyproject.toml", "uv.lock", "requirements", "scripts/lock.sh"]
UV = Path(sys.executable).with_name("uv")


def check(project: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    # An empty cache and --offline inside: the check reads only the files, never an index.
    env = {**os.environ, "UV": str(UV), "UV_CACHE_DIR": str(cache)}
    return subprocess.run([project / "scripts/lock.sh", "--check"], env=env, capture_output=True, text=True)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The project's lock files in a scratch folder, to change them there."""
    for name in LOCK_FILES:
        source, target = ROOT / name, tmp_path / "project" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
    return tmp_path / "project"


def test_the_lock_matches_pyproject(tmp_path: Path) -> None:
    result = check(ROOT, tmp_path / "cache")
    assert result.returncode == 0, result.stderr


def test_a_dependency_added_without_locking_fails(copy: Path, tmp_path: Path) -> None:
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pydantic==', '"six==1.17.0",\n    "pydantic=='))
    result = check(copy, tmp_path / "cache")
    assert result.returncode != 0 and "run make lock" in result.stderr


def test_a_requirements_file_edited_by_hand_fails(copy: Path, tmp_path: Path) -> None:
    api = copy / "requirements/api.txt"
    first_pin = entries(api.read_text())[0][0].split(" ;")[0]  # whichever package comes first
    api.write_text(api.read_text().replace(first_pin, first_pin.split("==")[0] + "==0.0.1", 1))
    result = check(copy, tmp_path / "cache")
    assert result.returncode != 0 and "requirements/api.txt is not what uv.lock exports" in result.stderr


def entries(text: str) -> list[list[str]]:
    """A requirements file's entries: each requirement's line, then its --hash lines."""
    found: list[list[str]] = []
    for line in text.splitlines():
        if line[:1].isalnum():
            found.append([line.rstrip(" \\")])
        elif line.strip().startswith("--hash=sha256:") and found:
            found[-1].append(line.strip())
    return found


@pytest.mark.parametrize("name", ["api", "worker", "dev"])
def test_every_locked_requirement_is_pinned_with_hashes(name: str) -> None:
    found = entries((ROOT / f"requirements/{name}.txt").read_text())
    assert len(found) > 20
    for line, *hashes in found:
        assert [spec.operator for spec in Requirement(line).specifier] == ["=="] and hashes, line
