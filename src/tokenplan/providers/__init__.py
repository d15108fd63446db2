"""The provider layer: one async ``ChatModel`` protocol over three wire dialects.

* :mod:`~tokenplan.providers.endpoints` - endpoint rows (base URL, key variables, dialect);
* :mod:`~tokenplan.providers.dialects` - OpenAI chat completions, Anthropic Messages, Gemini;
* :mod:`~tokenplan.providers.http` - the HTTP provider and the error boundary;
* :mod:`~tokenplan.providers.metered` - budget reservations and one ledger line per call;
* :mod:`~tokenplan.providers.fallback` / :mod:`~tokenplan.providers.retry` - retries, failover;
* :mod:`~tokenplan.providers.keys` - the keys file; :mod:`~tokenplan.providers.transport` - HTTP
  transports behind httpx.
"""
