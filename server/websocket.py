"""WebSocket routes `/v1/chat` and `/v1/responses` (being written by another engineer; this is a placeholder)."""

from __future__ import annotations

from dotmock.dsl.model import Scenario
from dotmock.server.journal import Journal
from quart import Quart


def register_websocket_routes(app: Quart, scenario: Scenario, journal: Journal) -> None:
    """Add the WebSocket endpoints of `scenario` to `app`, journaling every connection and frame."""
