"""The router: pick a model for a prompt under a strategy, a budget and the user's constraints.

Build a :class:`Router` once from a catalog and settings, then call :meth:`Router.route` per
prompt. Strategies and their formulas are documented in :mod:`tokenplan.routing.strategies`.

Constraints, checked in this order (the first one a model fails is its drop reason):

1. ``include_models`` / ``exclude_models`` / ``include_providers`` / ``exclude_providers``;
2. the endpoint is usable (``available(model)``; "endpoint not configured");
3. required features (``json_schema``, ``tools``, ``streaming``, ``reasoning``);
4. the model is offered for the capability;
5. ``max_tokens`` fits the model's max output, estimated input + ``max_tokens`` fits its context;
6. the quality floor of the strategy (soft: relaxed when nothing within budget reaches it);
7. the call's worst-case cost fits ``budget_usd`` (strict: :class:`NoCandidateError` naming
   the cheapest option; non-strict: that cheapest option is used, and the decision says so).

A per-capability rule from ``settings.rules`` (``code = "deepseek/deepseek-v4-flash"``) wins when
its model passes every hard constraint; otherwise the decision notes why and the strategy
decides. The router is pure CPU and thread-safe; its only state is a bounded cache of sorted
candidate orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tokenplan.catalog.model import CAPABILITIES
from tokenplan.errors import ConfigError, NoCandidateError, UsageError
from tokenplan.inputs import optional_budget_usd
from tokenplan.money import format_usd
from tokenplan.routing import explain as ex
from tokenplan.routing import strategies as st
from tokenplan.routing._inputs import (
    FEATURES,
    check_features,
    check_max_tokens,
    prompt_parts,
)
from tokenplan.routing.classifier import Classification, classify
from tokenplan.routing.decision import Candidate, RouteDecision
from tokenplan.settings import Settings, normalize_strategy

if TYPE_CHECKING:
    from tokenplan.catalog.catalog import Catalog
    from tokenplan.catalog.model import Model
    from tokenplan.types import ChatRequest

__all__ = ["FEATURES", "Router"]

_CACHE_LIMIT = 4096
_NO_FEATURES: frozenset[str] = frozenset()


class Router:
    """Routes prompts over ``catalog`` according to ``settings``.

    ``available(model)`` says whether a model's endpoint is usable (models failing it are dropped
    as "endpoint not configured"); it is evaluated once, here. ``latency_ms`` maps model ids to
    their p50 latency from the ledger, for ``auto:latency``.

    Raises :class:`ConfigError` when a rule or an include/exclude list names an unknown model,
    a rule names an unknown capability, or ``include_providers`` names an unknown provider.
    """

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings | None = None,
        *,
        available: Callable[[Model], bool] | None = None,
        latency_ms: Mapping[str, float] | None = None,
    ) -> None:
        self.catalog = catalog
        self.settings = settings if settings is not None else Settings()
        s = self.settings
        include = {self._resolve(x, "routing.include_models").id for x in s.include_models}
        exclude = {self._resolve(x, "routing.exclude_models").id for x in s.exclude_models}
        unknown = sorted(set(s.include_providers) - set(catalog.providers))
        if unknown:
            raise ConfigError(
                f"routing.include_providers: unknown provider(s) {', '.join(unknown)}; "
                f"known: {', '.join(catalog.providers)}"
            )
        self._static: dict[str, str] = {}
        for m in catalog:
            reason = _config_reason(m, include, exclude, s.include_providers, s.exclude_providers)
            if reason is None and available is not None and not available(m):
                reason = "endpoint not configured"
            if reason is not None:
                self._static[m.id] = reason
        self._eligible = tuple(m for m in catalog if m.id not in self._static)
        self.rules: dict[str, Model] = {}
        for cap, model_id in s.rules.items():
            if cap not in CAPABILITIES:
                raise ConfigError(
                    f"routing.rules: unknown capability {cap!r}; expected {', '.join(CAPABILITIES)}"
                )
            self.rules[cap] = self._resolve(model_id, f"routing.rules.{cap}")
        self._best: dict[str, float] = {
            c: max((m.quality[c] for m in self._eligible if c in m.quality), default=0.0)
            for c in CAPABILITIES
        }
        self._penalties = st.latency_penalties(self._eligible, latency_ms or {})
        self._by_features: dict[frozenset[str], tuple[tuple[Model, ...], frozenset[str]]] = {}
        self._orders: dict[tuple[Any, ...], tuple[st.Entry, ...]] = {}

    def _resolve(self, model_id: str, where: str) -> Model:
        m = self.catalog.find(model_id)
        if m is None:
            hint = self.catalog.suggest(model_id)
            did = f" (did you mean {', '.join(hint)}?)" if hint else ""
            raise ConfigError(f"{where}: unknown model {model_id!r}{did}")
        return m

    @property
    def has_latency_data(self) -> bool:
        return bool(self._penalties)

    # -- the decision ---------------------------------------------------------------------------

    def route(
        self,
        prompt: str | ChatRequest,
        *,
        strategy: str | None = None,
        budget_usd: float | None = None,
        max_tokens: int | None = None,
        capability: str | None = None,
        require: Iterable[str] = (),
        strict: bool = True,
        classification: Classification | None = None,
    ) -> RouteDecision:
        """Choose a model for ``prompt`` (text, or a :class:`~tokenplan.types.ChatRequest`).

        ``strategy`` is a name or alias (default: the settings'); ``budget_usd`` caps the call's
        worst-case cost (default: ``settings.route_budget_usd``; ``None`` = no cap);
        ``max_tokens`` defaults to the request's, else ``settings.default_max_tokens``;
        ``capability`` forces the capability instead of classifying it; ``require`` lists
        features the model must have (a request with a response schema requires
        ``json_schema``). ``strict=False`` lets an over-budget prompt go to the cheapest model
        instead of raising :class:`NoCandidateError`. ``classification`` skips the classifier
        (a planner that already knows a step's capability and complexity passes its own).
        Bad arguments raise :class:`UsageError`.
        """
        call = self._prepare(
            prompt, strategy, budget_usd, max_tokens, capability, require, classification
        )
        how, floor = "", 0.0
        pick = self._by_rule(call)
        if pick is not None:
            how = f"rule {call.capability} -> {pick.entry.model.id}"
        else:
            pick, floor = self._by_strategy(call)
        within = pick is not None
        if pick is None:
            pick, msg = self._over_budget(call, strict)
            how, floor = f"{msg}; used it (budget not strict)", 0.0
        return self._decision(call, pick, how, floor, within)

    def _prepare(
        self,
        prompt: str | ChatRequest,
        strategy: str | None,
        budget_usd: float | None,
        max_tokens: int | None,
        capability: str | None,
        require: Iterable[str],
        classification: Classification | None,
    ) -> ex.Call:
        s = self.settings
        text, input_tokens, req_max, req_features, req_model = prompt_parts(prompt)
        if strategy is None and req_model is not None and req_model.lower().startswith("auto"):
            strategy = req_model
        requested = strategy if strategy is not None else s.strategy
        name, optimize_latency = normalize_strategy(requested)
        budget = optional_budget_usd(budget_usd if budget_usd is not None else s.route_budget_usd)
        out = check_max_tokens(
            max_tokens if max_tokens is not None else req_max or s.default_max_tokens
        )
        features = _NO_FEATURES
        if require or req_features or s.require_features:
            features = check_features((*s.require_features, *require, *req_features))
        if capability is not None and capability not in CAPABILITIES:
            raise UsageError(
                f"unknown capability {capability!r}; expected {', '.join(CAPABILITIES)}"
            )
        cls = classification if classification is not None else classify(text)
        notes: list[str] = []
        cap: str = capability or cls.capability
        pool, offered = self._pool(features)
        if capability is None and cap not in offered:
            notes.append(f"no available model is offered for {cap}; routed as general")
            cap = "general"
        latency = optimize_latency and self.has_latency_data
        if optimize_latency and not latency:
            notes.append("auto:latency: no latency data in the ledger yet, so balanced was used")
        return ex.Call(
            text=text,
            input_tokens=input_tokens,
            max_tokens=out,
            budget=budget,
            features=features,
            capability=cap,
            forced=capability is not None,
            classification=cls,
            strategy=name,
            requested=requested,
            latency=latency,
            pool=pool,
            notes=notes,
        )

    def _by_rule(self, call: ex.Call) -> st.Pick | None:
        """The rule's model for this capability when it passes every hard constraint."""
        rule = self.rules.get(call.capability)
        if rule is None:
            return None
        why = ex.hard_reason(rule, call, self._static, budget=call.budget, need_capability=False)
        if why is not None:
            call.notes.append(f"rule {call.capability} -> {rule.id} skipped: {why}")
            return None
        q = rule.quality.get(call.capability, 0.0)
        return st.Pick(_entry(rule, q), rule.worst_case_cost(call.input_tokens, call.max_tokens), q)

    def _by_strategy(self, call: ex.Call) -> tuple[st.Pick | None, float]:
        """The strategy's pick at the quality floor, else without it; and the floor applied."""
        floor = 0.0
        if call.strategy != "best_quality":
            floor = st.FLOOR_FRACTION[call.complexity] * self._best.get(call.capability, 0.0)
        pick = self._search(call, call.strategy, floor, call.budget)
        if pick is None and floor > 0.0:
            pick = self._search(call, call.strategy, 0.0, call.budget)
            if pick is not None:
                call.notes.append(
                    f"no model within the constraints reaches the quality floor {floor:.2f} "
                    f"for {call.complexity} {call.capability}; used the best of the rest"
                )
                floor = 0.0
        return pick, floor

    def _over_budget(self, call: ex.Call, strict: bool) -> tuple[st.Pick, str]:
        """Nothing fits the budget: raise naming the cheapest option, or (non-strict) use it."""
        cheapest = self._search(call, "cheapest", 0.0, None)
        if cheapest is None:
            reasons = ex.dropped(
                self.catalog.models, call, self._static, budget=call.budget, floor=0.0
            )
            raise NoCandidateError(ex.none_fits_message(call.capability, reasons), reasons=reasons)
        msg = (
            f"no model fits {format_usd(call.budget)}: cheapest is {cheapest.entry.model.id} "
            f"at {format_usd(cheapest.cost_usd)} for this prompt"
        )
        if strict:
            reasons = ex.dropped(
                self.catalog.models, call, self._static, budget=call.budget, floor=0.0
            )
            raise NoCandidateError(msg, reasons=reasons)
        return cheapest, msg

    def _decision(
        self, call: ex.Call, pick: st.Pick, how: str, floor: float, within: bool
    ) -> RouteDecision:
        chosen = pick.entry.model
        strategy = call.strategy if within else "cheapest"
        budget = call.budget if within else None
        penalties = self._penalties if call.latency else {}

        def describe() -> str:
            return "; ".join((how or ex.reason_line(call, pick, floor), *call.notes))

        def explain() -> tuple[tuple[Candidate, ...], dict[str, str]]:
            rungs = ex.ladder(chosen, call, self._static, strategy=strategy, floor=floor,
                              budget=budget, penalties=penalties)  # fmt: skip
            kept = frozenset(c.model.id for c in rungs)
            return rungs, ex.dropped(
                self.catalog.models, call, self._static, budget=budget, floor=floor, kept=kept
            )

        return RouteDecision(
            model=chosen,
            strategy=call.strategy,
            requested=call.requested,
            capability=call.capability,
            capability_forced=call.forced,
            complexity=call.complexity,
            classification=call.classification,
            estimated_input_tokens=call.input_tokens,
            max_tokens=call.max_tokens,
            estimated_cost_usd=pick.cost_usd,
            quality=chosen.quality.get(call.capability, 0.0),
            quality_floor=floor,
            budget_usd=call.budget,
            within_budget=within,
            reason=describe,
            notes=tuple(call.notes),
            prompt_chars=len(call.text),
            explain=explain,
        )

    # -- search ---------------------------------------------------------------------------------

    def _pool(self, features: frozenset[str]) -> tuple[tuple[Model, ...], frozenset[str]]:
        """Eligible models having every feature, and the capabilities they offer."""
        found = self._by_features.get(features)
        if found is None:
            pool = tuple(m for m in self._eligible if all(getattr(m, f) for f in features))
            found = (pool, frozenset(c for m in pool for c in m.quality))
            self._by_features[features] = found
        return found

    def _search(
        self, call: ex.Call, strategy: str, floor: float, budget: float | None
    ) -> st.Pick | None:
        """Exact best pick among ``call.pool`` (see :mod:`tokenplan.routing.strategies`)."""
        tokens, out = call.input_tokens, call.max_tokens
        low = 1 << (tokens.bit_length() - 1) if tokens > 0 else 0
        latency = call.latency and strategy == "balanced"
        # The order depends on token counts only through cost, and on complexity only through
        # balanced's λ: keep those out of the key where they cannot change it.
        if strategy == "best_quality":
            key: tuple[Any, ...] = (id(call.pool), call.capability, strategy, floor)
        elif strategy == "cheapest":
            key = (id(call.pool), call.capability, strategy, floor, low, out)
        else:
            key = (
                id(call.pool),
                call.capability,
                strategy,
                call.complexity,
                floor,
                low,
                out,
                latency,
            )
        order = self._orders.get(key)
        if order is None:
            if len(self._orders) >= _CACHE_LIMIT:
                self._orders.clear()
            order = st.build_order(
                call.pool,
                capability=call.capability,
                strategy=strategy,
                complexity=call.complexity,
                floor=floor,
                input_tokens_low=low,
                max_tokens=out,
                penalties=self._penalties if latency else {},
            )
            self._orders[key] = order
        return st.walk(
            order,
            strategy=strategy,
            complexity=call.complexity,
            input_tokens=tokens,
            max_tokens=out,
            budget_usd=budget,
        )


def _config_reason(
    m: Model,
    include: set[str],
    exclude: set[str],
    include_providers: tuple[str, ...],
    exclude_providers: tuple[str, ...],
) -> str | None:
    if m.id in exclude:
        return "excluded by routing.exclude_models"
    if m.provider in exclude_providers:
        return f"provider {m.provider} excluded by routing.exclude_providers"
    if include and m.id not in include:
        return "not in routing.include_models"
    if include_providers and m.provider not in include_providers:
        return f"provider {m.provider} not in routing.include_providers"
    return None


def _entry(m: Model, quality: float) -> st.Entry:
    out_price = max(m.output_per_mtok, m.reasoning_output_per_mtok or 0.0)
    return st.Entry(
        0.0, m, quality, m.input_per_mtok, out_price, m.context_window, m.max_output_tokens, 0.0
    )
