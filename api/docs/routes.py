"""GET /openapi.json, /docs (Swagger UI) and /redoc (ReDoc), with every script and style served from here:
a cluster may have no internet."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, send_from_directory

from ..services import services
from .openapi import build_spec

bp = Blueprint("docs", __name__, template_folder="templates")
TITLE = "LLM inference service"


@cache
def _assets(package: str, folder: str) -> Path:
    """The static files a UI package ships; only their location is used, never their code."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None, f"{package} is not installed"
    return Path(spec.origin).parent / "templates" / folder


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(build_spec(services().settings))


@bp.get("/docs")
def swagger() -> str:
    return render_template("swagger.html", title=TITLE)


@bp.get("/redoc")
def redoc() -> str:
    return render_template("redoc.html", title=TITLE)


@bp.get("/docs/swagger/<path:filename>")
def swagger_asset(filename: str) -> Response:
    return send_from_directory(_assets("flask_openapi3_swagger", "swagger"), filename, max_age=86_400)


@bp.get("/docs/redoc/<path:filename>")
def redoc_asset(filename: str) -> Response:
    return send_from_directory(_assets("flask_openapi3_redoc", "redoc"), filename, max_age=86_400)
