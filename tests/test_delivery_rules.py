"""The plain rules of outbound mail: tokens, retry backoff, message ids, which reminder is due."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from courseware.domain import tokens
from courseware.domain.delivery import gives_up, message_id, retry_delay
from courseware.domain.reminders import TOPIC_OF, reminder_due
from courseware.domain.statuses import MailTopic, MessageKind
from courseware.infra.config import mail_domain
from courseware.infra.mail import Unsubscribe, describe_error, is_permanent

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


# --- tokens -------------------------------------------------------------------------------------

def test_a_token_has_256_random_bits_and_only_its_hash_is_kept() -> None:
    raw, digest = tokens.new_token()
    assert len(raw) == 43 and tokens.well_formed(raw)  # 32 bytes, URL-safe base64
    assert digest == tokens.token_hash(raw) and len(digest) == 64 and raw not in digest
    assert len({tokens.new_token()[0] for _ in range(200)}) == 200


@pytest.mark.parametrize("raw", ["", "x" * 42, "x" * 44, "a" * 42 + "/", "a" * 42 + "\x00",
                                 "../../etc/passwd"])
def test_a_malformed_token_is_refused_without_a_lookup(raw: str) -> None:
    assert not tokens.well_formed(raw)


def test_the_password_fingerprint_changes_with_the_password_hash() -> None:
    assert tokens.password_fingerprint("$argon2id$a") == tokens.password_fingerprint("$argon2id$a")
    assert tokens.password_fingerprint("$argon2id$a") != tokens.password_fingerprint("$argon2id$b")


# --- delivery -----------------------------------------------------------------------------------

def test_retries_back_off_exponentially_up_to_the_cap() -> None:
    assert [retry_delay(n, 30, 3600) for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert retry_delay(10_000, 30, 3600) == 3600
    with pytest.raises(ValueError):
        retry_delay(0, 30, 3600)


@given(st.integers(1, 200), st.floats(0.1, 100), st.floats(100, 10_000))
def test_a_retry_never_comes_sooner_than_the_one_before(attempts: int, base: float,
                                                        cap: float) -> None:
    assert retry_delay(attempts, base, cap) <= retry_delay(attempts + 1, base, cap) <= cap


def test_giving_up_is_a_matter_of_age() -> None:
    assert not gives_up(NOW, NOW + timedelta(hours=71), timedelta(hours=72))
    assert gives_up(NOW, NOW + timedelta(hours=72), timedelta(hours=72))


def test_a_message_id_is_stable_per_row_and_differs_between_rows() -> None:
    one = message_id(7, "ann@x.org", "password_reset", "reset:3", "mentors.example.org")
    assert one == message_id(7, "ann@x.org", "password_reset", "reset:3", "mentors.example.org")
    assert one.startswith("<courseware.7.") and one.endswith("@mentors.example.org>")
    assert one != message_id(8, "ann@x.org", "password_reset", "reset:4", "mentors.example.org")


@pytest.mark.parametrize(("base_url", "domain"), [
    ("https://mentors.example.org", "mentors.example.org"),
    ("http://127.0.0.1:5000", "localhost"), ("http://localhost", "localhost"),
    ("http://[::1]:8000", "localhost"),
])
def test_the_mail_domain_comes_from_the_base_url(base_url: str, domain: str) -> None:
    assert mail_domain(base_url) == domain


def test_only_a_5xx_refusal_is_permanent() -> None:
    refused = smtplib.SMTPRecipientsRefused({"a@x.org": (550, b"No such mailbox")})
    assert is_permanent(refused)
    assert "recipient refused: 550 No such mailbox" in describe_error(refused)
    assert not is_permanent(smtplib.SMTPRecipientsRefused({"a@x.org": (450, b"Busy")}))
    assert is_permanent(smtplib.SMTPDataError(554, b"Rejected"))
    assert not is_permanent(smtplib.SMTPDataError(421, b"Try later"))
    assert not is_permanent(ConnectionRefusedError(111, "Connection refused"))
    assert not is_permanent(TimeoutError("timed out"))
    assert describe_error(ConnectionRefusedError(111, "Connection refused")).startswith(
        "ConnectionRefusedError")


def test_an_unsubscribe_token_is_signed_and_names_one_topic() -> None:
    signer = Unsubscribe("secret")
    token = signer.token(42, MailTopic.REMINDERS)
    assert signer.read(token) == (42, MailTopic.REMINDERS)
    assert Unsubscribe("another secret").read(token) is None
    assert signer.read(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]) is None
    assert signer.read("garbage") is None


def test_only_reminders_and_digests_can_be_turned_off() -> None:
    assert set(TOPIC_OF.values()) == set(MailTopic)
    assert MessageKind.PASSWORD_RESET not in TOPIC_OF
    assert MessageKind.CERTIFICATE_REVOKED not in TOPIC_OF
    assert TOPIC_OF[MessageKind.GRADING_DIGEST] is MailTopic.DIGESTS


# --- which reminder is due ------------------------------------------------------------------------

EXPIRES = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("before_expiry", "window", "due"), [
    (timedelta(days=120), 90, None),
    (timedelta(days=90, seconds=1), 90, None),
    (timedelta(days=90), 90, MessageKind.RENEWAL_OPEN),
    (timedelta(days=31), 90, MessageKind.RENEWAL_OPEN),
    (timedelta(days=30), 90, MessageKind.EXPIRES_IN_30_DAYS),
    (timedelta(days=8), None, MessageKind.EXPIRES_IN_30_DAYS),
    (timedelta(days=7), 90, MessageKind.EXPIRES_IN_7_DAYS),
    (timedelta(seconds=1), 90, MessageKind.EXPIRES_IN_7_DAYS),
    (timedelta(0), 90, MessageKind.CERTIFICATE_EXPIRED),
    (-timedelta(days=7), 90, MessageKind.CERTIFICATE_EXPIRED),
    (-timedelta(days=7, seconds=1), 90, None),
    (timedelta(days=60), None, None),
])
def test_reminder_due(before_expiry: timedelta, window: int | None,
                      due: MessageKind | None) -> None:
    assert reminder_due(EXPIRES, window, EXPIRES - before_expiry) is due


STAGES = [None, MessageKind.RENEWAL_OPEN, MessageKind.EXPIRES_IN_30_DAYS,
          MessageKind.EXPIRES_IN_7_DAYS, MessageKind.CERTIFICATE_EXPIRED]


@given(st.integers(0, 400), st.integers(0, 400), st.one_of(st.none(), st.integers(31, 365)))
def test_reminders_only_move_forward(earlier_days: int, later_days: int,
                                     window: int | None) -> None:
    """As time passes a certificate moves through the stages in order, never back (a stage
    missed is skipped); after the expiry notice's week nothing is due."""
    first, second = sorted((earlier_days, later_days))
    start = EXPIRES - timedelta(days=200)
    a = reminder_due(EXPIRES, window, start + timedelta(days=first))
    b = reminder_due(EXPIRES, window, start + timedelta(days=second))
    if start + timedelta(days=second) > EXPIRES + timedelta(days=7):
        assert b is None
    elif b is not None and a is not None:
        assert STAGES.index(a) <= STAGES.index(b)
    if window is None:
        assert MessageKind.RENEWAL_OPEN not in (a, b)
