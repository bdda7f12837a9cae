"""The Quart class every dotmock server is an instance of: Quart whose URL rules compile their URL builders once
per process instead of once per server.

Werkzeug compiles two URL-building functions (Python source through `ast` and `compile`) for every rule an app
registers, although dotmock never builds a URL. Every case starts a fresh server with the same ~20 rules, so this
was most of a server's start-up and stop (measured on a loaded 2-core machine: 28-40 ms per server before, 9-15 ms
after). The builder depends only on the rule's text and defaults, so one compiled builder serves every equal rule.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from quart import Quart
from quart.routing import QuartRule

_Builder = Callable[..., tuple[str, str]]
_builders: dict[tuple[Any, ...], _Builder] = {}
_builders_lock = threading.Lock()  # servers start in threads of their own (runner.inprocess)


class BuiltOnceRule(QuartRule):
    """A `QuartRule` that reuses the URL builder compiled for an equal rule before."""

    def _compile_builder(self, append_unknown: bool = True) -> _Builder:
        defaults = tuple(sorted((self.defaults or {}).items()))
        key = (self.rule, self.subdomain, self.host, self.merge_slashes, defaults, append_unknown)
        with _builders_lock:
            builder = _builders.get(key)
            if builder is None:
                builder = _builders[key] = super()._compile_builder(append_unknown)
        return builder


class DotmockQuart(Quart):
    url_rule_class = BuiltOnceRule
