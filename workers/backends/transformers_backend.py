"""Hugging Face transformers backend: one model per process, loaded through accelerate."""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList

from .base import GenerationRequest, GenerationResult, TextSink
from .streaming import DeltaStreamer

logger = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    pass


class DeadlineReached(StoppingCriteria):
    """Stops generation at a token boundary once the task's time is up, and remembers that it did."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.reached = False

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        self.reached = self.reached or time.monotonic() >= self.deadline
        done = torch.full((input_ids.shape[0],), self.reached, dtype=torch.bool, device=input_ids.device)
        return cast(torch.BoolTensor, done)


class TransformersBackend:
    name = "transformers"

    def __init__(self, model_name: str, served_name: str | None = None) -> None:
        self.model_name = model_name
        self.models = [served_name or model_name]
        self.model: Any = None
        self.tokenizer: Any = None

    def load(self) -> None:
        on_gpu = torch.cuda.is_available()
        dtype = torch.bfloat16 if on_gpu else torch.float32
        logger.info("loading %s (%s, %s)", self.model_name, "cuda" if on_gpu else "cpu", dtype)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name)
            self.model = AutoModelForCausalLM.from_pretrained(self.model_name, device_map="auto", dtype=dtype)
        except (OSError, ValueError) as error:
            raise ModelLoadError(
                f"could not load MODEL_NAME={self.model_name!r} (a hub id, or a local folder such as the one "
                f"`make model` builds): {error}"
            ) from error
        self.model.eval()

    def generate(self, request: GenerationRequest, on_text: TextSink | None = None) -> GenerationResult:
        if self.model is None:
            raise RuntimeError("model is not loaded")
        if time.monotonic() >= request.deadline:
            raise TimeoutError("task time limit reached before generation started")
        inputs = self.tokenizer(request.prompt, return_tensors="pt").to(self.model.device)
        prompt_tokens = int(inputs["input_ids"].shape[1])
        deadline = DeadlineReached(request.deadline)
        streamer = DeltaStreamer(self.tokenizer, on_text or (lambda _: None))
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                **self._sampling(request),
                max_new_tokens=request.max_tokens,
                stopping_criteria=StoppingCriteriaList([deadline]),
                streamer=streamer,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        if deadline.reached:
            raise TimeoutError("generation exceeded the task time limit (TASK_TIME_LIMIT)")
        new_tokens = output[0, prompt_tokens:]
        ended_by_model = len(new_tokens) > 0 and int(new_tokens[-1]) in self._eos_ids()
        return GenerationResult(
            text=self.tokenizer.decode(new_tokens, skip_special_tokens=True),
            prompt_tokens=prompt_tokens,
            completion_tokens=int(new_tokens.shape[0]),
            time_to_first_token=streamer.time_to_first_token,
            finish_reason="stop" if ended_by_model else "length",
        )

    def _eos_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        return set(eos) if isinstance(eos, list) else {eos} if eos is not None else set()

    @staticmethod
    def _sampling(request: GenerationRequest) -> dict[str, Any]:
        if request.temperature == 0:
            # Greedy: deterministic, and no sampling knobs that transformers would warn are unused.
            return {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        return {"do_sample": True, "temperature": request.temperature, "top_p": request.top_p, "top_k": None}
