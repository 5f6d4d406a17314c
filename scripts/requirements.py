"""Prints the project's dependencies with the given extras, one per line, from pyproject.toml.

The Dockerfiles install these in a layer of their own before copying the code, so a change to the code
rebuilds only the small layer above them (torch and its CUDA libraries are several GB).
Usage: python3 scripts/requirements.py [EXTRA ...] > requirements.txt
"""

import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
print(
    "\n".join(
        [*project["dependencies"], *(d for extra in sys.argv[1:] for d in project["optional-dependencies"][extra])]
    )
)
