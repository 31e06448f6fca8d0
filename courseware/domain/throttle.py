"""How long a failing client waits before its next password check: an exponential delay.

Nothing locks an account for everyone. Each scope (an account from one client, one client over
every account, an account from devices it never logged in from, or one known device) has a few
free failures; after them, each failure doubles the wait, up to a ceiling.
"""

from __future__ import annotations

from datetime import timedelta


def delay(failures: int, *, free: int, base: timedelta, cap: timedelta) -> timedelta:
    """The wait after `failures` consecutive failures: none while `failures < free`, then
    `base`, `2 * base`, `4 * base` ... never more than `cap`."""
    if failures < free:
        return timedelta(0)
    doublings = failures - free
    if doublings >= 32:  # far past any cap; keeps the arithmetic small
        return cap
    return min(base * (1 << doublings), cap)


def wait_text(seconds: int) -> str:
    """"30 seconds", "1 minute", "15 minutes": how long, rounded up, for a message."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
