from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tokenplan.providers.sse import SSEDecoder, SSEEvent


def test_named_events_comments_and_multiline_data() -> None:
    d = SSEDecoder()
    raw = (
        b": keep-alive comment\n"
        b"event: message_start\n"
        b'data: {"a": 1}\n\n'
        b"data: line one\n"
        b"data: line two\n"
        b"id: 7\n"
        b"retry: 100\n\n"
        b"data:no-space\n\n"
    )
    assert d.feed(raw) == [
        SSEEvent("message_start", '{"a": 1}'),
        SSEEvent("", "line one\nline two"),
        SSEEvent("", "no-space"),
    ]
    assert not d.pending


def test_crlf_and_cr_line_endings_including_split_crlf() -> None:
    d = SSEDecoder()
    assert d.feed(b"data: x\r") == []
    assert d.feed(b"\n\r\ndata: y\r\r") == [SSEEvent("", "x")]
    assert d.close() == [SSEEvent("", "y")]  # the last CR could have begun a CRLF


def test_event_without_data_is_not_dispatched_and_pending_tracks_truncation() -> None:
    d = SSEDecoder()
    assert d.feed(b"event: ping\n\n") == []
    assert d.feed(b'data: {"partial"') == []
    assert d.pending


def test_multibyte_utf8_split_across_chunks() -> None:
    text = "data: héllo – 世界\n\n".encode()
    d = SSEDecoder()
    out: list[SSEEvent] = []
    for i in range(len(text)):
        out += d.feed(text[i : i + 1])
    assert out == [SSEEvent("", "héllo – 世界")]


_payload = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=20
)


@given(
    events=st.lists(
        st.tuples(st.sampled_from(["", "delta", "message_stop"]), _payload), max_size=8
    ),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_any_chunking_yields_the_same_events(
    events: list[tuple[str, str]], newline: str, cuts: list[int]
) -> None:
    raw = "".join(
        (f"event: {name}{newline}" if name else "") + f"data: {data}{newline}{newline}"
        for name, data in events
    ).encode()
    d = SSEDecoder()
    out: list[SSEEvent] = []
    last = 0
    for cut in sorted(c for c in cuts if c <= len(raw)):
        out += d.feed(raw[last:cut])
        last = cut
    out += d.feed(raw[last:])
    out += d.close()
    assert out == [SSEEvent(name, data) for name, data in events]
