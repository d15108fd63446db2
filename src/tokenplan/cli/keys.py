"""``tokenplan keys``: store, list and remove provider API keys (file at mode 0600)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from tokenplan.cli._app import app, examples

if TYPE_CHECKING:
    from tokenplan.settings import Settings

keys_app = typer.Typer(
    name="keys",
    help=(
        "Manage provider API keys. Keys are stored in a file only you can read (mode 0600); "
        "environment variables such as OPENAI_API_KEY take precedence over stored keys."
    ),
    epilog=examples(
        "tokenplan keys set openai",
        'printf %s "$ANTHROPIC_KEY" | tokenplan keys set anthropic',
        "tokenplan keys list",
        "tokenplan keys remove openai",
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(keys_app, name="keys", short_help="Store, list and remove provider API keys.")


def _endpoint_names(settings: Settings) -> list[str]:
    from tokenplan.providers.endpoints import ENDPOINTS

    return sorted({e.name for e in ENDPOINTS} | set(settings.endpoints))


def _canonical(provider: str, settings: Settings) -> str:
    from tokenplan.errors import UsageError
    from tokenplan.providers.endpoints import find_endpoint

    endpoint = find_endpoint(provider.strip().lower(), settings.endpoints)
    if endpoint is None:
        known = ", ".join(_endpoint_names(settings))
        raise UsageError(f"unknown provider {provider!r}; known providers: {known}")
    return endpoint.name


@keys_app.command("set", short_help="Store a key for PROVIDER (prompted, or piped on stdin).")
def keys_set(
    provider: str = typer.Argument(
        ..., metavar="PROVIDER", help="Provider name, e.g. openai, anthropic, gemini, openrouter."
    ),
) -> None:
    """Store an API key for PROVIDER (asked for without echo; read from stdin when piped)."""
    from tokenplan.cli._output import stderr_console
    from tokenplan.errors import UsageError
    from tokenplan.providers.endpoints import find_endpoint
    from tokenplan.providers.keys import KeyStore
    from tokenplan.settings import Settings

    settings = Settings.load()
    name = _canonical(provider, settings)
    if sys.stdin.isatty():
        key = typer.prompt(f"Enter key for {name}", hide_input=True)
    else:
        key = sys.stdin.readline()
    key = key.strip()
    if not key:
        raise UsageError(
            "no key given; nothing stored (type it at the prompt, or pipe it: "
            f'printf %s "$KEY" | tokenplan keys set {name})'
        )
    store = KeyStore(settings.paths.keys_file)
    store.set(name, key)
    console = stderr_console()
    console.print(f"Saved key for {name} in {store.path}")
    endpoint = find_endpoint(name, settings.endpoints)
    for var in endpoint.key_env if endpoint else ():
        if settings.env.get(var):
            console.print(f"note: {var} is set in the environment and takes precedence")


@keys_app.command("list", short_help="List configured keys, masked, and where each comes from.")
def keys_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
) -> None:
    """List configured keys, masked, with where each comes from (environment or keys file)."""
    from tokenplan.cli._output import emit_json, stderr_console
    from tokenplan.providers.endpoints import find_endpoint
    from tokenplan.providers.keys import KeyStore, mask_key
    from tokenplan.settings import Settings

    settings = Settings.load()
    stored = KeyStore(settings.paths.keys_file).load()
    rows: list[dict[str, object]] = []
    for name in sorted(set(_endpoint_names(settings)) | set(stored)):
        endpoint = find_endpoint(name, settings.endpoints)
        env_var = next(
            (v for v in (endpoint.key_env if endpoint else ()) if settings.env.get(v, "").strip()),
            None,
        )
        if env_var is None and name not in stored:
            continue
        active = settings.env[env_var].strip() if env_var else stored[name]
        rows.append(
            {
                "provider": name,
                "source": env_var or "keys-file",
                "key": mask_key(active),
                "stored": name in stored,
                "stored_shadowed": env_var is not None and name in stored,
            }
        )
    if as_json:
        emit_json(rows)
        return
    console = stderr_console()
    if not rows:
        console.print("No keys configured. Add one with: tokenplan keys set PROVIDER")
        return
    from tokenplan.cli._table import Col, fit, print_tables

    table = fit(
        (Col("provider"), Col("key"), Col("source"), Col("note", priority=1)),
        [
            [
                str(row["provider"]),
                str(row["key"]),
                str(row["source"]),
                "stored key shadowed" if row["stored_shadowed"] else "",
            ]
            for row in rows
        ],
        width=console.width,
    )
    print_tables(console, table)


@keys_app.command("remove", short_help="Delete the stored key for PROVIDER.")
def keys_remove(
    provider: str = typer.Argument(
        ..., metavar="PROVIDER", help="Provider whose stored key to delete."
    ),
) -> None:
    """Delete the stored key for PROVIDER (environment variables are not touched)."""
    from tokenplan.cli._output import stderr_console
    from tokenplan.errors import UsageError
    from tokenplan.providers.keys import KeyStore
    from tokenplan.settings import Settings

    settings = Settings.load()
    name = _canonical(provider, settings)
    if not KeyStore(settings.paths.keys_file).remove(name):
        raise UsageError(f"no stored key for {name} ('tokenplan keys list' shows what is set)")
    stderr_console().print(f"Removed stored key for {name}")


@keys_app.command("path")
def keys_path() -> None:
    """Print the path of the keys file."""
    from tokenplan.settings import Settings

    typer.echo(str(Settings.load().paths.keys_file))
