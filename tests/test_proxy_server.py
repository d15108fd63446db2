"""``tokenplan serve`` as a real process, driven by the official ``openai`` SDK, in front of the
loopback fake upstream: completions, streams, usage, every error status, the ledger, binding
rules and a clean shutdown."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from _openai_spec import validate_openai
from tokenplan.proxy.server import is_loopback
from tokenplan.testing import FakeProviders, FakeServer, Fault, serve_fake

UPSTREAM_KEY = "sk-upstream-0123456789abcdef"
KEY_A = "tp-team-a-0123456789abcdefgh"
KEY_B = "tp-team-b-0123456789abcdefgh"
CONFIG = f"""
[providers]
max_retries = 1

[proxy]
cooldown_s = 0

[[proxy.keys]]
name = "team-a"
key = "{KEY_A}"

[[proxy.keys]]
name = "team-b"
key = "{KEY_B}"
budget_usd = 0.0002
period = "day"
"""


@dataclass
class Proxy:
    url: str
    home: Path
    upstream: FakeServer
    process: subprocess.Popen[str]
    clients: list[openai.OpenAI]

    def client(self, key: str = KEY_A) -> openai.OpenAI:
        """An SDK client (no retries of its own), closed when the module's tests end."""
        client = openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=30)
        self.clients.append(client)
        return client

    def ledger(self) -> list[dict[str, object]]:
        path = self.home / "ledger.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TOKENPLAN_") and not k.endswith("_API_KEY")
    }
    env.update(TOKENPLAN_HOME=str(home), NO_COLOR="1", **extra)
    return env


