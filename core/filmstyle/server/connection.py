"""The worker's HTTP/1.1 connections: a deadline on reading each request, JSON for protocol errors.

uvicorn waits for a request's headers and body for as long as the client cares to send them: a
connection that sends nothing, or one byte every few seconds, holds a file descriptor and a parser
for ever (slowloris). :class:`DeadlineH11Protocol` gives each request :data:`REQUEST_READ_TIMEOUT`
seconds from the moment the connection is ready for it (opened, or the previous response sent)
until its last body byte; past that the client gets ``408`` and the connection is closed. While the
app works on a request that was read whole, nothing is timed here (the job limits apply).

Protocol errors uvicorn answers itself (a malformed request line, a header over the parser's size
limit) get the worker's ``{"detail": ...}`` body instead of plain text.
"""

from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["DeadlineH11Protocol", "REQUEST_READ_TIMEOUT"]

#: Seconds a client has to send one whole request (headers and body); loopback takes milliseconds.
REQUEST_READ_TIMEOUT = 15.0


def _raw_response(status: int, reason: str, detail: str) -> bytes:
    body = json.dumps({"detail": detail}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a read deadline per request (see the module docstring)."""

    read_timeout = REQUEST_READ_TIMEOUT
    _read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.DONE:  # the request is in; the app's time is not ours to bound
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is not h11.DONE:
            self._arm()  # the next request on this kept-alive connection gets a deadline of its own

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        if not self.transport.is_closing():
            self.transport.write(_raw_response(400, "Bad Request", f"malformed HTTP request ({msg.rstrip('.')})"))
            self.transport.close()

    # -- the deadline ---------------------------------------------------------------------------
    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing() or self.conn.their_state is h11.DONE:
            return
        if self.cycle is not None and not self.cycle.response_complete and self.cycle.response_started:
            self.transport.close()  # an answer is on its way already; only closing is left
            return
        self.transport.write(_raw_response(
            408, "Request Timeout", f"the request was not sent within {self.read_timeout:g} s"))
        self.transport.close()
