"""`flask --app app jobs worker`: a job consumer for this app's queue."""

from __future__ import annotations

import logging
import os

import click
from flask import current_app
from flask.cli import AppGroup

from courseware.infra.jobs import describe
from courseware.web.jobs import jobs

jobs_cli = AppGroup("jobs", help="Background jobs: mail, PDFs, reminders, sweeps.")


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run at once (threads).")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also run the scheduler of periodic jobs (reminders, digests, the sweep). "
                   "They are safe to run on several workers; one is enough.")
def worker(workers: int, periodic: bool) -> None:
    """Run jobs until stopped (Ctrl-C or SIGINT waits for running jobs; SIGTERM does not)."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tasks = jobs(current_app)
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    click.echo(f"jobs worker: {describe(tasks.huey)}, {workers} workers, periodic jobs "
               f"{'on' if periodic else 'off'}, mail via {current_app.config['MAIL_BACKEND']}, "
               f"metrics {'into ' + shared if shared else 'in this process only'}", err=True)
    consumer = tasks.huey.create_consumer(workers=workers, periodic=periodic,
                                          worker_type="thread", initial_delay=0.1,
                                          backoff=1.15, max_delay=1.0)
    consumer.run()
