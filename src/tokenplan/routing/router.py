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

A per-capability rule from ``settings.rules`` (``code = "deepseek/deepseek-chat"``) wins when
its model passes every hard constraint; otherwise the decision notes why and the strategy
decides. The router is pure CPU and thread-safe; its only state is a bounded cache of sorted
candidate orders.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tokenplan.catalog.model import CAPABILITIES
from tokenplan.errors import ConfigError, NoCandidateError, UsageError
from tokenplan.routing import strategies as st
from tokenplan.routing.classifier import Classification, classify
from tokenplan.routing.decision import Candidate, RouteDecision
from tokenplan.settings import Settings, normalize_strategy
from tokenplan.tokens import estimate_messages_tokens

if TYPE_CHECKING:
    from tokenplan.catalog.catalog import Catalog
    from tokenplan.catalog.model import Model
    from tokenplan.types import ChatRequest

__all__ = ["FEATURES", "Router"]

#: Features a route can require.
FEATURES: tuple[str, ...] = ("json_schema", "tools", "streaming", "reasoning")

_CACHE_LIMIT = 4096
_NO_FEATURES: frozenset[str] = frozenset()
_EPS_USD = 1e-12


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
        text, input_tokens, req_max, req_features, req_model = _prompt_parts(prompt)
        if strategy is None and req_model is not None and req_model.lower().startswith("auto"):
            strategy = req_model
        requested = strategy if strategy is not None else self.settings.strategy
        name, optimize_latency = normalize_strategy(requested)
        budget = _check_budget(
            budget_usd if budget_usd is not None else self.settings.route_budget_usd
        )
        out = _check_max_tokens(
            max_tokens if max_tokens is not None else req_max or self.settings.default_max_tokens
        )
        if require or req_features or self.settings.require_features:
            features = _check_features((*self.settings.require_features, *require, *req_features))
        else:
            features = _NO_FEATURES
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
        complexity = cls.complexity
        use_latency = optimize_latency and self.has_latency_data
        if optimize_latency and not use_latency:
            notes.append("auto:latency: no latency data in the ledger yet, so balanced was used")

        # 1. a rule for this capability wins when its model fits every hard constraint
        pick: st.Pick | None = None
        how = ""
        floor_applies = name != "best_quality"
        rule = self.rules.get(cap)
        if rule is not None:
            why = self._hard_reason(rule, cap, features, input_tokens, out, budget, need_cap=False)
            if why is None:
                q = rule.quality.get(cap, 0.0)
                pick = st.Pick(_bare_entry(rule, q), rule.worst_case_cost(input_tokens, out), q)
                how = f"rule {cap} -> {rule.id}"
                floor_applies = False
            else:
                notes.append(f"rule {cap} -> {rule.id} skipped: {why}")

        # 2. the strategy, at the quality floor, then without it
        floor = self._floor(cap, complexity) if floor_applies else 0.0
        relaxed = False
        if pick is None:
            pick = self._search(
                pool, cap, name, complexity, floor, input_tokens, out, budget, use_latency
            )
            if pick is None and floor > 0.0:
                pick = self._search(
                    pool, cap, name, complexity, 0.0, input_tokens, out, budget, use_latency
                )
                if pick is not None:
                    relaxed = True
                    notes.append(
                        f"no model within the constraints reaches the quality floor "
                        f"{floor:.2f} for {complexity} {cap}; used the best of the rest"
                    )

        # 3. nothing fits the budget: strict -> error naming the cheapest option
        within = True
        if pick is None:
            cheapest = self._search(
                pool, cap, "cheapest", complexity, 0.0, input_tokens, out, None, False
            )
            if cheapest is None:
                dropped = self._dropped(cap, features, input_tokens, out, budget, 0.0, set())
                raise NoCandidateError(_none_fits_message(cap, dropped), reasons=dropped)
            option = cheapest.entry.model
            msg = (
                f"no model fits ${budget:g}: cheapest is {option.id} at "
                f"${cheapest.cost_usd:.2g} for this prompt"
            )
            if strict:
                dropped = self._dropped(cap, features, input_tokens, out, budget, 0.0, set())
                raise NoCandidateError(msg, reasons=dropped)
            pick, within, relaxed = cheapest, False, True
            how = f"{msg}; used it (budget not strict)"

        chosen = pick.entry.model
        final = pick
        applied_floor = 0.0 if relaxed else floor

        def describe() -> str:
            head = how or _reason(name, cap, complexity, applied_floor, final)
            return "; ".join((head, *notes))

        def explain() -> tuple[tuple[Candidate, ...], dict[str, str]]:
            return self._explain(
                chosen,
                cap,
                name if within else "cheapest",
                complexity,
                applied_floor,
                features,
                input_tokens,
                out,
                budget if within else None,
                use_latency,
            )

        return RouteDecision(
            model=chosen,
            strategy=name,
            requested=requested,
            capability=cap,
            capability_forced=capability is not None,
            complexity=complexity,
            classification=cls,
            estimated_input_tokens=input_tokens,
            max_tokens=out,
            estimated_cost_usd=pick.cost_usd,
            quality=chosen.quality.get(cap, 0.0),
            quality_floor=applied_floor,
            budget_usd=budget,
            within_budget=within,
            reason=describe,
            notes=tuple(notes),
            prompt_chars=len(text),
            explain=explain,
        )

    # -- search ---------------------------------------------------------------------------------

    def _pool(self, features: frozenset[str]) -> tuple[tuple[Model, ...], frozenset[str]]:
        """Eligible models having every feature, and the capabilities they offer."""
        found = self._by_features.get(features)
        if found is None:
            pool = tuple(m for m in self._eligible if all(_has(m, f) for f in features))
            found = (pool, frozenset(c for m in pool for c in m.quality))
            self._by_features[features] = found
        return found

    def _floor(self, capability: str, complexity: str) -> float:
        return st.FLOOR_FRACTION[complexity] * self._best.get(capability, 0.0)

    def _search(
        self,
        pool: tuple[Model, ...],
        capability: str,
        strategy: str,
        complexity: str,
        floor: float,
        input_tokens: int,
        max_tokens: int,
        budget: float | None,
        use_latency: bool,
    ) -> st.Pick | None:
        low = 1 << (input_tokens.bit_length() - 1) if input_tokens > 0 else 0
        key = (id(pool), capability, strategy, complexity, floor, low, max_tokens, use_latency)
        order = self._orders.get(key)
        if order is None:
            if len(self._orders) >= _CACHE_LIMIT:
                self._orders.clear()
            order = st.build_order(
                pool,
                capability=capability,
                strategy=strategy,
                complexity=complexity,
                floor=floor,
                input_tokens_low=low,
                max_tokens=max_tokens,
                penalties=self._penalties if use_latency else {},
            )
            self._orders[key] = order
        return st.walk(
            order,
            strategy=strategy,
            complexity=complexity,
            input_tokens=input_tokens,
            max_tokens=max_tokens,
            budget_usd=budget,
        )

    # -- explanations -----------------------------------------------------------------------------

    def _hard_reason(
        self,
        m: Model,
        capability: str,
        features: frozenset[str],
        input_tokens: int,
        max_tokens: int,
        budget: float | None,
        *,
        need_cap: bool = True,
    ) -> str | None:
        """Why ``m`` cannot take this call (every constraint but the quality floor), or None."""
        static = self._static.get(m.id)
        if static is not None:
            return static
        missing = [f for f in sorted(features) if not _has(m, f)]
        if missing:
            return f"lacks {', '.join(missing)}"
        if need_cap and capability not in m.quality:
            return f"not offered for {capability}"
        if max_tokens > m.max_output_tokens:
            return f"max output {m.max_output_tokens:,} tokens < max_tokens {max_tokens:,}"
        if input_tokens + max_tokens > m.context_window:
            return (
                f"context too small: needs {input_tokens + max_tokens:,} tokens, "
                f"has {m.context_window:,}"
            )
        if budget is not None:
            cost = m.worst_case_cost(input_tokens, max_tokens)
            if cost > budget + _EPS_USD:
                return f"over budget: est. ${cost:.3g} > ${budget:g}"
        return None

    def _dropped(
        self,
        capability: str,
        features: frozenset[str],
        input_tokens: int,
        max_tokens: int,
        budget: float | None,
        floor: float,
        kept: set[str],
    ) -> dict[str, str]:
        out: dict[str, str] = {}
        for m in self.catalog:
            if m.id in kept:
                continue
            why = self._hard_reason(m, capability, features, input_tokens, max_tokens, budget)
            if why is None and m.quality.get(capability, 0.0) < floor:
                why = (
                    f"below the quality floor {floor:.2f} for this prompt "
                    f"({capability} {m.quality[capability]:.2f})"
                )
            out[m.id] = why or "ranked out"
        return out

    def _explain(
        self,
        chosen: Model,
        capability: str,
        strategy: str,
        complexity: str,
        floor: float,
        features: frozenset[str],
        input_tokens: int,
        max_tokens: int,
        budget: float | None,
        use_latency: bool,
    ) -> tuple[tuple[Candidate, ...], dict[str, str]]:
        aversion = st.COST_AVERSION[complexity]
        penalties = self._penalties if use_latency else {}
        rungs: list[Candidate] = []
        for m in self._pool(features)[0]:
            q = m.quality.get(capability)
            if q is None and m is not chosen:
                continue
            q = q or 0.0
            if m is not chosen and (
                q < floor
                or self._hard_reason(m, capability, features, input_tokens, max_tokens, budget)
            ):
                continue
            cost = m.worst_case_cost(input_tokens, max_tokens)
            if strategy == "cheapest":
                score = -cost
            elif strategy == "best_quality":
                score = q
            else:
                score = st.utility(
                    q, cost, cost_aversion=aversion, penalty=penalties.get(m.id, 0.0)
                )
            rungs.append(Candidate(m, q, cost, score))
        rungs.sort(
            key=lambda c: (c.model is not chosen, -c.score, c.estimated_cost_usd, -c.quality)
        )
        kept = {c.model.id for c in rungs}
        return tuple(rungs), self._dropped(
            capability, features, input_tokens, max_tokens, budget, floor, kept
        )


