"""The pure certification rules: requirements, dates, status, eligibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from courseware.domain import certify
from courseware.domain.content.model import RequirementSet

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
REQS = RequirementSet(modules=("a", "b"), quizzes=("a",), roleplays=("a",))
TITLES = {("module", "a"): "Module A", ("module", "b"): "Module B", ("quiz", "a"): "Quiz A",
          ("roleplay", "a"): "Role-play A"}


def test_evaluate_explains_what_is_missing() -> None:
    record = certify.LearnerRecord(modules_read={"a": {"read_at": "x"}},
                                   quizzes_passed={"a": {"attempt_id": 7}})
    evaluation = certify.evaluate(REQS, record, TITLES)
    assert not evaluation.complete
    assert [c.description for c in evaluation.missing] == [
        "Read Module B", "Pass the role-play: Role-play A"]
    assert evaluation.done == 2
    assert evaluation.evidence()["quiz:a"] == {"attempt_id": 7}


def test_evaluate_complete_when_everything_met() -> None:
    record = certify.LearnerRecord({"a": {}, "b": {}}, {"a": {}}, {"a": {"grade_id": 3}})
    assert certify.evaluate(REQS, record, TITLES).complete


def test_add_months_clamps_to_month_end() -> None:
    assert certify.add_months(T0, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert certify.add_months(T0, 24) == datetime(2028, 1, 31, 12, 0, tzinfo=UTC)
    assert certify.add_months(datetime(2027, 3, 31, tzinfo=UTC), 11) == datetime(
        2028, 2, 29, tzinfo=UTC)


@given(st.integers(min_value=1, max_value=240))
def test_add_months_always_later_and_same_time(months: int) -> None:
    later = certify.add_months(T0, months)
    assert later > T0 and later.time() == T0.time()


def status_at(now, *, revoked=None, suspended=None):  # type: ignore[no-untyped-def]
    return certify.status(now=now, expires_at=T0 + timedelta(days=730), revoked_at=revoked,
                          suspended_at=suspended)


def test_status_precedence() -> None:
    now = T0 + timedelta(days=10)
    assert status_at(now) == "valid"
    assert status_at(now, suspended=T0) == "suspended"
    assert status_at(now, revoked=T0, suspended=T0) == "revoked"
    assert status_at(T0 + timedelta(days=730)) == "expired"
    assert status_at(T0 + timedelta(days=800), suspended=T0) == "expired"
    assert status_at(T0 + timedelta(days=800), revoked=T0) == "revoked"


def test_eligibility_needs_valid_status_and_a_granting_track() -> None:
    assert certify.eligible("valid", True)
    for status in ("suspended", "expired", "revoked"):
        assert not certify.eligible(status, True)
    assert not certify.eligible("valid", False)
    assert certify.mentor_eligible([("expired", True), ("valid", True)])
    assert not certify.mentor_eligible([("revoked", True), ("valid", False)])
    assert not certify.mentor_eligible([])


def test_renewal_window() -> None:
    expires = T0 + timedelta(days=730)
    assert certify.renewal_opens_at(expires, 90) == expires - timedelta(days=90)
    assert not certify.in_renewal_window(expires - timedelta(days=91), expires, 90)
    assert certify.in_renewal_window(expires - timedelta(days=90), expires, 90)
