"""The app's job queue and jobs: built per app, so each app (and each test) has its own."""

from __future__ import annotations

from flask import Flask, current_app

from courseware.infra.config import PROJECT_ROOT
from courseware.infra.jobs import make_huey
from courseware.infra.mail import MailTemplates
from courseware.tasks.environment import JobEnvironment, JobSettings
from courseware.tasks.jobs import Tasks
from courseware.web import mail


def init_app(app: Flask) -> Tasks:
    env = JobEnvironment(
        database=app.extensions["courseware.db"], settings=JobSettings.from_config(app.config),
        sender=mail.init_app(app), templates=MailTemplates(PROJECT_ROOT / "templates"),
    )
    tasks = Tasks(make_huey(app.config), env)
    app.extensions["courseware.jobs"] = tasks
    return tasks


def jobs(app: Flask | None = None) -> Tasks:
    tasks: Tasks = (app or current_app).extensions["courseware.jobs"]
    return tasks

