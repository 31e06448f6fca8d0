"""The webhook rules, directly: which addresses a delivery may reach, which URLs an endpoint may
have, the body, event ids, the retry schedule and the three-day rule."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from courseware.domain import ssrf
from courseware.domain import webhooks as rules
from courseware.domain.statuses import SUBSCRIBABLE_EVENTS, MessageKind, WebhookEvent

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

REFUSED = ["127.0.0.1", "127.255.0.9", "10.0.0.1", "10.255.255.255", "172.16.0.1",
           "172.31.255.254", "192.168.1.1", "169.254.169.254", "169.254.0.1", "100.64.0.1",
           "100.127.255.254", "0.0.0.0",  # noqa: S104 (an address refused, not bound)
           "0.1.2.3", "224.0.0.1", "239.255.255.250",
           "255.255.255.255", "192.0.2.1", "198.18.0.1", "240.0.0.1", "::1", "::",
           "fe80::1", "fd00:ec2::254", "fc00::1", "ff02::1", "::ffff:127.0.0.1",
           "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "64:ff9b::7f00:1",
           "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2001:db8::1", "::127.0.0.1"]
ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2001:4860:4860::8888", "2606:4700::1111"]


@pytest.mark.parametrize("text", REFUSED)
def test_private_loopback_link_local_metadata_and_special_addresses_are_refused(
        text: str) -> None:
    address = ssrf.parse(text)
    assert not ssrf.is_allowed(address), text
    assert ssrf.why_refused(address)
    with pytest.raises(ssrf.RefusedAddress):
        ssrf.check_all([ssrf.parse("8.8.8.8"), address])  # one bad answer refuses the host


@pytest.mark.parametrize("text", ALLOWED)
def test_public_addresses_are_allowed(text: str) -> None:
    assert ssrf.why_refused(ssrf.parse(text)) is None
    assert ssrf.check_all([ssrf.parse(text)]) == [ssrf.parse(text)]


def test_a_zoned_link_local_address_and_no_address_at_all_are_refused() -> None:
    with pytest.raises(ssrf.RefusedAddress):
        ssrf.parse("fe80::1%eth0")
    with pytest.raises(ssrf.RefusedAddress):
        ssrf.check_all([])


def test_the_test_setting_allows_loopback_and_nothing_else_private() -> None:
    for text in ("127.0.0.1", "127.0.0.2", "::1"):
        assert ssrf.is_allowed(ssrf.parse(text), allow_loopback=True)
    for text in ("10.0.0.1", "169.254.169.254", "192.168.0.1", "fd00::1",
                 "0.0.0.0"):  # noqa: S104 (an address refused, not bound)
        assert not ssrf.is_allowed(ssrf.parse(text), allow_loopback=True)


ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


@given(ipv4)
def test_an_allowed_ipv4_address_is_global_and_none_of_the_refused_kinds(
        address: ipaddress.IPv4Address) -> None:
    if ssrf.is_allowed(address):
        assert address.is_global
        assert not (address.is_private or address.is_loopback or address.is_link_local
                    or address.is_multicast or address.is_reserved or address.is_unspecified)
        assert address not in ipaddress.ip_network("100.64.0.0/10")
    else:
        assert ssrf.why_refused(address)


@given(ipv4)
def test_every_ipv6_form_of_a_refused_ipv4_address_is_refused(
        address: ipaddress.IPv4Address) -> None:
    assume(not ssrf.is_allowed(address))
    forms = [ipaddress.IPv6Address(f"::ffff:{address}"),
             ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(address)),
             ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80) | 1)]
    for form in forms:
        assert not ssrf.is_allowed(form), form
        assert ssrf.embedded_ipv4(form) == address


@given(ipv6)
def test_an_allowed_ipv6_address_is_global_and_carries_no_refused_ipv4(
        address: ipaddress.IPv6Address) -> None:
    if ssrf.is_allowed(address):
        assert address.is_global and not address.is_multicast
        inner = ssrf.embedded_ipv4(address)
        assert inner is None or ssrf.is_allowed(inner)


@given(st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
                        "169.254.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"]),
       st.integers(0, 2**32))
def test_every_address_of_the_private_and_local_ranges_is_refused(network: str,
                                                                   offset: int) -> None:
    net = ipaddress.ip_network(network)
    address = net[offset % net.num_addresses]
    assert not ssrf.is_allowed(address)


# --- URLs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, words", [
    ("", "Enter the URL"),
    ("http://example.org/hook", "https://"),
    ("ftp://example.org/hook", "https://"),
    ("https://", "name a host"),
    ("https://user:pw@example.org/hook", "user name and password"),
    ("https://example.org/hook#x", "fragment"),
    ("https://example.org/a b", "spaces"),
    ("https://example.org:99999/", "not a URL"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "127.0.0.1"),
    ("https://localhost/hook", "local name"),
    ("https://LOCALHOST./hook", "local name"),
    ("https://printer.local/hook", "local name"),
    ("https://metadata.google.internal/", "local name"),
    ("https://example.org/" + "a" * 2000, "under 2000"),
])
def test_urls_an_endpoint_cannot_have_say_why(url: str, words: str) -> None:
    with pytest.raises(rules.WebhookUrlError, match=words):
        rules.check_url(url)


def test_an_https_url_is_split_into_what_the_connection_needs() -> None:
    target = rules.check_url("  https://Hooks.Example.org:8443/in?src=cw  ")
    assert target == rules.Target("https", "hooks.example.org", 8443, "/in?src=cw")
    assert rules.check_url("https://example.org").path == "/"
    assert rules.check_url("https://example.org").port == 443
    assert rules.check_url("https://8.8.8.8/x").literal_address == ssrf.parse("8.8.8.8")


def test_plain_http_only_to_a_loopback_literal_and_only_with_the_test_setting() -> None:
    assert rules.check_url("http://127.0.0.1:8080/h", allow_http_loopback=True).scheme == "http"
    assert rules.check_url("http://[::1]:8080/h", allow_http_loopback=True).port == 8080
    for url in ("http://localhost:8080/h", "http://example.org/h", "http://10.0.0.1/h",
                "http://8.8.8.8/h"):
        with pytest.raises(rules.WebhookUrlError):
            rules.check_url(url, allow_http_loopback=True)
    with pytest.raises(rules.WebhookUrlError):
        rules.check_url("http://127.0.0.1:8080/h")


# --- events, secrets, body ------------------------------------------------------------------------

def test_events_are_parsed_in_canonical_order_and_unknown_ones_refused() -> None:
    chosen = rules.parse_events(["certificate.revoked", "certificate.suspended",
                                 "certificate.revoked"])
    assert chosen == (WebhookEvent.SUSPENDED, WebhookEvent.REVOKED)
    assert rules.parse_events(rules.events_text(chosen)) == chosen
    assert rules.parse_events([e.value for e in SUBSCRIBABLE_EVENTS]) == SUBSCRIBABLE_EVENTS
    for bad in ([], ["certificate.deleted"], ["webhook.test"]):
        with pytest.raises(rules.WebhookUrlError):
            rules.parse_events(bad)


def test_each_event_has_its_own_message_kind() -> None:
    kinds = {event.message_kind for event in WebhookEvent}
    assert len(kinds) == len(WebhookEvent)
    assert WebhookEvent.REVOKED.message_kind is MessageKind.WEBHOOK_REVOKED
    assert WebhookEvent.TEST.message_kind is MessageKind.WEBHOOK_TEST
    assert all(len(kind.value) <= 32 for kind in kinds)  # the column's width


def test_a_secret_is_whsec_and_at_least_24_random_bytes_and_signs() -> None:
    secret = rules.new_secret()
    assert secret.startswith("whsec_") and secret != rules.new_secret()
    import base64

    assert len(base64.b64decode(secret[len("whsec_"):])) >= 24
    body = rules.body(WebhookEvent.REVOKED, rules.CertificateFacts("C", "revoked", False, None),
                      datetime.now(UTC))
    moment = datetime.now(UTC)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(moment.timestamp())),
               "webhook-signature": Webhook(secret).sign("msg_1", moment, body)}
    assert Webhook(secret).verify(body, headers)["type"] == "certificate.revoked"


def test_event_ids_are_fresh_for_changes_and_stable_for_once_only_events() -> None:
    assert rules.new_event_id() != rules.new_event_id()
    assert rules.new_event_id().startswith("msg_")
    once = rules.event_id_for(WebhookEvent.EXPIRING, "ABC")
    assert once == rules.event_id_for(WebhookEvent.EXPIRING, "ABC")
    assert once != rules.event_id_for(WebhookEvent.EXPIRED, "ABC")
    assert once != rules.event_id_for(WebhookEvent.EXPIRING, "ABD")
    assert once.startswith("msg_") and len(once) <= 64


def test_the_body_is_the_standard_shape_and_minimal() -> None:
    facts = rules.CertificateFacts("CODE1", "suspended", False, "conduct_review")
    document = json.loads(rules.body(WebhookEvent.SUSPENDED, facts, T0))
    assert document == {"type": "certificate.suspended", "timestamp": "2026-11-21T09:00:00Z",
                        "data": {"code": "CODE1", "status": "suspended", "eligible": False,
                                 "reason": "conduct_review",
                                 "occurred_at": "2026-11-21T09:00:00Z"}}
    renewed = json.loads(rules.body(WebhookEvent.RENEWED, rules.CertificateFacts(
        "NEW", "valid", True, None, previous_code="OLD"), T0))
    assert renewed["data"]["previous_code"] == "OLD" and renewed["data"]["code"] == "NEW"
    test = json.loads(rules.test_body(7, T0))
    assert test["type"] == "webhook.test" and test["data"]["endpoint"] == 7


# --- retries and giving up ------------------------------------------------------------------------

def test_the_default_schedule_is_standard_webhooks_and_spans_more_than_a_day() -> None:
    assert rules.RETRY_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert timedelta(seconds=sum(rules.RETRY_SCHEDULE)) >= timedelta(hours=24)
    assert [rules.retry_after(n) for n in range(1, 9)] == [*rules.RETRY_SCHEDULE, None]
    with pytest.raises(ValueError):
        rules.retry_after(0)


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=12),
       st.integers(1, 30))
def test_a_schedule_gives_one_retry_per_delay_then_none(delays: list[float],
                                                        attempts: int) -> None:
    schedule = rules.parse_schedule(",".join(repr(d) for d in delays))
    assert schedule == tuple(delays)
    expected = delays[attempts - 1] if attempts <= len(delays) else None
    assert rules.retry_after(attempts, schedule) == expected


@pytest.mark.parametrize("text", ["", "5,x", "-1", " , "])
def test_a_bad_schedule_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="WEBHOOK_RETRY_SCHEDULE"):
        rules.parse_schedule(text)


@given(st.integers(0, 10 * 24 * 3600))
def test_an_endpoint_is_turned_off_after_three_days_of_failures(seconds: int) -> None:
    since = T0
    now = since + timedelta(seconds=seconds)
    assert rules.should_disable(since, now) == (seconds >= 3 * 24 * 3600)
    assert not rules.should_disable(None, now)


def test_only_a_2xx_is_a_delivery_and_at_most_1_kb_of_an_answer_is_kept() -> None:
    assert [rules.delivered(s) for s in (200, 204, 299)] == [True] * 3
    assert [rules.delivered(s) for s in (None, 100, 301, 302, 307, 400, 500)] == [False] * 7
    assert rules.excerpt(b"x" * 5000) == "x" * 1024
    assert rules.excerpt(b"\xff\xfe ok") == "\ufffd\ufffd ok"
