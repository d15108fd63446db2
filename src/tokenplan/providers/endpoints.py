"""Endpoints: where a model is served, how to authenticate, and which wire dialect it speaks.

An endpoint is a data row, not a module: DeepSeek or Groq is the OpenAI dialect with another
base URL and key variable. A catalog model is served by the endpoint named by its
``extra["endpoint"]`` or, by default, its ``provider``.

Base URLs resolve, first match wins:

1. env ``TOKENPLAN_<NAME>_BASE_URL`` (e.g. ``TOKENPLAN_OPENAI_BASE_URL=http://127.0.0.1:11434/v1``),
2. the config file, ``[endpoints.NAME] base_url = "..."``,
3. the model's ``extra["base_url"]`` (user models file, e.g. an ``ollama/llama3.2`` row),
4. the row's default.

An endpoint is *usable* when it has a key, or needs none and has a base URL someone configured
(any overridden base URL counts: a local server behind ``TOKENPLAN_OPENAI_BASE_URL`` needs no
key). Local endpoints (ollama, vllm, llamacpp) are usable only once configured that way, so a
fresh machine never tries ``localhost``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tokenplan.errors import ConfigError, register_secret

if TYPE_CHECKING:
    from tokenplan.catalog.model import Model

__all__ = [
    "DIALECTS",
    "ENDPOINTS",
    "Dialect",
    "Endpoint",
    "ResolvedEndpoint",
    "base_url_env_var",
    "display_url",
    "endpoint_for_model",
    "find_endpoint",
    "resolve_endpoint",
]

Dialect = Literal["openai", "anthropic", "gemini"]
DIALECTS: tuple[Dialect, ...] = ("openai", "anthropic", "gemini")


@dataclass(frozen=True, slots=True, eq=False)
class Endpoint:
    """One API endpoint.

    ``key_env`` lists the environment variables holding its key, first found wins.
    ``needs_key`` is false for local servers. ``max_tokens_field`` is the OpenAI-dialect name of
    the output cap (OpenAI's reasoning models accept only ``max_completion_tokens``; most
    compatible servers accept only ``max_tokens``). ``stream_usage`` says whether to send
    ``stream_options.include_usage`` (Mistral rejects it and sends usage anyway).
    ``developer_role`` keeps ``developer`` messages (else they become ``system``);
    ``reasoning_sampling`` false drops ``temperature``/``top_p`` for reasoning models, which
    OpenAI rejects with a 400.
    """

    name: str
    dialect: Dialect
    base_url: str
    key_env: tuple[str, ...] = ()
    needs_key: bool = True
    local: bool = False
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold keys
    aliases: tuple[str, ...] = ()
    max_tokens_field: str = "max_tokens"
    stream_usage: bool = True
    developer_role: bool = False
    reasoning_sampling: bool = True
    docs_url: str = ""


#: The built-in endpoints. Base URLs, auth schemes and quirks checked against each vendor's docs.
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "openai",
        "openai",
        "https://api.openai.com/v1",
        ("OPENAI_API_KEY",),
        max_tokens_field="max_completion_tokens",
        developer_role=True,
        reasoning_sampling=False,
        docs_url="https://platform.openai.com/api-keys",
    ),
    Endpoint(
        "anthropic",
        "anthropic",
        "https://api.anthropic.com",
        ("ANTHROPIC_API_KEY",),
        docs_url="https://console.anthropic.com/settings/keys",
    ),
    Endpoint(
        "gemini",
        "gemini",
        "https://generativelanguage.googleapis.com/v1beta",
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        aliases=("google",),
        docs_url="https://aistudio.google.com/apikey",
    ),
    Endpoint(
        "openrouter",
        "openai",
        "https://openrouter.ai/api/v1",
        ("OPENROUTER_API_KEY",),
        headers={"x-title": "tokenplan"},
        docs_url="https://openrouter.ai/keys",
    ),
    Endpoint("deepseek", "openai", "https://api.deepseek.com", ("DEEPSEEK_API_KEY",)),
    Endpoint(
        "mistral", "openai", "https://api.mistral.ai/v1", ("MISTRAL_API_KEY",), stream_usage=False
    ),
    Endpoint("xai", "openai", "https://api.x.ai/v1", ("XAI_API_KEY",)),
    Endpoint("groq", "openai", "https://api.groq.com/openai/v1", ("GROQ_API_KEY",)),
    Endpoint("together", "openai", "https://api.together.ai/v1", ("TOGETHER_API_KEY",)),
    Endpoint(
        "ollama",
        "openai",
        "http://127.0.0.1:11434/v1",
        ("OLLAMA_API_KEY",),
        needs_key=False,
        local=True,
    ),
    Endpoint(
        "vllm", "openai", "http://127.0.0.1:8000/v1", ("VLLM_API_KEY",), needs_key=False, local=True
    ),
    Endpoint(
        "llamacpp",
        "openai",
        "http://127.0.0.1:8080/v1",
        ("LLAMACPP_API_KEY",),
        needs_key=False,
        local=True,
        aliases=("llama.cpp", "llama-cpp"),
    ),
)

_BY_NAME: dict[str, Endpoint] = {}
for _e in ENDPOINTS:
    _BY_NAME[_e.name] = _e
    for _alias in _e.aliases:
        _BY_NAME[_alias] = _e


def base_url_env_var(name: str) -> str:
    """``TOKENPLAN_<NAME>_BASE_URL`` for an endpoint name (non-alphanumerics become ``_``)."""
    slug = "".join(c if c.isalnum() else "_" for c in name).upper()
    return f"TOKENPLAN_{slug}_BASE_URL"


def find_endpoint(name: str, overrides: Mapping[str, Any] | None = None) -> Endpoint | None:
    """The endpoint row for ``name`` (or an alias), including ones defined in config.

    ``overrides`` is ``settings.endpoints``: a ``[endpoints.NAME]`` table with a ``dialect``
    and ``base_url`` defines a new endpoint (e.g. a team's vLLM server); on a built-in name it
    may set ``api_key_env`` and ``headers``.
    """
    row = _BY_NAME.get(name)
    table = (overrides or {}).get(name) if row is None else (overrides or {}).get(row.name)
    if table is not None and not isinstance(table, Mapping):
        raise ConfigError(f"config: endpoints.{name}: expected a table")
    if row is None:
        if table is None:
            return None
        return _custom_endpoint(name, table)
    if table:
        return _apply_table(row, table)
    return row


def _apply_table(row: Endpoint, table: Mapping[str, Any]) -> Endpoint:
    from dataclasses import replace

    changes: dict[str, Any] = {}
    if "api_key_env" in table:
        changes["key_env"] = (_str(table, "api_key_env", row.name), *row.key_env)
    if "headers" in table:
        changes["headers"] = {**row.headers, **_headers(table, row.name)}
    return replace(row, **changes) if changes else row


def _custom_endpoint(name: str, table: Mapping[str, Any]) -> Endpoint:
    dialect = table.get("dialect", "openai")
    if dialect not in DIALECTS:
        raise ConfigError(
            f"config: endpoints.{name}.dialect: expected one of {', '.join(DIALECTS)}"
        )
    base_url = _str(table, "base_url", name)
    key_env = (_str(table, "api_key_env", name),) if "api_key_env" in table else ()
    return Endpoint(
        name,
        dialect,
        base_url,
        key_env,
        needs_key=bool(table.get("needs_key", bool(key_env))),
        headers=_headers(table, name),
    )


def _str(table: Mapping[str, Any], key: str, name: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"config: endpoints.{name}.{key}: expected a non-empty string")
    return value


#: Header names whose values are credentials (``authorization``, ``api-key``, ``x-api-key``,
#: ``x-auth-token``, ...): they are registered with :func:`tokenplan.errors.redact`.
_SECRET_HEADER_WORDS = ("authorization", "key", "token", "secret", "password", "cookie")


def _headers(table: Mapping[str, Any], name: str) -> dict[str, str]:
    headers = table.get("headers", {})
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        raise ConfigError(f"config: endpoints.{name}.headers: expected a table of strings")
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for key, value in lowered.items():
        if any(word in key for word in _SECRET_HEADER_WORDS):
            register_secret(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.isalpha():  # "Bearer abc...": the token alone may be echoed
                register_secret(token.strip())
    return lowered


def endpoint_for_model(model: Model, overrides: Mapping[str, Any] | None = None) -> Endpoint:
    """The endpoint serving ``model``: ``extra["endpoint"]``, else its provider.

    A user model naming an unknown provider but giving ``extra["base_url"]`` gets an ad-hoc
    endpoint on ``extra["dialect"]`` (default ``openai``), keyed by ``extra["api_key_env"]``.
    """
    name = str(model.extra.get("endpoint") or model.provider)
    row = find_endpoint(name, overrides)
    if row is not None:
        return row
    if model.extra.get("base_url"):
        table: dict[str, Any] = {
            "dialect": model.extra.get("dialect", "openai"),
            "base_url": model.extra["base_url"],
        }
        if model.extra.get("api_key_env"):
            table["api_key_env"] = model.extra["api_key_env"]
        return _custom_endpoint(name, table)
    known = ", ".join(sorted(e.name for e in ENDPOINTS))
    raise ConfigError(
        f"model {model.id!r}: no endpoint named {name!r} (known: {known}); "
        f"add [endpoints.{name}] with dialect and base_url to the config file"
    )


@dataclass(frozen=True, slots=True, eq=False)
class ResolvedEndpoint:
    """An endpoint with its base URL and key resolved for one invocation.

    ``base_url_source`` is ``env``, ``config``, ``model`` or ``default``; ``key_source`` is the
    env var name, ``keys-file`` or ``""``. ``base_url`` never holds credentials: a
    ``user:password@`` in the configured URL is moved to ``basic_auth`` (sent as HTTP Basic
    auth). Neither the key nor ``basic_auth`` appears in ``repr``.
    """

    endpoint: Endpoint
    base_url: str
    base_url_source: str
    api_key: str | None = field(default=None, repr=False)
    key_source: str = ""
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def usable(self) -> bool:
        """Has a key, or its base URL was configured (a server someone pointed us at)."""
        return bool(self.api_key) or self.base_url_source != "default"


def resolve_endpoint(
    endpoint: Endpoint,
    *,
    env: Mapping[str, str],
    config: Mapping[str, Any] | None = None,
    stored_keys: Mapping[str, str] | None = None,
    model: Model | None = None,
) -> ResolvedEndpoint:
    """Resolve base URL and key for ``endpoint`` (env > config > model extra > default).

    Keys: the endpoint's env vars first, then the keys file (``tokenplan keys set``).
    """
    table = (config or {}).get(endpoint.name) or {}
    env_url = env.get(base_url_env_var(endpoint.name), "").strip()
    if env_url:
        base_url, source = env_url, "env"
    elif isinstance(table, Mapping) and table.get("base_url"):
        base_url, source = str(table["base_url"]), "config"
    elif model is not None and model.extra.get("base_url"):
        base_url, source = str(model.extra["base_url"]), "model"
    else:
        base_url, source = endpoint.base_url, "default"
    key: str | None = None
    key_source = ""
    for var in endpoint.key_env:
        value = env.get(var, "").strip()
        if value:
            key, key_source = value, var
            break
    if key is None and stored_keys:
        value = stored_keys.get(endpoint.name, "").strip()
        if value:
            key, key_source = value, "keys-file"
    base_url, basic_auth = _split_userinfo(base_url.rstrip("/"))
    return ResolvedEndpoint(endpoint, base_url, source, key, key_source, basic_auth)


def _split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its ``user:password@`` part, and that part (percent-decoded)."""
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None  # an invalid URL: reported (without its text) when first used
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    user, password = unquote(user), unquote(password)
    register_secret(password)
    register_secret(userinfo)
    return parts._replace(netloc=hostport).geturl(), (user, password)


def display_url(url: str) -> str:
    """``url`` as it may be shown in messages and logs: no ``user:password@``, no query."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc, query="", fragment="").geturl()