def start_serve(
    args: list[str], env: dict[str, str], *, timeout_s: float = 30.0
) -> tuple[subprocess.Popen[str], str]:
    """Start ``tokenplan serve``; return the process and its root URL once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenplan", "serve", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "listening on " in line:
            return proc, line.split("listening on ", 1)[1].split()[0].removesuffix("/v1")
    proc.kill()
    proc.wait()
    proc.stderr.close()
    raise AssertionError("tokenplan serve did not start: " + "".join(seen))


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    home = tmp_path_factory.mktemp("proxy-home")
    config = home / "config.toml"
    config.write_text(CONFIG)
    with serve_fake(FakeProviders(cached_tokens=2, api_keys=[UPSTREAM_KEY])) as upstream:
        env = _env(
            home,
            {
                **upstream.env(key=UPSTREAM_KEY),
                "TOKENPLAN_CONFIG": str(config),
                "TOKENPLAN_TIMEOUT": "1",
            },
        )
        proc, url = start_serve(["--port", "0"], env)
        clients: list[openai.OpenAI] = []
        try:
            yield Proxy(url, home, upstream, proc, clients)
        finally:
            for client in clients:
                client.close()
            assert stop(proc) == 0


def test_completion_through_the_sdk(proxy: Proxy) -> None:
    before = len(proxy.upstream.fake.requests)
    raw = proxy.client().chat.completions.with_raw_response.create(
        model="openai/gpt-5-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}],
        max_tokens=50,
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Echo from gpt-5-mini: Hi!"
    assert completion.model == "openai/gpt-5-mini"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 2
    assert raw.headers["x-tokenplan-model"] == "openai/gpt-5-mini"
    assert raw.headers["x-tokenplan-provider"] == "openai"
    assert float(raw.headers["x-tokenplan-cost-usd"]) > 0
    assert "x-tokenplan-saved-usd" in raw.headers
    validate_openai("CreateChatCompletionResponse", json.loads(raw.content))
    sent = proxy.upstream.fake.requests[before]
    # The upstream sees the proxy's provider key, never the client's proxy key.
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert sent.body["model"] == "gpt-5-mini"


def test_stream_with_usage_through_the_sdk(proxy: Proxy) -> None:
    chunks = list(
        proxy.client().chat.completions.create(
            model="openai/gpt-5-mini",
            messages=[{"role": "user", "content": "Count to three."}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo from gpt-5-mini: Count to three."
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    extension = (chunks[-1].model_extra or {})["tokenplan"]
    assert extension["cost_usd"] > 0
    assert extension["model"] == "openai/gpt-5-mini"


def test_auto_and_models_through_the_sdk(proxy: Proxy) -> None:
    ids = [m.id for m in proxy.client().models.list()]
    assert ids[:5] == ["auto", "auto:cost", "auto:balance", "auto:quality", "auto:latency"]
    raw = proxy.client().chat.completions.with_raw_response.create(
        model="auto:cost", messages=[{"role": "user", "content": "What is 2 + 2?"}]
    )
    assert raw.headers["x-tokenplan-route"].startswith("auto:cost ")
    assert raw.parse().model == raw.headers["x-tokenplan-model"]
    names = ("auto", "openai/gpt-5-mini", "gpt-5-mini")
    retrieved = {name: proxy.client().models.retrieve(name).id for name in names}
    assert retrieved == {
        "auto": "auto",
        "openai/gpt-5-mini": "openai/gpt-5-mini",
        "gpt-5-mini": "openai/gpt-5-mini",  # an API name: the object names the catalog id
    }
    with pytest.raises(openai.NotFoundError):
        proxy.client().models.retrieve("openai/no-such-model")
    assert httpx.head(proxy.url + "/healthz").status_code == 200


def test_client_errors(proxy: Proxy) -> None:
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.AuthenticationError) as auth:
        proxy.client("tp-wrong-0123456789abcdefgh").chat.completions.create(
            model="auto", messages=messages
        )
    assert auth.value.status_code == 401
    with pytest.raises(openai.NotFoundError) as missing:
        proxy.client().chat.completions.create(model="openai/no-such-model", messages=messages)
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        proxy.client().chat.completions.create(model="auto", messages=messages, n=2)
    assert bad.value.param == "n"
    r = httpx.post(
        proxy.url + "/v1/chat/completions",
        content=b'{"model": "auto", "messages": [',
        headers={"authorization": f"Bearer {KEY_A}", "content-type": "application/json"},
    )
    assert r.status_code == 400
    validate_openai("ErrorResponse", r.json())


def test_budget_runs_out_with_402(proxy: Proxy) -> None:
    client = proxy.client(KEY_B)
    error: openai.APIStatusError | None = None
    for _ in range(40):
        try:
            client.chat.completions.create(
                model="openai/gpt-5-mini",
                messages=[{"role": "user", "content": "a fairly long question " * 8}],
            )
        except openai.APIStatusError as exc:
            error = exc
            break
    assert error is not None
    assert error.status_code == 402
    assert error.code == "insufficient_quota"
    spent = sum(float(str(x["cost_usd"])) for x in proxy.ledger() if x["run_id"] == "proxy:team-b")
    assert 0 < spent <= 0.0002 + 1e-12


def test_upstream_failures(proxy: Proxy) -> None:
    fake = proxy.upstream.fake
    fake.add_fault(Fault(status=429, headers={"retry-after": "120"}, times=4), model="gpt-5-nano")
    fake.add_fault(Fault(status=500, times=4), model="gpt-4.1-mini")
    fake.add_fault(Fault(latency_s=3.0, times=4), model="gpt-4.1")
    messages = [{"role": "user", "content": "hi"}]
    client = proxy.client()
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="openai/gpt-5-nano", messages=messages)
    assert limited.value.response.headers["retry-after"] == "120"
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model="openai/gpt-4.1-mini", messages=messages)
    assert failed.value.status_code == 502
    with pytest.raises(openai.InternalServerError) as slow:
        client.chat.completions.create(model="openai/gpt-4.1", messages=messages)
    assert slow.value.status_code == 504
    for err in (limited.value, failed.value, slow.value):
        validate_openai("ErrorResponse", err.response.json())


def test_one_ledger_line_per_upstream_call_and_no_keys(proxy: Proxy) -> None:
    fake = proxy.upstream.fake
    fake.add_fault(Fault(status=503, times=1), model="gpt-5-mini")
    lines_before, calls_before = len(proxy.ledger()), len(fake.requests)
    proxy.client().chat.completions.create(
        model="openai/gpt-5-mini", messages=[{"role": "user", "content": "retry me"}]
    )
    lines = proxy.ledger()[lines_before:]
    assert len(fake.requests) - calls_before == 2  # the 503, then the retry
    assert [(x["kind"], x["outcome"]) for x in lines] == [("proxy", "error"), ("proxy", "ok")]
    assert lines[0]["step_id"] == lines[1]["step_id"]
    raw = (proxy.home / "ledger.jsonl").read_text()
    for secret in (KEY_A, KEY_B, UPSTREAM_KEY):
        assert secret not in raw
    everything = proxy.ledger()
    assert all(x["kind"] == "proxy" for x in everything)
    assert len(everything) == len(fake.requests)  # every upstream call, and only those


def test_non_loopback_needs_keys_or_insecure(tmp_path: Path) -> None:
    env = _env(tmp_path, {"TOKENPLAN_OFFLINE": "1"})
    refused = subprocess.run(
        [sys.executable, "-m", "tokenplan", "serve", "--host", "0.0.0.0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: refusing to serve on 0.0.0.0 without bearer keys")
    assert "Traceback" not in refused.stderr
    proc, url = start_serve(["--host", "0.0.0.0", "--port", "0", "--insecure"], env)
    try:
        assert httpx.get(url.replace("0.0.0.0", "127.0.0.1") + "/healthz").json()["simulated"]
    finally:
        assert stop(proc) == 0
    keyed = {**env, "TOKENPLAN_PROXY_KEY": "tp-only-key-0123456789abcdef"}
    proc, url = start_serve(["--host", "0.0.0.0", "--port", "0"], keyed)
    try:
        health = httpx.get(url.replace("0.0.0.0", "127.0.0.1") + "/healthz").json()
        assert health["auth"] == "keys"
    finally:
        assert stop(proc) == 0


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.8.0.1")
    assert is_loopback("::1")
    assert is_loopback("[::1]")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("::")
    assert not is_loopback("192.168.1.10")
    assert not is_loopback("example.com")


def _until(proc: subprocess.Popen[str], marker: str) -> str:
    """The next stderr line of ``proc`` holding ``marker``."""
    assert proc.stderr is not None
    while True:
        line = proc.stderr.readline()
        assert line, f"no line with {marker!r}"
        if marker in line:
            return line


def test_the_help_example_with_a_key_and_the_banner_command_work(tmp_path: Path) -> None:
    env = _env(tmp_path, {"TOKENPLAN_OFFLINE": "1", "COLUMNS": "200"})
    shown = subprocess.run(
        [sys.executable, "-m", "tokenplan", "serve", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    example = next(x.strip() for x in shown.splitlines() if "TOKENPLAN_PROXY_KEY=" in x)
    python = shlex.quote(sys.executable)
    assignment, args = example.split(" tokenplan serve ")
    # The example, as a shell runs it (plus a free port), and the key it made.
    script = f"export {assignment.replace('python -c', f'{python} -c')}; "
    script += (
        f'echo "key=$TOKENPLAN_PROXY_KEY" >&2; exec {python} -m tokenplan serve {args} --port 0'
    )
    proc = subprocess.Popen(
        ["bash", "-c", script],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        key = _until(proc, "key=").strip().removeprefix("key=")
        assert len(key) >= 16
        _until(proc, "listening on ")
        banner = _until(proc, "curl ")
        curl = banner[banner.index("curl ") :].strip()
        assert '-H "authorization: Bearer $KEY"' in curl
        answered = subprocess.run(
            ["bash", "-c", curl + " -s"],
            env={**env, "KEY": key},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert '"choices"' in answered.stdout, answered.stdout + answered.stderr
    finally:
        assert stop(proc) == 0


def test_log_level_names_every_level_it_accepts(tmp_path: Path) -> None:
    env = _env(tmp_path, {"TOKENPLAN_OFFLINE": "1"})
    bad = subprocess.run(
        [sys.executable, "-m", "tokenplan", "serve", "--log-level", "loud"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "error: --log-level: expected one of critical, error, warning, info, debug, trace, "
        "got 'loud'"
    )


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_localhost_listens_on_ipv4_and_ipv6(tmp_path: Path) -> None:
    env = _env(tmp_path, {"TOKENPLAN_OFFLINE": "1"})
    proc, url = start_serve(["--host", "localhost", "--port", "0"], env)
    try:
        assert url.startswith("http://localhost:")
        port = url.rsplit(":", 1)[1]
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        if _ipv6_loopback():
            assert httpx.get(f"http://[::1]:{port}/healthz").status_code == 200
    finally:
        assert stop(proc) == 0
