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

from tokenplan.providers.retry import fast_retries, is_testing, recorded_sleeps, set_testing
from tokenplan.testing.fake_server import FakeServer, serve_fake
from tokenplan.testing.fakes import DroppedConnection, FakeProviders, Fault, RecordedRequest
from tokenplan.testing.models import FunctionModel, ScriptedModel

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
