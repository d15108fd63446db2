"""A candidate skipped because it (or its endpoint) is cooling down is reported as such, by the
library and by the proxy (503 with retry-after), never as the stale upstream error."""

from __future__ import annotations

import time

from tokenplan.errors import AllCandidatesFailed, AuthenticationError, CooledDownError
from tokenplan.providers.cooldown import Cooldowns
from tokenplan.proxy.errors import api_error_for


def _401() -> AuthenticationError:
    return AuthenticationError(
        "openai answered HTTP 401", status_code=401, provider="openai", model="openai/a"
    )


def test_cooldowns_check_names_the_candidate_cause_and_until() -> None:
    cooldowns = Cooldowns(ttl_s=120)
    cause = _401()
    cooldowns.block_endpoint("openai", cause)
    skipped = cooldowns.check("openai/b", "openai")
    assert isinstance(skipped, CooledDownError)
    assert (skipped.model, skipped.provider, skipped.cause) == ("openai/b", "openai", cause)
    assert skipped.whole_endpoint
    assert skipped.until is not None
    assert 115 < skipped.until - time.time() <= 120
    assert cooldowns.check("anthropic/c", "anthropic") is None
    forever = Cooldowns()
    forever.cool_model("openai/a", cause)
    out = forever.check("openai/a", "openai")
    assert out is not None
    assert out.until is None
    assert out.retry_after_s is None
    assert "for the rest of this process" in str(out)


def test_the_proxy_answers_503_with_retry_after_when_every_candidate_is_cooling_down() -> None:
    cooldowns = Cooldowns(ttl_s=300)
    cooldowns.block_endpoint("openai", _401())
    skipped = [cooldowns.check(m, "openai") for m in ("openai/a", "openai/b")]
    err = AllCandidatesFailed("all 2 candidate model(s) failed", [e for e in skipped if e])
    answer = api_error_for(err)
    assert answer is not None
    assert answer.status == 503
    assert answer.code == "model_cooling_down"
    retry_after = dict(answer.headers)[b"retry-after"]
    assert 295 <= int(retry_after) <= 300
    assert "cooling down" in answer.message
    assert "openai/b" in answer.message
