"""The README's lines that verify a credential with a standard library run, and say the truth."""

from __future__ import annotations

import base64
import io
import json
import re
import urllib.request
from pathlib import Path

import jwt
import pytest
from flask import Flask

from courseware.infra.config import ENVIRONMENT, PROJECT_ROOT
from courseware.web.openapi import STATUS_IN_SIX_LINES, VERIFY_IN_TEN_LINES
from tests.factories import Factory

README = (PROJECT_ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
VERIFY = next(block for block in BLOCKS if "def verified(token)" in block)
STATUS = next(block for block in BLOCKS if "statusListIndex" in block)


def test_the_readme_and_the_openapi_document_show_the_same_lines() -> None:
    assert VERIFY_IN_TEN_LINES.replace("{base_url}", "https://mentors.example.org") == VERIFY
    assert STATUS == STATUS_IN_SIX_LINES
    code = [line for line in VERIFY.splitlines() if line.strip()]
    assert len(code) == 8  # ten lines with the two blank ones
    assert len([line for line in STATUS.splitlines()
                if line.strip() and not line.startswith("#")]) == 6


@pytest.fixture
def network(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """urllib's urlopen answered by the app, as the issuer's server would answer it."""
    client = app.test_client()
    fetched: list[str] = []

    def urlopen(url: str, *_args: object, **_kwargs: object) -> io.BytesIO:
        assert url.startswith("http://localhost/"), url
        fetched.append(url)
        response = client.get(url.removeprefix("http://localhost"))
        assert response.status_code == 200, url
        return io.BytesIO(response.data)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return fetched


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str) -> dict[str, object]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "credential.jwt").write_text(token)
    scope: dict[str, object] = {}
    exec(VERIFY.replace("https://mentors.example.org", "http://localhost"), scope)  # noqa: S102
    exec(STATUS, scope)  # noqa: S102
    return scope


def test_the_readmes_lines_verify_a_credential_and_see_its_status(
        app: Flask, factory: Factory, network: list[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, runner) -> None:  # type: ignore[no-untyped-def]
    cert = factory.manual_certificate(factory.user(name="Readme Holder"))
    token = app.test_client().get(f"/certificates/{cert.code}/credential.jwt").get_data(
        as_text=True)
    scope = _run(tmp_path, monkeypatch, token)
    assert scope["claims"]["credentialSubject"]["identifier"][1]["identityHash"] == \
        "Readme Holder"  # type: ignore[index]
    assert any("/.well-known/keys/" in url for url in network)
    assert {url for url in network if "/status/" in url} == {
        "http://localhost/status/revocation", "http://localhost/status/suspension"}

    runner.invoke(args=["certificates", "suspend", cert.code, "--reason", "Hold"])
    with pytest.raises(ValueError, match="suspension: it no longer stands"):
        _run(tmp_path, monkeypatch, token)
    runner.invoke(args=["certificates", "revoke", cert.code, "--reason", "Gone"])
    with pytest.raises(ValueError, match="revocation: it no longer stands"):
        _run(tmp_path, monkeypatch, token)
    header, payload, signature = token.split(".")
    with pytest.raises(jwt.InvalidSignatureError):
        _run(tmp_path, monkeypatch, f"{header}.{payload[:-4]}AAAA.{signature}")
    foreign = base64.urlsafe_b64encode(json.dumps(
        {"alg": "RS256", "typ": "JWT", "kid": "https://x.example/.well-known/keys/k"}).encode())
    with pytest.raises(ValueError, match="not ISSUER's key"):
        _run(tmp_path, monkeypatch, f"{foreign.decode().rstrip('=')}.{payload}.{signature}")


# set for a moment by the PDF renderer (WeasyPrint reads it), never a setting
NOT_SETTINGS = {"SOURCE_DATE_EPOCH"}


def test_every_environment_variable_read_is_listed_and_in_the_configuration_table() -> None:
    read: set[str] = set()
    for path in [*(PROJECT_ROOT / "courseware").rglob("*.py"), PROJECT_ROOT / "gunicorn.conf.py"]:
        text = path.read_text()
        read |= set(re.findall(r'(?:os\.environ|\benv)\.get\("([A-Z_]+)"', text))
        read |= set(re.findall(r'_env_flag\(env, "([A-Z_]+)"', text))
    read -= NOT_SETTINGS
    assert "PROMETHEUS_MULTIPROC_DIR" in read and "MAIL_USE_TLS" in read  # the search works
    assert read == set(ENVIRONMENT), "courseware.infra.config.ENVIRONMENT lists what is read"
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Configuration"):readme.index("\n## Command line")]
    first_cells = " ".join(line.split("|")[1] for line in section.splitlines()
                           if line.startswith("| `"))
    missing = sorted(name for name in read if f"`{name}`" not in first_cells)
    assert not missing, f"README's configuration table lacks {missing}"
