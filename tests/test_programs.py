"""Program accounts: made by an admin (page or command line) or requested on the public form
and decided by an admin; staff logins mailed a link to choose a password; what a program
login may not be turned into; and the welcome mail."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from courseware.domain.statuses import MessageKind, ProgramStatus, Role
from courseware.models import AuditEvent, Program, User
from courseware.tasks.mail import LINKS
from tests.conftest import PASSWORD, Auth, make_app
from tests.factories import Factory
from tests.mailing import last_link, recorded

NEW_PASSWORD = "velvet otter juggles maple kites"


def program_named(app: Flask, name: str) -> Program | None:
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        program = s.scalar(select(Program).where(Program.name == name))
        if program is not None:
            s.expunge(program)
        return program


def choose_password_and_log_in(app: Flask, email: str) -> FlaskClient:
    """Follow the welcome link, choose a password, log in: as a new staff member does."""
    link = last_link(app, email, MessageKind.PROGRAM_WELCOME)
    client = app.test_client()
    assert client.get(link).status_code == 200
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 302
    assert Auth(client).login(email, NEW_PASSWORD).status_code == 302
    return client


def test_an_admin_creates_a_program_whose_contact_gets_a_login(
        app: Flask, client: FlaskClient, admin: User) -> None:
    Auth(client).login(admin)
    assert "Programs" in client.get("/admin/").get_data(as_text=True)
    response = client.post("/admin/programs", data={
        "name": "Harbour Mentors", "contact_email": "Team@Harbour.example", "country": "gb",
        "staff_name": "Hana Harbour"})
    assert response.status_code == 302
    program = program_named(app, "Harbour Mentors")
    assert program is not None and program.status is ProgramStatus.ACTIVE
    assert program.country == "GB" and program.contact_email == "team@harbour.example"
    detail = client.get(f"/admin/programs/{program.id}").get_data(as_text=True)
    assert "Hana Harbour" in detail and "team@harbour.example" in detail
    [mail] = recorded(app, "team@harbour.example", MessageKind.PROGRAM_WELCOME)
    assert mail.payload["program"] == "Harbour Mentors"
    assert mail.link.startswith("/account/reset/")
    staff_client = choose_password_and_log_in(app, "team@harbour.example")
    page = staff_client.get("/program/")
    assert page.status_code == 200 and "Harbour Mentors: our mentors" in page.get_data(
        as_text=True)
    assert 'href="/program/keys"' in page.get_data(as_text=True)

    # a second login for the same program, then the same address again: refused, kept typed
    added = client.post(f"/admin/programs/{program.id}/staff",
                        data={"email": "ops@harbour.example", "name": "Olu Ops"})
    assert added.status_code == 302
    choose_password_and_log_in(app, "ops@harbour.example")
    again = client.post(f"/admin/programs/{program.id}/staff",
                        data={"email": "ops@harbour.example", "name": "Olu Ops"})
    assert again.status_code == 422
    assert "already has an account" in again.get_data(as_text=True)
    duplicate = client.post("/admin/programs", data={
        "name": "harbour  mentors", "contact_email": "x@harbour.example", "country": "GB"})
    assert duplicate.status_code == 422
    assert "exists already" in duplicate.get_data(as_text=True)
    assert 'value="x@harbour.example"' in duplicate.get_data(as_text=True)
    bad_country = client.post("/admin/programs", data={
        "name": "Elsewhere", "contact_email": "e@x.example", "country": "1X"})
    assert bad_country.status_code == 422
    assert "two-letter code" in bad_country.get_data(as_text=True)


def test_the_welcome_mail_names_the_program_and_the_link(app: Flask) -> None:
    from courseware.infra.mail import MailTemplates

    assert MessageKind.PROGRAM_WELCOME in LINKS
    rendered = MailTemplates(Path(app.template_folder or "")).render(
        MessageKind.PROGRAM_WELCOME, {"name": "Ann", "program": "Harbour Mentors",
                                      "link": "http://localhost/account/reset/t",
                                      "expires_at": "2026-12-01T00:00:00+00:00",
                                      "issuer_name": "Test", "base_url": "http://localhost",
                                      "unsubscribe_url": None})
    assert "Harbour Mentors" in rendered.subject
    assert "http://localhost/account/reset/t" in rendered.text
    assert "http://localhost/account/reset/t" in rendered.html


def test_a_request_waits_for_an_admin_who_approves_or_declines(
        app: Flask, client: FlaskClient, admin: User, factory: Factory) -> None:
    form = client.get("/programs/request")
    assert form.status_code == 200 and 'name="note"' in form.get_data(as_text=True)
    data = {"name": "Valley Peer Support", "contact_email": "hello@valley.example",
            "country": "KE", "requester_name": "Vera Valley",
            "note": "We match 40 peer mentors with young people in Nakuru."}
    answer = client.post("/programs/request", data=data)
    assert answer.status_code == 200
    # the same answer again, and for a name that exists: nothing learnt, nothing added
    factory.program("Existing Program")
    same = client.post("/programs/request", data={**data, "name": "Existing Program"})
    assert same.get_data(as_text=True) == answer.get_data(as_text=True)
    assert client.post("/programs/request", data=data).get_data(as_text=True) == \
        answer.get_data(as_text=True)
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        assert s.scalar(select(func.count()).select_from(Program)) == 2
    program = program_named(app, "Valley Peer Support")
    assert program is not None and program.status is ProgramStatus.REQUESTED
    assert recorded(app, "hello@valley.example") == []  # no login before an admin decides

    Auth(client).login(admin)
    listing = client.get("/admin/programs").get_data(as_text=True)
    assert listing.index("Valley Peer Support") < listing.index("Existing Program")
    assert "request waiting" in listing
    detail = client.get(f"/admin/programs/{program.id}").get_data(as_text=True)
    assert "Vera Valley" in detail and "Nakuru" in detail
    assert client.post(f"/admin/programs/{program.id}/approve").status_code == 302
    program = program_named(app, "Valley Peer Support")
    assert program is not None and program.status is ProgramStatus.ACTIVE
    choose_password_and_log_in(app, "hello@valley.example")
    # decided once: a second decision is refused with a message, not an error
    assert client.post(f"/admin/programs/{program.id}/decline").status_code == 302
    assert program_named(app, "Valley Peer Support").status is ProgramStatus.ACTIVE  # type: ignore[union-attr]

    client.post("/logout")
    client.post("/programs/request", data={**data, "name": "Spam Program"})
    Auth(client).login(admin)
    spam = program_named(app, "Spam Program")
    assert spam is not None
    client.post(f"/admin/programs/{spam.id}/decline")
    assert program_named(app, "Spam Program").status is ProgramStatus.DECLINED  # type: ignore[union-attr]
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        actions = set(s.scalars(select(AuditEvent.action).where(
            AuditEvent.actor_id == admin.id)))
    assert {"program.approve", "program.decline", "program.staff_add"} <= actions


def test_a_request_with_a_problem_keeps_what_was_typed(client: FlaskClient) -> None:
    response = client.post("/programs/request", data={
        "name": "Hill Mentors", "contact_email": "not-an-address", "country": "GB",
        "requester_name": "Hal", "note": "Mentoring."})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "like name@example.org" in page and 'value="Hill Mentors"' in page


def test_the_request_form_is_rate_limited(database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path, RATELIMIT_ENABLED=True,
                   PROGRAM_REQUEST_LIMIT="2 per hour")
    client = app.test_client()
    data = {"name": "P", "contact_email": "p@x.example", "country": "GB",
            "requester_name": "P", "note": "n"}
    statuses = [client.post("/programs/request", data={**data, "name": f"P{n}"}).status_code
                for n in range(3)]
    assert statuses == [200, 200, 429]
    assert client.get("/programs/request").status_code == 200


def test_a_program_login_keeps_its_role(app: Flask, client: FlaskClient, admin: User,
                                        program: User) -> None:
    Auth(client).login(admin)
    users = client.get("/admin/users?q=staff").get_data(as_text=True)
    assert "Program staff" in users
    response = client.post(f"/admin/users/{program.id}/role", data={"role": "learner"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "keeps its role" in response.get_data(as_text=True)
    refused = client.post(f"/admin/users/{program.id}/role", data={"role": "program"},
                          follow_redirects=True)
    assert "Choose one of the listed roles" in refused.get_data(as_text=True)
    with app.app_context(), app.extensions["courseware.db"].session() as s:
        held = s.get(User, program.id)
        assert held is not None and held.role is Role.PROGRAM


def test_program_staff_reach_only_program_pages(client: FlaskClient, program: User) -> None:
    Auth(client).login(program)
    nav = client.get("/program/").get_data(as_text=True)
    assert "Our mentors" in nav and "API keys" in nav and 'href="/admin/"' not in nav
    assert client.get("/admin/").status_code == 403
    assert client.get("/grade/").status_code == 403


def test_the_command_line_creates_a_program(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["programs", "create", "Coastal Mentors", "--contact",
                                 "coast@mentors.example", "--country", "ie"])
    assert result.exit_code == 0, result.output
    program = program_named(app, "Coastal Mentors")
    assert program is not None and result.output.strip().splitlines()[-1] == str(program.id)
    assert program.country == "IE"
    assert recorded(app, "coast@mentors.example", MessageKind.PROGRAM_WELCOME)
    again = runner.invoke(args=["programs", "create", "Coastal Mentors", "--contact",
                                "other@mentors.example"])
    assert again.exit_code != 0 and "exists already" in again.output
    choose_password_and_log_in(app, "coast@mentors.example")
    assert PASSWORD != NEW_PASSWORD
