"""The ``replay`` provider: recorded responses and costs served as a :class:`ChatModel`.

A benchmark policy talks to :class:`ReplayModel` exactly as the product talks to a real
provider: it sends a :class:`~tokenplan.types.ChatRequest` and gets a
:class:`~tokenplan.types.ChatResponse`. The response is what the dataset recorded for that
exact prompt text and model, with the recorded cost (``cost_usd``) and usage estimated from the
text. Scores are never part of a response: graders read them from the dataset.

The prompt is looked up by its exact text (all message contents joined by blank lines, as
:attr:`ChatRequest.prompt_text` does), so a policy that rewrites or decorates the prompt gets a
:class:`~tokenplan.errors.ReplayMissError` rather than somebody else's answer. A model the
dataset does not have raises :class:`~tokenplan.errors.ModelUnavailableError` (HTTP-404
semantics: fallback layers drop the model and move on).

Where the dataset recorded no text (RouteLLM's MMLU), the response text is empty and
``raw["replay"]["response_recorded"]`` is false.

**Usage and cost.** Datasets record a cost per call, not token counts. Given the dataset's
catalog, the reported usage is *reconstructed* so that the catalog prices bill the recorded
cost: the estimated token counts of the prompt and the response are scaled by one common
factor (:func:`billing_usage`). The product's metering layer, which prices every call from its
usage, then records the recorded cost to within half a token's price. Without a catalog the
usage is the plain estimate and ``cost_usd`` carries the recorded cost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from tokenplan.bench.dataset import OutcomeDataset, prompt_key
from tokenplan.catalog import Catalog, Model
from tokenplan.errors import ModelUnavailableError, ReplayMissError
from tokenplan.tokens import estimate_messages_tokens, estimate_tokens
from tokenplan.types import ChatRequest, ChatResponse, StreamChunk, Usage

__all__ = ["ReplayModel", "billing_usage"]

_MTOK = 1_000_000.0


def billing_usage(model: Model, cost_usd: float, *, input_tokens: int, output_tokens: int) -> Usage:
    """Token counts that ``model``'s prices bill at ``cost_usd``, shaped like the estimates.

    Both estimates are scaled by ``cost / estimated cost`` and rounded, so the billed cost is
    within half a token's price of ``cost_usd``. When the estimate prices at zero (no tokens,
    or free prices) the whole cost goes to the priced side; a free model keeps the estimate.
    """
    p_in, p_out = model.input_per_mtok / _MTOK, model.output_per_mtok / _MTOK
    estimated = input_tokens * p_in + output_tokens * p_out
    if cost_usd <= 0 or (p_in <= 0 and p_out <= 0):
        return Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    if estimated > 0:
        scale = cost_usd / estimated
        return Usage(
            input_tokens=round(input_tokens * scale), output_tokens=round(output_tokens * scale)
        )
    if p_out > 0:
        return Usage(input_tokens=input_tokens, output_tokens=round(cost_usd / p_out))
    return Usage(input_tokens=round(cost_usd / p_in), output_tokens=output_tokens)


class ReplayModel:
    """Serves an :class:`OutcomeDataset`'s recordings for its catalog ids.

    ``request.model`` may be the catalog id (``rb/gpt-4-1106-preview``) or the dataset's own
    model name. ``catalog`` (the dataset's catalog) makes the reported usage bill the recorded
    cost at its prices (see the module docstring). ``calls`` counts the responses served.
    """

    provider = "replay"

    def __init__(self, dataset: OutcomeDataset, *, catalog: Catalog | None = None) -> None:
        self.dataset = dataset
        self.catalog = catalog
        self.calls = 0

    def _resolve_model(self, model: str) -> str:
        name = self.dataset.model_name(model)
        if name is None and model in self.dataset.models:
            name = model
        if name is None:
            known = ", ".join(self.dataset.model_ids[:6])
            more = "" if len(self.dataset.models) <= 6 else ", ..."
            raise ModelUnavailableError(
                f"replay: no recordings for model {model!r} in {self.dataset.name} "
                f"(it has {known}{more})",
                status_code=404,
                provider=self.provider,
                model=model,
            )
        return name

    def _respond(self, request: ChatRequest) -> ChatResponse:
        name = self._resolve_model(request.model)
        text = request.prompt_text
        sample = self.dataset.find_text(text)
        if sample is None:
            key = prompt_key(text)
            raise ReplayMissError(
                f"replay: no recorded response for prompt {key} ({len(text)} chars) from "
                f"{request.model} in {self.dataset.name}; replay serves only the dataset's "
                "prompts, sent verbatim",
                prompt_key=key,
                provider=self.provider,
                model=request.model,
            )
        outcome = self.dataset.outcome(sample.id, name)
        answer = outcome.response or ""
        self.calls += 1
        model_id = self.dataset.model_id(name)
        input_tokens = estimate_messages_tokens(m.content for m in request.messages)
        output_tokens = estimate_tokens(answer) if answer else 0
        row = self.catalog.find(model_id) if self.catalog is not None else None
        if row is None:
            usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
        else:
            usage = billing_usage(
                row, outcome.cost_usd, input_tokens=input_tokens, output_tokens=output_tokens
            )
        return ChatResponse(
            id=f"replay-{sample.id}",
            model=model_id,
            provider=self.provider,
            text=answer,
            usage=usage,
            cost_usd=outcome.cost_usd,
            raw={
                "replay": {
                    "sample_id": sample.id,
                    "response_recorded": outcome.response is not None,
                    "cost_estimated": outcome.cost_estimated,
                }
            },
        )

    async def complete(self, request: ChatRequest) -> ChatResponse:
        return self._respond(request)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        response = self._respond(request)
        if response.text:
            for i, word in enumerate(response.text.split(" ")):
                yield StreamChunk(delta=word if i == 0 else " " + word)
        yield StreamChunk(response=response)
