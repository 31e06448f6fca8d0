"""The API key rules (courseware.domain.apikeys), directly: shape, hash, scopes, checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from courseware.domain import apikeys
from courseware.domain.statuses import ApiScope, KeyCheck

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_a_new_key_has_its_visible_prefix_and_only_its_hash_is_kept() -> None:
    made = apikeys.new_key()
    assert apikeys.well_formed(made.plaintext)
    assert made.plaintext.startswith(made.prefix + "_")
    assert len(made.prefix) == 12 and made.prefix.startswith("cwk_")
    assert made.digest == hashlib.sha256(made.plaintext.encode()).hexdigest()
    assert made.plaintext not in made.digest
    assert len(made.plaintext) == 12 + 1 + 43


def test_keys_are_unique() -> None:
    made = [apikeys.new_key() for _ in range(200)]
    assert len({m.plaintext for m in made}) == len({m.prefix for m in made}) == 200


@given(st.text(max_size=80))
def test_only_our_shape_is_well_formed(text: str) -> None:
    if apikeys.well_formed(text):
        assert text.startswith("cwk_") and len(text) == 56


@pytest.mark.parametrize("text", ["", "cwk_", "Bearer x", "cwk_ABCDEFGH_" + "a" * 43,
                                  "cwk_abcdefgh_" + "a" * 42, "cwk_abcdefgh_" + "a" * 43 + " ",
                                  "cwk_abcdefgh-" + "a" * 43])
def test_near_misses_are_not_well_formed(text: str) -> None:
    assert not apikeys.well_formed(text)


@pytest.mark.parametrize(("header", "token"), [
    (None, None), ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", ""),
    ("Bearer", ""), ("", ""), ("  Bearer x", "x")])
def test_bearer_token_reads_the_header(header: str | None, token: str | None) -> None:
    assert apikeys.bearer_token(header) == token


@given(st.lists(st.sampled_from([s.value for s in ApiScope]), min_size=1))
def test_scopes_parse_sorted_and_once_and_round_trip(names: list[str]) -> None:
    scopes = apikeys.parse_scopes(names)
    assert list(scopes) == sorted(set(scopes), key=lambda s: s.value)
    stored = apikeys.format_scopes(scopes)
    assert stored == " ".join(sorted(set(names)))
    assert apikeys.stored_scopes(stored) == set(scopes)


def test_scopes_accept_commas_and_case_and_refuse_unknown_or_none() -> None:
    assert apikeys.parse_scopes(["Verify,roster", " roster "]) == (ApiScope.ROSTER,
                                                                  ApiScope.VERIFY)
    with pytest.raises(apikeys.BadScopes, match="Unknown scope admin"):
        apikeys.parse_scopes(["verify", "admin"])
    with pytest.raises(apikeys.BadScopes, match="at least one"):
        apikeys.parse_scopes([" ", ","])


@pytest.mark.parametrize(("expires", "revoked", "expected"), [
    (None, None, KeyCheck.VALID),
    (T0 + timedelta(seconds=1), None, KeyCheck.VALID),
    (T0, None, KeyCheck.EXPIRED),  # expiry is the first moment it no longer works
    (T0 - timedelta(days=1), None, KeyCheck.EXPIRED),
    (None, T0 + timedelta(days=1), KeyCheck.REVOKED),  # revocation is immediate and wins
    (T0 - timedelta(days=1), T0 - timedelta(days=2), KeyCheck.REVOKED),
])
def test_check(expires: datetime | None, revoked: datetime | None, expected: KeyCheck) -> None:
    assert apikeys.check(now=T0, expires_at=expires, revoked_at=revoked) is expected


@given(st.integers(min_value=0, max_value=600))
def test_last_use_is_recorded_at_most_once_a_minute(seconds: int) -> None:
    assert apikeys.touch_due(None, T0)
    assert apikeys.touch_due(T0 - timedelta(seconds=seconds), T0) == (seconds >= 60)


def test_key_names_are_trimmed_and_bounded() -> None:
    assert apikeys.clean_name("  CRM   sync ") == "CRM sync"
    for bad in ("", "   ", "x" * 81, "bad\u0007name"):
        with pytest.raises(ValueError):
            apikeys.clean_name(bad)
