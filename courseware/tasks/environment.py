"""What jobs need from the deployment, given to them rather than imported."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from courseware.domain.webhooks import RETRY_SCHEDULE, parse_schedule
from courseware.infra.config import mail_domain
from courseware.infra.db import Database
from courseware.infra.mail import MailSender, MailTemplates
from courseware.services.certificates import IssueContext


@dataclass(frozen=True)
class JobSettings:
    base_url: str
    issuer_name: str
    secret_key: str
    mail_domain: str
    issue: IssueContext
    retry_delay: float  # seconds before the first retry; doubling up to retry_max
    retry_max: float
    give_up: timedelta
    lease: timedelta
    sweep_after: timedelta
    # webhooks (courseware.tasks.webhooks)
    webhook_timeout: float = 5.0
    webhook_retry_schedule: tuple[float, ...] = RETRY_SCHEDULE
    webhook_disable_after: timedelta = timedelta(days=3)
    webhook_allow_http_loopback: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> JobSettings:
        return cls(
            base_url=config["BASE_URL"], issuer_name=config["ISSUER_NAME"],
            secret_key=config["SECRET_KEY"], mail_domain=mail_domain(config["BASE_URL"]),
            issue=IssueContext.from_config(config),
            retry_delay=float(config["MAIL_RETRY_DELAY"]),
            retry_max=float(config["MAIL_RETRY_MAX"]),
            give_up=timedelta(hours=float(config["MAIL_GIVE_UP_HOURS"])),
            lease=timedelta(seconds=float(config["MAIL_LEASE_SECONDS"])),
            sweep_after=timedelta(seconds=float(config["SWEEP_AFTER_SECONDS"])),
            webhook_timeout=float(config["WEBHOOK_TIMEOUT_SECONDS"]),
            webhook_retry_schedule=parse_schedule(str(config["WEBHOOK_RETRY_SCHEDULE"])),
            webhook_disable_after=timedelta(hours=float(config["WEBHOOK_DISABLE_AFTER_HOURS"])),
            webhook_allow_http_loopback=bool(config["WEBHOOK_ALLOW_HTTP_LOOPBACK"]),
        )


@dataclass(frozen=True)
class JobEnvironment:
    database: Database
    settings: JobSettings
    sender: MailSender
    templates: MailTemplates
