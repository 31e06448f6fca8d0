"""One page of a list, and whether another follows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

T = TypeVar("T")

PER_PAGE = 50
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    more: bool


def page_of(session: Session, statement: Select[T], number: int,
            per_page: int = PER_PAGE) -> Page[T]:
    """Rows of page `number` (from 1) of an ordered statement; one extra row says "more"."""
    number = max(1, min(number, MAX_PAGE))
    rows = session.scalars(statement.limit(per_page + 1).offset((number - 1) * per_page)).all()
    return Page(items=rows[:per_page], number=number, more=len(rows) > per_page)
