"""ASGI plumbing shared by the HTTP and WebSocket routes: header lower-casing and adding middleware."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from hypercorn.typing import ASGIFramework
from quart import Quart


def lower_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI header pairs (bytes, as in `scope["headers"]`) as a dict with lower-cased names; the last of
    repeated headers wins."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}


def add_middleware(app: Quart, wrap: Callable[[ASGIFramework], ASGIFramework]) -> None:
    """Put `wrap(app's ASGI callable)` in front of the app, the way Quart documents middleware."""
    app.asgi_app = wrap(app.asgi_app)  # type: ignore[method-assign,assignment]  # Quart declares it a method
