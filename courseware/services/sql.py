"""Small SQL helpers shared by the services."""

from __future__ import annotations

from sqlalchemy import CursorResult, Delete, Update
from sqlalchemy.orm import Session


def rows_updated(session: Session, statement: Update | Delete) -> int:
    """Run an UPDATE (or DELETE) and say how many rows it changed: a guarded write that changed
    none lost its race (or its condition no longer holds)."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    rows: int = result.rowcount
    return rows


