"""The [proxy] table, key forms, period bounds, per-key budgets seeded from the ledger, and how
requests map onto ChatRequest."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from tokenplan.errors import ConfigError
from tokenplan.ledger.attempt import Attempt
from tokenplan.ledger.store import Ledger
from tokenplan.proxy import ProxyConfig
from tokenplan.proxy.auth import KeyRing
from tokenplan.proxy.budgets import KeyBudgets, period_bounds
from tokenplan.proxy.errors import ApiError
from tokenplan.proxy.request import parse_chat_request
from tokenplan.settings import Settings

KEY = "tp-0123456789abcdefghij"


def _headers(value: str) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"x"), (b"authorization", value.encode())]


def test_key_forms_and_lookup() -> None:
    digest = hashlib.sha256(b"tp-hashed-0123456789abcdef").hexdigest()
    config = ProxyConfig.from_table(
        {
            "keys": [
                {"name": "plain", "key": KEY, "budget_usd": 2.5, "period": "week"},
                {"name": "hashed", "key_sha256": digest.upper()},
                {"name": "from-env", "key_env": "TEAM_KEY"},
            ]
        },
        env={
            "TEAM_KEY": "tp-env-0123456789abcdef",
            "TOKENPLAN_PROXY_KEY": "tp-single-0123456789ab",
        },
    )
    ring = KeyRing(config)
    assert ring.required
    assert ring.authenticate(_headers(f"Bearer {KEY}")).name == "plain"
    assert ring.authenticate(_headers("bearer tp-hashed-0123456789abcdef")).name == "hashed"
    assert ring.authenticate(_headers("Bearer tp-env-0123456789abcdef")).name == "from-env"
    assert ring.authenticate(_headers("Bearer tp-single-0123456789ab")).name == "default"
    plain = config.keys[0]
    assert (plain.budget_usd, plain.period, plain.run_id) == (2.5, "week", "proxy:plain")
    assert KEY not in repr(config)
    for bad in ("Bearer nope-0123456789abcdef", "Basic xyz"):
        with pytest.raises(ApiError) as info:
            ring.authenticate(_headers(bad))
        assert info.value.status == 401
    with pytest.raises(ApiError):
        ring.authenticate([(b"host", b"x")])


def test_without_keys_everyone_is_the_anonymous_identity() -> None:
    config = ProxyConfig.from_table({"budget_usd": 1.0, "period": "month"})
    key = KeyRing(config).authenticate([])
    assert (key.name, key.budget_usd, key.period, key.run_id) == (
        "anonymous",
        1.0,
        "month",
        "proxy:anonymous",
    )


@pytest.mark.parametrize(
    ("table", "env", "where"),
    [
        ({"budget_usd": 5.0, "keys": [{"name": "a", "key": KEY}]}, {}, "[[proxy.keys]]"),
        ({"budget_usd": 5.0}, {"TOKENPLAN_PROXY_KEY": KEY}, "TOKENPLAN_PROXY_KEY"),
    ],
)
def test_a_keyless_budget_is_an_error_once_keys_exist(
    table: dict[str, Any], env: dict[str, str], where: str
) -> None:
    with pytest.raises(ConfigError) as info:
        ProxyConfig.from_table(table, env=env)
    assert info.value.message.startswith("proxy.budget_usd is the ceiling for requests when no")
    assert where in info.value.message


def test_retry_budget_and_default_max_tokens() -> None:
    assert (ProxyConfig().retry_budget_s, ProxyConfig().default_max_tokens) == (10.0, 4096)
    config = ProxyConfig.from_table({"retry_budget_s": 2.5, "default_max_tokens": 512})
    assert (config.retry_budget_s, config.default_max_tokens) == (2.5, 512)
    for bad in ({"retry_budget_s": -1}, {"default_max_tokens": 0}, {"default_max_tokens": 1.5}):
        with pytest.raises(ConfigError):
            ProxyConfig.from_table(bad)


@pytest.mark.parametrize(
    ("table", "env", "message"),
    [
        ({"colour": "red"}, {}, "unknown setting"),
        ({"keys": {"name": "a"}}, {}, "array of tables"),
        ({"keys": [{"name": "a"}]}, {}, "exactly one of key"),
        ({"keys": [{"name": "a", "key": KEY, "key_env": "X"}]}, {}, "exactly one of key"),
        ({"keys": [{"name": "a", "key": "short"}]}, {}, "at least 16"),
        ({"keys": [{"name": "a b", "key": KEY}]}, {}, "letters, digits"),
        ({"keys": [{"name": "a", "key": KEY, "period": "year"}]}, {}, "period"),
        ({"keys": [{"name": "a", "key": KEY, "budget_usd": -1}]}, {}, "positive"),
        ({"keys": [{"name": "a", "key_sha256": "abc"}]}, {}, "64 hexadecimal"),
        ({"keys": [{"name": "a", "key_env": "MISSING"}]}, {}, "MISSING is not set"),
        ({"keys": [{"name": "a", "key": KEY}, {"name": "a", "key": KEY + "x"}]}, {}, "duplicate"),
        ({"keys": [{"name": "a", "key": KEY}, {"name": "b", "key": KEY}]}, {}, "same key"),
        ({"keys": [{"name": "a", "key": KEY, "extra": 1}]}, {}, "unknown field"),
        ({"port": 70000}, {}, "proxy.port"),
        ({"fallbacks": {"openai/x": "y"}}, {}, "array of model ids"),
    ],
)
def test_bad_tables_say_what_is_wrong(
    table: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        ProxyConfig.from_table(table, env=env)


def test_config_comes_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[proxy]\nport = 9001\n[[proxy.keys]]\nname = "a"\nkey = "{KEY}"\n')
    settings = Settings.load(env={"TOKENPLAN_HOME": str(tmp_path)}, config_file=config)
    proxy = ProxyConfig.from_settings(settings)
    assert proxy.port == 9001
    assert [k.name for k in proxy.keys] == ["a"]


def test_period_bounds_are_utc_days_weeks_and_months() -> None:
    at = datetime(2025, 3, 12, 15, 30, tzinfo=timezone.utc).timestamp()  # a Wednesday

    def utc(ts: float) -> str:
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")

    assert [utc(x) for x in period_bounds("day", at)] == ["2025-03-12 00:00", "2025-03-13 00:00"]
    assert [utc(x) for x in period_bounds("week", at)] == ["2025-03-10 00:00", "2025-03-17 00:00"]
    assert [utc(x) for x in period_bounds("month", at)] == ["2025-03-01 00:00", "2025-04-01 00:00"]
    december = datetime(2025, 12, 31, 23, 0, tzinfo=timezone.utc).timestamp()
    assert utc(period_bounds("month", december)[1]) == "2026-01-01 00:00"
    assert period_bounds("none", at) == (0.0, float("inf"))


def test_a_budget_is_seeded_from_the_ledger_and_renews_with_the_period(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.jsonl"
    now = [datetime(2025, 3, 12, 23, 59, tzinfo=timezone.utc).timestamp()]
    with Ledger(ledger_path) as ledger:
        for run_id, kind, ts, cost in (
            ("proxy:a", "proxy", now[0] - 60, 0.25),
            ("proxy:a", "proxy", now[0] - 86400, 9.0),  # yesterday
            ("proxy:b", "proxy", now[0] - 60, 9.0),  # someone else
            ("proxy:a", "route", now[0] - 60, 9.0),  # not a proxy call
        ):
            ledger.append(Attempt(run_id, kind, "m/x", "p", "ok", ts=ts, cost_usd=cost))  # type: ignore[arg-type]
    config = ProxyConfig.from_table(
        {"keys": [{"name": "a", "key": KEY, "budget_usd": 1.0, "period": "day"}]}
    )
    budgets = KeyBudgets(ledger_path, clock=lambda: now[0])
    key = config.keys[0]
    first = budgets.budget(key)
    assert first is not None
    assert first.spent_usd == pytest.approx(0.25)
    assert budgets.budget(key) is first
    now[0] += 120  # past midnight UTC: a new day, a new budget
    second = budgets.budget(key)
    assert second is not first
    assert second is not None
    assert second.spent_usd == 0.0
    unlimited = ProxyConfig.from_table({"keys": [{"name": "u", "key": KEY}]}).keys[0]
    assert budgets.budget(unlimited) is None


def test_request_mapping() -> None:
    parsed = parse_chat_request(
        orjson.dumps(
            {
                "model": " auto:cost ",
                "messages": [
                    {"role": "system", "content": "rules"},
                    {"role": "user", "content": [{"type": "text", "text": "a"}], "name": "bob"},
                    {"role": "assistant", "content": None},
                ],
                "max_tokens": 500,
                "max_completion_tokens": 300,
                "stop": ["x", ""],
                "response_format": {"type": "json_object"},
                "stream": True,
                "stream_options": {"include_usage": True},
                "seed": 3,
                "user": "someone",
                "tool_choice": "none",
                "n": 1,
            }
        )
    )
    r = parsed.request
    assert r.model == "auto:cost"
    assert [(m.role, m.content, m.name) for m in r.messages] == [
        ("system", "rules", None),
        ("user", "a", "bob"),
        ("assistant", "", None),
    ]
    assert r.max_tokens == 300  # the smaller of the two caps
    assert r.stop == ("x",)
    assert r.json_mode
    assert (parsed.stream, parsed.include_usage, parsed.openai_extra) == (True, True, {"seed": 3})


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"top_p": 0}, "top_p", "invalid_value"),
        ({"logprobs": True}, "logprobs", "unsupported_parameter"),
        ({"modalities": ["text", "audio"]}, "modalities", "unsupported_parameter"),
        ({"audio": {"voice": "x"}}, "audio", "unsupported_parameter"),
        ({"tool_choice": "auto"}, "tool_choice", "unsupported_parameter"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", None),
        ({"seed": "7"}, "seed", "invalid_type"),
        ({"presence_penalty": 5}, "presence_penalty", "invalid_value"),
        (
            {"response_format": {"type": "json_schema"}},
            "response_format.json_schema",
            "invalid_type",
        ),
        ({"max_tokens": 1.5}, "max_tokens", "invalid_type"),
        ({"stream": "yes"}, "stream", "invalid_type"),
    ],
)
def test_request_rejections_name_the_field(
    body: dict[str, Any], param: str, code: str | None
) -> None:
    full = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], **body}
    with pytest.raises(ApiError) as info:
        parse_chat_request(orjson.dumps(full))
    assert (info.value.status, info.value.param, info.value.code) == (400, param, code)


def test_public_names_of_the_proxy_package() -> None:
    import tokenplan.proxy

    assert sorted(tokenplan.proxy.__all__) == ["ProxyApp", "ProxyConfig", "ProxyKey", "create_app"]
