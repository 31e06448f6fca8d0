"""The grading queue at size: pages of 50, oldest first, in a fixed number of statements."""

from __future__ import annotations

import html
import re

from flask import Flask
from flask.testing import FlaskClient

from courseware.models import Submission, User
from courseware.services import grading
from tests.conftest import Auth
from tests.factories import Factory, bulk_submissions
from tests.test_roster import statements_for


def test_the_queue_walks_every_submission_once_oldest_first(app: Flask,
                                                            factory: Factory) -> None:
    trainer = factory.user("trainer")
    factory.calibrate(trainer, "active-listening")
    bulk_submissions(app, 120)
    seen: list[int] = []
    with factory.session() as s:
        me = s.get(User, trainer.id)
        assert me is not None
        page = grading.queue(s, me)
        while True:
            assert len(page.items) <= 50
            seen.extend(sub.id for sub in page.items)
            if page.next_cursor is None:
                break
            page = grading.queue(s, me, after=page.next_cursor)
        times = [s.get(Submission, i).submitted_at for i in seen]
    assert len(seen) == len(set(seen)) == 120
    assert times == sorted(times)  # type: ignore[type-var]


def test_a_bad_cursor_starts_from_the_top(app: Flask, factory: Factory) -> None:
    trainer = factory.user("trainer")
    factory.calibrate(trainer, "active-listening")
    bulk_submissions(app, 60)
    with factory.session() as s:
        me = s.get(User, trainer.id)
        assert me is not None
        first = [sub.id for sub in grading.queue(s, me).items]
        for cursor in ["", "x", "2026-1", "20261301T000000.000000-1", "9" * 50]:
            assert [sub.id for sub in grading.queue(s, me, after=cursor).items] == first


def test_the_queue_costs_the_same_with_10_or_1000_waiting(app: Flask, client: FlaskClient,
                                                          auth: Auth, factory: Factory) -> None:
    trainer = factory.user("trainer")
    factory.calibrate(trainer, "active-listening")
    auth.login(trainer)
    bulk_submissions(app, 10)
    small = statements_for(app, client, "/grade/")
    bulk_submissions(app, 990, start=10)
    assert statements_for(app, client, "/grade/") == small
    page = client.get("/grade/").get_data(as_text=True)
    assert page.count("Queued Learner") >= 50 and 'rel="next"' in page


def test_the_next_link_leads_to_the_next_page(app: Flask, client: FlaskClient, auth: Auth,
                                              factory: Factory) -> None:
    """Over HTTP, as a trainer clicks it: the link's cursor survives the view's reading of it."""
    trainer = factory.user("trainer")
    factory.calibrate(trainer, "active-listening")
    auth.login(trainer)
    bulk_submissions(app, 70)
    first = client.get("/grade/").get_data(as_text=True)
    found = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert found is not None
    second = client.get(html.unescape(found.group(1))).get_data(as_text=True)
    ids = re.compile(r'action="/grade/submissions/(\d+)/claim"')
    on_first, on_second = set(ids.findall(first)), set(ids.findall(second))
    assert len(on_first) == 50 and len(on_second) == 20 and not on_first & on_second
    assert 'rel="next"' not in second
