"""Public test doubles and fakes for code that uses tokenplan.

* :class:`ScriptedModel` answers from a list of canned replies (or errors), in order.
* :class:`FunctionModel` answers by calling your function with the request.

Both satisfy :class:`tokenplan.providers.base.ChatModel`, report usage from text lengths and
record every request they receive in ``.requests``.
"""

from tokenplan.testing.models import FunctionModel, ScriptedModel

__all__ = ["FunctionModel", "ScriptedModel"]
