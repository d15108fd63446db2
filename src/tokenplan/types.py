"""Wire-neutral request and response models shared by every provider dialect.

Token accounting (``Usage``) is normalized so that cost math never needs to know the dialect:

* ``input_tokens`` counts **every** prompt token, including cache reads and cache writes;
* ``cached_tokens`` and ``cache_write_tokens`` are the parts of it read from / written to cache;
* ``output_tokens`` counts **every** generated token, including hidden reasoning;
* ``reasoning_tokens`` is the part of it spent on reasoning.

So OpenAI's ``prompt_tokens`` maps straight to ``input_tokens`` (its cached tokens sit inside),
Anthropic's ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens`` does, and
Gemini's ``candidatesTokenCount + thoughtsTokenCount`` is ``output_tokens``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "FinishReason",
    "JsonSchemaFormat",
    "Message",
    "Role",
    "StreamChunk",
    "Usage",
]

Role = Literal["system", "user", "assistant", "tool", "developer"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "cancelled"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Message(_Frozen):
    """One chat message. ``content`` is plain text."""

    role: Role
    content: str
    name: str | None = None


class JsonSchemaFormat(_Frozen):
    """Ask for output matching a JSON schema (mapped to each dialect's native mechanism)."""

    name: str = "output"
    json_schema: dict[str, Any] = Field(alias="schema")
    strict: bool = True

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ChatRequest(_Frozen):
    """A chat completion request.

    ``model`` is a catalog id (``provider/name``), an alias, or a router alias such as ``auto``.
    ``max_tokens`` is the cap on generated tokens (reasoning included); the budget layer may lower
    it so the call's worst case fits what is left. ``extra`` carries dialect-specific fields the
    caller wants passed through verbatim (the proxy uses it for fields we do not model).
    """

    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: tuple[str, ...] | None = None
    response_format: JsonSchemaFormat | None = None
    json_mode: bool = False
    timeout_s: float | None = Field(default=None, gt=0.0)
    extra: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_prompt(cls, prompt: str, *, model: str = "auto", **kwargs: Any) -> ChatRequest:
        """A one-message request (``system`` may be given as a keyword)."""
        system = kwargs.pop("system", None)
        msgs = [Message(role="system", content=system)] if system else []
        msgs.append(Message(role="user", content=prompt))
        return cls(model=model, messages=tuple(msgs), **kwargs)

    @property
    def prompt_text(self) -> str:
        """All message contents joined (what classification and token estimates look at)."""
        return "\n\n".join(m.content for m in self.messages)


class Usage(_Frozen):
    """Normalized token counts; see the module docstring for what each field includes."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class ChatResponse(_Frozen):
    """A finished completion.

    ``model`` is the catalog id that answered, ``provider`` the endpoint that served it,
    ``cost_usd`` the price of ``usage`` from the catalog, ``simulated`` is true when the answer
    came from the offline simulator (and must be presented as such).
    """

    id: str = ""
    model: str
    provider: str
    text: str
    finish_reason: FinishReason = "stop"
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    simulated: bool = False
    # Fields a pass-through front end (the proxy) may want; not interpreted by tokenplan.
    raw: dict[str, Any] | None = Field(default=None, repr=False)


class StreamChunk(_Frozen):
    """One piece of a streamed completion.

    Text arrives in ``delta``. The last chunk of a successful stream has ``response`` set to
    the assembled :class:`ChatResponse` (with usage and cost) and an empty ``delta``.
    ``model`` is set on the first chunk a :class:`~tokenplan.providers.fallback.FallbackModel`
    passes on: the catalog id of the rung that is answering (front ends that must name the
    model before the answer ends, like the proxy's stream headers, read it there).
    """

    delta: str = ""
    response: ChatResponse | None = None
    model: str | None = None
