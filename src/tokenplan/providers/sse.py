"""An incremental server-sent-events decoder (the part of the WHATWG spec LLM APIs use).

Feed it byte chunks as they arrive; it returns complete events. Lines end in ``\\n``, ``\\r\\n``
or ``\\r``; ``data:`` lines of one event are joined with ``\\n``; comments (``:``) are
skipped; an event is dispatched at a blank line. Whatever is left when the stream closes was
never dispatched, and :attr:`SSEDecoder.pending` says so (a truncated stream).
"""

from __future__ import annotations

import codecs
from typing import NamedTuple

__all__ = ["SSEDecoder", "SSEEvent"]


class SSEEvent(NamedTuple):
    """One dispatched event; ``event`` is ``""`` when the server named none."""

    event: str
    data: str


class SSEDecoder:
    """Turns a byte stream into :class:`SSEEvent` values."""

    __slots__ = ("_buf", "_data", "_decoder", "_event", "_has_data")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._event = ""
        self._data: list[str] = []
        self._has_data = False

    @property
    def pending(self) -> bool:
        """True if bytes of an undispatched event are buffered."""
        return bool(self._buf.strip()) or self._has_data or bool(self._event)

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Decode ``chunk`` and return the events it completes (possibly none)."""
        text = self._buf + self._decoder.decode(chunk)
        if "\r" in text:
            # A trailing CR may be the first half of CRLF: keep it for the next chunk.
            hold = text.endswith("\r")
            if hold:
                text = text[:-1]
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if hold:
                text += "\r"
        events: list[SSEEvent] = []
        start = 0
        while True:
            end = text.find("\n", start)
            if end < 0:
                break
            line = text[start:end]
            start = end + 1
            if not line:
                if self._has_data:
                    events.append(SSEEvent(self._event, "\n".join(self._data)))
                self._event = ""
                self._data = []
                self._has_data = False
                continue
            self._line(line)
        self._buf = text[start:]
        return events

    def close(self) -> list[SSEEvent]:
        """The stream ended: flush a held-back final ``\r`` and return what it completes.

        An event not followed by a blank line is never dispatched (as the spec says); check
        :attr:`pending` to tell a truncated stream.
        """
        return self.feed(b"\n") if self._buf.endswith("\r") else []

    def _line(self, line: str) -> None:
        if line[0] == ":":
            return
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "event":
            self._event = value
        # ``id`` and ``retry`` matter to browsers reconnecting, not to one API call.
