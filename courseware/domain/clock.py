"""The one source of "now". Tests freeze it with `freeze`; nothing patches datetime."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def utcnow() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(moment: datetime | None) -> None:
    """Fix the time (aware UTC) for everything that asks, or unfreeze with None."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("freeze needs an aware datetime")
    _frozen = moment
