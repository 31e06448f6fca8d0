"""Local crisis lines: placeholders in course text are filled in for COURSE_COUNTRY when shown.

A small course whose texts use the placeholders is synced into the test database; pages are
read through HTTP as the US (the default), the UK and Ireland would see them.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import Markup
from sqlalchemy import select

from courseware.domain.content.placeholders import fill_html, fill_text
from courseware.infra.config import PROJECT_ROOT, build_config
from courseware.models import ContentItem, User
from tests import helpers
from tests.conftest import Auth, UserFactory, make_app
from tests.test_content import ALPHA, QUIZ, ROLEPLAY, TRACK, write_tree

CRISIS_LINES = (PROJECT_ROOT / "modules/crisis-lines.toml").read_text(encoding="utf-8")

MODULE = ALPHA.replace('summary = "The first module."', 'summary = "Help in {{country}}."') \
    .replace("Alpha body text.",
             "In danger now, call {{emergency}}. To talk, contact {{crisis_line}}.")
QUIZ_TEXT = QUIZ.replace(
    "Pick the right one.", "In {{country}}, whom do you call when someone is in danger now?"
).replace('text = "Right"', 'text = "{{emergency}}"').replace(
    'feedback = "Yes."', 'feedback = "Yes: {{emergency}} sends help."', 1).replace(
    "Because it is right.", "{{crisis_number}} is for support; {{emergency}} is for danger.")
ROLEPLAY_TEXT = ROLEPLAY.replace("Practise the beta skill.", "If Sam is in danger, call "
                                 "{{emergency}}.").replace('text = "Hello."',
                                                          'text = "Is {{crisis_number}} free?"') \
    .replace('descriptor = "Listens well."', 'descriptor = "Names {{crisis_line}}."')
TRACK_TEXT = TRACK.replace("A basic track.", "Mentors in {{country}}.")


def course(root: Path, crisis: str = CRISIS_LINES) -> Path:
    return write_tree(root, {
        "modules/alpha.md": MODULE,
        "modules/beta.md": ALPHA.replace('title = "Alpha"', 'title = "Beta"')
        .replace("order = 1", "order = 2").replace("requires = []", 'requires = ["alpha"]'),
        "modules/crisis-lines.toml": crisis,
        "quizzes/alpha.quiz.toml": QUIZ_TEXT,
        "quizzes/beta.roleplay.toml": ROLEPLAY_TEXT,
        "certificates/basic.toml": TRACK_TEXT,
    })


def app_for(database_url: str, tmp_path: Path, root: Path, name: str,
            **config: object) -> Flask:
    return make_app(database_url, tmp_path / name, CONTENT_ROOT=root, **config)


@pytest.fixture
def root(database_url: str, tmp_path: Path) -> Iterator[Path]:
    """The small course, synced into the test database."""
    content = course(tmp_path / "content")
    syncer = app_for(database_url, tmp_path, content, "sync")
    result = syncer.test_cli_runner().invoke(args=["courseware", "sync"])
    assert result.exit_code == 0, result.output
    yield content


def learner_client(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(user).status_code == 302
    return client


@pytest.fixture
def reader(app: Flask) -> User:
    return UserFactory(app)("learner")


def page(client: FlaskClient, path: str) -> str:
    """The page's main content as text (the footer is the site's, not the course's)."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return html.unescape(main(response.get_data(as_text=True)))


def main(body: str) -> str:
    start, end = body.index("<main"), body.index("</main>")
    return body[start:end]


def test_a_module_shows_the_us_lines_by_default(database_url: str, tmp_path: Path, root: Path,
                                                reader: User) -> None:
    app = app_for(database_url, tmp_path, root, "us")
    assert app.config["COURSE_COUNTRY"] == "US"
    client = learner_client(app, reader)
    text = page(client, "/modules/alpha")
    assert "In danger now, call 911. To talk, contact the 988 Suicide & Crisis Lifeline " \
           "(call or text 988)." in text
    assert "Help in the United States." in text
    assert "{{" not in text
    assert "Help in the United States." in page(client, "/")


def test_the_same_stored_module_shows_the_uk_lines_with_course_country_gb(
    database_url: str, tmp_path: Path, root: Path, reader: User,
) -> None:
    us = learner_client(app_for(database_url, tmp_path, root, "us"), reader)
    assert "call 911" in page(us, "/modules/alpha")
    uk = learner_client(app_for(database_url, tmp_path, root, "gb", COURSE_COUNTRY="GB"), reader)
    text = page(uk, "/modules/alpha")
    assert "In danger now, call 999. To talk, contact Samaritans (call 116 123, free, day or " \
           "night)." in text
    assert "911" not in text and "988" not in text
    # the stored version keeps the placeholders: no sync was needed to change country
    app = app_for(database_url, tmp_path, root, "check")
    with app.app_context(), helpers.session(app) as s:
        item = s.scalar(select(ContentItem).where(ContentItem.kind == "module",
                                                  ContentItem.slug == "alpha"))
        assert item is not None and item.current_version is not None
        assert "call {{emergency}}" in item.current_version.data["body_html"]
        assert item.current_version.number == 1


def test_course_country_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    assert build_config(tmp_path, {})["COURSE_COUNTRY"] == "US"
    monkeypatch.setenv("COURSE_COUNTRY", " ie ")
    assert build_config(tmp_path, {})["COURSE_COUNTRY"] == "IE"


