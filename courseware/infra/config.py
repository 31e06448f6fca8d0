"""Configuration: defaults, then the environment, then what the caller passes."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from courseware.infra.kek import new_kek

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Environment variables read at start-up, with their meaning (the README lists the same).
ENVIRONMENT = {
    "DATABASE_URL": "SQLAlchemy URL; default sqlite:///<instance>/courseware.infra.db",
    "SECRET_KEY": "signs sessions and CSRF tokens; default generated once into instance/",
    "BASE_URL": "public address used in certificates, QR codes and credentials",
    "RATELIMIT_STORAGE_URI": "flask-limiter storage; memory:// (one process) or redis://...",
    "CONTENT_ROOT": "folder holding modules/, quizzes/ and certificates/",
    "ISSUER_NAME": "the organisation named on certificates and credentials",
    "CLAIM_LAPSE_MINUTES": "how long a trainer's claim on a submission lasts",
    "COURSEWARE_INSTANCE": "instance folder (database, secret key, signing keys)",
    "KEY_ENCRYPTION_KEY": "Fernet key that encrypts private keys and second-factor secrets at rest",
    "COURSE_COUNTRY": "whose crisis lines fill course text (modules/crisis-lines.toml)",
}


def build_config(instance_path: Path, overrides: dict[str, Any] | None) -> dict[str, Any]:
    overrides = dict(overrides or {})
    env = os.environ
    config: dict[str, Any] = {
        "DATABASE_URL": env.get("DATABASE_URL")
        or f"sqlite:///{instance_path / 'courseware.infra.db'}",
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "CONTENT_ROOT": Path(env.get("CONTENT_ROOT", PROJECT_ROOT)),
        "ISSUER_NAME": env.get("ISSUER_NAME", "Courseware Peer Mentor Program"),
        "CLAIM_LAPSE_MINUTES": int(env.get("CLAIM_LAPSE_MINUTES", "120")),
        "COURSE_COUNTRY": env.get("COURSE_COUNTRY", "US").strip().upper(),
        "KEYS_DIR": instance_path / "keys",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "SESSION_COOKIE_NAME": "courseware_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "MAX_CONTENT_LENGTH": 512 * 1024,
        # every JSON body of the API: 100 codes take about 4 KiB; nesting beyond a few levels
        # is never needed, and unbounded nesting exhausts the parser's stack
        "API_MAX_BODY_BYTES": 32 * 1024,
        "API_MAX_JSON_DEPTH": 8,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_LIMIT": "20 per 5 minutes",
        "VERIFY_LIMIT": "60 per minute",
        "REGISTER_LIMIT": "10 per hour",
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_MINUTES": 15,
        "TESTING": False,
        "DEBUG": False,
    }
    config.update(overrides)
    if "SESSION_COOKIE_SECURE" not in overrides and (
        config["DEBUG"] or config["TESTING"] or str(config["BASE_URL"]).startswith("http://")
    ):
        # served over plain http (make run on 127.0.0.1): a Secure cookie would never come back
        config["SESSION_COOKIE_SECURE"] = False
    config["SECRET_KEY"] = (
        overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
        or _instance_secret(instance_path, "secret_key", lambda: secrets.token_hex(32))
    )
    # encrypts private keys and second-factor secrets at rest (see courseware.infra.kek)
    config["KEY_ENCRYPTION_KEY"] = (
        overrides.get("KEY_ENCRYPTION_KEY") or env.get("KEY_ENCRYPTION_KEY")
        or _instance_secret(instance_path, "key_encryption_key", new_kek)
    )
    return config


def _instance_secret(instance_path: Path, name: str, make: Callable[[], str]) -> str:
    """A random key made once and kept beside the database, readable by its owner only."""
    path = instance_path / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance_path.mkdir(parents=True, exist_ok=True)
    key = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
