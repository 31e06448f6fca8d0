"""Which submissions get a blind second grade: a keyed hash of the submission's id.

Deterministic (the same key and id always give the same answer, so the choice can be checked
later) and unpredictable to anyone without the key (a learner cannot tell, or steer, whether
their work will be double-marked).
"""

from __future__ import annotations

import hashlib
import hmac

BUCKETS = 10_000  # percentages to two decimal places


def double_mark_key(secret: str | bytes) -> bytes:
    """A key for this purpose alone, derived from the application's secret."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"courseware double marking v1", hashlib.sha256).digest()


def selected_for_double_marking(key: bytes, submission_id: int, percent: float) -> bool:
    """True for about `percent` % of submission ids (0 = none, 100 = all)."""
    if percent <= 0:
        return False
    if percent >= 100:
        return True
    digest = hmac.new(key, f"submission:{submission_id}".encode(), hashlib.sha256).digest()
    bucket = int.from_bytes(digest[:8], "big") % BUCKETS
    return bucket < round(percent * BUCKETS / 100)
