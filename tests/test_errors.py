from __future__ import annotations

import sys

import pytest

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

from tokenplan.errors import (
    AllCandidatesFailed,
    ProviderHTTPError,
    RateLimitError,
    UpstreamServerError,
    redact,
)


def test_headers_are_lowercased_and_authorization_dropped() -> None:
    err = RateLimitError(
        "slow down",
        status_code=429,
        headers={"Retry-After": "3", "Authorization": "Bearer sk-abcdefghijkl"},
    )
    assert err.headers == {"retry-after": "3"}
    assert err.retry_after_s == 3.0
    assert err.retryable


def test_retry_after_ms_wins_and_http_dates_parse() -> None:
    assert (
        RateLimitError("x", status_code=429, headers={"retry-after-ms": "250"}).retry_after_s
        == 0.25
    )
    e = RateLimitError(
        "x", status_code=429, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    assert e.retry_after_s == 0.0


def test_secrets_never_survive_into_messages_or_bodies() -> None:
    key = "sk-proj-abcdefghijklmnopqrstuvwxyz"
    err = ProviderHTTPError(f"bad key {key}", status_code=401, body=f'{{"key": "{key}"}}')
    assert key not in str(err)
    assert key not in err.body
    assert "AIzaSyA1234567890abcdefghijklmnop" not in redact("k=AIzaSyA1234567890abcdefghijklmnop")


def test_all_candidates_failed_is_an_exception_group() -> None:
    errors = [UpstreamServerError("boom", status_code=503, model="a/b")]
    group = AllCandidatesFailed("every candidate failed", errors)
    with pytest.raises(ExceptionGroup):
        raise group
    assert "a/b" in str(group)
    rest = group.subgroup(lambda e: isinstance(e, UpstreamServerError))
    assert isinstance(rest, AllCandidatesFailed)
