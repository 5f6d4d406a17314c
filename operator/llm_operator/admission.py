"""What an LLMModel may ask for, beyond its schema: whoever may write one should not thereby hold the keys to
the service. An image of its own runs whatever it likes with the worker's Redis credentials, so images are
limited to the chart's allowlist (OPERATOR_ALLOWED_IMAGES: the workers' own image always, and prefixes such
as `registry.example.com/llm/`); and `env` may not set what the worker's settings, Python or the loader
read (REDIS_URL and its password, PYTHONPATH, LD_PRELOAD...), which would do the same by other means."""

from __future__ import annotations

from typing import Any

from .config import OperatorConfig

RESERVED_ENV = ("REDIS_", "PYTHON", "LD_", "HF_HOME", "WORKER_", "MODEL_", "SERVED_MODEL_NAME", "PATH")
"""names (or prefixes) an LLMModel's env may not set: the operator and the chart set them"""


def refusal(model: dict[str, Any], config: OperatorConfig) -> str | None:
    """Why the model may not run as asked, or None."""
    spec = model["spec"]
    image = spec.get("image")
    if image and image != config.worker_image and not any(image.startswith(p) for p in config.allowed_images):
        allowed = [config.worker_image, *(f"{prefix}*" for prefix in config.allowed_images)]
        return f"spec.image {image!r} is not allowed (OPERATOR_ALLOWED_IMAGES: {', '.join(allowed)})"
    for entry in spec.get("env", []):
        name = str(entry.get("name", ""))
        if name.upper().startswith(RESERVED_ENV):
            return f"spec.env may not set {name!r}: the operator sets it (reserved: {', '.join(RESERVED_ENV)})"
    return None
