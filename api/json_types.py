"""Field types shared by the request schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# Strict: integers pass as numbers, but booleans and numeric strings do not.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
