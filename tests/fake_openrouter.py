"""A fake of OpenRouter's ``GET /api/v1/models`` for tests: an ASGI app plus a loopback server.

The payloads follow the real response shape (``{"data": [...]}``, prices as strings of USD per
token, ``top_provider.max_completion_tokens``, ``supported_parameters``, ``architecture``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def or_model(
    slug: str,
    *,
    prompt: str = "0.0000005",
    completion: str = "0.0000015",
    context: int | None = 131072,
    max_out: int | None = 16384,
    params: tuple[str, ...] = ("max_tokens", "temperature", "tools", "tool_choice"),
    outputs: tuple[str, ...] = ("text",),
    **pricing: Any,
) -> dict[str, Any]:
    """One ``data`` entry shaped like OpenRouter's."""
    return {
        "id": slug,
        "canonical_slug": slug,
        "name": f"Fake: {slug}",
        "created": 1_760_000_000,
        "description": "a fake model",
        "context_length": context,
        "architecture": {
            "modality": "text->" + "+".join(outputs),
            "input_modalities": ["text"],
            "output_modalities": list(outputs),
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {"prompt": prompt, "completion": completion, "request": "0", **pricing},
        "top_provider": {
            "context_length": context,
            "max_completion_tokens": max_out,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": list(params),
    }


def sample_payload() -> dict[str, Any]:
    """A small but varied model list: updates, additions, a twin and every skip reason."""
    return {
        "data": [
            # In the bundled catalog: prices and limits are updated.
            or_model(
                "deepseek/deepseek-v3.2",
                prompt="0.00000025",
                completion="0.00000038",
                context=163840,
                max_out=65536,
                input_cache_read="0.000000025",
                params=("tools", "structured_outputs", "reasoning", "include_reasoning"),
            ),
            # Same model as the curated openai/gpt-5: takes its priors.
            or_model("openai/gpt-5", prompt="0.00000125", completion="0.00001", context=400000),
            # Unknown to the catalog: added with default priors and an inferred tier.
            or_model("acme/widget-70b", prompt="0.0000002", completion="0.0000006"),
            or_model(
                "acme/big-brain",
                prompt="0.000005",
                completion="0.000025",
                context=200000,
                max_out=None,
                internal_reasoning="0.00005",
                overrides=[{"min_prompt_tokens": 200000, "prompt": "0.00001"}],
            ),
            # Skipped: router pseudo-model, free, image output, request fee, malformed.
            or_model("openrouter/auto", prompt="-1", completion="-1"),
            or_model("acme/widget-70b:free", prompt="0", completion="0"),
            or_model("acme/painter", outputs=("image", "text")),
            or_model("acme/per-call", request="0.01"),
            {"id": "acme/no-pricing", "context_length": 1000},
        ]
    }


@dataclass
class FakeOpenRouter:
    """Scripted behaviour of the fake endpoint; ``requests`` records what it was sent."""

    payload: Any = field(default_factory=sample_payload)
    status: int = 200
    raw_body: bytes | None = None  # sent verbatim instead of ``payload`` when set
    requests: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def models(request: Request) -> Response:
            self.requests.append(dict(request.headers))
            if self.raw_body is not None:
                return Response(
                    self.raw_body, status_code=self.status, media_type="application/json"
                )
            if self.status >= 400:
                return JSONResponse({"error": {"message": "boom"}}, status_code=self.status)
            return JSONResponse(self.payload)

        return Starlette(routes=[Route("/api/v1/models", models)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(fake: FakeOpenRouter) -> Iterator[str]:
    """Run ``fake`` with uvicorn on a free loopback port; yield its base URL."""
    import uvicorn

    config = uvicorn.Config(
        fake.app(),
        host="127.0.0.1",
        port=free_port(),
        log_level="error",
        lifespan="off",
        ws="none",
        http="h11",
        loop="asyncio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake OpenRouter server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
