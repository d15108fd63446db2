"""The public loopback fakes: fault queue semantics, records, control routes, serving."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from tokenplan.testing import FakeProviders, Fault, serve_fake
from tokenplan.testing.fakes import example_for_schema

CHAT = {"model": "m1", "messages": [{"role": "user", "content": "ping"}]}


async def _post(client: httpx.AsyncClient, model: str = "m1") -> httpx.Response:
    return await client.post("http://fake/v1/chat/completions", json={**CHAT, "model": model})


async def test_faults_apply_per_model_first_then_global_and_count_down() -> None:
    fake = FakeProviders()
    fake.fail(500, times=2)
    fake.fail(429, model="m2", headers={"retry-after": "1"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as c:
        statuses = [(await _post(c, m)).status_code for m in ("m2", "m1", "m2", "m1", "m2")]
    assert statuses == [429, 500, 500, 200, 200]
    assert [r.model for r in fake.requests] == ["m2", "m1", "m2", "m1", "m2"]


async def test_answers_are_deterministic_and_requests_recorded() -> None:
    fake = FakeProviders()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as c:
        a, b = (await _post(c)).json(), (await _post(c)).json()
    assert (
        a["choices"][0]["message"]["content"]
        == b["choices"][0]["message"]["content"]
        == "Echo from m1: ping"
    )
    assert a["usage"] == b["usage"]
    rec = fake.requests[0]
    assert rec.dialect == "openai"
    assert rec.body == CHAT
    assert rec.path == "/v1/chat/completions"
    fake.reset()
    assert fake.requests == []


async def test_api_keys_are_enforced_per_dialect() -> None:
    fake = FakeProviders(api_keys=["good"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as c:
        assert (await _post(c)).status_code == 401
        ok = await c.post(
            "http://fake/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer good"}
        )
        assert ok.status_code == 200
        r = await c.post(
            "http://fake/v1/messages", json={**CHAT, "max_tokens": 5}, headers={"x-api-key": "bad"}
        )
        assert r.status_code == 401
        assert r.json()["error"]["type"] == "authentication_error"
        r = await c.post(
            "http://fake/v1beta/models/g:generateContent",
            json={"contents": []},
            headers={"x-goog-api-key": "good"},
        )
        assert r.status_code == 200


async def test_bad_requests_and_unknown_gemini_methods() -> None:
    fake = FakeProviders()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as c:
        assert (
            await c.post("http://fake/v1/chat/completions", content=b"[1, 2")
        ).status_code == 400
        assert (await c.post("http://fake/v1beta/models/g:countTokens", json={})).status_code == 404
        assert (await c.get("http://fake/v1/models")).json()["object"] == "list"


def test_fault_from_dict_rejects_unknown_fields() -> None:
    assert Fault.from_dict({"status": 503, "times": 2}) == Fault(status=503, times=2)
    with pytest.raises(ValueError, match="unknown fault fields"):
        Fault.from_dict({"stauts": 503})


def test_example_for_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "steps": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "kind": {"enum": ["a", "b"]},
            "n": {"type": ["integer", "null"], "minimum": 3},
            "ok": {"type": "boolean"},
            "sub": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        },
        "required": ["steps", "kind", "n", "ok", "sub"],
    }
    assert example_for_schema(schema) == {
        "steps": ["example", "example"],
        "kind": "a",
        "n": 3,
        "ok": False,
        "sub": 0.0,
    }


def test_serve_fake_on_loopback_with_control_routes() -> None:
    with serve_fake() as server:
        assert server.url.startswith("http://127.0.0.1:")
        env = server.env()
        assert env["TOKENPLAN_ANTHROPIC_BASE_URL"] == server.url
        assert env["TOKENPLAN_GEMINI_BASE_URL"] == server.url + "/v1beta"
        assert env["TOKENPLAN_DEEPSEEK_BASE_URL"] == server.url + "/v1"
        assert "DEEPSEEK_API_KEY" in env
        with httpx.Client(base_url=server.url) as c:
            assert c.post(
                "/_fake/faults", json={"model": "m1", "faults": [{"status": 503}]}
            ).json() == {"queued": 1}
            assert c.post("/v1/chat/completions", json=CHAT).status_code == 503
            assert (
                c.post(
                    "/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer sk-x"}
                ).status_code
                == 200
            )
            records = c.get("/_fake/requests").json()
            assert len(records) == 2
            assert records[1]["headers"]["authorization"] == "***"
            assert c.post("/_fake/faults", json={"faults": [{"bogus": 1}]}).status_code == 400
            c.post("/_fake/reset")
            assert c.get("/_fake/requests").json() == []


def test_module_entry_point_serves_until_terminated() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "tokenplan.testing.fakes", "--port", "0", "--reasoning-tokens", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:")
            url = line.removeprefix("listening on ")
            deadline = time.monotonic() + 10
            while True:
                try:
                    r = httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=5)
                    break
                except httpx.ConnectError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            assert r.json()["usage"]["completion_tokens_details"]["reasoning_tokens"] == 4
        finally:
            proc.terminate()
            proc.wait(timeout=10)
