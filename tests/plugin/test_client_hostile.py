"""The host-side worker client against whatever may answer on the worker's port: every failure is
one :class:`WorkerError` line, within a bounded time and memory (a host's thread depends on it)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from filmstyle_plugin import client as client_module
from filmstyle_plugin.client import WorkerClient, WorkerError


class FakeServer:
    """Accepts connections on loopback and answers each with ``reply(conn)``."""

    def __init__(self, reply) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn) -> None:
        try:
            conn.recv(65536)
            self.reply(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def sends(data: bytes):
    return lambda conn, stop: conn.sendall(data)


def http(status: str, body: bytes, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    return head.encode() + body


def drip(conn, stop) -> None:  # headers, then one body byte a second for ever
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
    while not stop.wait(0.5):
        conn.sendall(b" ")


def flood(conn, stop) -> None:  # an endless body without a length
    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    block = b"x" * 65536
    while not stop.is_set():
        conn.sendall(block)


CASES = {
    "not HTTP": (sends(b"SSH-2.0-OpenSSH\r\n\r\n"), "unreachable"),
    "not JSON": (sends(http("200 OK", b"not json!")), "not JSON"),
    "not UTF-8": (sends(http("200 OK", b"\xff\xfe\x00garbage")), "not JSON"),
    "a JSON list": (sends(http("200 OK", b"[]")), "a JSON list"),
    "an error whose body is a list": (sends(http("422 Unprocessable", b"[]")), "Unprocessable (HTTP 422)"),
    "a short body": (sends(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}"), "unreachable"),
    "a declared giant body": (sends(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n{}"), "over"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_server_that_is_not_the_worker_gives_one_line(case):
    reply, words = CASES[case]
    server = FakeServer(reply)
    try:
        with pytest.raises(WorkerError) as raised:
            WorkerClient(server.port, "token", timeout=2).health()
    finally:
        server.close()
    message = str(raised.value)
    assert "\n" not in message and message
    if words:
        assert words in message, message


def test_an_error_keeps_the_workers_own_line():
    server = FakeServer(sends(http("422 Unprocessable Entity", b'{"detail": "job.strength: must be 0 ... 2"}')))
    try:
        with pytest.raises(WorkerError) as raised:
            WorkerClient(server.port, "token", timeout=2).submit({})
    finally:
        server.close()
    assert str(raised.value) == "worker: job.strength: must be 0 ... 2 (HTTP 422)" and raised.value.status == 422


@pytest.mark.parametrize("reply", [drip, flood], ids=["a byte at a time", "an endless body"])
def test_a_slow_or_endless_answer_ends_within_the_deadline(reply, monkeypatch):
    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", 4 * 1024 * 1024)
    server = FakeServer(reply)
    started = time.monotonic()
    try:
        with pytest.raises(WorkerError):
            WorkerClient(server.port, "token", timeout=1).health()
    finally:
        server.close()
    assert time.monotonic() - started < 5  # the deadline is three times the per-operation timeout


def test_a_token_that_is_not_a_header_value_is_named():
    server = FakeServer(sends(http("200 OK", b"{}")))
    try:
        with pytest.raises(WorkerError, match="token"):
            WorkerClient(server.port, "abc\ndef", timeout=2).health()
    finally:
        server.close()


def test_finding_a_worker_whose_port_answers_garbage_is_no_worker(tmp_path, monkeypatch):
    import json
    import os

    server = FakeServer(sends(b"garbage\r\n\r\n"))
    monkeypatch.setenv("FILMSTYLE_CONFIG_DIR", str(tmp_path))
    from filmstyle_plugin import paths

    paths.worker_file().parent.mkdir(parents=True, exist_ok=True)
    paths.worker_file().write_text(json.dumps({"port": server.port, "token": "t", "pid": os.getpid()}))
    try:
        assert WorkerClient.find() is None
        with pytest.raises(WorkerError, match="no worker running"):
            WorkerClient.connect(start=False)
    finally:
        server.close()


def test_a_status_without_a_state_is_a_worker_error():
    server = FakeServer(sends(http("200 OK", b'{"id": "x"}')))
    try:
        with pytest.raises(WorkerError, match="no state"):
            WorkerClient(server.port, "token", timeout=2).wait("x")
    finally:
        server.close()
