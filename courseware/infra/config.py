"""Configuration: defaults, then the environment, then what the caller passes."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from courseware.infra.kek import new_kek

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Environment variables read at start-up, with their meaning (the README lists the same).
ENVIRONMENT = {
    "DATABASE_URL": "SQLAlchemy URL; default sqlite:///<instance>/courseware.db",
    "SECRET_KEY": "signs sessions and CSRF tokens; default generated once into instance/",
    "BASE_URL": "public address used in certificates, QR codes and credentials",
    "RATELIMIT_STORAGE_URI": "where rate limits count: memory:// (one process) or redis://...",
    "CONTENT_ROOT": "folder holding modules/, quizzes/ and certificates/",
    "ISSUER_NAME": "the organisation named on certificates and credentials",
    "CLAIM_LAPSE_MINUTES": "how long a trainer's claim on a submission lasts",
    "COURSEWARE_INSTANCE": "instance folder (SQLite database, development secret key and KEK)",
    "KEY_ENCRYPTION_KEY": "Fernet key that encrypts private keys and second-factor secrets at rest",
    "LOG_FORMAT": "text (default) or json: one line per request and per error",
    "LOG_LEVEL": "INFO by default",
    "METRICS_TOKEN": "bearer token for /metrics; without one, METRICS_ALLOW networks only",
    "METRICS_ALLOW": "client networks allowed to read /metrics without a token (loopback)",
    "COURSE_COUNTRY": "whose crisis lines fill course text (modules/crisis-lines.toml)",
    "CALIBRATION_REQUIRED": "trainers grade a role-play's work only once calibrated on its rubric",
    "DOUBLE_MARK_PERCENT": "share of submitted role-plays given a blind second grade (0-100)",
    "COURSEWARE_ENV": "production refuses to start with a demo account (so does an https BASE_URL)",
    "SESSION_IDLE_MINUTES_STAFF": "a trainer's or admin's session ends after this long idle",
    "SESSION_IDLE_MINUTES_LEARNER": "a learner's session ends after this long idle",
    "SESSION_MAX_HOURS": "every session ends this long after login, however busy",
    "SECOND_FACTOR_REQUIRED_FOR_STAFF": "trainers and admins enrol a second factor first",
    "TRUSTED_PROXIES": "how many proxies in front set X-Forwarded-For/-Proto (0: none)",
    "AUDIT_RETENTION_DAYS": "security events older than this are pruned by `audit prune`",
    "REDIS_URL": "Redis for the job queue (and, by default, the rate limits); none: SqliteHuey",
    "JOBS_QUEUE": "the job queue's name (deployments sharing one Redis need different names)",
    "MAIL_BACKEND": "console (print each message), smtp, or flask-mailman's file/locmem/dummy",
    "MAIL_SERVER": "SMTP host", "MAIL_PORT": "SMTP port",
    "MAIL_USE_TLS": "STARTTLS (true/false)", "MAIL_USE_SSL": "implicit TLS (true/false)",
    "MAIL_USERNAME": "SMTP login", "MAIL_PASSWORD": "SMTP password",
    "MAIL_DEFAULT_SENDER": "the From address",
    "MAIL_TIMEOUT": "seconds an SMTP conversation may stall before the attempt fails",
    "MAIL_RETRY_DELAY": "seconds before the first retry of a failed delivery (then doubling)",
    "MAIL_RETRY_MAX": "the longest wait between two retries, in seconds",
    "MAIL_GIVE_UP_HOURS": "a message still failing this long after its cause is marked failed",
    "MAIL_LEASE_SECONDS": "how long a job holds a message it is sending",
    "SWEEP_AFTER_SECONDS": "how overdue a message (or PDF) is before the sweep queues it again",
    "SUMMARY_MAX_AGE_SECONDS": "how old the admin dashboard's and the roster's counts may be",
    "LOGIN_LIMIT": "login attempts per client address (`limits` notation: 20 per 5 minutes)",
    "VERIFY_LIMIT": "verify pages, PDFs, credentials and API calls per client address",
    "REGISTER_LIMIT": "registrations per client address",
    "PROMETHEUS_MULTIPROC_DIR": "where gunicorn's workers (and a jobs worker) share counters",
    # read by gunicorn.conf.py and the command line, not by the app's configuration
    "BIND": "gunicorn's address", "WEB_CONCURRENCY": "gunicorn worker processes",
    "GUNICORN_THREADS": "threads per gunicorn worker",
    "GUNICORN_TIMEOUT": "seconds before gunicorn restarts a stuck worker",
    "GUNICORN_LOG_LEVEL": "gunicorn's own log level",
    "HOST": "the address `demo` checks is loopback (make run passes its own)",
    "API_KEY_RATE_LIMIT": "calls one program API key may make (`limits` notation)",
    "API_KEY_DAILY_QUOTA": "one program API key's calls per day",
    "PROGRAM_REQUEST_LIMIT": "requests for a program account per client address",
    "WEBHOOK_TIMEOUT_SECONDS": "seconds a webhook receiver has to connect and answer (5)",
    "WEBHOOK_RETRY_SCHEDULE": "seconds to wait after each failed webhook attempt, by commas",
    "WEBHOOK_DISABLE_AFTER_HOURS": "an endpoint failing every attempt this long is turned off",
    "WEBHOOK_ALLOW_HTTP_LOOPBACK": "tests only: webhooks to http://127.0.0.1 (never in production)",
}

FALSE_WORDS = {"0", "false", "no", "off"}


class UnsafeSetting(ValueError):
    """A setting meant for tests, found in a production configuration."""


def _percent(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 100:
        raise ValueError(f"DOUBLE_MARK_PERCENT must be between 0 and 100, not {value}")
    return number


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")

_TRUE = {"1", "true", "yes", "on"}


def _env_flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = env.get(name)
    return default if value is None else value.strip().lower() in _TRUE


def mail_domain(base_url: str) -> str:
    """The domain for Message-IDs and the default sender: the site's host name, or
    `localhost` when the site is served from an IP address or a bare host name."""
    host = urlsplit(base_url).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host if "." in host else "localhost"
    return "localhost"


def build_config(instance_path: Path, overrides: dict[str, Any] | None) -> dict[str, Any]:
    overrides = dict(overrides or {})
    env = os.environ
    config: dict[str, Any] = {
        "DATABASE_URL": env.get("DATABASE_URL") or default_database_url(instance_path),
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or None,
        "CONTENT_ROOT": Path(env.get("CONTENT_ROOT", PROJECT_ROOT)),
        "ISSUER_NAME": env.get("ISSUER_NAME", "Courseware Peer Mentor Program"),
        "CLAIM_LAPSE_MINUTES": int(env.get("CLAIM_LAPSE_MINUTES", "120")),
        # the dashboard's counts may be this old (each process recounts at most this often)
        "SUMMARY_MAX_AGE_SECONDS": int(env.get("SUMMARY_MAX_AGE_SECONDS", "30")),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "LOG_FORMAT": env.get("LOG_FORMAT", "text"),  # text | json (one JSON object a line)
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # /metrics: a bearer token, or (without one) only these client networks
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        "METRICS_ALLOW": [ipaddress.ip_network(n.strip()) for n in
                          env.get("METRICS_ALLOW", "127.0.0.0/8,::1/128").split(",")
                          if n.strip()],
        "COURSE_COUNTRY": env.get("COURSE_COUNTRY", "US").strip().upper(),
        "CALIBRATION_REQUIRED": env.get("CALIBRATION_REQUIRED", "true").strip().lower()
        not in FALSE_WORDS,
        "DOUBLE_MARK_PERCENT": _percent(env.get("DOUBLE_MARK_PERCENT", "10")),
        "COURSEWARE_ENV": env.get("COURSEWARE_ENV", "development").strip().lower(),
        "SESSION_IDLE_MINUTES_STAFF": int(env.get("SESSION_IDLE_MINUTES_STAFF", "30")),
        "SESSION_IDLE_MINUTES_LEARNER": int(env.get("SESSION_IDLE_MINUTES_LEARNER", "120")),
        "SESSION_MAX_HOURS": float(env.get("SESSION_MAX_HOURS", "12")),
        "SECOND_FACTOR_REQUIRED_FOR_STAFF": _flag(env.get("SECOND_FACTOR_REQUIRED_FOR_STAFF",
                                                          "true")),
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "AUDIT_RETENTION_DAYS": int(env.get("AUDIT_RETENTION_DAYS", "365")),
        # jobs: SqliteHuey beside the database unless REDIS_URL names a Redis
        "JOBS_QUEUE": env.get("JOBS_QUEUE", "courseware"),
        "JOBS_SQLITE_PATH": instance_path / "jobs.db",
        # mail (flask-mailman's own settings); the console backend prints each message
        "MAIL_BACKEND": env.get("MAIL_BACKEND", "console"),
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _env_flag(env, "MAIL_USE_TLS"),
        "MAIL_USE_SSL": _env_flag(env, "MAIL_USE_SSL"),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER") or None,
        "MAIL_TIMEOUT": int(env.get("MAIL_TIMEOUT", "30")),
        # delivery: retries back off from MAIL_RETRY_DELAY, doubling up to MAIL_RETRY_MAX
        "MAIL_RETRY_DELAY": float(env.get("MAIL_RETRY_DELAY", "30")),
        "MAIL_RETRY_MAX": float(env.get("MAIL_RETRY_MAX", "3600")),
        "MAIL_GIVE_UP_HOURS": float(env.get("MAIL_GIVE_UP_HOURS", "72")),
        "MAIL_LEASE_SECONDS": float(env.get("MAIL_LEASE_SECONDS", "120")),
        "SWEEP_AFTER_SECONDS": float(env.get("SWEEP_AFTER_SECONDS", "180")),
        # program webhooks (see courseware.domain.webhooks for the defaults' reasons)
        "WEBHOOK_TIMEOUT_SECONDS": float(env.get("WEBHOOK_TIMEOUT_SECONDS", "5")),
        "WEBHOOK_RETRY_SCHEDULE": env.get("WEBHOOK_RETRY_SCHEDULE",
                                          "5,300,1800,7200,18000,36000,36000"),
        "WEBHOOK_DISABLE_AFTER_HOURS": float(env.get("WEBHOOK_DISABLE_AFTER_HOURS", "72")),
        # the test suite's receivers listen on loopback over plain http; nothing else may
        "WEBHOOK_ALLOW_HTTP_LOOPBACK": _env_flag(env, "WEBHOOK_ALLOW_HTTP_LOOPBACK"),
        "SESSION_COOKIE_NAME": "courseware_session",
        "DEVICE_COOKIE_NAME": "courseware_device",
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
        # per client IP (the limits notation: "60 per minute"); an operator may tune them
        "LOGIN_LIMIT": env.get("LOGIN_LIMIT", "20 per 5 minutes"),
        "VERIFY_LIMIT": env.get("VERIFY_LIMIT", "60 per minute"),
        "REGISTER_LIMIT": env.get("REGISTER_LIMIT", "10 per hour"),
        # the public form that asks for a program account, per client IP
        "PROGRAM_REQUEST_LIMIT": env.get("PROGRAM_REQUEST_LIMIT", "5 per hour"),
        # per API key, instead of the per-IP limits, on every route a key is presented to
        "API_KEY_RATE_LIMIT": env.get("API_KEY_RATE_LIMIT", "600 per minute"),
        "API_KEY_DAILY_QUOTA": env.get("API_KEY_DAILY_QUOTA", "50000 per day"),
        # a watch list's JSON body: 1,000 hyphenated codes take about 36 KiB
        "API_ROSTER_MAX_BODY_BYTES": 64 * 1024,
        # failed password checks: free tries per scope, then a delay that doubles each time
        "LOGIN_FREE_FAILURES": 5,          # per account and client (or known device)
        "LOGIN_CLIENT_FREE_FAILURES": 20,  # per client, whatever the account
        "LOGIN_ACCOUNT_FREE_FAILURES": 20,  # per account, from devices that never logged in
        "LOGIN_DELAY_SECONDS": 30,
        "LOGIN_DELAY_MAX_MINUTES": 60,
        "LOGIN_FAILURE_MEMORY_HOURS": 24,  # a count is forgotten this long after its last try
        # password resets and other mail a visitor can trigger: per IP, and per address
        "RESET_LIMIT": "10 per hour",
        "MAIL_ADDRESS_LIMIT": "3 per hour",
        "TESTING": False,
        "DEBUG": False,
    }
    config.update(overrides)
    # the cookie expires with the session's absolute lifetime (the server enforces both)
    config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=config["SESSION_MAX_HOURS"]))
    # the cookie expires when the server-side session's absolute lifetime ends (set at login):
    # re-signing and re-sending it on every response only moved that date, never the server's
    config.setdefault("SESSION_REFRESH_EACH_REQUEST", False)
    config["HTTPS"] = str(config["BASE_URL"]).startswith("https://")
    config["PRODUCTION"] = config["HTTPS"] or config["COURSEWARE_ENV"] == "production"
    if config["PRODUCTION"] and config["WEBHOOK_ALLOW_HTTP_LOOPBACK"]:
        raise UnsafeSetting("WEBHOOK_ALLOW_HTTP_LOOPBACK is for the test suite only: a "
                            "production configuration refuses to start with it on (it lets "
                            "webhooks reach this host's own services)")
    if not config.get("RATELIMIT_STORAGE_URI"):
        # one Redis for the queue and the rate limits, unless the limits are pointed elsewhere
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"] or "memory://"
    if not config.get("MAIL_DEFAULT_SENDER"):
        config["MAIL_DEFAULT_SENDER"] = (f"{config['ISSUER_NAME']} "
                                         f"<no-reply@{mail_domain(config['BASE_URL'])}>")
    if "SESSION_COOKIE_SECURE" not in overrides and (
        config["DEBUG"] or config["TESTING"] or str(config["BASE_URL"]).startswith("http://")
    ):
        # served over plain http (make run on 127.0.0.1): a Secure cookie would never come back
        config["SESSION_COOKIE_SECURE"] = False
    if config["HTTPS"] and config["SESSION_COOKIE_SECURE"]:
        # only ever sent over https, to this host, for the whole site: no subdomain can set it
        for key in ("SESSION_COOKIE_NAME", "DEVICE_COOKIE_NAME"):
            if key not in overrides:
                config[key] = "__Host-" + config[key]
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


def default_database_url(instance_path: Path) -> str:
    """The embedded database: a SQLite file in the instance folder."""
    return f"sqlite:///{instance_path / 'courseware.db'}"


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