def test_quiz_attempt_and_review_pages_are_filled(database_url: str, tmp_path: Path, root: Path,
                                                  reader: User) -> None:
    app = app_for(database_url, tmp_path, root, "ie", COURSE_COUNTRY="IE")
    client = learner_client(app, reader)
    helpers.read_module(client, "alpha")
    attempt_id = helpers.start_quiz(client, "alpha")
    text = page(client, f"/attempts/{attempt_id}")
    assert "In Ireland, whom do you call when someone is in danger now?" in text
    assert ">112 or 999</label>" in text
    response = client.post(f"/attempts/{attempt_id}", data=helpers.answers_for(app, attempt_id))
    assert response.status_code == 302
    review = page(client, f"/attempts/{attempt_id}")
    assert "Yes: 112 or 999 sends help." in review
    assert "116 123 is for support; 112 or 999 is for danger." in review
    assert "{{" not in review


def test_roleplay_submission_and_track_text_are_filled(database_url: str, tmp_path: Path,
                                                       root: Path, reader: User) -> None:
    app = app_for(database_url, tmp_path, root, "au", COURSE_COUNTRY="AU")
    client = learner_client(app, reader)
    helpers.read_module(client, "alpha")
    helpers.read_module(client, "beta")
    text = page(client, "/roleplays/beta")
    assert "If Sam is in danger, call 000." in text
    assert "Names Lifeline (call 13 11 14, day or night)." in text
    submission_id = helpers.start_roleplay(client, "beta")
    assert "“Is 13 11 14 free?”" in page(client, f"/submissions/{submission_id}")
    assert "Mentors in Australia." in page(client, "/profile")


def test_values_are_escaped_in_text_and_in_html(database_url: str, tmp_path: Path,
                                                reader: User) -> None:
    hostile = CRISIS_LINES.replace('emergency = "911"', 'emergency = "<b>911</b> & \\"now\\""')
    content = course(tmp_path / "content", crisis=hostile)
    app = app_for(database_url, tmp_path, content, "hostile")
    result = app.test_cli_runner().invoke(args=["courseware", "sync"])
    assert result.exit_code == 0, result.output
    client = learner_client(app, reader)
    body = client.get("/modules/alpha").get_data(as_text=True)  # from sanitised HTML
    assert "call &lt;b&gt;911&lt;/b&gt; &amp; &#34;now&#34;." in body \
        or "call &lt;b&gt;911&lt;/b&gt; &amp; &quot;now&quot;." in body
    assert "<b>911</b>" not in body
    helpers.read_module(client, "alpha")
    attempt_id = helpers.start_quiz(client, "alpha")
    form = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)  # from plain text
    assert "&lt;b&gt;911&lt;/b&gt; &amp;" in form and "<b>911</b>" not in form


def test_fill_functions() -> None:
    values = {"emergency": "<911>", "country": "Canada"}
    assert fill_text("Call {{emergency}} in {{ country }}.", values) == "Call <911> in Canada."
    assert fill_html("<p>Call {{emergency}}</p>", values) == "<p>Call &lt;911&gt;</p>"
    # an unknown placeholder stays as written (the check refuses it before it gets here)
    assert fill_text("{{hotline}} and {{emergency}}", values) == "{{hotline}} and <911>"
    assert fill_text("No placeholders.", {}) == "No placeholders."


def test_the_filter_keeps_markup_markup_and_escapes_only_values(app: Flask) -> None:
    with app.test_request_context():
        render = app.jinja_env.from_string(
            "{{ html|safe|course_text }}|{{ text|course_text }}|{{ none|course_text }}")
        out = render.render(html="<p>{{emergency}} & {{country}}</p>",
                            text="<{{emergency}}>", none=None)
    assert out == "<p>911 & the United States</p>|&lt;911&gt;|None"
    assert isinstance(Markup("x"), str)


def test_changing_a_number_needs_no_new_version(database_url: str, tmp_path: Path,
                                                root: Path) -> None:
    (root / "modules/crisis-lines.toml").write_text(
        CRISIS_LINES.replace('poison_line = "NHS 111"', 'poison_line = "NHS 111 (online too)"'),
        encoding="utf-8")
    app = app_for(database_url, tmp_path, root, "resync")
    result = app.test_cli_runner().invoke(args=["courseware", "sync"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0 added, 0 updated, 5 unchanged, 0 retired"


@pytest.mark.allows_server_error
def test_a_country_missing_from_the_file_is_an_error_not_the_wrong_number(
    database_url: str, tmp_path: Path, root: Path, reader: User,
) -> None:
    app = app_for(database_url, tmp_path, root, "nz", COURSE_COUNTRY="NZ")
    client = learner_client(app, reader)
    response = client.get("/modules/alpha")
    assert response.status_code == 500
    assert "911" not in main(response.get_data(as_text=True))


def test_local_line_names_the_countrys_line_and_never_fails(database_url: str, tmp_path: Path,
                                                            root: Path) -> None:
    template = '{{ local_line("crisis_line") }} / {{ local_line("emergency") }}'
    for country, expected in (("GB", "Samaritans (call 116 123, free, day or night) / 999"),
                              ("NZ", "a local crisis line / your local emergency number")):
        app = app_for(database_url, tmp_path, root, country.lower(), COURSE_COUNTRY=country)
        with app.test_request_context():
            assert app.jinja_env.from_string(template).render() == expected
    # without a crisis-lines file (a course that uses no placeholders) the generic words
    bare = make_app(database_url, tmp_path / "bare", CONTENT_ROOT=tmp_path / "nothing")
    with bare.test_request_context():
        assert bare.jinja_env.from_string(template).render() == \
            "a local crisis line / your local emergency number"
