"""Credentials never reach the journal: users point real clients, with real keys, at dotmock.

Headers that carry a secret (`Authorization`, `x-api-key`, `x-goog-api-key`, `api-key`, cookies, and any
name saying key/token/secret/password) and query parameters like `?key=` are redacted when a request is
journaled, keeping a marker and, for a long enough secret, its last 4 characters: `Bearer ***…wxyz`. What
the journal holds is all the runner's reports and the panel ever show, so they show only redacted values.
Fixture matching still sees the real headers (`header "Authorization" ...` rules work as written).
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
_SECRET_PARAM = re.compile(r"^(?:key|api[-_]?key|apikey|access[-_]?token|token|auth|secret|password|sig|signature)$")
_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "apikey", "key"})
MIN_SHOWN_TAIL = 12  # a secret shorter than this shows no characters at all


def is_secret_header(name: str) -> bool:
    name = name.lower()
    return name in SECRET_HEADERS or bool(_SECRET_NAME.search(name))


def redact_secret(value: str) -> str:
    """`Bearer sk-...wxyz` -> `Bearer ***…wxyz`; a short secret -> `***`."""
    scheme, sep, rest = value.strip().partition(" ")
    if sep and scheme.lower() in _SCHEMES and rest.strip():
        prefix, secret = scheme + " ", rest.strip()
    else:
        prefix, secret = "", value.strip()
    if not secret:
        return value
    tail = secret[-4:] if len(secret) >= MIN_SHOWN_TAIL else ""
    return f"{prefix}{MARKER}{tail}" if tail else f"{prefix}***"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with every secret-bearing value redacted."""
    return {name: redact_secret(value) if is_secret_header(name) else value for name, value in headers.items()}


def redact_query(query: str) -> str:
    """`a=1&key=AIza...wxyz` -> `a=1&key=***…wxyz` (other parameters kept as sent)."""
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        if eq and value and _SECRET_PARAM.match(unquote_plus(name).lower()):
            part = f"{name}={redact_secret(unquote_plus(value))}"
        parts.append(part)
    return "&".join(parts)


def redact_target(target: str) -> str:
    """A request target `path?query` with its secret query parameters redacted."""
    path, sep, query = target.partition("?")
    return f"{path}?{redact_query(query)}" if sep else path
