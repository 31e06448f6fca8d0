"""Certification rules as plain functions: requirements, dates, status, eligibility."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from courseware.domain.content.model import RequirementSet
from courseware.domain.statuses import CertificateStatus, Standing

STATUSES = tuple(CertificateStatus)


@dataclass(frozen=True)
class LearnerRecord:
    """What a learner has achieved, with the evidence for each achievement."""

    modules_read: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    quizzes_passed: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    roleplays_passed: Mapping[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class RequirementCheck:
    kind: str  # "module", "quiz", "roleplay"
    slug: str
    title: str
    met: bool
    evidence: dict[str, Any] | None

    @property
    def description(self) -> str:
        verb = {"module": "Read", "quiz": "Pass the quiz:", "roleplay": "Pass the role-play:"}
        return f"{verb[self.kind]} {self.title}"


@dataclass(frozen=True)
class Evaluation:
    checks: tuple[RequirementCheck, ...]

    @property
    def complete(self) -> bool:
        return all(check.met for check in self.checks)

    @property
    def missing(self) -> tuple[RequirementCheck, ...]:
        return tuple(check for check in self.checks if not check.met)

    @property
    def done(self) -> int:
        return sum(1 for check in self.checks if check.met)

    def evidence(self) -> dict[str, dict[str, Any]]:
        return {f"{c.kind}:{c.slug}": c.evidence or {} for c in self.checks}


def evaluate(
    requirements: RequirementSet, record: LearnerRecord, titles: Mapping[tuple[str, str], str]
) -> Evaluation:
    """Each requirement of a track, met or not, in the order a learner meets them."""
    checks: list[RequirementCheck] = []
    for kind, slugs, achieved in (
        ("module", requirements.modules, record.modules_read),
        ("quiz", requirements.quizzes, record.quizzes_passed),
        ("roleplay", requirements.roleplays, record.roleplays_passed),
    ):
        for slug in slugs:
            evidence = achieved.get(slug)
            checks.append(RequirementCheck(kind, slug, titles.get((kind, slug), slug),
                                           evidence is not None, evidence))
    return Evaluation(tuple(checks))


def add_months(moment: datetime, months: int) -> datetime:
    """Same day of the month, months later; the 31st becomes the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def status(
    *, now: datetime, expires_at: datetime, revoked_at: datetime | None,
    suspended_at: datetime | None,
) -> CertificateStatus:
    """Computed at read time from the dates, so no nightly job is needed to be correct.

    Revocation is final and wins; an expired certificate is expired whether or not it was
    also suspended; a suspension is a hold on an otherwise valid certificate.
    """
    if revoked_at is not None and revoked_at <= now:
        return CertificateStatus.REVOKED
    if now >= expires_at:
        return CertificateStatus.EXPIRED
    if suspended_at is not None:
        return CertificateStatus.SUSPENDED
    return CertificateStatus.VALID


def eligible(certificate_status: CertificateStatus, grants_eligibility: bool) -> bool:
    """The one rule for whether a certificate lets its holder mentor now."""
    return certificate_status == CertificateStatus.VALID and grants_eligibility


def mentor_eligible(statuses: Iterable[tuple[CertificateStatus, bool]]) -> bool:
    """A person is an eligible mentor when any of their certificates makes them one."""
    return any(eligible(s, grants) for s, grants in statuses)


def renewal_opens_at(expires_at: datetime, window_days: int) -> datetime:
    return expires_at - timedelta(days=window_days)


def in_renewal_window(now: datetime, expires_at: datetime, window_days: int) -> bool:
    return now >= renewal_opens_at(expires_at, window_days)


# a valid certificate within this many days of expiry is "expiring" on the roster
ROSTER_WINDOW_DAYS = 90
STANDING_ORDER = (Standing.ELIGIBLE, Standing.EXPIRING, Standing.LAPSED)

