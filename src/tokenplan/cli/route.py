"""``tokenplan route``: pick a model for a prompt and explain why.

The routing call (:func:`decide`) and the rendering (:func:`render`) are separate so that
``--send`` (call the chosen model, fall back along the ladder) only adds a step between them.
Heavy modules are imported inside functions: ``tokenplan route ... --json`` must start fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from tokenplan.cli._app import app, examples

if TYPE_CHECKING:
    from tokenplan.routing.decision import RouteDecision
    from tokenplan.runtime import Runtime
    from tokenplan.settings import Settings

__all__ = ["decide", "read_prompt", "render", "route_cmd"]

_NEXT_RUNGS = 3


@app.command(
    "route",
    short_help="Pick the model for a prompt and say why; --send answers it.",
    epilog=examples(
        'tokenplan route "Write a regex that matches ISO dates"',
        'tokenplan route "Prove that sqrt(2) is irrational" --strategy best_quality --explain',
        'tokenplan route "What is 17*23?" --send',
        'tokenplan route "Summarize the plot of Hamlet" --budget 0.001 --json',
        "cat question.txt | tokenplan route - --send --stream",
        note="Without a provider key the answer comes from the offline simulator (it says so); "
        "every --send call is written to the ledger (see 'tokenplan ledger').",
    ),
)
def route_cmd(
    prompt: str = typer.Argument(
        ..., metavar="PROMPT", help="The prompt, or - to read it from stdin.", show_default=False
    ),
    strategy: str | None = typer.Option(
        None,
        "--strategy",
        "-s",
        metavar="STRATEGY",
        help="How to trade cost for quality: cheapest, balanced, best_quality, or auto, "
        "auto:cost, auto:balance, auto:quality, auto:latency (auto picks per prompt).  "
        "[default: balanced, or TOKENPLAN_STRATEGY / config]",
    ),
    budget: str | None = typer.Option(
        None,
        "--budget",
        "-b",
        metavar="USD",
        help="Ceiling in US dollars on this call's worst-case cost, e.g. 0.01 (a leading $ is "
        "fine).  [default: none, or TOKENPLAN_ROUTE_BUDGET / config]",
    ),
    max_tokens: int | None = typer.Option(
        None,
        "--max-tokens",
        min=1,
        metavar="TOKENS",
        help="Output tokens to plan the cost for (and, with --send, to allow).  "
        "[default: 1024, or config]",
    ),
    capability: str | None = typer.Option(
        None,
        "--capability",
        "-c",
        metavar="CAPABILITY",
        help="Skip the classifier and route for this capability: code, reasoning, math or general.",
    ),
    require: list[str] = typer.Option(
        [],
        "--require",
        "-r",
        metavar="FEATURE",
        help="A feature the model must have: json_schema, tools, streaming or reasoning. "
        "Repeatable.",
        show_default=False,
    ),
    strict: bool = typer.Option(
        True,
        "--strict/--no-strict",
        help="Fail when nothing fits the budget, or use the cheapest model anyway.",
    ),
    explain: bool = typer.Option(
        False,
        "--explain",
        "-e",
        help="Also show the classification, every candidate's score and why the others were "
        "dropped.",
    ),
    send: bool = typer.Option(
        False,
        "--send",
        help="Also call the chosen model (falling back along the ladder on errors) and print "
        "its answer on stdout; every call is written to the ledger.",
    ),
    stream: bool = typer.Option(
        False, "--stream", help="With --send: print the answer as it arrives."
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the decision as JSON on stdout (with --send: the answer, and the decision "
        "under 'route').",
    ),
) -> None:
    """Pick the model for PROMPT under a strategy and a budget, and say why.

    The prompt is classified (code, reasoning, math, general; simple to complex), every
    catalog model that can take it is priced at its worst case, and the strategy picks one;
    the rest form the fallback ladder. Works offline.
    """
    from tokenplan.errors import UsageError
    from tokenplan.inputs import optional_budget_usd
    from tokenplan.settings import Settings

    if stream and not send:
        raise UsageError("--stream needs --send (add --send to call the model)")
    text = read_prompt(prompt)
    settings = Settings.load(
        {
            "strategy": strategy,
            "route_budget_usd": optional_budget_usd(budget, name="--budget"),
            "default_max_tokens": max_tokens,
        },
        flags={
            "strategy": "--strategy",
            "route_budget_usd": "--budget",
            "default_max_tokens": "--max-tokens",
        },
    )
    if send:
        from tokenplan._sync import run_sync

        run_sync(
            _decide_and_send,
            text,
            settings,
            capability,
            require,
            strict,
            stream=stream,
            explain=explain,
            as_json=as_json,
        )
        return
    decision = decide(
        text, settings=settings, capability=capability, require=require, strict=strict
    )
    render(decision, explain=explain, as_json=as_json)


async def _decide_and_send(
    text: str,
    settings: Settings,
    capability: str | None,
    require: list[str],
    strict: bool,
    *,
    stream: bool,
    explain: bool,
    as_json: bool,
) -> None:
    from tokenplan.cli._send import route_send
    from tokenplan.runtime import Runtime
    from tokenplan.types import ChatRequest

    async with Runtime.open(settings) as runtime:
        decision = decide(
            text,
            settings=settings,
            capability=capability,
            require=require,
            strict=strict,
            runtime=runtime,
        )
        if not as_json:
            from tokenplan.cli._route_view import show

            show(decision, explain=explain, next_rungs=_NEXT_RUNGS)
        request = ChatRequest.from_prompt(
            text, model=decision.model.id, max_tokens=settings.default_max_tokens
        )
        result = await route_send(
            runtime,
            request,
            [c.model.id for c in decision.ladder],
            stream=stream,
            as_json=as_json,
            budget_usd=settings.route_budget_usd,
            capability=decision.capability,
            route=decision.to_dict(explain=explain) if as_json else None,
        )
        if not as_json:
            from tokenplan.cli._route_view import answer_warning

            warning = answer_warning(result.response, max_tokens=request.max_tokens)
            if warning is not None:
                from tokenplan.cli._output import stderr_console

                stderr_console().print(
                    f"warning: {warning}", style="yellow", markup=False, soft_wrap=True
                )


def read_prompt(prompt: str) -> str:
    """The prompt argument, or stdin for ``-``; an empty prompt is a usage error."""
    from tokenplan.errors import UsageError

    text = sys.stdin.read() if prompt == "-" else prompt
    if not text.strip():
        where = "stdin was empty" if prompt == "-" else "the prompt is empty"
        raise UsageError(f"{where}: pass the prompt as an argument, or - to read it from stdin")
    return text


def decide(
    text: str,
    *,
    settings: Settings,
    capability: str | None = None,
    require: list[str] | tuple[str, ...] = (),
    strict: bool = True,
    runtime: Runtime | None = None,
) -> RouteDecision:
    """Route ``text`` with ``settings`` (flags already applied) and return the decision.

    Only models whose endpoint is usable are offered (every model when nothing is configured:
    the simulator serves them all); ``auto:latency`` reads median latencies from the ledger.
    """
    from tokenplan.routing.router import Router
    from tokenplan.settings import normalize_strategy

    if runtime is None:
        from tokenplan.catalog import load_catalog
        from tokenplan.runtime import Runtime

        # The bundled snapshot, the refresh cache and user models.
        runtime = Runtime(settings, catalog=load_catalog(settings))
    latency: dict[str, float] = {}
    if normalize_strategy(settings.strategy)[1]:
        from tokenplan.ledger.stats import latency_p50

        latency = latency_p50(settings.ledger_file)
    # Strategy, budget and max_tokens come from ``settings`` (flags > env > config > defaults).
    router = Router(runtime.catalog, settings, available=runtime.available, latency_ms=latency)
    return router.route(text, capability=capability, require=require, strict=strict)


def render(decision: RouteDecision, *, explain: bool = False, as_json: bool = False) -> None:
    """JSON on stdout, or a human summary (and with ``explain`` the tables) on stderr."""
    if as_json:
        from tokenplan.cli._output import emit_json

        emit_json(decision.to_dict(explain=explain))
        return
    from tokenplan.cli._route_view import show

    show(decision, explain=explain, next_rungs=_NEXT_RUNGS)
