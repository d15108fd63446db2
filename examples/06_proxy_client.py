"""The official ``openai`` client talking to ``tokenplan serve``.

Starts ``tokenplan serve`` on a free loopback port (or uses the proxy at ``TOKENPLAN_PROXY_URL``),
then asks through it with ``model="auto"``: once whole, once streamed; then lists the models and
looks one up.
With no provider key configured the proxy answers from the offline simulator (it says so in the
``x-tokenplan-simulated`` header). Needs ``pip install openai``.

    python examples/06_proxy_client.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tokenplan.money import format_usd

try:
    import openai
except ImportError:  # pragma: no cover - shown to people without the SDK
    raise SystemExit("this example needs the official client: pip install openai") from None


@contextmanager
def proxy_url() -> Iterator[str]:
    """The proxy to use: ``TOKENPLAN_PROXY_URL``, or a ``tokenplan serve`` started here."""
    given = os.environ.get("TOKENPLAN_PROXY_URL")
    if given:
        yield given.rstrip("/")
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenplan", "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            if "listening on " in line:
                yield line.split("listening on ", 1)[1].split()[0].removesuffix("/v1")
                return
        raise SystemExit("tokenplan serve did not start")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        proc.stderr.close()


def main() -> None:
    with proxy_url() as url:
        key = os.environ.get("TOKENPLAN_PROXY_KEY", "unused-without-keys")
        with openai.OpenAI(base_url=url + "/v1", api_key=key) as client:
            raw = client.chat.completions.with_raw_response.create(
                model="auto",
                messages=[{"role": "user", "content": "Give me one tip for writing clear code."}],
                max_tokens=200,
            )
            answer = raw.parse()
            print(f"answer: {answer.choices[0].message.content}")
            cost = float(raw.headers["x-tokenplan-cost-usd"])
            saved = raw.headers.get("x-tokenplan-saved-usd")
            print(
                f"model: {raw.headers['x-tokenplan-model']}  cost: {format_usd(cost)}  "
                f"saved vs baseline: {format_usd(float(saved)) if saved else '?'}"
            )
            print(f"route: {raw.headers['x-tokenplan-route']}")
            if raw.headers.get("x-tokenplan-simulated") == "true":
                print("(simulated: no provider key is configured)")

            print("streamed: ", end="", flush=True)
            stream = client.chat.completions.create(
                model="auto:cost",
                messages=[{"role": "user", "content": "Name three prime numbers."}],
                max_tokens=120,
                stream=True,
                stream_options={"include_usage": True},
            )
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    print(chunk.choices[0].delta.content, end="", flush=True)
                if chunk.usage is not None:
                    cost = (chunk.model_extra or {}).get("tokenplan", {}).get("cost_usd", 0.0)
                    print(f"\n  {chunk.usage.total_tokens} tokens, {format_usd(cost)}")

            auto = client.models.retrieve("auto")
            print(f"auto: {(auto.model_extra or {}).get('description')}")
            models = [m.id for m in client.models.list()]
            print(f"{len(models)} models, starting with {models[:6]}")


if __name__ == "__main__":
    main()