# -- helpers -------------------------------------------------------------------------------------


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


def _has(m: Model, feature: str) -> bool:
    return bool(getattr(m, feature))


def _bare_entry(m: Model, quality: float) -> st.Entry:
    return st.Entry(
        0.0,
        m,
        quality,
        m.input_per_mtok,
        max(m.output_per_mtok, m.reasoning_output_per_mtok or 0.0),
        m.context_window,
        m.max_output_tokens,
        0.0,
    )


def _prompt_parts(
    prompt: str | ChatRequest,
) -> tuple[str, int, int | None, tuple[str, ...], str | None]:
    """(text, estimated input tokens, request max_tokens, implied features, request model)."""
    if isinstance(prompt, str):
        if not prompt.strip():
            raise UsageError("empty prompt")
        return prompt, estimate_messages_tokens((prompt,)), None, (), None
    contents = [m.content for m in prompt.messages]
    text = prompt.prompt_text
    if not text.strip():
        raise UsageError("empty prompt")
    implied = ("json_schema",) if prompt.response_format is not None or prompt.json_mode else ()
    return text, estimate_messages_tokens(contents), prompt.max_tokens, implied, prompt.model


def _check_budget(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise UsageError("budget must be a number of USD")
    try:
        budget = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"budget must be a number of USD, got {value!r}") from None
    if not math.isfinite(budget) or budget <= 0:
        raise UsageError(f"budget must be a positive number of USD, got {value!r}")
    return budget


