"""POST /v1/responses' body: OpenAI's fields this service implements; the others are refused by name (a
field nobody here knows is refused too: the Responses API is new enough that a silent drop would mislead).
Function tools and `text.format` are OpenAI's Responses shapes of what /v1/chat/completions takes as
`tools` and `response_format`, and run the same way (api/openai/tools.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    ValidationInfo,
    field_validator,
)

from ..tasks.sampling import Number, within_limit

MAX_METADATA_KEYS = 16


class InputText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["input_text", "output_text"]
    text: StrictStr
    annotations: list[Any] | None = None


class InputMessage(BaseModel):
    """An input item: a message (`type` may be left out, as OpenAI allows)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: StrictStr | list[InputText]
    id: StrictStr | None = None
    status: StrictStr | None = None


class FunctionCallInput(BaseModel):
    """A call the model made earlier, given back as input (with its output after it)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["function_call"]
    call_id: StrictStr = Field(min_length=1, max_length=128)
    name: StrictStr = Field(min_length=1, max_length=64)
    arguments: StrictStr
    id: StrictStr | None = None
    status: StrictStr | None = None


class FunctionCallOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["function_call_output"]
    call_id: StrictStr = Field(min_length=1, max_length=128)
    output: StrictStr
    id: StrictStr | None = None
    status: StrictStr | None = None


def _item_kind(item: Any) -> str:
    """Which item a given one is: its `type`, `message` when left out (as OpenAI allows)."""
    found = item.get("type", "message") if isinstance(item, dict) else getattr(item, "type", "message")
    return str(found)


InputItem = Annotated[
    Annotated[InputMessage, Tag("message")]
    | Annotated[FunctionCallInput, Tag("function_call")]
    | Annotated[FunctionCallOutput, Tag("function_call_output")],
    Discriminator(_item_kind),
]


class FunctionTool(BaseModel):
    """A function the model may call (OpenAI's Responses shape: flat, not under `function`)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["function"]
    name: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None

    def for_template(self) -> dict[str, Any]:
        """As chat templates (and /v1/chat/completions) take a tool."""
        function = {"name": self.name, "description": self.description, "parameters": self.parameters}
        return {"type": "function", "function": {key: value for key, value in function.items() if value is not None}}


class FunctionChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["function"]
    name: StrictStr


class PlainText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text"]


class JsonObject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["json_object"]


class JsonSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    type: Literal["json_schema"]
    name: StrictStr = Field(min_length=1, max_length=64)
    schema_: dict[str, Any] = Field(alias="schema")
    description: StrictStr | None = None
    strict: StrictBool | None = None


class TextOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: PlainText | JsonObject | JsonSchema = Field(discriminator="type")


class ResponseCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: StrictStr | None = Field(None, min_length=1, max_length=256)
    input: list[InputItem] = Field(min_length=1, description="a string (one user message) or a list of items")
    instructions: StrictStr | None = Field(None, description="a system message, not carried to later responses")
    previous_response_id: StrictStr | None = Field(None, description="continue that response's conversation")
    max_output_tokens: StrictInt | None = Field(None, ge=1)
    temperature: Number | None = Field(None, ge=0.0, le=2.0)
    top_p: Number | None = Field(None, gt=0.0, le=1.0)
    background: StrictBool = Field(False, description="answer at once (queued); retrieve it later")
    store: StrictBool = Field(True, description="false: answered, then forgotten (never retrieved or continued)")
    stream: StrictBool = Field(False, description="OpenAI's Responses events as Server-Sent Events")
    metadata: dict[StrictStr, StrictStr] | None = Field(None, max_length=MAX_METADATA_KEYS)
    user: StrictStr | None = Field(None, max_length=128)
    tools: list[FunctionTool] | None = Field(None, max_length=128, description="function tools only")
    tool_choice: Literal["none", "auto", "required"] | FunctionChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    text: TextOptions | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _one_message(cls, given: Any) -> Any:
        if isinstance(given, str):
            if not given:
                raise ValueError("must not be empty")
            return [{"type": "message", "role": "user", "content": given}]
        return given

    @field_validator("tool_choice")
    @classmethod
    def _tools_given(cls, choice: Any, info: ValidationInfo) -> Any:
        names = {tool.name for tool in info.data.get("tools") or []}
        if choice not in (None, "none") and not names:
            raise ValueError("needs tools")
        if isinstance(choice, FunctionChoice) and choice.name not in names:
            raise ValueError(f"names no tool in tools: {choice.name!r}")
        return choice

    @field_validator("store")
    @classmethod
    def _stored_in_background(cls, store: bool, info: ValidationInfo) -> bool:
        if not store and info.data.get("background"):
            raise ValueError("a background response must be stored (store: true): it is retrieved later")
        return store

    @field_validator("text")
    @classmethod
    def _not_with_a_forced_call(cls, text: TextOptions | None, info: ValidationInfo) -> TextOptions | None:
        choice = info.data.get("tool_choice")
        forced = choice == "required" or isinstance(choice, FunctionChoice)
        if forced and text is not None and text.format.type != "text":
            raise ValueError("a JSON format cannot be combined with a forced tool call")
        return text

    @field_validator("max_output_tokens")
    @classmethod
    def _within_limit(cls, tokens: int | None, info: ValidationInfo) -> int | None:
        return within_limit(tokens, info)
