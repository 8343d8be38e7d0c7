"""An ASGI app served by a real uvicorn server on a loopback port, for the gateway's and the
dashboard's tests: the socket is bound and listening before the server thread starts, so
requests made at once wait in the backlog instead of racing the startup (no sleeps)."""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpx
import uvicorn


class Served:
    """``app`` on ``127.0.0.1`` at a free port: ``url`` and an ``http`` client for it."""

    def __init__(self, app: Any) -> None:
        # IPPROTO_TCP: asyncio turns Nagle off only on sockets that say they are TCP
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]})
        self.thread.daemon = True
        self.thread.start()
        self.http = httpx.Client(base_url=self.url, timeout=30, trust_env=False)

    def close(self) -> None:
        """Close the client and stop the server (its thread ends)."""
        self.http.close()
        self.server.should_exit = True
        self.thread.join(30)