def _check_max_tokens(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UsageError(f"max_tokens must be a positive integer, got {value!r}")
    return value


def _check_features(names: Iterable[str]) -> frozenset[str]:
    features = frozenset(names)
    unknown = sorted(features - set(FEATURES))
    if unknown:
        raise UsageError(f"unknown feature(s) {', '.join(unknown)}; expected {', '.join(FEATURES)}")
    return features


def _reason(strategy: str, capability: str, complexity: str, floor: float, pick: st.Pick) -> str:
    m, q = pick.entry.model, pick.entry.quality
    what = f"{complexity} {capability} prompt"
    if strategy == "cheapest":
        bar = f"quality >= {floor:.2f}" if floor > 0 else f"any {capability} model"
        return f"cheapest with {bar} for a {what}: {m.id} ({capability} {q:.2f})"
    if strategy == "best_quality":
        return f"highest {capability} quality within the constraints: {m.id} ({q:.2f})"
    lam = st.COST_AVERSION[complexity]
    return (
        f"best quality for the price on a {what}: {m.id} ({capability} {q:.2f}); "
        f"a 10x dearer model must add {lam:.2f} quality to win"
    )


def _none_fits_message(capability: str, dropped: Mapping[str, str]) -> str:
    counts: dict[str, int] = {}
    for why in dropped.values():
        key = why.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    summary = ", ".join(f"{k} ({n})" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"no model can take this {capability} prompt: {summary}"
