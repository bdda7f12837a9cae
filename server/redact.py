"""Credentials never reach the journal: users point real clients, with real keys, at dotmock.

Headers that carry a secret (`Authorization`, `x-api-key`, `x-goog-api-key`, `api-key`, cookies, and any
name saying key/token/secret/password), the key a browser WebSocket client puts in `Sec-WebSocket-Protocol`
(`openai-insecure-api-key.KEY`) and query parameters like `?key=`, `?api_key=`, `?X-Amz-Signature=` are
redacted when a request is journaled, keeping a marker and, for a long enough secret, its last 4 characters:
`Bearer ***…wxyz`. What the journal holds is all the runner's reports and the panel ever show, so they show
only redacted values. The values themselves are kept (in memory only) by `Secrets`, so the runner scrubs
them from the client's output before quoting it as evidence. Fixture matching still sees the real headers
(`header "Authorization" ...` rules work as written).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote_plus

MARKER = "***…"
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "x-goog-api-key",
        "api-key",
        "cookie",
        "set-cookie",
    }
)
# Other names that say they hold a secret: x-auth-token, openai-api-key, x-amz-security-token, ...
_SECRET_NAME = re.compile(r"(?:^|[-_])(?:api[-_]?key|apikey|auth|token|secret|password|passwd)(?:$|[-_])")
# Query parameters: those, `key` alone, and signed URLs' parts (X-Amz-Signature, X-Amz-Credential, sig=)
_SECRET_PARAM = re.compile(r"^(?:key|sig)$|(?:^|[-_])(?:signature|credential|credentials)(?:$|[-_])")
SUBPROTOCOL_HEADER = "sec-websocket-protocol"
# A bare subprotocol that says the next one is a secret (Deepgram's browser form: ["token", KEY])
_SECRET_NEXT = frozenset({"token", "bearer"})
_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "apikey", "key"})
MIN_SHOWN_TAIL = 12  # a secret shorter than this shows no characters at all


def is_secret_header(name: str) -> bool:
    name = name.lower()
    return name in SECRET_HEADERS or bool(_SECRET_NAME.search(name))


def is_secret_param(name: str) -> bool:
    """Does a query parameter of this name (as decoded) carry a secret?"""
    name = name.lower()
    return bool(_SECRET_PARAM.search(name) or _SECRET_NAME.search(name))


def _split_scheme(value: str) -> tuple[str, str]:
    """`Bearer sk-...` -> ("Bearer ", "sk-..."); a value without an auth scheme -> ("", value)."""
    scheme, sep, rest = value.strip().partition(" ")
    if sep and scheme.lower() in _SCHEMES and rest.strip():
        return scheme + " ", rest.strip()
    return "", value.strip()


def redact_secret(value: str) -> str:
    """`Bearer sk-...wxyz` -> `Bearer ***…wxyz`; a short secret -> `***`."""
    prefix, secret = _split_scheme(value)
    if not secret:
        return value
    tail = secret[-4:] if len(secret) >= MIN_SHOWN_TAIL else ""
    return f"{prefix}{MARKER}{tail}" if tail else f"{prefix}***"


def _subprotocol_secrets(value: str) -> list[tuple[int, str, str]]:
    """(index, prefix, secret) of each secret in a `Sec-WebSocket-Protocol` list: `NAME.SECRET` where NAME
    says key/token/secret (`openai-insecure-api-key.sk-...`), or the item after a bare `token` / `bearer`."""
    found = []
    items = [item.strip() for item in value.split(",")]
    for i, item in enumerate(items):
        name, dot, rest = item.partition(".")
        if i > 0 and items[i - 1].lower() in _SECRET_NEXT and item:
            found.append((i, "", item))
        elif dot and rest and is_secret_header(name):
            found.append((i, name + ".", rest))
    return found


def redact_subprotocols(value: str) -> str:
    """`realtime, openai-insecure-api-key.sk-...wxyz` -> `realtime, openai-insecure-api-key.***…wxyz`."""
    items = [item.strip() for item in value.split(",")]
    for i, prefix, secret in _subprotocol_secrets(value):
        items[i] = prefix + redact_secret(secret)
    return ", ".join(items)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with every secret-bearing value redacted."""
    out = {}
    for name, value in headers.items():
        if is_secret_header(name):
            value = redact_secret(value)
        elif name.lower() == SUBPROTOCOL_HEADER:
            value = redact_subprotocols(value)
        out[name] = value
    return out


def _query_secrets(query: str) -> list[tuple[int, str, str]]:
    """(index, name as sent, value decoded) of each secret parameter of a query string."""
    found = []
    for i, part in enumerate(query.split("&")):
        name, eq, value = part.partition("=")
        if eq and value and is_secret_param(unquote_plus(name)):
            found.append((i, name, unquote_plus(value)))
    return found


def redact_query(query: str) -> str:
    """`a=1&key=AIza...wxyz` -> `a=1&key=***…wxyz` (other parameters kept as sent)."""
    parts = query.split("&")
    for i, name, value in _query_secrets(query):
        parts[i] = f"{name}={redact_secret(value)}"
    return "&".join(parts)


def secrets_of(headers: Mapping[str, str], query: str = "") -> set[str]:
    """The secret values a request carries, as a client might print them: each secret header's value without
    its auth scheme (and each cookie's value), each secret subprotocol, each secret query parameter."""
    found: set[str] = set()
    for name, value in headers.items():
        if is_secret_header(name):
            found.add(_split_scheme(value)[1])
            if name.lower() in ("cookie", "set-cookie"):
                found.update(part.partition("=")[2].strip() for part in value.split(";"))
        elif name.lower() == SUBPROTOCOL_HEADER:
            found.update(secret for _, _, secret in _subprotocol_secrets(value))
    found.update(value for _, _, value in _query_secrets(query))
    return found


class Secrets:
    """The secret values requests carried to one server, in memory only (never journaled): `scrub` replaces
    them in a text the runner quotes (the client's output) as `redact_secret` shows them. Values shorter
    than `MIN_SCRUBBED` are left alone (they would mangle ordinary words), and at most `MAX_KEPT` are kept."""

    MIN_SCRUBBED = 8
    MAX_KEPT = 256

    def __init__(self) -> None:
        self.values: set[str] = set()

    def note(self, headers: Mapping[str, str], query: str = "") -> None:
        for value in secrets_of(headers, query):
            if len(value) >= self.MIN_SCRUBBED and len(self.values) < self.MAX_KEPT:
                self.values.add(value)

    def scrub(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):  # a key inside a longer one: the longer first
            if value in text:
                text = text.replace(value, redact_secret(value))
        return text


def redact_target(target: str) -> str:
    """A request target `path?query` with its secret query parameters redacted."""
    path, sep, query = target.partition("?")
    return f"{path}?{redact_query(query)}" if sep else path
