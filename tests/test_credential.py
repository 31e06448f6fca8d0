"""The domain of credentials: OB 3.0 documents, VC-JWT signing and verifying, status lists."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from courseware.domain import statuslist
from courseware.domain.credential import (
    AchievementInfo,
    EvidenceInfo,
    IssuerInfo,
    SubjectInfo,
    achievement_document,
    build_credential,
    identity_hash,
    linkedin_add_url,
    profile_document,
    quiz_result,
    quiz_result_description,
    rubric_result_description,
    rubric_results,
)
from courseware.domain.rubric import CriterionSpec, LevelSpec, RubricSpec
from courseware.domain.statuses import StatusPurpose
from courseware.domain.vcjwt import (
    CredentialError,
    jwk_thumbprint,
    load_private_key,
    new_private_key,
    public_jwk,
    read_header,
    sign_credential,
    verify_credential,
)

STANDARDS = Path(__file__).parent / "data"  # vendored: see tests/data/README.md

NOW = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
ISSUER = IssuerInfo(id="https://mentors.example.org/issuer", name="Example Peer Mentor Program",
                    url="https://mentors.example.org")
TRACK = "https://mentors.example.org/tracks/certified-peer-mentor"
KID = "https://mentors.example.org/.well-known/keys/test"
LEVELS = (LevelSpec(1, "Not yet", "Misses it."), LevelSpec(2, "Developing", "Partly."),
          LevelSpec(3, "Meets", "Does it."), LevelSpec(4, "Exceeds", "Does it well."))
RUBRIC = RubricSpec(pass_percent=70, meets_score=3, min_score=2, criteria=(
    CriterionSpec("asks-directly", "Asks directly about suicide", True, LEVELS),
    CriterionSpec("stays-calm", "Stays calm", False, LEVELS)))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sample_credential(*, valid_until: datetime | None = NOW + timedelta(days=730),
                      previous: str | None = None) -> dict[str, Any]:
    info = AchievementInfo(
        url=TRACK, title="Certified Peer Mentor", description="Completed the course.",
        criteria="Passed every quiz and role-play.",
        result_descriptions=(quiz_result_description(TRACK, "foundations", "Foundations quiz", 80),
                             rubric_result_description(TRACK, "crisis", "Crisis", RUBRIC)))
    evidence = [EvidenceInfo("Quiz passed: Foundations quiz", "Passed on 2025-03-01.", "Quiz")]
    if previous:
        evidence.append(EvidenceInfo("Earlier certificate", "Renews it.", "Renewal", id=previous))
    return build_credential(
        credential_id="https://mentors.example.org/verify/0123456789ABCDEFGHJKMNPQRS",
        issuer=ISSUER, achievement_info=info,
        subject=SubjectInfo(id="urn:uuid:7d5c1a4e-1c1d-4e55-8a43-0e5f3c8f2b11",
                            name="Ada Lovelace", email="ada@example.org"),
        salt="pepper", valid_from=NOW, valid_until=valid_until,
        awarded=NOW - timedelta(days=700),
        results=[quiz_result(TRACK, "foundations", 93.333),
                 *rubric_results(TRACK, "crisis", RUBRIC, {"asks-directly": 3, "stays-calm": 4})],
        evidence=evidence,
        status=statuslist.entry("https://mentors.example.org/status/revocation",
                                StatusPurpose.REVOCATION, 4242))


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return load_private_key(new_private_key())


@pytest.fixture(scope="module")
def jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    return {**public_jwk(key), "kid": KID}


@pytest.fixture
def token(key: rsa.RSAPrivateKey) -> str:
    return sign_credential(sample_credential(), key, kid=KID, now=NOW)


def validator(definition: str | None = None) -> jsonschema.Draft201909Validator:
    schema = json.loads((STANDARDS / "ob_v3p0_achievementcredential.schema.json").read_text())
    if definition:  # one of 1EdTech's own definitions in that schema, e.g. Achievement
        schema = {**schema, "$ref": f"#/$defs/{definition}", "required": [], "properties": {}}
        schema.pop("type")
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(
        schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER)


# --- keys ------------------------------------------------------------------------------------

def test_a_new_key_is_rsa_3072_in_pkcs8_der() -> None:
    der = new_private_key()
    loaded = serialization.load_der_private_key(der, password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey) and loaded.key_size == 3072
    assert load_private_key(der).private_numbers() == loaded.private_numbers()


def test_the_public_jwk_has_no_private_parts(jwk: dict[str, str]) -> None:
    assert set(jwk) == {"kty", "n", "e", "alg", "use", "kid"}
    assert (jwk["kty"], jwk["alg"], jwk["use"], jwk["e"]) == ("RSA", "RS256", "sig", "AQAB")


def test_a_key_that_is_not_rsa_is_refused() -> None:
    der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    with pytest.raises(CredentialError, match="not an RSA key"):
        load_private_key(der)
    with pytest.raises(CredentialError, match="readable"):
        load_private_key(b"not a key")


def test_thumbprint_known_vector() -> None:
    # RFC 7638 section 3.1
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
         "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
         "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
         "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
    jwk = {"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    with pytest.raises(CredentialError):
        jwk_thumbprint({"kty": "oct", "k": "secret"})


# --- OB 3.0 documents --------------------------------------------------------------------------

@pytest.mark.parametrize("valid_until", [NOW + timedelta(days=365), None])
def test_credential_validates_against_ob3_schema(valid_until: datetime | None) -> None:
    credential = sample_credential(valid_until=valid_until, previous="https://x.example/v/1")
    errors = list(validator().iter_errors(credential))
    assert not errors, [e.message for e in errors]
    assert ("validUntil" in credential) is (valid_until is not None)


def test_issuer_profile_and_achievement_validate_against_the_schemas() -> None:
    profile_schema = json.loads((STANDARDS / "ob_v3p0_profile.schema.json").read_text())
    document = profile_document(ISSUER)
    jsonschema.Draft201909Validator(profile_schema).validate(document)
    assert document["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    info = AchievementInfo(url=TRACK, title="T", description="D", criteria="C",
                           result_descriptions=(rubric_result_description(TRACK, "r", "R",
                                                                          RUBRIC),))
    achievement = achievement_document(info, ISSUER)
    errors = list(validator("Achievement").iter_errors(achievement))
    assert not errors, [e.message for e in errors]
    levels = achievement["resultDescription"][0]["rubricCriterionLevel"]
    assert levels[0]["description"] == "Misses it."
    assert "description" not in rubric_result_description(
        TRACK, "r", "R", RUBRIC, descriptors=False)["rubricCriterionLevel"][0]


def test_a_broken_credential_fails_the_schema() -> None:
    """The schema check can fail: without it the tests above would prove nothing."""
    credential = sample_credential()
    credential["credentialSubject"]["identifier"][0]["hashed"] = "yes"
    del credential["issuer"]
    assert len(list(validator().iter_errors(credential))) >= 2


def test_the_subject_is_identified_without_publishing_the_email() -> None:
    subject = sample_credential()["credentialSubject"]
    assert subject["id"] == "urn:uuid:7d5c1a4e-1c1d-4e55-8a43-0e5f3c8f2b11"
    email, name = subject["identifier"]
    assert email == {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                     "identityHash": "sha256$" + hashlib.sha256(b"ada@example.orgpepper")
                     .hexdigest(), "salt": "pepper"}
    assert name == {"type": "IdentityObject", "identityType": "name", "hashed": False,
                    "identityHash": "Ada Lovelace"}
    assert "ada@example.org" not in json.dumps(sample_credential())


def test_identity_hash_matches_the_specifications_example() -> None:
    # OB 3.0's IdentityHash example: a@example.com salted with "Kosher"
    assert identity_hash("a@example.com", "Kosher") == (
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399")


def test_results_point_at_their_descriptions() -> None:
    credential = sample_credential()
    achievement = credential["credentialSubject"]["achievement"]
    quiz, rubric = achievement["resultDescription"]
    assert quiz == {"id": f"{TRACK}#quiz-foundations", "type": ["ResultDescription"],
                    "name": "Quiz: Foundations quiz", "resultType": "Percent",
                    "valueMin": "0", "valueMax": "100", "requiredValue": "80"}
    assert rubric["resultType"] == "RubricCriterionLevel"
    names = [level["name"] for level in rubric["rubricCriterionLevel"]]
    assert names[0] == "Asks directly about suicide (critical): Not yet"
    assert names[-1] == "Stays calm: Exceeds" and len(names) == 8
    level_ids = {level["id"] for level in rubric["rubricCriterionLevel"]}
    results = credential["credentialSubject"]["result"]
    assert results[0] == {"type": ["Result"], "resultDescription": f"{TRACK}#quiz-foundations",
                          "value": "93.3"}
    assert [r["achievedLevel"] for r in results[1:]] == [
        f"{TRACK}#roleplay-crisis/asks-directly/3", f"{TRACK}#roleplay-crisis/stays-calm/4"]
    assert all(r["achievedLevel"] in level_ids for r in results[1:])
    # a level a rubric does not have is not reported as reached
    assert rubric_results(TRACK, "crisis", RUBRIC, {"asks-directly": 9}) == []


def test_awarded_date_status_and_evidence() -> None:
    credential = sample_credential(previous="https://mentors.example.org/verify/OLD")
    assert credential["awardedDate"] == "2023-04-14T15:09:26Z"
    assert credential["validFrom"] == "2025-03-14T15:09:26Z"
    assert credential["credentialStatus"] == {
        "id": "https://mentors.example.org/status/revocation#4242",
        "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
        "statusListIndex": "4242",
        "statusListCredential": "https://mentors.example.org/status/revocation"}
    assert credential["evidence"][-1]["id"] == "https://mentors.example.org/verify/OLD"


def test_non_utc_times_are_converted_and_naive_ones_refused() -> None:
    plus_two = datetime(2025, 3, 14, 19, 9, 26, tzinfo=timezone(timedelta(hours=2)))
    credential = build_credential(
        credential_id="urn:uuid:1", issuer=ISSUER,
        achievement_info=AchievementInfo(TRACK, "T", "D", "C"),
        subject=SubjectInfo("urn:uuid:2", "B", "b@example.org"), salt="s",
        valid_from=plus_two, valid_until=None, awarded=plus_two)
    assert credential["validFrom"] == "2025-03-14T17:09:26Z"
    with pytest.raises(ValueError):
        build_credential(credential_id="urn:uuid:1", issuer=ISSUER,
                         achievement_info=AchievementInfo(TRACK, "T", "D", "C"),
                         subject=SubjectInfo("urn:uuid:2", "B", "b@example.org"), salt="s",
                         valid_from=datetime(2025, 1, 1), valid_until=None,  # deliberately naive
                         awarded=NOW)
    with pytest.raises(ValueError):
        sample_credential(valid_until=NOW - timedelta(days=1))


def test_linkedin_link_carries_the_certification_fields() -> None:
    url = linkedin_add_url(name="Certified Peer Mentor", organization="Example & Co",
                           issued=datetime(2026, 3, 1, tzinfo=UTC),
                           expires=datetime(2028, 3, 1, tzinfo=UTC),
                           cert_url="https://mentors.example.org/verify/ABC", cert_id="ABC-DEF")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com",
                                                        "/profile/add")
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "startTask": "CERTIFICATION_NAME", "name": "Certified Peer Mentor",
        "organizationName": "Example & Co", "issueYear": "2026", "issueMonth": "3",
        "expirationYear": "2028", "expirationMonth": "3",
        "certUrl": "https://mentors.example.org/verify/ABC", "certId": "ABC-DEF"}


# --- signing ---------------------------------------------------------------------------------

def test_header_is_rs256_jwt_with_the_kid_url(token: str) -> None:
    assert json.loads(b64url_decode(token.split(".")[0])) == {
        "alg": "RS256", "typ": "JWT", "kid": KID}


def test_claims_follow_ob3_section_8_2(token: str) -> None:
    payload = json.loads(b64url_decode(token.split(".")[1]))
    credential = sample_credential()
    assert {k: v for k, v in payload.items() if k not in credential} == {
        "iss": ISSUER.id,
        "jti": credential["id"],
        "sub": credential["credentialSubject"]["id"],
        "nbf": int(datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC).timestamp()),
        "exp": int(datetime(2027, 3, 14, 15, 9, 26, tzinfo=UTC).timestamp()),
        "iat": int(NOW.timestamp()),
    }
    assert {k: v for k, v in payload.items() if k in credential} == credential
    assert "vc" not in payload  # VCDM 2.0 layout: no vc wrapper
    errors = list(validator().iter_errors(payload))
    assert not errors, [e.message for e in errors]


def test_a_standard_library_verifies_it(token: str, jwk: dict[str, str]) -> None:
    claims = jwt.decode(token, jwt.PyJWK(jwk), algorithms=["RS256"],
                        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False})
    assert claims["sub"] == "urn:uuid:7d5c1a4e-1c1d-4e55-8a43-0e5f3c8f2b11"


def test_signing_refuses_a_credential_with_jwt_claims_or_no_issuer(
        key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(CredentialError, match="JWT claims"):
        sign_credential({**sample_credential(), "iss": "https://evil.example"}, key, kid=KID,
                        now=NOW)
    credential = sample_credential()
    del credential["issuer"]
    with pytest.raises(CredentialError, match="issuer"):
        sign_credential(credential, key, kid=KID, now=NOW)


# --- verifying -------------------------------------------------------------------------------

def test_round_trip(token: str, jwk: dict[str, str]) -> None:
    result = verify_credential(token, jwk, now=NOW)
    assert result.credential == sample_credential()
    assert (result.kid, result.algorithm, result.expired) == (KID, "RS256", False)


def test_expired_is_reported_not_rejected(token: str, jwk: dict[str, str]) -> None:
    assert verify_credential(token, jwk, now=NOW + timedelta(days=731)).expired is True


def test_not_yet_valid_is_rejected_beyond_a_small_skew(token: str,
                                                       jwk: dict[str, str]) -> None:
    verify_credential(token, jwk, now=NOW - timedelta(seconds=30))
    with pytest.raises(CredentialError, match="not valid yet") as caught:
        verify_credential(token, jwk, now=NOW - timedelta(hours=1))
    assert caught.value.step == "validity"


@settings(database=None, max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_one_character_change_in_payload_fails(token: str, jwk: dict[str, str],
                                                    data: st.DataObject) -> None:
    header, payload, signature = token.split(".")
    position = data.draw(st.integers(0, len(payload) - 1))
    replacement = data.draw(st.sampled_from(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
    if replacement == payload[position]:
        return
    tampered = payload[:position] + replacement + payload[position + 1:]
    with pytest.raises(CredentialError):
        verify_credential(f"{header}.{tampered}.{signature}", jwk, now=NOW)


def test_another_key_under_our_kid_fails_on_the_signature(jwk: dict[str, str]) -> None:
    payload = json.loads(b64url_decode(sample_token_payload()))
    payload["credentialSubject"]["identifier"][1]["identityHash"] = "Mallory"
    forged = jwt.encode(payload, rsa.generate_private_key(public_exponent=65537, key_size=2048),
                        algorithm="RS256", headers={"kid": KID})
    with pytest.raises(CredentialError, match="signature") as caught:
        verify_credential(forged, jwk, now=NOW)
    assert caught.value.step == "signature"


def sample_token_payload() -> str:
    return b64url(json.dumps(sample_credential()).encode())


@pytest.mark.parametrize("alg", ["none", "None"])
def test_unsigned_tokens_are_refused(token: str, jwk: dict[str, str], alg: str) -> None:
    _, payload, _ = token.split(".")
    header = b64url(json.dumps({"alg": alg, "kid": KID, "typ": "JWT"}).encode())
    for unsigned in (f"{header}.{payload}.", f"{header}.{payload}"):
        with pytest.raises(CredentialError):
            verify_credential(unsigned, jwk, now=NOW)
    with pytest.raises(CredentialError, match="not signed"):
        read_header(f"{header}.{payload}.")


def test_hmac_with_the_public_key_as_secret_is_refused(token: str, jwk: dict[str, str],
                                                       key: rsa.RSAPrivateKey) -> None:
    """Algorithm confusion: an HS256 token keyed with the published public key."""
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    payload = json.loads(b64url_decode(token.split(".")[1]))
    header = b64url(json.dumps({"alg": "HS256", "kid": KID, "typ": "JWT"}).encode())
    body = b64url(json.dumps(payload).encode())
    import hmac

    signature = b64url(hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
    with pytest.raises(CredentialError, match="HS256"):
        verify_credential(f"{header}.{body}.{signature}", jwk, now=NOW)


def test_the_keys_algorithm_decides_not_the_token(token: str, jwk: dict[str, str]) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(json.loads(b64url_decode(token.split(".")[1])), ec_key,
                        algorithm="ES256", headers={"kid": KID})
    with pytest.raises(CredentialError, match="key is of type 'RSA'"):
        verify_credential(forged, jwk, now=NOW)
    with pytest.raises(CredentialError, match="private parts"):
        verify_credential(token, {**jwk, "d": "secret"}, now=NOW)
    with pytest.raises(CredentialError, match="for 'RS512'"):
        verify_credential(token, {**jwk, "alg": "RS512"}, now=NOW)


def test_an_es256_key_verifies_an_es256_token() -> None:
    """ES256 may be offered beside RS256: a P-256 key verifies its own tokens."""
    ec_key = ec.generate_private_key(ec.SECP256R1())
    payload = {**sample_credential(), "iss": ISSUER.id,
               "jti": sample_credential()["id"], "nbf": int(NOW.timestamp()) - 1,
               "sub": sample_credential()["credentialSubject"]["id"]}
    payload["validFrom"] = datetime.fromtimestamp(payload["nbf"], UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    payload["exp"] = int(datetime(2027, 3, 14, 15, 9, 26, tzinfo=UTC).timestamp())
    signed = jwt.encode(payload, ec_key, algorithm="ES256", headers={"kid": KID})
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    assert verify_credential(signed, ec_jwk, now=NOW).algorithm == "ES256"


def test_a_missing_kid_or_crit_header_is_refused(token: str, jwk: dict[str, str]) -> None:
    _, payload, signature = token.split(".")
    for header in ({"alg": "RS256", "typ": "JWT"},
                   {"alg": "RS256", "kid": KID, "crit": ["exp"], "exp": 1}):
        encoded = b64url(json.dumps(header).encode())
        with pytest.raises(CredentialError):
            verify_credential(f"{encoded}.{payload}.{signature}", jwk, now=NOW)


@pytest.mark.parametrize(("claim", "value"), [
    ("iss", "https://someone-else.example"), ("jti", "urn:uuid:other"), ("nbf", 0),
    ("exp", 4102444800), ("sub", "did:example:someone")])
def test_claims_must_match_the_credential(key: rsa.RSAPrivateKey, jwk: dict[str, str],
                                          token: str, claim: str, value: object) -> None:
    payload = json.loads(b64url_decode(token.split(".")[1]))
    payload[claim] = value
    resigned = jwt.encode(payload, key, algorithm="RS256", headers={"kid": KID})
    with pytest.raises(CredentialError, match=claim) as caught:
        verify_credential(resigned, jwk, now=NOW)
    assert caught.value.step == "claims"


@pytest.mark.parametrize("claim", ["iss", "jti", "nbf"])
def test_required_claims(key: rsa.RSAPrivateKey, jwk: dict[str, str], token: str,
                         claim: str) -> None:
    payload = json.loads(b64url_decode(token.split(".")[1]))
    del payload[claim]
    with pytest.raises(CredentialError):
        verify_credential(jwt.encode(payload, key, algorithm="RS256", headers={"kid": KID}), jwk,
                          now=NOW)


@pytest.mark.parametrize("garbage", [
    "", "abc", "a.b", "a.b.c.d", "!!!.???.###", "eyJhbGciOiJSUzI1NiJ9..sig", "x" * 2_000_000,
    "e30.e30.e30", "W10.e30.c2ln", "eyJhbGciOiJSUzI1NiIsImtpZCI6MX0.W10.c2ln",
    "eyJhbGciOlsiUlMyNTYiXX0.e30.c2ln"])
def test_garbage_tokens_fail(jwk: dict[str, str], garbage: str) -> None:
    with pytest.raises(CredentialError):
        verify_credential(garbage, jwk, now=NOW)


def test_a_truncated_token_fails_at_every_length(token: str, jwk: dict[str, str]) -> None:
    for cut in range(1, len(token), max(1, len(token) // 97)):
        with pytest.raises(CredentialError):
            verify_credential(token[:cut], jwk, now=NOW)


# --- status lists ----------------------------------------------------------------------------

def test_list_length_is_at_least_herd_size_and_twice_the_positions_in_use() -> None:
    assert statuslist.list_length(0) == statuslist.list_length(65_536) == 131_072
    assert statuslist.list_length(65_537) == 262_144
    with pytest.raises(ValueError):
        statuslist.list_length(-1)


def test_bit_zero_is_the_leftmost_bit_of_the_first_byte() -> None:
    bits = statuslist.decode(statuslist.encode([0, 9], 131_072))
    assert len(bits) == 16_384
    assert bits[:2] == bytes([0b1000_0000, 0b0100_0000])
    assert statuslist.is_set(bits, 0) and statuslist.is_set(bits, 9)
    assert not statuslist.is_set(bits, 1)
    with pytest.raises(statuslist.StatusListError):
        statuslist.is_set(bits, 131_072)


@given(positions=st.sets(st.integers(0, 131_071), max_size=40))
@settings(database=None, max_examples=40, deadline=None)
def test_encode_and_decode_round_trip(positions: set[int]) -> None:
    encoded = statuslist.encode(positions, 131_072)
    assert encoded.startswith("u") and "=" not in encoded
    bits = statuslist.decode(encoded)
    assert {i for i in range(131_072) if statuslist.is_set(bits, i)} == positions


def test_lists_made_by_others_decode() -> None:
    # the specification's empty 16 KB list, and a 1EdTech example with position 23 set
    empty = statuslist.decode(
        "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA")
    assert empty == bytes(16_384)
    one = statuslist.decode(
        "uH4sIAAAAAAAA_-3BMQEAAAzDoMy_6cnoA9QFAAAAAAAAAAAAAAAAAAAAbD3uPa2cAEAAAA")
    assert [i for i in range(200) if statuslist.is_set(one, i)] == [23]


@pytest.mark.parametrize("bad", ["", "zH4sI", "u!!!", "u" + b64url(b"not gzip"),
                                 "u" + b64url(b"\x1f\x8b\x08\x00" + b"\x00" * 20)])
def test_a_bad_encoded_list_is_refused(bad: str) -> None:
    with pytest.raises(statuslist.StatusListError):
        statuslist.decode(bad)


def test_a_list_that_inflates_too_far_is_refused() -> None:
    import gzip

    bomb = "u" + b64url(gzip.compress(bytes(statuslist.MAX_BYTES + 8)))
    with pytest.raises(statuslist.StatusListError, match="larger"):
        statuslist.decode(bomb)


def test_the_status_list_credential_shape() -> None:
    document = statuslist.status_list_credential(
        list_url="https://x.example/status/suspension", issuer={"id": "https://x.example/issuer"},
        purpose=StatusPurpose.SUSPENSION, encoded_list="uAAA", valid_from="2025-01-01T00:00:00Z",
        ttl_seconds=300)
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["credentialSubject"] == {
        "id": "https://x.example/status/suspension#list", "type": "BitstringStatusList",
        "statusPurpose": "suspension", "encodedList": "uAAA", "ttl": 300_000}
    with pytest.raises(ValueError):
        statuslist.encode([5], 12)
    with pytest.raises(ValueError):
        statuslist.encode([131_072], 131_072)
