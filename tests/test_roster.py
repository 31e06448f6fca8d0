"""The mentor roster: every eligible-track holder once, by their best certificate."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from courseware.domain import clock
from courseware.domain.statuses import CertificateChange, CertificateStatus, Standing
from courseware.models import Certificate
from courseware.services import certificates
from courseware.services.audit import COMMAND_LINE
from tests.factories import Factory


def roster(app: Flask, factory: Factory, days_ahead: int = 0) -> list[tuple[str, str, str]]:
    with factory.session() as s:
        entries = certificates.mentor_roster(s, clock.utcnow() + timedelta(days=days_ahead))
        return [(e.certificate.holder_name, e.standing, e.status) for e in entries]


def test_an_earned_certificate_puts_its_holder_on_the_roster(app: Flask,
                                                             factory: Factory) -> None:
    trainer = factory.user("trainer")
    learner = factory.user(name="Ria Reader")
    cert = factory.earned_certificate(learner, trainer)
    assert not cert.manual
    assert roster(app, factory) == [("Ria Reader", Standing.ELIGIBLE, CertificateStatus.VALID)]


def test_standing_order_then_name(app: Flask, factory: Factory) -> None:
    names = ["Cleo", "Bea", "Abe"]
    holders = {name: factory.user(name=name) for name in names}
    codes = {name: factory.manual_certificate(holder).code for name, holder in holders.items()}
    with factory.session() as s:
        cert = certificates.find(s, codes["Abe"])
        assert cert is not None
        certificates.change_state(s, COMMAND_LINE, cert, CertificateChange.SUSPEND,
                                  "Conduct review", clock.utcnow())
    assert roster(app, factory) == [
        ("Bea", Standing.ELIGIBLE, CertificateStatus.VALID),
        ("Cleo", Standing.ELIGIBLE, CertificateStatus.VALID),
        ("Abe", Standing.LAPSED, CertificateStatus.SUSPENDED),
    ]
    # 23 months on, every valid certificate is within the 90-day window
    assert [row[1] for row in roster(app, factory, days_ahead=700)] == [
        Standing.EXPIRING, Standing.EXPIRING, Standing.LAPSED]


def test_a_person_appears_once_by_their_best_certificate(app: Flask, factory: Factory) -> None:
    learner = factory.user(name="Dee")
    first = factory.manual_certificate(learner)
    with factory.session() as s:
        old = s.get(Certificate, first.id)
        assert old is not None
        certificates.change_state(s, COMMAND_LINE, old, CertificateChange.REVOKE,
                                  "Issued in error", clock.utcnow())
    factory.manual_certificate(learner, reason="Reissued")
    assert roster(app, factory) == [("Dee", Standing.ELIGIBLE, CertificateStatus.VALID)]
