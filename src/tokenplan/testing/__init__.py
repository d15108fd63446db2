"""Public test doubles, loopback fakes and the test mode, for code that uses tokenplan.

* :class:`ScriptedModel` answers from a list of canned replies (or errors), in order.
* :class:`FunctionModel` answers by calling your function with the request.
* :class:`FakeProviders` is an ASGI app speaking the OpenAI, Anthropic and Gemini wire formats
  (JSON and SSE) with fault injection; :func:`serve_fake` runs it on 127.0.0.1, and
  ``python -m tokenplan.testing.fakes --port N`` in a process of its own.
* :func:`set_testing` / :func:`fast_retries` turn retry backoff sleeps off (and record them).

The doubles satisfy :class:`tokenplan.providers.base.ChatModel`, report usage from text lengths
and record every request they receive in ``.requests``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenplan._lazy import lazy_exports

# name -> defining module, imported on first use: ``python -m tokenplan.testing.fakes`` must not
# find the fakes module already imported by its package.
_EXPORTS: dict[str, str] = {
    "fast_retries": "tokenplan.providers.retry",
    "is_testing": "tokenplan.providers.retry",
    "recorded_sleeps": "tokenplan.providers.retry",
    "set_testing": "tokenplan.providers.retry",
    "FakeServer": "tokenplan.testing.fake_server",
    "serve_fake": "tokenplan.testing.fake_server",
    "DroppedConnection": "tokenplan.testing.fakes",
    "FakeProviders": "tokenplan.testing.fakes",
    "Fault": "tokenplan.testing.fakes",
    "RecordedRequest": "tokenplan.testing.fakes",
    "FunctionModel": "tokenplan.testing.models",
    "ScriptedModel": "tokenplan.testing.models",
}

__all__ = [
    "DroppedConnection",
    "FakeProviders",
    "FakeServer",
    "Fault",
    "FunctionModel",
    "RecordedRequest",
    "ScriptedModel",
    "fast_retries",
    "is_testing",
    "recorded_sleeps",
    "serve_fake",
    "set_testing",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    from tokenplan.providers.retry import fast_retries as fast_retries
    from tokenplan.providers.retry import is_testing as is_testing
    from tokenplan.providers.retry import recorded_sleeps as recorded_sleeps
    from tokenplan.providers.retry import set_testing as set_testing
    from tokenplan.testing.fake_server import FakeServer as FakeServer
    from tokenplan.testing.fake_server import serve_fake as serve_fake
    from tokenplan.testing.fakes import DroppedConnection as DroppedConnection
    from tokenplan.testing.fakes import FakeProviders as FakeProviders
    from tokenplan.testing.fakes import Fault as Fault
    from tokenplan.testing.fakes import RecordedRequest as RecordedRequest
    from tokenplan.testing.models import FunctionModel as FunctionModel
    from tokenplan.testing.models import ScriptedModel as ScriptedModel
