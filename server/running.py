"""Running the mock server in-process: `async with running_server(scenario) as srv: ... srv.base_url`.

The listening socket is bound (port 0: the kernel picks) and listening before hypercorn starts, so the port
is known and connectable the moment the context is entered; hypercorn accepts the queued connections as soon
as its loop turns. Many servers can run at once in one event loop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.utils import wrap_app
from quart import Quart

from dotmock.dsl.model import Scenario
from dotmock.server.app import DEFAULT_MAX_BODY_BYTES, create_app
from dotmock.server.guard import TOKEN_KEY
from dotmock.server.journal import Journal
from dotmock.server.streaming import ServerState, StreamLimits

SHUTDOWN_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class RunningServer:
    host: str
    port: int
    journal: Journal
    app: Quart

    @property
    def token(self) -> str:
        """The secret control writes (`POST /_dotmock/...`) carry in `X-Dotmock-Token` (server.guard)."""
        return str(self.app.config[TOKEN_KEY])

    @property
    def base_url(self) -> str:
        return f"http://{self._host_in_url}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._host_in_url}:{self.port}"

    @property
    def _host_in_url(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host


def bind_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Each write goes out at once: with Nagle, a stream's first body write after the headers waited for the
        # client's delayed ACK (~40 ms) on kept-alive connections. Accepted connections inherit it (Linux).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def hypercorn_config(host: str, port: int, *, graceful_timeout: float, quiet: bool) -> Config:
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.graceful_timeout = graceful_timeout
    config.backlog = 1024  # a burst of connections (hundreds of concurrent streams) must not overflow it
    config.accesslog = None
    if quiet:
        config.errorlog = logging.getLogger("hypercorn.error")
    return config


async def serve_app(app: Quart, sock: socket.socket, config: Config, stop: asyncio.Event) -> None:
    """Serve `app` on the already listening `sock` until `stop` is set."""
    sockets = Sockets(secure_sockets=[], insecure_sockets=[sock], quic_sockets=[])
    await worker_serve(
        wrap_app(app, config.wsgi_max_body_size, "asgi"), config, sockets=sockets, shutdown_trigger=stop.wait
    )


@asynccontextmanager
async def running_server(
    scenario: Scenario,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    journal: Journal | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    limits: StreamLimits | None = None,
    graceful_timeout: float = 0.5,
    token: str | None = None,
    allowed_hosts: Iterable[str] = (),
) -> AsyncIterator[RunningServer]:
    """Serve `scenario` on host:port for the duration of the block; stop cleanly and free the port after.
    Requests are answered for loopback `Host` names, `host` itself and `allowed_hosts` (server.guard)."""
    journal = journal if journal is not None else Journal()
    app = create_app(
        scenario,
        journal,
        max_body_bytes=max_body_bytes,
        limits=limits,
        token=token,
        allowed_hosts=(host, *allowed_hosts),
    )
    sock = bind_socket(host, port)
    actual_port = sock.getsockname()[1]
    config = hypercorn_config(host, actual_port, graceful_timeout=graceful_timeout, quiet=True)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_app(app, sock, config, stop), name=f"dotmock-server-{actual_port}")
    try:
        await asyncio.sleep(0)
        if task.done():
            task.result()  # startup failed: raise it here
        yield RunningServer(host=host, port=actual_port, journal=journal, app=app)
    finally:
        state: ServerState = app.config["DOTMOCK_STATE"]
        state.stop_streams()
        stop.set()
        with anyio.CancelScope(shield=True), anyio.move_on_after(SHUTDOWN_TIMEOUT_S):
            await asyncio.wait({task})
        if not task.done():
            task.cancel()
        elif not task.cancelled() and task.exception() is not None:
            logging.getLogger("dotmock.server").error("server task failed", exc_info=task.exception())
        sock.close()
