"""Tests for courseware.domain.credential: key store, OB 3.0 shape, VC-JWT sign/verify."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from referencing import Registry, Resource

from courseware.domain.credential import (
    AchievementInfo,
    CredentialError,
    CredentialSubjectInfo,
    IssuerInfo,
    KeyStore,
    build_credential,
    jwk_thumbprint,
    sign_credential,
    verify_credential,
)

STANDARDS = Path(__file__).parent / "data"  # vendored: see tests/data/README.md
REPO_ROOT = Path(__file__).resolve().parents[1]

NOW = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
ISSUER = IssuerInfo(
    id="https://mentors.example.org/issuer",
    name="Example Peer Mentor Programme",
    url="https://mentors.example.org/",
)
ACHIEVEMENT = AchievementInfo(
    slug="peer-mentor-foundations",
    title="Certified Peer Mentor: Foundations",
    description="Completed the foundations track for volunteer peer mentors.",
    criteria="Passed every module quiz and two assessed role-plays.",
    url="https://mentors.example.org/tracks/peer-mentor-foundations",
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sample_credential(*, valid_until: datetime | None = NOW + timedelta(days=730)) -> dict:
    return build_credential(
        credential_id="https://mentors.example.org/certificates/0123456789ABCDEFGHJKMNPQRS",
        issuer=ISSUER,
        achievement=ACHIEVEMENT,
        holder_name="Ada Lovelace",
        valid_from=NOW,
        valid_until=valid_until,
    )


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys")


@pytest.fixture
def token(store: KeyStore) -> str:
    return sign_credential(sample_credential(), store, now=NOW)


# --- key store ----------------------------------------------------------------


def test_active_creates_key_with_private_permissions(store: KeyStore) -> None:
    assert not store.directory.exists()
    kid = store.active()
    pem = store.directory / f"{kid}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert pem.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert store.active() == kid  # stable: no second key on a second call


def test_permissions_hold_under_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = KeyStore(tmp_path / "loose")
        kid = store.active()
    finally:
        os.umask(old)
    assert stat.S_IMODE((store.directory / f"{kid}.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700


def test_index_records_keys_in_order(store: KeyStore) -> None:
    first = store.active()
    second = store.rotate()
    records = json.loads((store.directory / "keys.json").read_text())
    assert [r["kid"] for r in records] == [first, second]
    for record in records:
        created = datetime.fromisoformat(record["created"].replace("Z", "+00:00"))
        assert created.tzinfo is not None


def test_kid_is_rfc7638_thumbprint(store: KeyStore) -> None:
    kid = store.active()
    (jwk,) = store.jwks()["keys"]
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]}, separators=(",", ":"))
    assert kid == b64url(hashlib.sha256(members.encode()).digest())
    assert len(kid) == 43


def test_thumbprint_known_vector() -> None:
    # RFC 8037 appendix A.3.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_jwks_shape_has_no_private_material(store: KeyStore) -> None:
    kid = store.active()
    (jwk,) = store.jwks()["keys"]
    assert jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": jwk["x"],
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    }
    assert len(b64url_decode(jwk["x"])) == 32
    public = store.private_key(kid).public_key()
    assert Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"])) == public


def test_empty_store_publishes_empty_jwks(store: KeyStore) -> None:
    assert store.jwks() == {"keys": []}
    assert store.kids() == []


def test_rotate_keeps_old_keys_published_and_switches_active(store: KeyStore) -> None:
    old = store.active()
    old_token = sign_credential(sample_credential(), store, now=NOW)
    new = store.rotate()
    assert new != old
    assert store.active() == new
    assert [k["kid"] for k in store.jwks()["keys"]] == [old, new]
    assert (store.directory / f"{old}.pem").exists()

    new_token = sign_credential(sample_credential(), store, now=NOW)
    assert jwt.get_unverified_header(new_token)["kid"] == new
    jwks = store.jwks()
    assert verify_credential(old_token, jwks, now=NOW)["kid"] == old
    assert verify_credential(new_token, jwks, now=NOW)["kid"] == new


def test_rotate_on_empty_store_creates_first_key(store: KeyStore) -> None:
    kid = store.rotate()
    assert store.kids() == [kid]
    assert store.active() == kid


def test_keys_survive_a_new_keystore_instance(store: KeyStore) -> None:
    kid = store.active()
    token = sign_credential(sample_credential(), store, now=NOW)
    reopened = KeyStore(store.directory)
    assert reopened.active() == kid
    assert verify_credential(token, reopened.jwks(), now=NOW)["kid"] == kid


def test_private_key_unknown_kid(store: KeyStore) -> None:
    store.active()
    with pytest.raises(CredentialError, match="no signing key"):
        store.private_key("not-a-kid")


def test_corrupt_index_is_reported(store: KeyStore) -> None:
    store.active()
    (store.directory / "keys.json").write_text("{not json")
    with pytest.raises(CredentialError, match="not valid JSON"):
        store.active()


def test_swapped_key_file_is_detected(store: KeyStore) -> None:
    kid = store.active()
    other = KeyStore(store.directory.parent / "other")
    other_kid = other.active()
    (store.directory / f"{kid}.pem").write_bytes(
        (other.directory / f"{other_kid}.pem").read_bytes()
    )
    with pytest.raises(CredentialError, match="does not match"):
        KeyStore(store.directory).private_key(kid)


_RACE_SCRIPT = """
import sys, time
from pathlib import Path
from courseware.domain.credential import KeyStore
start = float(sys.argv[2])
while time.time() < start:
    pass
