from flask import Response, jsonify
from pydantic import BaseModel


def respond(model: BaseModel) -> Response:
    """A JSON body built from its documented model, so /openapi.json and behaviour cannot drift apart."""
    return jsonify(model.model_dump(mode="json", exclude_none=True))
