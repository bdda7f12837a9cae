"""The provider APIs dotmock serves over HTTP: one module each, `dotmock.server.apis.<name>`, for every
`ApiKind` of the catalogue (`dsl.catalogue.API_KINDS`). A module's `API` (a `server.apis.base.Api`) owns its
paths, request checks, error shape, JSON answer and event stream; everything else (the routes, the fast
path, the nearest-miss 404, the panel's endpoint list, the SDKs' base-URL variables the runner, `dotmock
record` and the banners give) reads this registry.
Adding an API is its module plus its catalogue entry.
"""

from __future__ import annotations

import importlib
import shlex

from dotmock.dsl.catalogue import API_KINDS, path_pattern
from dotmock.server.apis.base import Api


def _load(name: str) -> Api:
    api = importlib.import_module(f"{__name__}.{name}").API
    assert isinstance(api, Api), f"{__name__}.{name}.API is not an Api"
    return api


APIS: tuple[Api, ...] = tuple(_load(kind.name) for kind in API_KINDS)
BY_NAME: dict[str, Api] = {api.name: api for api in APIS}
BY_PATH: dict[str, Api] = {path: api for api in APIS for path in api.kind.paths if "{" not in path}
_PATTERNED = tuple(api for api in APIS if any("{" in path for path in api.kind.paths))


def api_for(path: str) -> Api | None:
    """The API answering `path`, if any."""
    api = BY_PATH.get(path)
    if api is not None:
        return api
    for candidate in _PATTERNED:
        if candidate.owns(path):
            return candidate
    return None


def family_of(path: str | None) -> str | None:
    """The family of the API at `path` (None for a path no API answers, or no path)."""
    api = api_for(path) if path is not None else None
    return api.family if api is not None else None


def base_url_variables(base_url: str) -> dict[str, str]:
    """Every SDK's base-URL variable pointed at a dotmock server (or `dotmock record` proxy) at `base_url`,
    each once, in the registry's order: `OPENAI_BASE_URL` (with `/v1`), `ANTHROPIC_BASE_URL`,
    `GOOGLE_GEMINI_BASE_URL`. The one list: the runner's client environment, the command `dotmock record`
    runs and the `serve` / `record` banners read it."""
    return {api.kind.base_url_env: base_url + api.kind.base_url_suffix for api in APIS}


def base_url_exports(base_url: str) -> str:
    """The banners' line for a shell: `export OPENAI_BASE_URL=http://127.0.0.1:8100/v1 ANTHROPIC_BASE_URL=...`."""
    return "export " + " ".join(f"{name}={shlex.quote(url)}" for name, url in base_url_variables(base_url).items())


def base_url_mistake(path: str) -> str | None:
    """For a path no API answers, the served path it is one base-URL mistake away from, said as advice:
    `/chat/completions` lacks the `/v1` an OpenAI base URL carries, `/models/m:generateContent` lacks
    Gemini's `/v1beta`, `/v1/v1/messages` or `/api/v1/messages` has a prefix too many. None if none is."""
    for api in APIS:
        for template in api.kind.paths:
            pattern = path_pattern(template)
            for cut in range(1, len(path)):  # an extra prefix: path = extra + a served path
                if path[cut] == "/" and pattern.fullmatch(path[cut:]):
                    return f"dotmock serves POST {path[cut:]}: the client's base URL has {path[:cut]} too many"
            version, _, rest = template[1:].partition("/")  # a missing version: /v1 + path = a served path
            if rest and path_pattern("/" + rest).fullmatch(path):
                return f"dotmock serves POST /{version}{path}: the client's base URL lacks /{version}"
    return None
