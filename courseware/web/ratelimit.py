"""Per-client rate limits on the routes that declare one, over the `limits` library (the engine
flask-limiter is built on): fixed windows, kept in `RATELIMIT_STORAGE_URI` (memory://: this
process's own counters, LocalWindows; redis://: shared by every process).

Only routes with a limit pay for it: a request to any other route costs one dictionary lookup.
A limited request costs one counter increment in the store (plus one read of the window for the
`X-RateLimit-*` headers when RATELIMIT_HEADERS_ENABLED). Past a limit the request is refused
with 429 and `Retry-After` (the error pages in courseware.web.errors answer it, as HTML or as
the API's JSON error).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from flask import Flask, Response, g, request
from limits import RateLimitItem, WindowStats, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests


@dataclass(frozen=True)
class Rule:
    """One budget on one route: `limit()` reads the budget ("60 per minute") at request time;
    requests sharing a `scope` (and the same `key()`) draw on one counter."""

    limit: Callable[[], str]
    scope: str
    key: Callable[[], str]
    methods: frozenset[str] | None = None  # None: every method
    # counted only when this says so of the response (checked, not counted, before the view)
    deduct_when: Callable[[Response], bool] | None = None


class RateLimited(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


@lru_cache(maxsize=64)
def _item(text: str) -> RateLimitItem:
    return parse(text)


def client_address() -> str:
    """The client's address (the peer, or what TRUSTED_PROXIES' ProxyFix read)."""
    return request.remote_addr or "127.0.0.1"


class Windows(Protocol):
    """Fixed-window counters: limits' FixedWindowRateLimiter, or LocalWindows."""

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool: ...

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool: ...

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats: ...


class LocalWindows:
    """memory://: the fixed windows of limits' FixedWindowRateLimiter kept in this process's
    own dictionary. (limits' MemoryStorage expires keys from a timer thread it starts anew
    every 10 ms while any key lives: under steady traffic that alone cost more than the rest
    of a limited request.) A window ends when its time is up, checked when next touched;
    ended windows are swept once the table grows past SWEEP_AT keys."""

    SWEEP_AT = 10_000

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}  # key: (ends at, count)
        self._lock = threading.Lock()

    def _current(self, key: str, item: RateLimitItem, now: float) -> tuple[float, int]:
        ends, count = self._windows.get(key, (0.0, 0))
        return (ends, count) if ends > now else (now + item.get_expiry(), 0)

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        key, now = item.key_for(*identifiers), time.time()
        with self._lock:
            ends, count = self._current(key, item, now)
            count += cost  # counted even past the limit, as limits' fixed window does
            self._windows[key] = (ends, count)
            if len(self._windows) > self.SWEEP_AT:
                self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
        return count <= item.amount

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        with self._lock:
            _ends, count = self._current(item.key_for(*identifiers), item, time.time())
        return count + cost <= item.amount

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        with self._lock:
            ends, count = self._current(item.key_for(*identifiers), item, time.time())
        return WindowStats(ends, max(0, item.amount - count))


class RateLimiter:
    """The app's limits: `add(endpoint, rule)` before the first request."""

    def __init__(self, app: Flask) -> None:
        self.enabled = bool(app.config.get("RATELIMIT_ENABLED", True))
        self.headers = bool(app.config.get("RATELIMIT_HEADERS_ENABLED", False))
        prefix = str(app.config.get("RATELIMIT_KEY_PREFIX") or "")
        self._prefix: tuple[str, ...] = (prefix,) if prefix else ()
        uri = str(app.config["RATELIMIT_STORAGE_URI"])
        self.strategy: Windows = (LocalWindows() if uri.startswith("memory://") else
                                  FixedWindowRateLimiter(storage_from_string(uri)))
        self._rules: dict[str, list[Rule]] = {}
        self._endpoints = app.view_functions
        app.before_request(self._check)
        app.after_request(self._finish)

    def add(self, endpoints: Iterable[str], rule: Rule) -> None:
        for endpoint in endpoints:
            if endpoint not in self._endpoints:
                raise KeyError(f"no route {endpoint!r} to limit")
            self._rules.setdefault(endpoint, []).append(rule)

    def _check(self) -> None:
        rules = self._rules.get(request.endpoint or "")
        if not rules or not self.enabled:
            return
        shown: tuple[RateLimitItem, tuple[str, ...]] | None = None
        for rule in rules:
            if rule.methods is not None and request.method not in rule.methods:
                continue
            item = _item(rule.limit())
            args = (*self._prefix, rule.key(), rule.scope)
            if rule.deduct_when is not None:
                g.setdefault("ratelimit_deferred", []).append((rule, item, args))
                allowed = self.strategy.test(item, *args)
            else:
                allowed = self.strategy.hit(item, *args)
            if not allowed:
                g.ratelimit_shown = (item, args)
                raise RateLimited(self._retry_after(item, args))
            if shown is None:
                shown = (item, args)
        g.ratelimit_shown = shown

    def _retry_after(self, item: RateLimitItem, args: tuple[str, ...]) -> int:
        reset_at = int(self.strategy.get_window_stats(item, *args).reset_time + 1)
        return max(1, int(reset_at - time.time()))

    def _finish(self, response: Response) -> Response:
        for rule, item, args in g.get("ratelimit_deferred", ()):
            assert rule.deduct_when is not None
            if rule.deduct_when(response):
                self.strategy.hit(item, *args)
        shown = g.get("ratelimit_shown")
        if shown is not None and self.headers:
            item, args = shown
            stats = self.strategy.get_window_stats(item, *args)
            response.headers["X-RateLimit-Limit"] = str(item.amount)
            response.headers["X-RateLimit-Remaining"] = str(stats.remaining)
            response.headers["X-RateLimit-Reset"] = str(int(stats.reset_time + 1))
        return response
