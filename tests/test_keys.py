"""Keys file and the ``tokenplan keys`` commands (run as a subprocess)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tokenplan.errors import ConfigError, redact
from tokenplan.providers.keys import KeyStore, mask_key

SECRET = "sk-proj-Zy8xWv7uTs6rQp5oN4mL"


def _cli(
    *args: str, home: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    full_env = {**base, "TOKENPLAN_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tokenplan", "keys", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=30,
    )


def test_mask_key() -> None:
    assert mask_key(SECRET) == "sk-...N4mL"
    assert mask_key("AIzaSyA1234567890abcdefgh") == "AIz...efgh"
    assert mask_key("short") == "***"


def test_store_is_private_atomic_and_registers_secrets(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "keys.json"
    store = KeyStore(path)
    assert store.load() == {}
    store.set("openai", f"  {SECRET}\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"openai": SECRET}
    assert redact(f"using {SECRET}") == "using ***"
    store.set("anthropic", "sk-ant-api03-abcdefghijklmnop")
    assert set(store.load()) == {"openai", "anthropic"}
    assert store.remove("openai")
    assert not store.remove("openai")
    assert list(path.parent.iterdir()) == [path]  # no temp files left behind
    path.write_text("{broken")
    with pytest.raises(ConfigError, match="not valid JSON"):
        store.load()


def test_keys_cli_set_list_remove(isolated_env: Path) -> None:
    r = _cli("set", "openai", home=isolated_env, stdin=SECRET + "\n")
    assert r.returncode == 0, r.stderr
    assert SECRET not in r.stdout + r.stderr
    keys_file = isolated_env / "keys.json"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600

    r = _cli("list", "--json", home=isolated_env)
    assert r.returncode == 0
    rows = json.loads(r.stdout)
    assert rows == [
        {
            "provider": "openai",
            "source": "keys-file",
            "key": "sk-...N4mL",
            "stored": True,
            "stored_shadowed": False,
        }
    ]
    assert SECRET not in r.stdout

    r = _cli("list", home=isolated_env)
    assert "sk-...N4mL" in r.stderr
    assert SECRET not in r.stderr + r.stdout

    r = _cli("remove", "openai", home=isolated_env)
    assert r.returncode == 0
    assert json.loads(keys_file.read_text()) == {}
    r = _cli("remove", "openai", home=isolated_env)
    assert r.returncode == 2
    assert r.stderr.startswith("error: no stored key")


def test_env_takes_precedence_and_list_says_so(isolated_env: Path) -> None:
    assert (
        _cli("set", "gemini", home=isolated_env, stdin="AIzaSyStoredKey000000000000\n").returncode
        == 0
    )
    env_key = "AIzaSyEnvironmentKey11111111"
    r = _cli(
        "set",
        "google",
        home=isolated_env,
        stdin="AIzaSyStoredKey000000000000\n",
        env={"GEMINI_API_KEY": env_key},
    )
    assert r.returncode == 0
    assert "GEMINI_API_KEY is set in the environment" in r.stderr
    r = _cli("list", "--json", home=isolated_env, env={"GEMINI_API_KEY": env_key})
    (row,) = json.loads(r.stdout)
    assert row["provider"] == "gemini"
    assert row["source"] == "GEMINI_API_KEY"
    assert row["key"] == mask_key(env_key)
    assert row["stored_shadowed"]


def test_unknown_provider_and_empty_key_exit_2(isolated_env: Path) -> None:
    r = _cli("set", "acme", home=isolated_env, stdin="sk-whatever-123456\n")
    assert r.returncode == 2
    assert "unknown provider 'acme'" in r.stderr
    assert "openai" in r.stderr
    assert "anthropic" in r.stderr
    assert "Traceback" not in r.stderr
    r = _cli("set", "openai", home=isolated_env, stdin="\n")
    assert r.returncode == 2
    assert "no key given" in r.stderr
    assert not (isolated_env / "keys.json").exists()


def test_keys_path(isolated_env: Path) -> None:
    r = _cli("path", home=isolated_env)
    assert r.stdout.strip() == str(isolated_env / "keys.json")
