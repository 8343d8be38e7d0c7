"""A real HTTP receiver on 127.0.0.1 (an OS-chosen port) that records each POST: the
webhook end of alert tests. Fixtures ``receiver_factory`` and ``receiver`` are in conftest."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers from a script."""

    url: str
    requests: queue.Queue[Received] = field(default_factory=queue.Queue)
    #: (status, headers) answered in order; after the script, 200
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    #: when set, the handler waits for it before answering (to provoke a timeout)
    hold: threading.Event | None = None

    def next_answer(self) -> tuple[int, dict[str, str]]:
        return self.script.pop(0) if self.script else (200, {})

    def taken(self) -> list[Received]:
        out = []
        while not self.requests.empty():
            out.append(self.requests.get_nowait())
        return out


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) is expected, not an error


@contextmanager
def receivers() -> Iterator[Callable[[], Receiver]]:
    """Make receivers with the yielded function; all are shut down on exit."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread, Receiver]] = []

    def make() -> Receiver:
        box: list[Receiver] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver = box[0]
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.requests.put(Received(self.path, dict(self.headers.items()), body))
                if receiver.hold is not None:
                    receiver.hold.wait()
                status, headers = receiver.next_answer()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = _QuietServer(("127.0.0.1", 0), Handler)
        receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
        box.append(receiver)
        thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        servers.append((server, thread, receiver))
        return receiver

    try:
        yield make
    finally:
        for server, thread, receiver in servers:
            if receiver.hold is not None:
                receiver.hold.set()
            server.shutdown()
            server.server_close()
            thread.join()
