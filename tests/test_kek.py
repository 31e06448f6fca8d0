"""The key-encryption key seals secrets for the database and refuses a wrong key."""

from __future__ import annotations

import pytest

from courseware.infra.config import build_config
from courseware.infra.kek import KekError, new_kek, seal, unseal


def test_a_sealed_secret_opens_only_with_its_key() -> None:
    kek = new_kek()
    token = seal(kek, b"private key bytes")
    assert b"private key bytes" not in token.encode()
    assert unseal(kek, token) == b"private key bytes"
    with pytest.raises(KekError):
        unseal(new_kek(), token)


def test_a_malformed_key_is_refused_with_a_way_to_make_one() -> None:
    with pytest.raises(KekError, match="generate_key"):
        seal("not-a-key", b"x")


def test_the_development_key_is_made_once_and_kept_private(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("KEY_ENCRYPTION_KEY", raising=False)
    first = build_config(tmp_path, {})["KEY_ENCRYPTION_KEY"]
    assert build_config(tmp_path, {})["KEY_ENCRYPTION_KEY"] == first
    assert (tmp_path / "key_encryption_key").stat().st_mode & 0o777 == 0o600
    assert unseal(first, seal(first, b"s")) == b"s"


def test_the_environment_wins(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    kek = new_kek()
    monkeypatch.setenv("KEY_ENCRYPTION_KEY", kek)
    assert build_config(tmp_path, {})["KEY_ENCRYPTION_KEY"] == kek
