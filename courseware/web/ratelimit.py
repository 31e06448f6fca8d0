"""Per-client rate limits on the routes that declare one: limits written in the `limits`
library's notation ("60 per minute", the notation flask-limiter used), counted in fixed windows
kept in `RATELIMIT_STORAGE_URI` (memory://: this process's own counters, LocalWindows;
redis://: shared by every process, RedisWindows).

Only routes with a limit pay for it: a request to any other route costs one dictionary lookup.
A limited request costs one count in the store, which also answers the `X-RateLimit-*`
headers (one round trip to Redis). Past a limit the request is refused
with 429 and `Retry-After` (the error pages in courseware.web.errors answer it, as HTML or as
the API's JSON error).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, Protocol

from flask import Flask, Response, g, request
from limits import RateLimitItem, parse
from werkzeug.exceptions import TooManyRequests

from courseware.web.current import current_request


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
    # the rule applies to a request only when this says so (None: always)
    applies: Callable[[], bool] | None = None


class RateLimited(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


@lru_cache(maxsize=64)
def _item(text: str) -> RateLimitItem:
    return parse(text)


def counter_key(item: RateLimitItem, prefix: tuple[str, ...], client: str, scope: str) -> str:
    """The counter of `client` under `scope`: `item.key_for(*prefix, client, scope)`, the
    limits library's layout (so counters already in Redis carry on), with what comes before
    and after the client worked out once per budget rather than on every request."""
    head, tail = _key_around_client(item, prefix, scope)
    return head + client + tail


@lru_cache(maxsize=256)
def _key_around_client(item: RateLimitItem, prefix: tuple[str, ...],
                       scope: str) -> tuple[str, str]:
    marker = "\x00"  # in no prefix or scope (both come from the code and its settings)
    head, tail = item.key_for(*prefix, marker, scope).split(marker)
    return head, tail


def client_address() -> str:
    """The client's address (the peer, or what TRUSTED_PROXIES' ProxyFix read)."""
    return request.remote_addr or "127.0.0.1"


class Window(NamedTuple):
    hits: int  # requests counted in the window so far
    ends: float  # when it ends (epoch seconds)


class Windows(Protocol):
    """Fixed-window counters: a window starts at the first request counted under a key and
    lasts the limit's period (the fixed window of the limits library)."""

    def hit(self, item: RateLimitItem, key: str, cost: int = 1) -> Window:
        """Count `cost` requests; the window after counting them."""

    def peek(self, item: RateLimitItem, key: str) -> Window:
        """The window as it stands, counting nothing."""


class LocalWindows:
    """memory://: the windows in this process's own dictionary. (limits' MemoryStorage expires
    keys from a timer thread it starts anew every 10 ms while any key lives: under steady
    traffic that alone cost more than the rest of a limited request.) A window ends when its
    time is up, checked when next touched; ended windows are swept once the table grows past
    SWEEP_AT keys."""

    SWEEP_AT = 10_000

    def __init__(self) -> None:
        self._windows: dict[str, Window] = {}
        self._lock = threading.Lock()

    def _current(self, item: RateLimitItem, key: str, now: float) -> Window:
        window = self._windows.get(key)
        return window if window is not None and window.ends > now else \
            Window(0, now + item.get_expiry())

    def hit(self, item: RateLimitItem, key: str, cost: int = 1) -> Window:
        now = time.time()
        with self._lock:
            count, ends = self._current(item, key, now)
            # counted even past the limit, as the limits library's fixed window does
            window = self._windows[key] = Window(count + cost, ends)
            if len(self._windows) > self.SWEEP_AT:
                self._windows = {k: w for k, w in self._windows.items() if w.ends > now}
        return window

    def peek(self, item: RateLimitItem, key: str) -> Window:
        with self._lock:
            return self._current(item, key, time.time())


# count, start the window's clock on the first request, and read its time left: one round trip
_HIT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""


class RedisWindows:
    """redis://: the windows shared by every process, one round trip per count (the limits
    library's strategy took three: count, then the time left and the count for the headers)."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._hit = self._client.register_script(_HIT)

    @staticmethod
    def _window(item: RateLimitItem, count: int, ttl_ms: int) -> Window:
        left = ttl_ms / 1000 if ttl_ms > 0 else item.get_expiry()
        return Window(count, time.time() + left)

    def hit(self, item: RateLimitItem, key: str, cost: int = 1) -> Window:
        count, ttl = self._hit(keys=[key], args=[item.get_expiry(), cost])
        return self._window(item, int(count), int(ttl))

    def peek(self, item: RateLimitItem, key: str) -> Window:
        pipe = self._client.pipeline(transaction=False)
        pipe.get(key)
        pipe.pttl(key)
        count, ttl = pipe.execute()
        return self._window(item, int(count or 0), int(ttl))


def windows_for(uri: str) -> Windows:
    if uri.startswith("memory://"):
        return LocalWindows()
    if uri.startswith(("redis://", "rediss://", "unix://")):
        return RedisWindows(uri)
    raise ValueError(f"RATELIMIT_STORAGE_URI must be memory:// or redis://..., not {uri!r}")


class RateLimiter:
    """The app's limits: `add(endpoint, rule)` before the first request."""

    def __init__(self, app: Flask) -> None:
        self.enabled = bool(app.config.get("RATELIMIT_ENABLED", True))
        self.headers = bool(app.config.get("RATELIMIT_HEADERS_ENABLED", False))
        prefix = str(app.config.get("RATELIMIT_KEY_PREFIX") or "")
        self._prefix: tuple[str, ...] = (prefix,) if prefix else ()
        self.windows = windows_for(str(app.config["RATELIMIT_STORAGE_URI"]))
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
        req = current_request()
        rules = self._rules.get(req.endpoint or "")
        if not rules or not self.enabled:
            return
        shown: tuple[RateLimitItem, Window] | None = None
        for rule in rules:
            if rule.methods is not None and req.method not in rule.methods:
                continue
            if rule.applies is not None and not rule.applies():
                continue
            item = _item(rule.limit())
            key = counter_key(item, self._prefix, rule.key(), rule.scope)
            if rule.deduct_when is not None:
                g.setdefault("ratelimit_deferred", []).append((rule, item, key))
                window = self.windows.peek(item, key)
                allowed = window.hits + 1 <= item.amount
            else:
                window = self.windows.hit(item, key)
                allowed = window.hits <= item.amount
            if not allowed:
                g.ratelimit_shown = (item, window)
                raise RateLimited(max(1, int(int(window.ends + 1) - time.time())))
            if shown is None:
                shown = (item, window)
        g.ratelimit_shown = shown

    def _finish(self, response: Response) -> Response:
        for rule, item, key in g.get("ratelimit_deferred", ()):
            assert rule.deduct_when is not None
            if rule.deduct_when(response):
                self.windows.hit(item, key)
        shown = g.get("ratelimit_shown")
        if shown is not None and self.headers:
            item, window = shown
            # added, not set: nothing else writes them, and setting scans every header
            response.headers.add("X-RateLimit-Limit", str(item.amount))
            response.headers.add("X-RateLimit-Remaining", str(max(0, item.amount - window.hits)))
            response.headers.add("X-RateLimit-Reset", str(int(window.ends + 1)))
        return response
