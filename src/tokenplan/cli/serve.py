"""``tokenplan serve``: the OpenAI-compatible proxy (``docs/proxy.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from tokenplan.cli._app import app, examples

if TYPE_CHECKING:
    from tokenplan.proxy.app import ProxyApp

__all__ = ["serve_cmd"]

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


@app.command(
    "serve",
    short_help='Serve an OpenAI-compatible endpoint with model="auto" routing.',
    epilog=examples(
        "tokenplan serve",
        "tokenplan serve --port 8080 --access-log",
        "TOKENPLAN_PROXY_KEY=$(python -c \"import secrets; print('tp-' + "
        'secrets.token_urlsafe(32))") tokenplan serve --host 0.0.0.0',
        "curl -s localhost:8000/v1/chat/completions -H 'content-type: application/json' "
        """-d '{"model": "auto", "messages": [{"role": "user", "content": "hi"}]}'""",
    ),
)
def serve_cmd(
    host: str | None = typer.Option(
        None,
        "--host",
        metavar="HOST",
        help="Address to listen on (default 127.0.0.1, or [proxy] host). A non-loopback "
        "address needs bearer keys ([[proxy.keys]] or TOKENPLAN_PROXY_KEY) or --insecure.",
    ),
    port: int | None = typer.Option(
        None,
        "--port",
        "-p",
        metavar="PORT",
        min=0,
        max=65535,
        help="Port (default 8000, or [proxy] port); 0 picks a free one.",
    ),
    insecure: bool = typer.Option(
        False,
        "--insecure",
        help="Allow a non-loopback address without bearer keys (trusted networks only).",
    ),
    access_log: bool = typer.Option(
        False, "--access-log/--no-access-log", help="Log one line per request (off by default)."
    ),
    log_level: str = typer.Option(
        "warning",
        "--log-level",
        metavar="LEVEL",
        help="Server log level: critical, error, warning, info, debug, trace.",
    ),
) -> None:
    """Serve an OpenAI-compatible endpoint: POST /v1/chat/completions, GET /v1/models.

    model may be auto, auto:cost, auto:balance, auto:quality, auto:latency (routed, with
    fallback), or a catalog id. Answers carry x-tokenplan-* headers (model, provider, cost,
    savings, route); every upstream call is written to the ledger (kind proxy).
    """
    from tokenplan.errors import UsageError
    from tokenplan.proxy.server import serve
    from tokenplan.settings import Settings

    level = log_level.strip().lower()
    if level not in _LOG_LEVELS:
        raise UsageError(
            f"--log-level: expected one of {', '.join(_LOG_LEVELS)}, got {log_level!r}"
        )
    serve(
        Settings.load(),
        host=host,
        port=port,
        insecure=insecure,
        log_level=level,
        access_log=access_log,
        announce=_announce,
    )


def _announce(url: str, proxy: ProxyApp) -> None:
    from tokenplan.cli._output import stderr_console
    from tokenplan.runtime import offline_notice

    console = stderr_console()
    auth = f"{len(proxy.config.keys)} bearer key(s)" if proxy.keys.required else "no auth"
    console.print(
        f"tokenplan proxy listening on {url}/v1 (OpenAI-compatible; {auth})", soft_wrap=True
    )
    notice = offline_notice(proxy.runtime)
    if notice:
        console.print(notice, style="yellow", soft_wrap=True, markup=False)
    # Double quotes: the shell expands $KEY (one of the proxy's keys) in them.
    key = ' -H "authorization: Bearer $KEY"' if proxy.keys.required else ""
    where = " (with KEY set to one of the proxy's keys)" if proxy.keys.required else ""
    console.print(
        f"try{where}: curl {url}/v1/chat/completions -H 'content-type: application/json'{key} "
        '-d \'{"model":"auto","messages":[{"role":"user","content":"Hello"}]}\'',
        soft_wrap=True,
        markup=False,
    )
    console.file.flush()