print(KeyStore(Path(sys.argv[1])).active())
"""


def test_concurrent_first_use_creates_one_key(tmp_path: Path) -> None:
    directory = tmp_path / "race"
    start = time.time() + 1.5  # after every interpreter has started
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE_SCRIPT, str(directory), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(6)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    kids = {out.strip() for out, _ in outputs}
    assert len(kids) == 1
    records = json.loads((directory / "keys.json").read_text())
    assert [r["kid"] for r in records] == list(kids)
    assert sorted(p.name for p in directory.glob("*.pem")) == [f"{kids.pop()}.pem"]
    assert not list(directory.glob("*.tmp"))


# --- credential shape ---------------------------------------------------------


def _validator() -> jsonschema.Draft201909Validator:
    schema = json.loads((STANDARDS / "ob_v3p0_achievementcredential.schema.json").read_text())
    profile = json.loads((STANDARDS / "ob_v3p0_profile.schema.json").read_text())
    # The credential schema is self-contained ($refs are local "#/$defs/..."), but
    # registering the profile schema under its $id keeps this working if a later
    # copy refers to it.
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in (schema, profile)
    )
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(
        schema,
        registry=registry,
        format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER,
    )


@pytest.mark.parametrize("valid_until", [NOW + timedelta(days=365), None])
def test_credential_validates_against_ob3_schema(valid_until: datetime | None) -> None:
    credential = sample_credential(valid_until=valid_until)
    errors = list(_validator().iter_errors(credential))
    assert not errors, [e.message for e in errors]
    assert ("validUntil" in credential) is (valid_until is not None)


def test_issuer_validates_against_profile_schema() -> None:
    profile = json.loads((STANDARDS / "ob_v3p0_profile.schema.json").read_text())
    jsonschema.Draft201909Validator(profile).validate(sample_credential()["issuer"])


def test_credential_content() -> None:
    credential = sample_credential()
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"] == {
        "id": ISSUER.id,
        "type": ["Profile"],
        "name": ISSUER.name,
        "url": ISSUER.url,
    }
    assert credential["name"] == ACHIEVEMENT.title
    # Whole seconds, UTC, trailing Z.
    assert credential["validFrom"] == "2025-03-14T15:09:26Z"
    assert credential["validUntil"] == "2027-03-14T15:09:26Z"
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["identifier"] == [
        {
            "type": "IdentityObject",
            "identityHash": "Ada Lovelace",
            "identityType": "name",
            "hashed": False,
        }
    ]
    assert subject["achievement"] == {
        "id": ACHIEVEMENT.url,
        "type": ["Achievement"],
        "name": ACHIEVEMENT.title,
        "description": ACHIEVEMENT.description,
        "criteria": {"narrative": ACHIEVEMENT.criteria},
        "achievementType": "Certificate",
    }


def test_context_file_defines_the_terms_we_use() -> None:
    context = json.loads((STANDARDS / "ob_v3p0_context-3.0.3.json").read_text())["@context"]
    for term in ("OpenBadgeCredential", "AchievementSubject", "IdentityObject", "Profile"):
        assert term in context
    subject_terms = context["AchievementSubject"]["@context"]
    assert "identifier" in subject_terms and "achievement" in subject_terms


def test_non_utc_times_are_converted() -> None:
    plus_two = datetime(2025, 3, 14, 19, 9, 26, tzinfo=timezone(timedelta(hours=2)))
    credential = build_credential(
        credential_id="urn:uuid:1",
        issuer=ISSUER,
        achievement=ACHIEVEMENT,
        holder_name="B",
        valid_from=plus_two,
        valid_until=None,
    )
    assert credential["validFrom"] == "2025-03-14T17:09:26Z"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        build_credential(
            credential_id="urn:uuid:1",
            issuer=ISSUER,
            achievement=ACHIEVEMENT,
            holder_name="B",
            valid_from=datetime(2025, 1, 1),  # deliberately naive
            valid_until=None,
        )


def test_valid_until_must_follow_valid_from() -> None:
    with pytest.raises(ValueError):
        sample_credential(valid_until=NOW - timedelta(days=1))


def test_subject_info_dataclass_is_frozen() -> None:
    info = CredentialSubjectInfo(holder_name="Ada")
    with pytest.raises(AttributeError):
        info.holder_name = "Bob"  # type: ignore[misc]


# --- signing --------------------------------------------------------------------


def test_header_is_eddsa_jwt_with_kid(store: KeyStore, token: str) -> None:
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": store.active()}


def test_payload_is_credential_plus_registered_claims(token: str) -> None:
    payload = json.loads(b64url_decode(token.split(".")[1]))
    credential = sample_credential()
    assert {k: v for k, v in payload.items() if k not in credential} == {
        "iss": ISSUER.id,
        "jti": credential["id"],
        "nbf": int(datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC).timestamp()),
        "exp": int(datetime(2027, 3, 14, 15, 9, 26, tzinfo=UTC).timestamp()),
        "iat": int(NOW.timestamp()),
    }
    assert {k: v for k, v in payload.items() if k in credential} == credential
    assert "sub" not in payload  # the subject has no id
    assert "vc" not in payload  # VCDM 2.0 layout: no vc wrapper


def test_signed_payload_still_validates_against_schema(token: str) -> None:
    payload = json.loads(b64url_decode(token.split(".")[1]))
    errors = list(_validator().iter_errors(payload))
    assert not errors, [e.message for e in errors]


def test_sub_is_set_when_subject_has_id(store: KeyStore) -> None:
    credential = sample_credential()
    credential["credentialSubject"]["id"] = "did:example:holder"
    result = verify_credential(sign_credential(credential, store, now=NOW), store.jwks(), now=NOW)
    assert result["claims"]["sub"] == "did:example:holder"


def test_no_exp_without_valid_until(store: KeyStore) -> None:
    token = sign_credential(sample_credential(valid_until=None), store, now=NOW)
    result = verify_credential(token, store.jwks(), now=NOW + timedelta(days=36500))
    assert "exp" not in result["claims"]
    assert result["expired"] is False


def test_signing_refuses_credential_with_jwt_claims(store: KeyStore) -> None:
    credential = {**sample_credential(), "iss": "https://evil.example"}
    with pytest.raises(CredentialError, match="JWT claims"):
        sign_credential(credential, store, now=NOW)


def test_signing_refuses_credential_without_issuer(store: KeyStore) -> None:
    credential = sample_credential()
    del credential["issuer"]
    with pytest.raises(CredentialError, match="issuer"):
        sign_credential(credential, store, now=NOW)


# --- verification -----------------------------------------------------------------


def test_round_trip(store: KeyStore, token: str) -> None:
    result = verify_credential(token, store.jwks(), now=NOW)
    assert result["credential"] == sample_credential()
    assert result["kid"] == store.active()
    assert result["expired"] is False
    assert result["claims"]["iss"] == ISSUER.id


def test_round_trip_with_real_clock(store: KeyStore) -> None:
    now = datetime.now(UTC)
    credential = build_credential(
        credential_id="urn:uuid:2",
        issuer=ISSUER,
        achievement=ACHIEVEMENT,
        holder_name="Grace Hopper",
        valid_from=now,
        valid_until=now + timedelta(days=1),
    )
    token = sign_credential(credential, store, now=now)
    assert verify_credential(token, store.jwks())["expired"] is False


def test_expired_is_reported_not_rejected(store: KeyStore, token: str) -> None:
    later = NOW + timedelta(days=731)
    result = verify_credential(token, store.jwks(), now=later)
    assert result["expired"] is True
    assert result["credential"]["validUntil"] == "2027-03-14T15:09:26Z"


def test_not_yet_valid_is_rejected(store: KeyStore, token: str) -> None:
    with pytest.raises(CredentialError, match="not valid yet"):
        verify_credential(token, store.jwks(), now=NOW - timedelta(hours=1))


def test_small_clock_skew_is_tolerated(store: KeyStore, token: str) -> None:
    verify_credential(token, store.jwks(), now=NOW - timedelta(seconds=30))


@settings(
    database=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_one_character_change_in_payload_fails(
    store: KeyStore, token: str, data: st.DataObject
) -> None:
    header, payload, signature = token.split(".")
    position = data.draw(st.integers(0, len(payload) - 1))
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    )
    if replacement == payload[position]:
        return
    tampered = payload[:position] + replacement + payload[position + 1 :]
    with pytest.raises(CredentialError):
        verify_credential(f"{header}.{tampered}.{signature}", store.jwks(), now=NOW)


def test_last_character_padding_bits_change_fails(store: KeyStore, token: str) -> None:
    """Flipping only unused low bits leaves the decoded bytes unchanged, so a
    plain decoder would accept it; the verifier must not."""
    header, payload, signature = token.split(".")
    spare_bits = {2: 4, 3: 2}.get(len(payload) % 4, 0)
    if not spare_bits:
        pytest.skip("payload length leaves no spare bits")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(payload[-1])
    twin = alphabet[last ^ 1]
    tampered = payload[:-1] + twin
    assert b64url_decode(tampered) == b64url_decode(payload)
    with pytest.raises(CredentialError, match="canonical"):
        verify_credential(f"{header}.{tampered}.{signature}", store.jwks(), now=NOW)


def test_re_signed_altered_payload_with_same_kid_fails(store: KeyStore, token: str) -> None:
    """Changing the holder's name and signing with a different key under the
    original kid must fail on the signature."""
    header, _, _ = token.split(".")
    payload = json.loads(b64url_decode(token.split(".")[1]))
    payload["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
    forged = jwt.encode(
        payload,
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": store.active()},
    )
    with pytest.raises(CredentialError, match="signature"):
        verify_credential(forged, store.jwks(), now=NOW)


def test_signature_from_other_keystore_fails(store: KeyStore, tmp_path: Path) -> None:
    store.active()
    other = KeyStore(tmp_path / "other")
    foreign = sign_credential(sample_credential(), other, now=NOW)
    # Unknown kid first ...
    with pytest.raises(CredentialError, match="unknown key"):
        verify_credential(foreign, store.jwks(), now=NOW)
    # ... and with the kid rewritten to one the first store knows, a bad signature.
    _, payload, signature = foreign.split(".")
    header = b64url(json.dumps({"alg": "EdDSA", "kid": store.active(), "typ": "JWT"}).encode())
    with pytest.raises(CredentialError, match="signature"):
        verify_credential(f"{header}.{payload}.{signature}", store.jwks(), now=NOW)


def test_alg_none_fails(store: KeyStore, token: str) -> None:
    _, payload, _ = token.split(".")
    header = b64url(json.dumps({"alg": "none", "kid": store.active(), "typ": "JWT"}).encode())
    for unsigned in (f"{header}.{payload}.", f"{header}.{payload}"):
        with pytest.raises(CredentialError):
            verify_credential(unsigned, store.jwks(), now=NOW)
    with pytest.raises(CredentialError, match="'none'"):
        verify_credential(f"{header}.{payload}.", store.jwks(), now=NOW)


def test_hmac_with_public_key_as_secret_fails(store: KeyStore, token: str) -> None:
    """Algorithm confusion: an HS256 token keyed with the published x."""
    (jwk,) = store.jwks()["keys"]
    payload = json.loads(b64url_decode(token.split(".")[1]))
    confused = jwt.encode(
        payload,
        b64url_decode(jwk["x"]) * 2,  # 64 bytes, so PyJWT does not warn about key length
        algorithm="HS256",
        headers={"kid": jwk["kid"]},
    )
    with pytest.raises(CredentialError, match="HS256"):
        verify_credential(confused, store.jwks(), now=NOW)


def test_unknown_kid_fails(store: KeyStore, token: str) -> None:
    with pytest.raises(CredentialError, match="unknown key"):
        verify_credential(token, {"keys": []}, now=NOW)
    header = b64url(json.dumps({"alg": "EdDSA", "kid": "nope", "typ": "JWT"}).encode())
    _, payload, signature = token.split(".")
    with pytest.raises(CredentialError, match="unknown key"):
        verify_credential(f"{header}.{payload}.{signature}", store.jwks(), now=NOW)


def test_missing_kid_fails(store: KeyStore, token: str) -> None:
    header = b64url(json.dumps({"alg": "EdDSA", "typ": "JWT"}).encode())
    _, payload, signature = token.split(".")
    with pytest.raises(CredentialError, match="kid"):
        verify_credential(f"{header}.{payload}.{signature}", store.jwks(), now=NOW)


def _resign(store: KeyStore, payload: dict[str, Any]) -> str:
    kid = store.active()
    return jwt.encode(payload, store.private_key(kid), algorithm="EdDSA", headers={"kid": kid})


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("iss", "https://someone-else.example"),
        ("jti", "urn:uuid:other"),
        ("nbf", 0),
        ("exp", 4102444800),
        ("sub", "did:example:someone"),
    ],
)
def test_claims_must_match_credential(
    store: KeyStore, token: str, claim: str, value: object
) -> None:
    payload = json.loads(b64url_decode(token.split(".")[1]))
    payload[claim] = value
    with pytest.raises(CredentialError, match=claim):
        verify_credential(_resign(store, payload), store.jwks(), now=NOW)


@pytest.mark.parametrize("claim", ["iss", "jti", "nbf"])
def test_required_claims(store: KeyStore, token: str, claim: str) -> None:
    payload = json.loads(b64url_decode(token.split(".")[1]))
    del payload[claim]
    with pytest.raises(CredentialError):
        verify_credential(_resign(store, payload), store.jwks(), now=NOW)


@pytest.mark.parametrize(
    "garbage",
    ["", "abc", "a.b", "a.b.c.d", "!!!.???.###", "eyJhbGciOiJFZERTQSJ9..sig"],
)
def test_garbage_tokens_fail(store: KeyStore, garbage: str) -> None:
    store.active()
    with pytest.raises(CredentialError):
        verify_credential(garbage, store.jwks(), now=NOW)


def test_malformed_jwks_fails(token: str) -> None:
    with pytest.raises(CredentialError):
        verify_credential(token, {}, now=NOW)
