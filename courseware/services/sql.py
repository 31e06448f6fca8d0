"""Small SQL helpers shared by the services."""

from __future__ import annotations

from sqlalchemy import CursorResult, Update
from sqlalchemy.orm import Session


def rows_updated(session: Session, statement: Update) -> int:
    """Run an UPDATE and say how many rows it changed: a guarded update that changed none lost
    its race (or its condition no longer holds)."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    rows: int = result.rowcount
    return rows


