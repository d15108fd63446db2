"""The runtime: one per invocation, handing the shared pieces down to everything that calls models.

:class:`Runtime` owns the settings, the catalog, the ONE shared ``httpx.AsyncClient`` (its
transport injectable), key resolution, which endpoints are usable, the cooldown registry, the
ledger sink, and the model factory::

    async with Runtime(Settings.load()) as rt:
        model = rt.fallback_model(["openai/gpt-5-mini", "anthropic/claude-haiku-4-5"])
        response = await model.complete(ChatRequest.from_prompt("hi"))

When no endpoint serving a catalog model is usable (no key, no configured base URL) or
``settings.offline`` is set, the runtime is *simulated*: every catalog model is served by the
offline simulator, and front ends print :func:`offline_notice` once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tokenplan.errors import ConfigError, MissingKeyError, register_secret

if TYPE_CHECKING:
    from types import TracebackType

    import httpx

    from tokenplan.catalog.catalog import Catalog
    from tokenplan.catalog.model import Model
    from tokenplan.ledger.store import Ledger
    from tokenplan.providers.base import ChatModel
    from tokenplan.providers.cooldown import Cooldowns
    from tokenplan.providers.endpoints import ResolvedEndpoint
    from tokenplan.providers.fallback import FallbackModel
    from tokenplan.providers.h1 import H1Transport
    from tokenplan.providers.metered import AttemptSink
    from tokenplan.providers.retry import RetryPolicy
    from tokenplan.settings import Settings

__all__ = ["Runtime", "build_simulator", "load_catalog", "offline_notice"]

T = TypeVar("T")


def load_catalog(settings: Settings) -> Catalog:
    """The catalog for this invocation: bundled snapshot, refresh cache and user models."""
    from tokenplan.catalog.loading import load_catalog as _load

    return _load(settings)


def build_simulator(catalog: Catalog, settings: Settings) -> ChatModel:
    """The offline simulator serving every catalog model, configured from the ``[sim]`` table
    and the ``TOKENPLAN_SIM_*`` variables (see ``docs/simulator.md``)."""
    from tokenplan.providers.sim import SimulatorModel

    return SimulatorModel.from_settings(catalog, settings)


class Runtime:
    """Settings, catalog, shared HTTP client, keys, cooldowns, ledger sink and model factory.

    Use as an async context manager (the client is closed on exit) or call :meth:`aclose`.

    * ``transport``: the httpx transport under the shared client (tests inject
      ``httpx.MockTransport`` / ``httpx.ASGITransport``); ``client`` replaces the client itself.
    * ``simulator``: the model that serves every catalog id when the runtime is simulated
      (default: :func:`build_simulator`); tests inject a ``ScriptedModel``.
    * ``attempt_sink``: receives one ledger ``Attempt`` per model call (the ledger's
      ``append``); ``None`` records nothing.
    * ``ledger``: a :class:`~tokenplan.ledger.Ledger` the runtime records to (its ``append``
      becomes the sink) and closes on exit. :meth:`open` uses the settings' ledger file.
    * ``retry_policy``: defaults to ``settings.max_retries`` retries per model.
    """

    @classmethod
    def open(cls, settings: Settings | None = None, **kwargs: Any) -> Runtime:
        """The runtime front ends use: every model call is recorded on the settings' ledger."""
        from tokenplan.ledger.store import Ledger
        from tokenplan.settings import Settings

        settings = settings if settings is not None else Settings.load()
        return cls(settings, ledger=Ledger(settings.ledger_file), **kwargs)

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        catalog: Catalog | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        simulator: ChatModel | None = None,
        attempt_sink: AttemptSink | None = None,
        ledger: Ledger | None = None,
        retry_policy: RetryPolicy | None = None,
        cooldowns: Cooldowns | None = None,
    ) -> None:
        from tokenplan.providers.cooldown import Cooldowns
        from tokenplan.providers.keys import KeyStore
        from tokenplan.settings import Settings

        self.settings = settings if settings is not None else Settings.load()
        self.catalog = catalog if catalog is not None else load_catalog(self.settings)
        self.cooldowns = cooldowns if cooldowns is not None else Cooldowns()
        self._retry_policy = retry_policy
        self.ledger = ledger
        self.attempt_sink = attempt_sink or (ledger.append if ledger is not None else None)
        self._transport = transport
        self._direct: H1Transport | None = None
        self._client = client
        self._owns_client = client is None
        self._simulator = simulator
        self._stored_keys = KeyStore(self.settings.paths.keys_file).load()
        self._resolved: dict[tuple[str, str], ResolvedEndpoint] = {}
        self._models: dict[str, ChatModel] = {}
        self._endpoint_names: dict[str, str | None] = {}
        self._simulated: bool | None = None

    @property
    def simulator(self) -> ChatModel:
        """The offline simulator (built on first use from ``[sim]``: a bad value there is a
        :class:`~tokenplan.errors.ConfigError` from here)."""
        if self._simulator is None:
            self._simulator = build_simulator(self.catalog, self.settings)
        return self._simulator

    @property
    def retry_policy(self) -> RetryPolicy:
        """How hard each model is tried (``settings.max_retries`` retries unless given)."""
        if self._retry_policy is None:
            from tokenplan.providers.retry import RetryPolicy

            self._retry_policy = RetryPolicy(max_attempts=self.settings.max_retries + 1)
        return self._retry_policy

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared HTTP client (when the runtime created it) and the ledger."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None
        if self.ledger is not None:
            self.ledger.close()

    @property
    def client(self) -> httpx.AsyncClient:
        """The one shared ``httpx.AsyncClient`` (created on first use)."""
        if self._client is None:
            import httpx

            from tokenplan.providers.h1 import H1Transport
            from tokenplan.providers.transport import default_transport, proxy_configured

            timeout_s = self.settings.request_timeout_s
            timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
            choice = self.settings.http_transport
            if self._transport is None and choice == "auto" and proxy_configured(self.settings.env):
                # Behind an HTTP(S)_PROXY: httpx's own transports honour it (and NO_PROXY).
                self._direct = None
                self._client = httpx.AsyncClient(
                    timeout=timeout, follow_redirects=False, trust_env=True
                )
                return self._client
            transport = self._transport or default_transport(choice)
            # Provider calls on our own HTTP/1.1 transport skip httpx's request and response
            # objects (see HTTPChatModel); everything else goes through the client as usual.
            self._direct = transport if isinstance(transport, H1Transport) else None
            self._client = httpx.AsyncClient(
                transport=transport, timeout=timeout, follow_redirects=False
            )
        return self._client

    # -- endpoints and availability -----------------------------------------------------------

    def provider_name(self, model: Model) -> str:
        """The endpoint that bills calls to ``model``: the ``provider`` the ledger, ``route
        --send`` and the proxy all report (simulated calls too; ``simulated`` marks them)."""
        if not self.simulated:
            return self.resolve(model).name
        from tokenplan.providers.endpoints import endpoint_for_model

        try:
            return endpoint_for_model(model, self.settings.endpoints).name
        except ConfigError:  # a user model on an unknown endpoint: only simulated here
            return model.provider

    def resolve(self, model: Model) -> ResolvedEndpoint:
        """The endpoint serving ``model``, with base URL and key resolved."""
        from tokenplan.providers.endpoints import endpoint_for_model, resolve_endpoint

        key = (
            model.provider,
            str(model.extra.get("endpoint", "")) + str(model.extra.get("base_url", "")),
        )
        found = self._resolved.get(key)
        if found is None:
            endpoint = endpoint_for_model(model, self.settings.endpoints)
            found = resolve_endpoint(
                endpoint,
                env=self.settings.env,
                config=self.settings.endpoints,
                stored_keys=self._stored_keys,
                model=model,
            )
            if found.api_key:
                register_secret(found.api_key)
            self._resolved[key] = found
        return found

    def _endpoint_usable(self, model: Model) -> bool:
        try:
            return self.resolve(model).usable
        except ConfigError:
            return False

    @property
    def simulated(self) -> bool:
        """True when every call goes to the offline simulator (offline, or nothing usable)."""
        if self._simulated is None:
            self._simulated = (
                self.settings.offline
                or not self._anything_configured()
                or not any(self._endpoint_usable(m) for m in self.catalog)
            )
        return self._simulated

    def _anything_configured(self) -> bool:
        """Whether any endpoint could be usable, without resolving the endpoint table.

        On a machine with no key and no server configured (the first run of a newcomer, CI)
        this answers without importing or resolving endpoints: every built-in key variable
        ends in ``_API_KEY`` (a test holds the table to that), base URLs come from
        ``TOKENPLAN_*_BASE_URL``, the keys file, ``[endpoints]`` or a model's ``base_url``.
        """
        if self._stored_keys or self.settings.endpoints:
            return True
        for name, value in self.settings.env.items():
            if value and (
                name.endswith("_API_KEY")
                or (name.startswith("TOKENPLAN_") and name.endswith("_BASE_URL"))
            ):
                return True
        return any("base_url" in m.extra for m in self.catalog if m.extra)

    def available(self, model: Model | str) -> bool:
        """Whether ``model`` can be called now: its endpoint is usable (or the runtime is
        simulated) and neither it nor its endpoint is cooled down."""
        m = self.catalog.get(model) if isinstance(model, str) else model
        if self.simulated:
            return self.cooldowns.reason(m.id) is None
        if not self._endpoint_usable(m):
            return False
        return self.cooldowns.reason(m.id, self.resolve(m).name) is None

    def available_models(self) -> list[Model]:
        """Catalog models :meth:`available` says can be called, in catalog order."""
        return [m for m in self.catalog if self.available(m)]

    def endpoint_status(self) -> list[dict[str, Any]]:
        """One row per endpoint serving a catalog model: name, dialect, base URL and where it
        came from, key source (never the key), usable."""
        rows: dict[str, dict[str, Any]] = {}
        for m in self.catalog:
            try:
                r = self.resolve(m)
            except ConfigError:
                continue
            rows.setdefault(
                r.name,
                {
                    "endpoint": r.name,
                    "dialect": r.endpoint.dialect,
                    "base_url": r.base_url,
                    "base_url_source": r.base_url_source,
                    "key_source": r.key_source,
                    "usable": r.usable,
                },
            )
        return sorted(rows.values(), key=lambda row: str(row["endpoint"]))

    # -- model factory ------------------------------------------------------------------------

    def chat_model(self, model_id: str) -> ChatModel:
        """The metered model for one catalog id (alias or bare API name accepted).

        Raises :class:`~tokenplan.errors.UnknownModelError` for ids not in the catalog and
        :class:`~tokenplan.errors.MissingKeyError` when its endpoint is not usable.
        """
        from tokenplan.providers.http import HTTPChatModel
        from tokenplan.providers.metered import MeteredModel

        model = self.catalog.get(model_id)
        cached = self._models.get(model.id)
        if cached is not None:
            return cached
        inner: ChatModel
        if self.simulated:
            inner, provider, simulated = self.simulator, self.provider_name(model), True
        else:
            resolved = self.resolve(model)
            if not resolved.usable:
                endpoint = resolved.endpoint
                env_var = endpoint.key_env[0] if endpoint.key_env else ""
                raise MissingKeyError(endpoint.name, env_var or f"{endpoint.name} key")
            client = self.client
            inner = HTTPChatModel(
                model,
                resolved,
                client=client,
                timeout_s=self.settings.request_timeout_s,
                direct=self._direct,
            )
            provider, simulated = resolved.name, False
        metered = MeteredModel(
            inner, model, provider=provider, sink=self.attempt_sink, simulated=simulated
        )
        self._models[model.id] = metered
        return metered

    def fallback_model(
        self, ladder: Sequence[str], *, policy: RetryPolicy | None = None
    ) -> FallbackModel:
        """A :class:`~tokenplan.providers.fallback.FallbackModel` over ``ladder`` (catalog ids,
        best first) sharing this runtime's models, retry policy and cooldowns."""
        from tokenplan.providers.fallback import FallbackModel

        return FallbackModel(
            ladder,
            factory=self.chat_model,
            policy=policy or self.retry_policy,
            cooldowns=self.cooldowns,
            endpoint_of=self._endpoint_name,
        )

    def _endpoint_name(self, model_id: str) -> str | None:
        # Asked before every rung of every fallback call: resolved once per id.
        try:
            return self._endpoint_names[model_id]
        except KeyError:
            pass
        name: str | None = None
        model = None if self.simulated else self.catalog.find(model_id)
        if model is not None:
            try:
                name = self.resolve(model).name
            except ConfigError:
                name = None
        self._endpoint_names[model_id] = name
        return name


def offline_notice(runtime: Runtime) -> str | None:
    """The one-line notice a front end prints (stderr, once per command) when outputs are
    simulated; ``None`` when real models are used."""
    if not runtime.simulated:
        return None
    if runtime.settings.offline:
        return "offline mode: using the offline simulator; outputs are synthetic"
    return (
        "no provider keys found, using the offline simulator; outputs are synthetic. "
        "Set OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, ... (or run "
        "'tokenplan keys set PROVIDER'), or TOKENPLAN_OPENAI_BASE_URL for a local server"
    )
