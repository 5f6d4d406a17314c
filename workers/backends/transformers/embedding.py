"""What a model's embeddings are: how its hidden states are pooled, how long a vector is, and to which
lengths it may be shortened (`dimensions`).

Pooling comes from the model's sentence-transformers config (`1_Pooling/config.json`, from its folder or
the hub, where transformers finds its other files) when it has one, else `last` for a causal LM (vLLM's
default for one) and `mean` for an encoder. A vector may be shortened only when the model was trained for
it (Matryoshka: `matryoshka_dimensions` or `is_matryoshka` in its config, as vLLM reads them); truncating
any other model's vector gives a worse one, so that is refused.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from transformers.utils import cached_file

from contract.refusals import RequestRefused

from ...engine.pooling import PoolingMode

# sentence-transformers' pooling flags, in the order it applies them
_SENTENCE_TRANSFORMERS_MODES: dict[str, PoolingMode] = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_lasttoken": "last",
    "pooling_mode_mean_tokens": "mean",
}


@dataclass(frozen=True)
class EmbeddingShape:
    size: int
    pooling: PoolingMode
    shorter: tuple[int, ...] | None
    """the lengths a vector may be cut to: () any, None none (not a Matryoshka model)"""

    @classmethod
    def of(cls, model: Any, model_name: str, causal: bool) -> EmbeddingShape:
        config = model.config
        size = int(config.hidden_size)
        listed = getattr(config, "matryoshka_dimensions", None)
        shorter = tuple(listed) if listed else () if getattr(config, "is_matryoshka", False) else None
        return cls(size, _pooling(model_name) or ("last" if causal else "mean"), shorter)

    def shortened(self, vector: list[float], dimensions: int | None) -> list[float]:
        """The vector at the asked length, normalised again; RequestRefused naming `dimensions` otherwise."""
        if dimensions is None or dimensions == self.size:
            return vector
        if self.shorter is None:
            raise RequestRefused(
                "dimensions", f"this model's embeddings have {self.size} dimensions and cannot be shortened"
            )
        if dimensions > self.size or (self.shorter and dimensions not in self.shorter):
            allowed = ", ".join(map(str, self.shorter)) if self.shorter else f"1 to {self.size}"
            raise RequestRefused("dimensions", f"{dimensions} is not one this model allows ({allowed})")
        cut = vector[:dimensions]
        norm = math.sqrt(sum(value * value for value in cut)) or 1.0
        return [value / norm for value in cut]


def _pooling(model_name: str) -> PoolingMode | None:
    found = cached_file(model_name, "1_Pooling/config.json", _raise_exceptions_for_missing_entries=False)
    if found is None:
        return None
    with open(found) as config:
        flags = json.load(config)
    return next((mode for flag, mode in _SENTENCE_TRANSFORMERS_MODES.items() if flags.get(flag)), None)
